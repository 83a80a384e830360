"""Resuming sampling with other settings is refused (the PRM trainer's cases: tests/train/test_prm_resume.py)."""

from __future__ import annotations

import pytest

from prmkit.data.jsonl import write_jsonl
from prmkit.errors import ConfigError
from prmkit.generation.sample import GenerateConfig, generate_solutions
from prmkit.synthetic.world import WorldConfig, make_problems


def test_generate_refuses_to_resume_with_another_temperature(tmp_path):
    problems, out = tmp_path / "p.jsonl", tmp_path / "s.jsonl"
    write_jsonl(problems, make_problems(WorldConfig(), 3, seed=1))
    solver = {"backend": "synthetic-solver", "model": "slip_rate=0.2", "seed": 0, "progress": False}
    generate_solutions(GenerateConfig(**solver, n=2, temperature=0.8), problems, out)
    with pytest.raises(ConfigError, match=r"other settings \(temperature\)"):
        generate_solutions(GenerateConfig(**solver, n=2, temperature=1.5), problems, out)
    assert (
        generate_solutions(GenerateConfig(**solver, n=2, temperature=0.8, batch_size=3), problems, out)[1]
        == 3
    )
