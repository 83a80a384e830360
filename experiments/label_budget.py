"""The label budget: which labels, how many, on which backbone. Lessons' comparison of label sources,
done with trained PRMs: every PRM is ``prmkit train prm``'s default recipe, and every one is measured
against its own backbone's untrained step likelihood, an ORM on the same solutions, and the vote.

For each world (``default``; ``harder``: up to 4 operations) and seed:

1. ``prmkit quickstart --rl-steps 0`` gives the policy, the verifier backbone (the same world learned
   with no injected mistakes), the critic (the judge) and 200 held-out problems, split in two: the
   *selection* half chooses recipes, the *report* half is what the table reports.
2. A pool of training solutions: the policy's samples (4 per problem, as the quickstart samples) on
   problems whose arithmetic (start value and operations) no held-out problem has. It is labelled
   exactly (``truth``, the checker), by Monte Carlo rollouts (8 per prefix, strategy all: ``mc-he``
   reads the hard labels, ``mc-se`` the soft ones), by the critic as judge (``judge``), and by their
   consensus (``consensus``: MC and judge agree on the first error). Each source's cost is recorded.
3. For each backbone, source and budget (the pool's first solutions, nested): a PRM; for each
   backbone and budget, an ORM on the same solutions (their final-answer correctness).
4. The best-of-N harness (N = 1 ... 16, bootstrap CIs) on both halves with the PRM, the ORM and the
   backbone's own step likelihood; the within-problem ranking AUROC from its diagnostics; and each
   PRM's gain over its backbone's likelihood and over the ORM on the same candidates, with a paired
   bootstrap CI over problems (is the gain larger than the noise of 100 problems?).

Every step skips what an earlier run finished, so the command can be interrupted and repeated:

    OMP_NUM_THREADS=1 python experiments/label_budget.py --out runs/label_budget --seeds 0 1 2

``--prepare-only`` makes and labels the pools and trains nothing; ``--table-only`` prints the tables from what exists; ``--write FILE`` also writes them to FILE.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import (
    bon_cell,
    bon_halves,
    emit,
    gain_cell,
    over_seeds,
    prepare_quickstart,
    quickstart_sampling,
    seed_folders,
    table_head,
)

SOURCES = ("truth", "mc-he", "mc-se", "consensus", "judge")
BACKBONES = ("policy", "verifier")
BUDGETS = (1000, 4000, 16000)
PER_PROBLEM = 4  # samples per pool problem, as the quickstart samples its annotation problems


def scale(budget: int) -> dict[str, Any]:
    """The settings that follow the model's and the data's size, not the recipe: the tiny backbones'
    learning rate, batch 16, and 3 epochs (at least 300 optimizer steps)."""
    return {"lr": 1e-4, "batch_size": 16, "max_steps": max(300, 3 * budget // 16)}


def local_model(folder: Path) -> Any:
    """A quickstart model (the policy or the critic) as a CPU transformers backend."""
    from prmkit.generation.base import GenerationConfig

    return GenerationConfig(backend="transformers", model=str(folder), batch_size=64, device="cpu")


@functools.cache
def annotations(path: Path) -> list[Any]:
    """An annotation file's records, read once per process (the tables read them for every row)."""
    from prmkit.annotate.io import read_annotations

    return read_annotations(path)


def make_pool(base: Path, size: int, seed: int) -> Path:
    """The pool's problems, the policy's samples and their exact labels (``pool/truth.jsonl``)."""
    from prmkit.data.jsonl import read_records, write_jsonl
    from prmkit.data.records import Problem
    from prmkit.generation.sample import GenerateConfig, generate_solutions
    from prmkit.quickstart.stages import content
    from prmkit.synthetic.checker import label_files
    from prmkit.synthetic.world import load_world, make_problem

    pool, quickstart = base / "pool", base / "quickstart"
    if (pool / "truth.jsonl").exists():
        return pool
    pool.mkdir(parents=True, exist_ok=True)
    world = load_world(quickstart / "policy")
    held_out = {content(p) for p in read_records(quickstart / "problems" / "eval.jsonl", Problem)}
    problems, index = [], 0
    while len(problems) * PER_PROBLEM < size:
        problem = make_problem(world, f"pool-{seed}", index)
        index += 1
        if content(problem) not in held_out:  # the world's train split already ensures it
            problems.append(problem)
    write_jsonl(pool / "problems.jsonl", problems)
    sampling = quickstart_sampling(quickstart)
    cfg = GenerateConfig(local_model(quickstart / "policy"), dataclasses.replace(sampling, n=PER_PROBLEM))
    generate_solutions(cfg, pool / "problems.jsonl", pool / "solutions.jsonl")
    write_jsonl(pool / "truth.jsonl", label_files(pool / "problems.jsonl", pool / "solutions.jsonl"))
    return pool


