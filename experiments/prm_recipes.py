"""Which `train prm` recipe adds to what its backbone knows? A recipe search on a label-budget pool.

Each recipe is a set of ``PRMTrainConfig`` settings and a label file of the pool that
``experiments/label_budget.py`` made and labelled (``--prepare-only`` is enough). Each PRM is trained on
the pool's first ``--budget`` solutions and scores the quickstart's stored best-of-16 candidates of one
half of the held-out problems: recipes are chosen on ``select``, reported on ``report``. Every cell
is measured against the backbone's untrained step likelihood on the same candidates: the mean
difference of the within-problem ranking AUROC and of best-of-16 accuracy, with a paired 95%
bootstrap CI over problems. Trained PRMs and scores are kept, so the command resumes:

    OMP_NUM_THREADS=1 python experiments/prm_recipes.py --base runs/label_budget/default/seed0 \\
        --budget 16000 --recipes default lm-only --half select
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

# name: (label source, PRMTrainConfig settings). The label sources are label_budget.py's.
RECIPES: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("mc-he", {}),
    "truth": ("truth", {}),
    "lm-only": ("mc-he", {"loss": "none", "lm_weight": 1.0}),
    "truth-lm-only": ("truth", {"loss": "none", "lm_weight": 1.0}),
    "orm-lm-only": ("orm", {"loss": "none", "lm_weight": 1.0}),
    "lm-heavy": ("mc-he", {"lm_weight": 1.0}),
    "keep-after-error": ("mc-he", {"drop_after_error": False}),
    "progress": ("mc-se", {"labels": "hard", "label_kind": "progress", "progress_threshold": 0.5}),
    "pairwise": ("mc-se", {"pairwise_weight": 1.0}),
    "frozen": ("mc-he", {"freeze_backbone": True}),
    "long": ("mc-he", {"max_steps": 9000}),
    "lr-3e-4": ("mc-he", {"lr": 3e-4}),
    "consensus": ("consensus", {}),
}


def train(base: Path, backbone: str, recipe: str, budget: int) -> Path:
    """The recipe's PRM on the budget's solutions (label_budget's scale: lr 1e-4, batch 16, 3 epochs)."""
    from label_budget import train as train_verifier

    source, settings = RECIPES[recipe]
    folder = base / "recipes" / backbone / f"{recipe}-{budget}" / "model"
    return train_verifier(base, backbone, source, budget, folder, settings)[0]


def candidates(base: Path, half: str) -> list[dict[str, Any]]:
    """The quickstart's best-of-16 records of the half's problems."""
    ids = {json.loads(line)["id"] for line in (base / f"{half}.jsonl").read_text().splitlines()}
    records = [json.loads(line) for line in (base / "quickstart" / "bon" / "candidates.jsonl").read_text().splitlines()]
    return [r for r in records if r["problem"]["id"] in ids]


def scores(folder: Path, records: list[dict[str, Any]], out: Path, fmt: str = "auto") -> list[list[float]]:
    """Each candidate's least step score under the verifier in ``folder`` (cached in ``out``)."""
    if out.exists():
        return json.loads(out.read_text())
    from prmkit.score.load import load_prm

    prm = load_prm(str(folder), format=fmt, device="cpu", batch_size=64)
    result = []
    for r in records:
        steps = prm.score([r["problem"]["question"]] * len(r["candidates"]), [c["solution"]["steps"] for c in r["candidates"]])
        result.append([min(s) if s else -math.inf for s in steps])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result))
    return result


def per_problem(records: list[dict[str, Any]], solution_scores: list[list[float]]) -> list[tuple[float, float]]:
    """(ranking AUROC, best-of-all accuracy with ties sharing) per problem."""
    from prmkit.metrics.steps import ranking_auroc

    out = []
    for r, s in zip(records, solution_scores, strict=True):
        correct = [bool(c["correct"]) for c in r["candidates"]]
        s = [-math.inf if math.isnan(x) else x for x in s]
        best = [ok for ok, x in zip(correct, s) if x == max(s)]
        out.append((ranking_auroc(["p"] * len(s), correct, s), sum(best) / len(best)))
    return out


def mean(rows: list[tuple[float, float]], index: int) -> float:
    """The mean of one measure over the problems where it is defined."""
    values = [row[index] for row in rows if not math.isnan(row[index])]
    return sum(values) / len(values)


def paired(ours: list[tuple[float, float]], theirs: list[tuple[float, float]], index: int) -> str:
    """Mean difference (95% paired bootstrap CI over problems)."""
    import numpy as np

    from prmkit.metrics.bootstrap import bootstrap_ci

    diffs = np.array([a[index] - b[index] for a, b in zip(ours, theirs)])
    diffs = diffs[~np.isnan(diffs)]
    low, high = bootstrap_ci(diffs, np.random.default_rng(0))
    scale = 100 if index else 1
    digits = 1 if index else 3
    return f"{scale * diffs.mean():+.{digits}f} ({scale * low:+.{digits}f}, {scale * high:+.{digits}f})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="a label-budget seed folder (quickstart, pool, halves)")
    p.add_argument("--backbone", default="policy", choices=["policy", "verifier"])
    p.add_argument("--budget", type=int, default=16000)
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    p.add_argument("--half", default="select", choices=["select", "report"])
    a = p.parse_args()
    base = Path(a.base)
    records = candidates(base, a.half)
    likelihood = per_problem(records, scores(base / "quickstart" / a.backbone, records,
                                             base / "recipes" / a.backbone / f"likelihood-{a.half}.json", "likelihood"))  # fmt: skip
    print("| recipe | ranking AUROC | BoN@16 | ranking - likelihood | BoN@16 - likelihood |\n|---|---|---|---|---|")
    print(f"| likelihood, untrained | {mean(likelihood, 0):.3f} | {100 * mean(likelihood, 1):.1f} | - | - |", flush=True)
    for recipe in a.recipes:
        folder = train(base, a.backbone, recipe, a.budget)
        rows = per_problem(records, scores(folder, records, folder.parent / f"{a.half}.json"))
        print(f"| {recipe} | {mean(rows, 0):.3f} | {100 * mean(rows, 1):.1f} | {paired(rows, likelihood, 0)} "
              f"| {paired(rows, likelihood, 1)} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
