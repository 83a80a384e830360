"""The best-of-N harness (``prmkit eval bon``): accuracy against N for every verification method.

1. Sample ``sampling.n`` (N_max) candidates per problem once (plus one greedy answer), grade them,
   group their answers by equivalence and score their steps with the PRM (and ORM); store it all
   (``candidates.py``, resumable).
2. For N = 1, 2, 4, ..., N_max estimate each method's accuracy by repeated subsampling of the stored
   candidates, with bootstrap confidence intervals over problems (``stats.py``); all seeded.

Methods: ``greedy`` (one temperature-0 answer; flat in N), ``pass@n`` (the oracle: any candidate
correct), and every selection rule of ``prmkit.search.selection`` (``methods.py``), the same rules that
``prmkit.search`` runs: ``majority`` (self-consistency), ``weighted_<agg>`` (PRM-weighted vote,
Math-Shepherd Eq. 5), ``prm_<agg>`` (BoN by the PRM under each configured aggregation), ``orm`` (BoN
by the ORM's last-step score), ``likelihood`` (BoN by the least likely step under a causal LM, the
policy's own by default: the baseline a PRM must beat), and any rule registered there. Output in
``<run_dir>/bon/``: ``metrics.json``, ``table.md``, ``accuracy_vs_n.png``, ``candidates.jsonl``; the
BoN-bias diagnostics go to ``<run_dir>/diagnostics/``. On problems with exact truth (the synthetic
world) every candidate is also written with its true step labels to ``bon/labeled.jsonl``, the input
of ``prmkit eval processbench --data`` for a ProcessBench-style evaluation on synthetic data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from prmkit import artifacts
from prmkit.config import save_config
from prmkit.data.jsonl import write_jsonl
from prmkit.data.records import Problem
from prmkit.errors import ConfigError
from prmkit.evaluate import plots, stats
from prmkit.evaluate.candidates import (
    collect_candidates,
    labelled,
)
from prmkit.evaluate.config import BonEvalConfig
from prmkit.evaluate.diagnostics import run_diagnostics
from prmkit.evaluate.methods import CandidateArrays, label, method_picks
from prmkit.generation.base import without_api_key
from prmkit.metrics.bootstrap import bootstrap_ci

STAGE = "bon"
def load_problems(cfg: BonEvalConfig) -> list[Problem]:
    """The problems named by ``cfg.problems`` (see its help)."""
    from prmkit.data.formats import FORMATS, load_dataset_records
    from prmkit.data.jsonl import read_records

    if cfg.problems == "synthetic":
        from prmkit.synthetic.world import WorldConfig, make_problems

        world = WorldConfig()
        model = Path(cfg.generation.model) if cfg.generation.model else None
        if model is not None and (model / "world.json").is_file():
            from prmkit.synthetic.world import load_world

            world = load_world(model)
        return make_problems(world, cfg.limit or 100, seed=cfg.problem_seed, split="held-out")
    if cfg.problems in FORMATS:
        records = load_dataset_records(cfg.problems, split=cfg.split, limit=cfg.limit)
        problems = [r for r in records if isinstance(r, Problem)]
    elif Path(cfg.problems).is_file():
        problems = read_records(cfg.problems, Problem)[: cfg.limit]
    else:
        raise ConfigError(
            f"problems {cfg.problems!r} is not 'synthetic', a dataset ({', '.join(FORMATS.names())}) or a file"
        )
    if not problems:
        raise ConfigError(f"no problems in {cfg.problems!r}")
    return problems


@dataclass
class Curves:
    ns: list[int]
    per_problem: dict[str, list[np.ndarray]]  # method -> per N: (P,) expected accuracy
    picks: dict[str, list[np.ndarray]]  # method -> per N: (P, R) chosen candidates


def curves(arrays: CandidateArrays, cfg: BonEvalConfig) -> Curves:
    """Per-problem accuracy at every N for every method (subsets shared across methods)."""
    rng = np.random.default_rng(cfg.seed)
    problems, n_max = arrays.correct.shape
    ns = stats.budgets(n_max)
    per_problem: dict[str, list[np.ndarray]] = {}
    picks: dict[str, list[np.ndarray]] = {}
    for n in ns:
        idx = stats.subsets(rng, problems, n_max, n, cfg.repeats)
        if arrays.greedy is not None:
            per_problem.setdefault("greedy", []).append(arrays.greedy.astype(float))
        for method, chosen in method_picks(arrays, idx, cfg.aggregations, cfg.weighted_aggregation).items():
            picks.setdefault(method, []).append(chosen)
            per_problem.setdefault(method, []).append(stats.picked_correct(arrays.correct, chosen))
        per_problem.setdefault("pass@n", []).append(stats.any_correct(arrays.correct, idx))
    return Curves(ns, per_problem, picks)


def summarize(result: Curves, cfg: BonEvalConfig) -> dict[str, dict[str, list[float]]]:
    """Mean accuracy and bootstrap interval per method and N."""
    rng = np.random.default_rng([cfg.seed, 1])
    out = {}
    for method, values in result.per_problem.items():
        intervals = [bootstrap_ci(v, rng, cfg.bootstrap, cfg.ci_level) for v in values]
        out[method] = {
            "accuracy": [float(v.mean()) for v in values],
            "ci_low": [lo for lo, _ in intervals],
            "ci_high": [hi for _, hi in intervals],
        }
    return out


def write_outputs(
    folder: Path,
    summary: dict[str, dict[str, list[float]]],
    ns: list[int],
    cfg: BonEvalConfig,
    num_problems: int,
) -> dict[str, Any]:
    level = f"{100 * cfg.ci_level:g}%"
    rows = [
        [label(m)]
        + [artifacts.pct_ci(a, lo, hi) for a, lo, hi in zip(c["accuracy"], c["ci_low"], c["ci_high"])]
        for m, c in summary.items()
    ]
    note = (
        f"Each cell: mean over problems of the expected accuracy over {cfg.repeats} random N-subsets of "
        f"{ns[-1]} stored candidates, [{level} percentile interval over {cfg.bootstrap} bootstrap resamples "
        "of the problems]."
    )
    caption = f"Accuracy (%) against N, {num_problems} problems, {level} bootstrap CI"
    tab = artifacts.table(caption, ["method", *(f"N={n}" for n in ns)], rows, note)
    title = f"Best-of-N: accuracy against N ({num_problems} problems)"
    plots.accuracy_vs_n(ns, {label(m): c for m, c in summary.items()}, folder / "accuracy_vs_n.png", title)
    (folder / "table.md").write_text(artifacts.markdown(tab), encoding="utf-8")
    metrics = {
        "title": "Best-of-N harness",
        "notes": [
            (
                f"Policy {cfg.generation.model or cfg.generation.base_url} ({cfg.generation.backend}), "
                f"temperature {cfg.sampling.temperature}, problems: {cfg.problems}; PRM: {cfg.prm or 'none'}; "
                f"ORM: {cfg.orm or 'none'}; likelihood verifier: {cfg.likelihood or 'none'}."
            ),
            "Answers are grouped by mathematical equivalence (prmkit.grading) for the votes.",
        ],
        "summary": {
            "problems": num_problems,
            "n_max": ns[-1],
            "repeats": cfg.repeats,
            "bootstrap": cfg.bootstrap,
            "ci_level": cfg.ci_level,
        },
        "tables": [tab],
        "data": {"ns": ns, "methods": summary},
    }
    artifacts.write_metrics(folder, metrics)
    return metrics


def run_bon_eval(cfg: BonEvalConfig) -> dict[str, Any]:
    """Sample (or resume), analyse and write every output; returns the BoN metrics."""
    folder = artifacts.stage_dir(cfg.run_dir, STAGE)
    save_config(without_api_key(cfg), folder / "config.yaml")
    problems = load_problems(cfg)
    records = collect_candidates(cfg, problems, folder, cfg.identity())
    truth = labelled(records)
    if truth:
        write_jsonl(folder / "labeled.jsonl", truth)
    arrays = CandidateArrays.build(records, cfg.aggregations)
    result = curves(arrays, cfg)
    metrics = write_outputs(folder, summarize(result, cfg), result.ns, cfg, len(records))
    if cfg.diagnostics and cfg.prm:
        run_diagnostics(records, result, cfg)
    return metrics