def add_cost(pool: Path, source: str, seconds: float, calls: int) -> None:
    """Add one (possibly resumed) labelling run's wall time and model calls to ``pool/cost.json``."""
    path = pool / "cost.json"
    cost = json.loads(path.read_text()) if path.exists() else {}
    done = cost.setdefault(source, {"seconds": 0.0, "calls": 0})
    done["seconds"] += seconds
    done["calls"] += calls
    path.write_text(json.dumps(cost, indent=2) + "\n")


def label_pool(base: Path) -> None:
    """MC rollouts (as the quickstart runs them), the critic's verdicts and their consensus."""
    from prmkit.annotate.consensus import consensus
    from prmkit.annotate.io import Judgement, read_annotations, read_labeled, read_pairs
    from prmkit.annotate.judge import JudgeConfig, annotate_judge
    from prmkit.annotate.mc import MCConfig, annotate_mc
    from prmkit.data.jsonl import write_jsonl
    from prmkit.generation.base import SamplingConfig

    pool, quickstart = base / "pool", base / "quickstart"
    pairs = read_pairs(pool / "solutions.jsonl", pool / "problems.jsonl")
    if not (pool / "mc.jsonl").exists() or len(read_annotations(pool / "mc.jsonl")) < len(pairs):
        sampling = quickstart_sampling(quickstart)
        start = time.time()
        done = annotate_mc(MCConfig(local_model(quickstart / "policy"), dataclasses.replace(sampling, n=8), strategy="all"),
                           pairs, pool / "mc.jsonl")  # fmt: skip
        add_cost(pool, "mc", time.time() - start, done["rollouts"])
    if not (pool / "judge.jsonl").exists() or len(read_annotations(pool / "judge.jsonl")) < len(pairs):
        start = time.time()
        done = annotate_judge(JudgeConfig(local_model(quickstart / "critic"), SamplingConfig(n=1, max_new_tokens=512, temperature=0.0, seed=0)),
                              pairs, pool / "judge.jsonl")  # fmt: skip
        add_cost(pool, "judge", time.time() - start, done["written"])
    if not (pool / "consensus.jsonl").exists():
        verdicts = [r for r in read_annotations(pool / "judge.jsonl") if isinstance(r, Judgement)]
        kept, _ = consensus(read_labeled(pool / "mc.jsonl"), verdicts)
        write_jsonl(pool / "consensus.jsonl", kept)


def source_file(pool: Path, source: str) -> tuple[Path, str]:
    """The labelled file of a source and the label type the PRM trains on."""
    return {
        "truth": (pool / "truth.jsonl", "hard"),
        "mc-he": (pool / "mc.jsonl", "hard"),
        "mc-se": (pool / "mc.jsonl", "soft"),
        "judge": (pool / "judge.jsonl", "hard"),
        "consensus": (pool / "consensus.jsonl", "hard"),
    }[source]


@functools.cache
def budget_ids(pool: Path, budget: int) -> frozenset[str]:
    """The solutions of a budget: the pool's first ``budget`` samples (whole problems, nested)."""
    from prmkit.data.jsonl import read_records
    from prmkit.data.records import Solution

    return frozenset(s.id for s in read_records(pool / "solutions.jsonl", Solution)[:budget])


def train(
    base: Path, backbone: str, source: str, budget: int, folder: Path | None = None, settings: dict[str, Any] | None = None
) -> tuple[Path, int]:
    """A PRM (``source``) or ORM (``source`` 'orm', on the truth file's solutions and their final
    answers) on a budget's solutions, with the default recipe or ``settings`` over it, into ``folder``
    (default: the table's own); its folder and the solutions it trained on."""
    from prmkit.annotate.io import read_labeled
    from prmkit.train.prm import train_prm
    from prmkit.train.prm_config import PRMTrainConfig

    pool = base / "pool"
    folder = folder or base / "verifiers" / backbone / f"{source}-{budget}" / "model"
    path, labels = source_file(pool, "truth" if source == "orm" else source)
    ids = budget_ids(pool, budget)
    rows = [r for r in read_labeled(path) if r.solution.id in ids]
    if not (folder / "prmkit_prm.json").exists():
        model = base / "quickstart" / backbone
        cfg = PRMTrainConfig(model=str(model), output_dir=str(folder), eval_fraction=0.0,
                             objective="orm" if source == "orm" else "prm", eval_steps=0, save_steps=500,
                             seed=0, **{"labels": labels, **scale(budget), **(settings or {})})  # fmt: skip
        train_prm(rows, cfg)
    return folder, len(rows)


