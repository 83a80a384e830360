"""``--ray``: solutions spread over a local Ray instance give the same file as a local run, and resume."""

from __future__ import annotations

import pytest
from annotate_cases import make_pairs, solver_mc

from prmkit.annotate.mc import annotate_mc

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False
    )  # RAY_AUTH_MODE=disabled: tests/conftest.py
    yield
    ray.shutdown()


def test_ray_workers_label_like_a_local_run_and_resume(tmp_path, local_ray):
    pairs = make_pairs(20, stream="ray", mistake_rate=0.5)
    local = tmp_path / "local.jsonl"
    annotate_mc(solver_mc(n=4, model="slip_rate=0.2", strategy="first-error"), pairs, local)

    spread = tmp_path / "ray.jsonl"
    cfg = solver_mc(n=4, model="slip_rate=0.2", strategy="first-error", ray=True, ray_workers=2, ray_chunk=3)
    summary = annotate_mc(cfg, pairs[:11], spread)
    assert summary["written"] == 11
    summary = annotate_mc(cfg, pairs, spread)  # resumes: only the rest goes to the workers
    assert (summary["written"], summary["skipped"]) == (9, 11)
    assert spread.read_bytes() == local.read_bytes()
