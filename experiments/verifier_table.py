"""Which PRM recipe verifies: label kinds x losses x backbones at equal annotation compute, over seeds.

For each world (``default``; ``harder``: up to 4 operations) and seed:

1. ``prmkit quickstart --seed S --rl-steps 0`` gives the policy, its Monte Carlo labelled solutions
   (``annotate/mc.jsonl``: the one training file of every recipe, so annotation compute is equal) and
   200 held-out problems, split in two: the *selection* half picks the recipe, the *report* half is
   what the table reports, so no reported number chose the recipe.
2. Two stronger backbones, the same world learned with no injected mistakes
   (``prmkit train policy --mistake-rate 0``): the *verifier*, as many steps as the policy (the
   quickstart's PRM backbone), and the *world model*, twice as many.
3. For every backbone x recipe: ``train_prm`` on the MC file, then the best-of-N harness (N up to 16)
   on each half, with the backbone's own step likelihood as the baseline verifier.
4. With ``--beam``, PRM-guided step-level beam search on the report half (4 beams x 4 expansions:
   16 samples per depth, about the tokens of best-of-16), its accuracy and generated tokens beside
   best-of-16's.

Every step skips what a finished earlier run left (each folder's ``metrics.json``), so an interrupted
run resumes. ``--table-only`` prints the table from what exists.

    OMP_NUM_THREADS=1 python experiments/verifier_table.py --out runs/verifier_table --seeds 0 1 2

By default the default world runs the ``CORE`` recipes on every backbone and the harder world the
``HARDER`` ones, with beam search for the quickstart's recipe; ``--recipes all`` adds the ablations,
``--recipes NAME ...`` and ``--backbones`` run a subset. The table leaves out rows with no run.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from common import (
    PRMKIT,
    WORLDS,
    bon_cell,
    bon_halves,
    over_seeds,
    prepare_quickstart,
    quickstart_sampling,
    run,
    table_head,
)

LINEAR = {"head": "linear", "lm_weight": 0.0}  # the token-classification head with the step loss alone
LIKELIHOOD = {"head": "likelihood", "lm_weight": 0.0}
RECIPES: dict[str, dict[str, Any]] = {
    "value, hard, CE (Math-Shepherd / Lessons)": {**LINEAR, "labels": "hard"},
    "value, soft, MSE (Lessons' soft labels)": {**LINEAR, "labels": "soft", "loss": "mse"},
    "progress, soft": {**LINEAR, "labels": "soft", "label_kind": "progress"},
    "progress, soft + sibling pairs": {**LINEAR, "labels": "soft", "label_kind": "progress", "pairwise_weight": 1.0},
    "value, hard + LM loss": {**LINEAR, "labels": "hard", "lm_weight": 0.1},
    "progress, soft + pairs + LM loss": {
        **LINEAR, "labels": "soft", "label_kind": "progress", "pairwise_weight": 1.0, "lm_weight": 0.1,
    },
    "likelihood head, frozen backbone (value, hard)": {**LIKELIHOOD, "labels": "hard", "freeze_backbone": True},
    "likelihood head, frozen backbone (progress, soft + pairs)": {
        **LIKELIHOOD, "labels": "soft", "label_kind": "progress", "pairwise_weight": 1.0, "freeze_backbone": True,
    },
    "likelihood head, backbone trained (value, hard)": {**LIKELIHOOD, "labels": "hard"},
}  # fmt: skip
CORE = [
    "value, hard, CE (Math-Shepherd / Lessons)", "progress, soft + sibling pairs",
    "likelihood head, frozen backbone (value, hard)", "likelihood head, frozen backbone (progress, soft + pairs)",
    "likelihood head, backbone trained (value, hard)",
]  # fmt: skip
HARDER = ["value, hard, CE (Math-Shepherd / Lessons)", "likelihood head, frozen backbone (value, hard)"]
BEAM = ["likelihood head, frozen backbone (value, hard)"]
BACKBONES = {"policy": "quickstart/policy", "verifier": "quickstart/verifier", "world-model": "world-model"}
STRONGER = {"verifier": "policy_steps", "world-model": "world_model_steps"}


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def prepare(a: argparse.Namespace, world: str, seed: int) -> Path:
    """The quickstart run (policy, MC labels, held-out problems, halves) and the world model."""
    base = Path(a.out) / world / f"seed{seed}"
    prepare_quickstart(base, world, seed, a.quickstart_args.split())
    for name in (b for b in a.backbones if b in STRONGER):
        steps, folder = getattr(a, STRONGER[name]), base / BACKBONES[name]
        if not (folder / "model.safetensors").exists():
            run([*PRMKIT, "train", "policy", "--output", str(folder), "--seed", str(seed), "--steps", str(steps),
                 "--warmup-steps", str(min(30, steps // 10)), "--mistake-rate", "0",
                 *[w.replace("--policy.", "--") for w in WORLDS[world]]], base / "log.txt")  # fmt: skip
    return base


def evaluate(base: Path, backbone: Path, recipe: str, prm: Path) -> None:
    """The BoN harness on both halves, with the backbone's own step likelihood as the baseline verifier."""
    bon_halves(base, base / "verifiers" / backbone.name / slug(recipe), prm=str(prm), likelihood=str(backbone))