def measure(a: argparse.Namespace, base: Path) -> None:
    for backbone in a.backbones:
        for budget in a.budgets:
            orm, _ = train(base, backbone, "orm", budget)
            for source in a.sources:
                prm, count = train(base, backbone, source, budget)
                out = prm.parent
                (out / "solutions.json").write_text(json.dumps({"solutions": count}) + "\n")
                bon_halves(base, out, prm=str(prm), orm=str(orm), likelihood=str(base / "quickstart" / backbone))


def cost_cell(pool: Path, source: str, budget: int) -> str:
    """Labelling cost of a budget: model calls, and seconds in proportion to the pool's run."""
    path = pool / "cost.json"
    if source == "truth" or not path.exists():
        return "exact" if source == "truth" else "-"
    cost = json.loads(path.read_text())
    ids = budget_ids(pool, budget)
    records = annotations(pool / ("judge.jsonl" if source == "judge" else "mc.jsonl"))
    rollouts = sum(r.labels.metadata.get("rollouts", 0) for r in records if r.solution.id in ids and r.labels)
    parts = []
    if source != "judge":
        share = rollouts / max(cost["mc"]["calls"], 1)
        parts.append(f"{rollouts:,} rollouts, {share * cost['mc']['seconds']:.0f} s")
    if source in ("judge", "consensus"):
        judged = sum(1 for r in records if r.solution.id in ids) if source == "judge" else len(ids)
        parts.append(f"{judged:,} critiques, {judged / max(cost['judge']['calls'], 1) * cost['judge']['seconds']:.0f} s")
    return "; ".join(parts)


def tables(a: argparse.Namespace) -> str:
    lines: list[str] = []
    for world in a.worlds:
        bases = [Path(a.out) / world / f"seed{s}" for s in a.seeds]
        columns = ["backbone", "verifier", "solutions", "select: ranking AUROC", "report: ranking AUROC", "BoN@16",
                   "weighted vote@16", "labelling cost (seed 0)"]  # fmt: skip
        lines += table_head(f"{world} world, seeds {', '.join(map(str, a.seeds))}", columns)
        for backbone in a.backbones:
            for budget in a.budgets:
                first = [(b / "verifiers" / backbone / f"{a.sources[0]}-{budget}") for b in bases]
                sel = [bon_cell(f / "select") for f in first]
                rep = [bon_cell(f / "report") for f in first]
                if budget == a.budgets[0]:
                    lines.append(f"| {backbone} | likelihood, untrained | - | {over_seeds(sel, 'ranking_auroc_likelihood')} "
                                 f"| {over_seeds(rep, 'ranking_auroc_likelihood')} | {over_seeds(rep, 'likelihood', True)} "
                                 f"| - | - |")  # fmt: skip
                lines.append(f"| {backbone} | ORM | {budget:,} | {over_seeds(sel, 'ranking_auroc_orm')} "
                             f"| {over_seeds(rep, 'ranking_auroc_orm')} | {over_seeds(rep, 'orm', True)} | - | - |")  # fmt: skip
                for source in a.sources:
                    folders = [b / "verifiers" / backbone / f"{source}-{budget}" for b in bases]
                    sel = [bon_cell(f / "select") for f in folders]
                    rep = [bon_cell(f / "report") for f in folders]
                    if not any(sel + rep):
                        continue
                    kept = [json.loads((f / "solutions.json").read_text())["solutions"] for f in folders
                            if (f / "solutions.json").exists()]  # fmt: skip
                    size = f"{budget:,}" if source != "consensus" or not kept else f"{budget:,} ({round(sum(kept) / len(kept)):,} kept)"
                    lines.append(f"| {backbone} | PRM, {source} | {size} | {over_seeds(sel, 'ranking_auroc_min')} "
                                 f"| {over_seeds(rep, 'ranking_auroc_min')} | {over_seeds(rep, 'prm_min', True)} "
                                 f"| {over_seeds(rep, 'weighted_min', True)} | {cost_cell(bases[0] / 'pool', source, budget)} |")  # fmt: skip
        majority = [bon_cell(b / "verifiers" / a.backbones[0] / f"{a.sources[0]}-{a.budgets[0]}" / "report") for b in bases]
        note = (f"Majority vote@16 on the report half: {over_seeds(majority, 'majority', True)}; "
                f"pass@16: {over_seeds(majority, 'pass@n', True)}.")  # fmt: skip
        lines += ["", note, ""]
        lines += gains(a, bases)
        lines += curves(a, bases)
    return "\n".join(lines)


