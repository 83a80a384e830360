"""What the experiments share: running prmkit commands with a log, the quickstart run each world and
seed starts from, its held-out problems split into a selection and a report half, the best-of-N
harness on both halves, and the cells of a table (mean over seeds, each seed in brackets)."""

from __future__ import annotations

import dataclasses
import functools
import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PRMKIT = [sys.executable, "-m", "prmkit.cli.main"]
WORLDS = {"default": [], "harder": ["--policy.world.max-ops", "4"]}
SPLITS = ("select", "report")


def seed_folders(out: str, worlds: Sequence[str], seeds: Sequence[int]) -> list[tuple[str, int, Path]]:
    """(world, seed, folder) of every run of an experiment, world by world."""
    return [(world, seed, Path(out) / world / f"seed{seed}") for world in worlds for seed in seeds]


def emit(text: str, write: str = "") -> None:
    """Print a finished table, and write it to ``write`` when given."""
    print(text)
    if write:
        Path(write).write_text(text + "\n")


def run(cmd: list[str], log: Path) -> None:
    """Run a command, appending its output to ``log``; fail loudly when it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=True)


def prepare_quickstart(base: Path, world: str, seed: int, extra: Sequence[str] = ()) -> Path:
    """``prmkit quickstart --rl-steps 0`` in ``base/quickstart`` (the policy, the verifier backbone, the
    critic, MC labels and 200 held-out problems), and its held-out problems split in two halves:
    ``select.jsonl`` chooses recipes, ``report.jsonl`` is what a table reports."""
    folder = base / "quickstart"
    if not (folder / "COMPLETE").exists():
        run([*PRMKIT, "quickstart", "--run-dir", str(folder), "--seed", str(seed), "--rl-steps", "0",
             *WORLDS[world], *extra], base / "log.txt")  # fmt: skip
    lines = (folder / "problems" / "eval.jsonl").read_text().splitlines()
    half = len(lines) // 2
    for split, part in zip(SPLITS, (lines[:half], lines[half:])):
        (base / f"{split}.jsonl").write_text("\n".join(part) + "\n")
    return folder


def quickstart_sampling(quickstart: Path) -> Any:
    """How the quickstart sampled its best-of-N candidates: the ``sampling`` block of its saved
    ``eval bon`` config (a run from before the block existed is read under its old names, warning)."""
    from prmkit.config import load_config
    from prmkit.evaluate.config import BonEvalConfig

    return load_config(BonEvalConfig, quickstart / "bon" / "config.yaml").sampling


def bon_halves(base: Path, out: Path, **verifiers: str) -> None:
    """The best-of-N harness on both halves into ``out/<half>``, sampled as the quickstart sampled
    (base seed 0), with the given verifiers (``prm``, ``orm``, ``likelihood``); skipped where done."""
    from prmkit.evaluate.bon import run_bon_eval
    from prmkit.evaluate.config import BonEvalConfig
    from prmkit.generation.base import GenerationConfig

    quickstart = base / "quickstart"
    sampling = dataclasses.replace(quickstart_sampling(quickstart), seed=0)
    policy = GenerationConfig(model=str(quickstart / "policy"), device="cpu")
    for split in SPLITS:
        if (out / split / "bon" / "metrics.json").exists():
            continue
        run_bon_eval(BonEvalConfig(run_dir=str(out / split), problems=str(base / f"{split}.jsonl"), limit=None,
                                   generation=policy, sampling=sampling, **verifiers))  # fmt: skip


def bon_cell(folder: Path) -> dict[str, Any] | None:
    """A best-of-N run's curves (``methods``), its largest-N accuracies and its diagnostics summary."""
    bon = folder / "bon" / "metrics.json"
    if not bon.exists():
        return None
    data = json.loads(bon.read_text())["data"]
    out: dict[str, Any] = {"ns": data["ns"], "methods": data["methods"]}
    out.update({name: curve["accuracy"][-1] for name, curve in data["methods"].items()})
    diagnostics = folder / "diagnostics" / "metrics.json"
    if diagnostics.exists():
        out.update(json.loads(diagnostics.read_text())["summary"])
    return out


def over_seeds(cells: Sequence[dict[str, Any] | None], name: str, pct: bool = False) -> str:
    """``mean [seed values]`` of one measure over the seeds that have it, or '-'."""
    values = [c[name] for c in cells if c and c.get(name) is not None]
    if not values:
        return "-"
    scale, digits = (100, 1) if pct else (1, 3)
    each = ", ".join(f"{scale * v:.{digits}f}" for v in values)
    return f"{scale * statistics.mean(values):.{digits}f} [{each}]"


def table_head(title: str, columns: Sequence[str]) -> list[str]:
    """A markdown table's title, header row and rule."""
    return [f"### {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


@functools.cache  # every cell of a table row reads the same run's candidates
def per_problem(folder: Path, verifier: str) -> dict[str, tuple[float, float]]:
    """Per problem of a best-of-N run: the within-problem ranking AUROC by ``verifier``'s solution
    scores (NaN unless the problem has right and wrong candidates) and its best-of-all accuracy (ties
    share it), from the stored candidates. A solution's score is its least step score, an ORM's its
    last, as the tables read them."""
    import math

    from prmkit.metrics.steps import ranking_auroc

    read = (lambda steps: steps[-1]) if verifier == "orm" else min
    out = {}
    for line in (folder / "bon" / "candidates.jsonl").read_text().splitlines():
        record = json.loads(line)
        correct = [bool(c["correct"]) for c in record["candidates"]]
        scores = [read(c["scores"][verifier]) if c["scores"][verifier] else math.nan for c in record["candidates"]]
        scores = [-math.inf if math.isnan(s) else s for s in scores]
        top = max(scores)
        best = [ok for ok, s in zip(correct, scores) if s == top]
        pid = record["problem"]["id"]
        out[pid] = (ranking_auroc([pid] * len(correct), correct, scores), sum(best) / len(best))
    return out


def paired_gain(folder: Path, verifier: str, baseline: str, seed: int = 0) -> dict[str, tuple[float, float, float]]:
    """``verifier`` minus ``baseline`` on the same candidates: ranking AUROC and best-of-all accuracy,
    each as (mean difference, 95% CI low, high), resampling problems with replacement (paired: both
    verifiers on each drawn problem)."""
    import numpy as np

    from prmkit.metrics.bootstrap import bootstrap_ci

    ours, theirs = per_problem(folder, verifier), per_problem(folder, baseline)
    out = {}
    for name, index in (("ranking", 0), ("bon", 1)):
        diffs = np.array([ours[p][index] - theirs[p][index] for p in ours])
        diffs = diffs[~np.isnan(diffs)]
        out[name] = (float(diffs.mean()), *bootstrap_ci(diffs, np.random.default_rng(seed)))
    return out


def gain_cell(folders: Sequence[Path], verifier: str, baseline: str, name: str, pct: bool = False) -> str:
    """``mean [each seed's difference (95% CI)]`` of ``paired_gain`` over the seeds that have it."""
    gains = [paired_gain(f, verifier, baseline)[name] for f in folders if (f / "bon" / "candidates.jsonl").exists()]
    if not gains:
        return "-"
    scale, digits = (100, 1) if pct else (1, 3)
    each = "; ".join(f"{scale * m:+.{digits}f} ({scale * lo:+.{digits}f}, {scale * hi:+.{digits}f})" for m, lo, hi in gains)
    return f"{scale * statistics.mean(g[0] for g in gains):+.{digits}f} [{each}]"
