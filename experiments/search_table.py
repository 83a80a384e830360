"""Tree search against best-of-N at equal budgets: accuracy against generated tokens for best-of-N,
the PRM-weighted vote, beam search and DVTS, with the quickstart's policy and PRM.

For each world and seed, ``prmkit quickstart --rl-steps 0`` (as ``experiments/label_budget.py`` runs
it, and sharing its folders) gives the policy, the PRM and the held-out problems; each method runs
through ``prmkit search`` on the report half at budget N (N candidates for the selection rules;
``N / 4`` beams or subtrees expanding 4 steps each for the tree searches, search-and-learn's
``beam_width`` 4), sampled as the quickstart samples (its temperature). ``--verifier checker`` runs
the same with the world's exact step checker as the verifier (1 for a right step, 0 from the first
wrong one): what each method could do with a perfect PRM. Each run resumes:

    OMP_NUM_THREADS=1 python experiments/search_table.py --out runs/label_budget --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from common import WORLDS, emit, prepare_quickstart, quickstart_sampling, seed_folders

METHODS = ("bon", "weighted_vote", "beam", "dvts")
EXPANSIONS = 4


class CheckerPRM:
    """The world's exact step checker as a verifier, with ``PRM.score_counted``'s contract."""

    format = "checker"

    def __init__(self, problems_file: Path) -> None:
        from prmkit.data.jsonl import read_records
        from prmkit.data.records import Problem

        self.problems = {p.question: p for p in read_records(problems_file, Problem)}

    def score_counted(self, problems: list[Any], solutions: list[Any]) -> Any:
        from prmkit.score.prm import Scored, questions_and_steps
        from prmkit.synthetic.checker import first_error

        rows = []
        for question, steps in zip(*questions_and_steps(problems, solutions)):
            wrong = first_error(self.problems[question], list(steps))
            rows.append([1.0 if wrong < 0 or i < wrong else 0.0 for i in range(len(steps))])
        return Scored(rows, [0] * len(rows), 1)

    def score(self, problems: list[Any], solutions: list[Any]) -> list[list[float]]:
        return self.score_counted(problems, solutions).scores


def run_method(base: Path, method: str, n: int, prm: str, verifier: str = "prm", duplicates: bool = False) -> dict:
    """``prmkit search`` with ``method`` at budget ``n`` on the report half (resumed where done)."""
    from prmkit.generation.base import GenerationConfig
    from prmkit.search.run import SearchRunConfig, run_search

    quickstart = base / "quickstart"
    output = base / folder_name(verifier, duplicates) / f"{method}-{n}.jsonl"
    output.parent.mkdir(parents=True, exist_ok=True)
    summary_file = output.with_suffix(".summary.json")
    if summary_file.exists():
        return json.loads(summary_file.read_text())
    sampling = quickstart_sampling(quickstart)
    tree = method in ("beam", "dvts")
    cfg = SearchRunConfig(
        method=method, problems=str(base / "report.jsonl"), output=str(output), prm=prm,
        generation=GenerationConfig(model=str(quickstart / "policy"), device="cpu", batch_size=64),
        sampling=dataclasses.replace(sampling, n=n, seed=0),
        beam_width=max(1, n // EXPANSIONS) if tree else 4, expansions=EXPANSIONS,
        step_max_tokens=64, max_depth=12, chunk_size=25, progress=False, incremental=verifier == "prm",
        keep_duplicates=duplicates,
    )  # fmt: skip
    return run_search(cfg, CheckerPRM(base / "report.jsonl") if verifier == "checker" else None)


def folder_name(verifier: str, duplicates: bool = False) -> str:
    return ("search" if verifier == "prm" else f"search-{verifier}") + ("-duplicates" if duplicates else "")


def per_problem_correct(base: Path, method: str, n: int, folder: str) -> list[float]:
    path = base / folder / f"{method}-{n}.jsonl"
    return [float(json.loads(line)["correct"]) for line in path.read_text().splitlines()]


def methods(a: argparse.Namespace) -> tuple[str, ...]:
    return ("beam", "dvts") if a.keep_duplicates else METHODS


def table(a: argparse.Namespace) -> str:
    import numpy as np

    from prmkit.metrics.bootstrap import bootstrap_ci

    lines = []
    for world in a.worlds:
        bases = [Path(a.out) / world / f"seed{s}" for s in a.seeds]
        dup = ", duplicate steps kept" if a.keep_duplicates else ""
        lines += [(f"### {world} world, {a.verifier} as the verifier{dup}, seeds {', '.join(map(str, a.seeds))}: accuracy % [95% CI over problems, "
                  "seeds pooled] and generated tokens per problem"), "",
                  "| method | " + " | ".join(f"N={n}" for n in a.ns) + " |", "|---|" + "---|" * len(a.ns)]  # fmt: skip
        folder = folder_name(a.verifier, a.keep_duplicates)
        for method in methods(a):
            cells = []
            for n in a.ns:
                done = [b for b in bases if (b / folder / f"{method}-{n}.summary.json").exists()]
                if not done:
                    cells.append("-")
                    continue
                correct = np.array([x for b in done for x in per_problem_correct(b, method, n, folder)])
                low, high = bootstrap_ci(correct, np.random.default_rng(0))
                tokens = np.mean([json.loads((b / folder / f"{method}-{n}.summary.json").read_text())
                                  ["generated_tokens_per_problem"] for b in done])  # fmt: skip
                cells.append(f"{100 * correct.mean():.1f} [{100 * low:.1f}, {100 * high:.1f}], {tokens:.0f} tok")
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/label_budget")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--worlds", nargs="+", default=list(WORLDS), choices=list(WORLDS))
    p.add_argument("--ns", type=int, nargs="+", default=[4, 8, 16])
    p.add_argument("--prm", default="", help="a PRM folder or URL (default: each seed's quickstart PRM)")
    p.add_argument("--verifier", default="prm", choices=["prm", "checker"],
                   help="prm: the quickstart's PRM (or --prm); checker: the world's exact step checker")
    p.add_argument("--keep-duplicates", action="store_true",
                   help="tree searches only, with a step sampled k times filling k slots")
    p.add_argument("--table-only", action="store_true")
    p.add_argument("--write", default="", help="also write the table to this file")
    a = p.parse_args()
    if not a.table_only:
        for world, seed, base in seed_folders(a.out, a.worlds, a.seeds):
            prepare_quickstart(base, world, seed)
            prm = a.prm or str(base / "quickstart" / "prm" / "model")
            for n in a.ns:
                for method in methods(a):
                    run_method(base, method, n, prm, a.verifier, a.keep_duplicates)
            print(table(a), flush=True)
    emit(table(a), a.write)


if __name__ == "__main__":
    main()