def beam(base: Path, backbone: Path, recipe: str, prm: Path) -> None:
    """PRM-guided beam search (4 x 4) on the report half, sampled by the policy; skipped where done."""
    from transformers import AutoTokenizer

    from prmkit.data.jsonl import read_records
    from prmkit.data.records import Problem
    from prmkit.generation.base import GenerationConfig, SamplingConfig, load_backend
    from prmkit.grading.batch import grade_solutions
    from prmkit.score import load_prm
    from prmkit.search import SearchConfig, search

    out = base / "verifiers" / backbone.name / slug(recipe) / "report" / "beam.json"
    if out.exists():
        return
    temperature = quickstart_sampling(base / "quickstart").temperature
    problems = read_records(base / "report.jsonl", Problem)
    backend = load_backend(GenerationConfig(model=str(base / "quickstart" / "policy"), device="cpu"))
    cfg = SearchConfig(method="beam", beam_width=4, expansions=4, incremental=False,
                       sampling=SamplingConfig(temperature=temperature, seed=0))  # fmt: skip
    results = search(problems, cfg, backend, load_prm(str(prm), device="cpu"))
    picked = [r.solution for r in results]
    grades = grade_solutions([p for p, s in zip(problems, picked) if s], [s for s in picked if s])
    tokenizer = AutoTokenizer.from_pretrained(base / "quickstart" / "policy")
    candidates = [json.loads(line) for line in (out.parent / "bon" / "candidates.jsonl").open()]
    bon_tokens = sum(len(tokenizer.encode("\n\n".join(c["solution"]["steps"]), add_special_tokens=False))
                     for r in candidates for c in r["candidates"])  # fmt: skip
    out.write_text(json.dumps({
        "accuracy": sum(g.correct for g in grades) / len(problems),
        "generated_tokens": results[0].stats["generated_tokens"] if results else 0,
        "bon_tokens": bon_tokens,
    }, indent=2) + "\n")  # fmt: skip


def train(base: Path, backbone: Path, recipe: str) -> Path:
    from prmkit.annotate.io import read_labeled
    from prmkit.train.prm import train_prm
    from prmkit.train.prm_config import PRMTrainConfig

    folder = base / "verifiers" / backbone.name / slug(recipe) / "prm"
    if not (folder / "prmkit_prm.json").exists():
        cfg = PRMTrainConfig(model=str(backbone), output_dir=str(folder), max_steps=300, lr=1e-3, batch_size=16,
                             eval_steps=0, save_steps=1000, seed=0, **RECIPES[recipe])  # fmt: skip
        train_prm(read_labeled(base / "quickstart" / "annotate" / "mc.jsonl"), cfg)
    return folder