def gains(a: argparse.Namespace, bases: Sequence[Path]) -> list[str]:
    """Each PRM against its backbone's untrained likelihood and the ORM on the same candidates (report
    half): the mean difference with a paired 95% bootstrap CI over problems, per seed."""
    columns = ["backbone", "verifier", "solutions", "ranking - likelihood", "BoN@16 - likelihood",
               "ranking - ORM", "BoN@16 - ORM"]  # fmt: skip
    lines = table_head("Gains on the report half: mean [each seed: difference (paired 95% bootstrap CI over problems)]", columns)
    for backbone in a.backbones:
        for budget in a.budgets:
            for source in a.sources:
                folders = [b / "verifiers" / backbone / f"{source}-{budget}" / "report" for b in bases]
                cells = [gain_cell(folders, "prm", baseline, name, pct=name == "bon")
                         for baseline in ("likelihood", "orm") for name in ("ranking", "bon")]  # fmt: skip
                if cells[0] != "-":
                    lines.append(f"| {backbone} | PRM, {source} | {budget:,} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def curves(a: argparse.Namespace, bases: Sequence[Path]) -> list[str]:
    """Accuracy against N on the report half at the largest budget, with each seed's 95% CI."""
    budget = a.budgets[-1]
    title = (f"Accuracy (%) against N on the report half, {budget:,} solutions: mean over seeds "
             "[mean 95% bootstrap CI over problems]")  # fmt: skip
    lines = [title, ""]
    header_done = False
    for backbone in a.backbones:
        for source in a.sources:
            cells = [bon_cell(b / "verifiers" / backbone / f"{source}-{budget}" / "report") for b in bases]
            cells = [c for c in cells if c]
            if not cells:
                continue
            ns = cells[0]["ns"]
            if not header_done:
                lines += ["| backbone | method | " + " | ".join(f"N={n}" for n in ns) + " |",
                          "|---|---|" + "---|" * len(ns)]  # fmt: skip
                header_done = True
            methods = [("prm_min", f"BoN, PRM {source}"), ("weighted_min", f"weighted vote, PRM {source}")]
            if source == a.sources[0]:
                methods = [("majority", "majority vote"), ("likelihood", "BoN, likelihood"), ("orm", "BoN, ORM"), *methods]
            for method, name in methods:
                row = []
                for i in range(len(ns)):
                    acc = [100 * c["methods"][method]["accuracy"][i] for c in cells]
                    low = [100 * c["methods"][method]["ci_low"][i] for c in cells]
                    high = [100 * c["methods"][method]["ci_high"][i] for c in cells]
                    row.append(f"{sum(acc) / len(acc):.1f} [{sum(low) / len(low):.1f}, {sum(high) / len(high):.1f}]")
                lines.append(f"| {backbone} | {name} | " + " | ".join(row) + " |")
    return [*lines, ""]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/label_budget")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--worlds", nargs="+", default=["default", "harder"], choices=["default", "harder"])
    p.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=BACKBONES)
    p.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES)
    p.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    p.add_argument("--quickstart-args", default="", help="extra quickstart flags (a smoke run's small sizes)")
    p.add_argument("--table-only", action="store_true", help="print the tables from what exists")
    p.add_argument("--prepare-only", action="store_true", help="make and label the pools, train nothing")
    p.add_argument("--write", default="", help="also write the tables to this file")
    a = p.parse_args()
    a.budgets = sorted(a.budgets)
    if not a.table_only:
        for world, seed, base in seed_folders(a.out, a.worlds, a.seeds):
            prepare_quickstart(base, world, seed, a.quickstart_args.split())
            make_pool(base, a.budgets[-1], seed)
            label_pool(base)
            if not a.prepare_only:
                measure(a, base)
            print(tables(a), flush=True)
    emit(tables(a), a.write)


if __name__ == "__main__":
    main()