def cell(base: Path, backbone: str, recipe: str | None, split: str) -> dict[str, Any] | None:
    """A run's BoN accuracies at the largest N and its diagnostics; the baseline (``recipe`` None) is
    read from the first recipe's run, which scored every candidate with the likelihood too."""
    folder = base / "verifiers" / backbone / slug(recipe or next(iter(RECIPES))) / split
    out = bon_cell(folder)
    if out is not None and recipe is not None and (folder / "beam.json").exists():
        found = json.loads((folder / "beam.json").read_text())
        out.update(beam=found["accuracy"], beam_tokens=found["generated_tokens"] / found["bon_tokens"])
    return out


def beam_cell(cells: list[dict[str, float] | None]) -> str:
    done = [c for c in cells if c and "beam" in c]
    if not done:
        return "-"
    accuracy = statistics.mean(100 * c["beam"] for c in done)
    each = ", ".join(f"{100 * c['beam']:.1f}" for c in done)
    return f"{accuracy:.1f} [{each}] ({statistics.mean(c['beam_tokens'] for c in done):.2f})"


def table(a: argparse.Namespace) -> str:
    """Means over seeds (each seed's value in brackets) on the report half; the recipe column that
    chooses, ranking AUROC on the selection half, comes first."""
    lines = []
    for world in a.worlds:
        bases = [Path(a.out) / world / f"seed{s}" for s in a.seeds]
        columns = ["backbone", "verifier", "select: ranking AUROC", "report: ranking AUROC", "BoN, largest N",
                   "weighted vote", "majority vote", "pass@N", "beam search (tokens / BoN's)"]  # fmt: skip
        lines += table_head(f"{world} world, seeds {a.seeds}", columns)
        for backbone in a.backbones:
            rows = [(None, "likelihood (no training)")] + [(r, r) for r in RECIPES]
            for recipe, label in rows:
                sel = [cell(b, backbone, recipe, "select") for b in bases]
                rep = [cell(b, backbone, recipe, "report") for b in bases]
                if not any(sel + rep):
                    continue
                key, bon = (
                    ("ranking_auroc_likelihood", "likelihood")
                    if recipe is None
                    else ("ranking_auroc_min", "prm_min")
                )

                lines.append(f"| {backbone} | {label} | {over_seeds(sel, key)} | {over_seeds(rep, key)} | {over_seeds(rep, bon, True)} | "
                             f"{over_seeds(rep, 'weighted_min', True) if recipe else '-'} | {over_seeds(rep, 'majority', True)} | "
                             f"{over_seeds(rep, 'pass@n', True)} | {beam_cell(rep)} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/verifier_table")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--worlds", nargs="+", default=list(WORLDS), choices=list(WORLDS))
    p.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=list(BACKBONES))
    p.add_argument("--policy-steps", type=int, default=750, help="training steps of the verifier (the policy's)")
    p.add_argument("--world-model-steps", type=int, default=1500, help="training steps of the world model")
    p.add_argument("--quickstart-args", default="", help="extra quickstart flags (a smoke run's small sizes)")
    p.add_argument("--recipes", nargs="*", default=[], help="recipe names to run, or 'all' (default: CORE, HARDER)")
    p.add_argument("--beam", nargs="*", default=BEAM, help="recipes to run beam search with on the report half")
    p.add_argument("--table-only", action="store_true", help="print the table from what exists")
    a = p.parse_args()
    unknown = [r for r in a.recipes + a.beam if r not in RECIPES and r != "all"]
    if unknown:
        p.error(f"unknown recipes {unknown}; known: {list(RECIPES)}")
    if not a.table_only:
        for world in a.worlds:
            chosen = list(RECIPES) if a.recipes == ["all"] else a.recipes or (CORE if world == "default" else HARDER)
            for seed in a.seeds:
                base = prepare(a, world, seed)
                for backbone in (base / BACKBONES[b] for b in a.backbones):
                    for recipe in sorted(chosen, key=list(RECIPES).index):
                        prm = train(base, backbone, recipe)
                        evaluate(base, backbone, recipe, prm)
                        if recipe in a.beam:
                            beam(base, backbone, recipe, prm)
                print(table(a), flush=True)
    print(table(a))


if __name__ == "__main__":
    main()
