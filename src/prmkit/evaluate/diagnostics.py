"""BoN-bias diagnostics (Zhang et al., "The Lessons of Developing PRMs", section 3.2): does a PRM reward
answers rather than processes?

- ``min_on_last``: the share of responses whose lowest step score is on the final step (the
  process-to-outcome shift; Qwen2.5-Math-PRM-7B: 17.5%, Math-Shepherd-PRM-7B: 44.5%), over every
  candidate with two or more scored steps and over the responses each BoN method picks at N = 8 (or
  n_max when smaller). The first lowest step counts, so a tie with an earlier step is not "last".

- ``ranking_auroc``: per verifier score, the chance that a problem's right-answer candidate outscores
  one of its wrong-answer candidates (ties count 1/2), averaged over the problems that have both. This
  is what best-of-N needs; a PRM can have a high step F1 and AUROC over all steps (by telling hard
  problems from easy ones) and still rank a problem's own candidates at chance.

With exact step truth (the synthetic world):

- ``flawed_among_correct``: the policy's correct-answer responses whose process has a wrong step
  (Lessons Fig. 6: 5.1% on GSM8K up to 43.4% on Omni-MATH);
- BoN accuracy split by whether the chosen response's process is really correct, at every N;
- the PRM's step F1 against the truth (wrong steps are the positive class, threshold 0.5), the
  ProcessBench-style first-error metric on all candidates at threshold 0.5, and the share of
  correct-answer-but-flawed responses whose first error the PRM locates exactly (Lessons Table 5).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from prmkit import artifacts
from prmkit.evaluate import plots
from prmkit.evaluate.candidates import ProblemCandidates, step_scores
from prmkit.evaluate.methods import CandidateArrays, label
from prmkit.metrics.processbench import first_below, subset_metrics
from prmkit.metrics.steps import ranking_auroc as within_problem_auroc

STAGE = "diagnostics"
THRESHOLD = 0.5


def min_on_last(scores: list[float]) -> bool | None:
    """Whether the first lowest score is the last one; None with fewer than two scored steps."""
    kept = [s for s in scores if not math.isnan(s)]
    if len(kept) < 2:
        return None
    return kept.index(min(kept)) == len(kept) - 1


def _share(flags: list[bool | None]) -> float:
    known = [f for f in flags if f is not None]
    return sum(known) / len(known) if known else math.nan


def ranking_auroc(correct: np.ndarray, scores: np.ndarray) -> float:
    """``prm_metrics.ranking_auroc`` over (problems, candidates) arrays: one problem per row."""
    rows = np.repeat(np.arange(correct.shape[0]), correct.shape[1]).astype(str)
    return within_problem_auroc(rows.tolist(), correct.ravel().tolist(), scores.ravel().tolist())


def ranking_table(
    records: list[ProblemCandidates], aggregations: list[str]
) -> tuple[dict[str, float], dict[str, Any]]:

    arrays = CandidateArrays.build(records, aggregations)
    values = {name: ranking_auroc(arrays.correct, scores) for name, scores in arrays.scores.items()}
    rows = [
        [label(name if name in ("orm", "likelihood") else f"prm_{name}"), artifacts.pct(v)]
        for name, v in values.items()
    ]
    mixed = int(sum(row.any() and not row.all() for row in arrays.correct))
    note = f"Over the {mixed} problems with both right and wrong candidates; 50 is chance."
    table = artifacts.table(
        "Within-problem ranking AUROC (%): right answers above wrong ones?", ["scores", "AUROC"], rows, note
    )
    return {f"ranking_auroc_{name}": v for name, v in values.items()}, table


def truth_arrays(records: list[ProblemCandidates]) -> np.ndarray | None:
    """(P, n) True where a candidate's process has no wrong step; None without truth."""
    if not all(c.truth is not None for r in records for c in r.candidates):
        return None
    return np.array([[c.truth.first_error == -1 for c in r.candidates] for r in records], dtype=bool)  # type: ignore[union-attr]


def split_by_process(correct: np.ndarray, process_ok: np.ndarray, chosen: np.ndarray) -> tuple[float, float]:
    """Shares of picks (P, R) that are correct with a sound process, and correct with a flawed one."""
    safe = np.maximum(chosen, 0)
    hit = np.take_along_axis(correct, safe, axis=-1) & (chosen >= 0)
    sound = np.take_along_axis(process_ok, safe, axis=-1)
    return float((hit & sound).mean()), float((hit & ~sound).mean())


def truth_metrics(records: list[ProblemCandidates]) -> dict[str, float]:
    """Step F1, first-error F1 and Lessons-Table-5 accuracy of the PRM against the exact truth."""
    from prmkit.metrics.steps import solution_step_metrics

    cands = [c for r in records for c in r.candidates]
    scores = [step_scores(c, "prm") for c in cands]
    truth = [c.truth for c in cands]
    out = dict(solution_step_metrics(scores, [t.hard for t in truth], THRESHOLD))  # type: ignore[union-attr]
    predicted = [first_below(s, THRESHOLD) for s in scores]
    labels = [t.first_error for t in truth]  # type: ignore[union-attr]
    pb = subset_metrics(labels, predicted)
    out.update({f"first_error_{k}": v for k, v in pb.items() if k in ("acc_error", "acc_correct", "f1")})
    flawed = [(p, y) for c, p, y in zip(cands, predicted, labels) if c.correct and y >= 0]
    out["flawed_correct_answers"] = len(flawed)
    out["flawed_located"] = sum(p == y for p, y in flawed) / len(flawed) if flawed else math.nan
    answered = [c for c in cands if c.correct]
    out["flawed_among_correct"] = len(flawed) / len(answered) if answered else math.nan
    return out


def min_on_last_table(records: list[ProblemCandidates], result: Any) -> tuple[float, dict[str, Any]]:
    """The share over all candidates, and a table adding each method's picks at N = 8 (or less)."""

    flags = [[min_on_last(step_scores(c, "prm")) for c in r.candidates] for r in records]
    overall = _share([f for row in flags for f in row])
    last = np.array([[bool(f) for f in row] for row in flags])
    known = np.array([[f is not None for f in row] for row in flags])
    at = max(i for i, n in enumerate(result.ns) if n <= 8)
    rows = [["all candidates", artifacts.pct(overall)]]
    for method, picks in result.picks.items():
        chosen = np.maximum(picks[at], 0)
        valid = (picks[at] >= 0) & np.take_along_axis(known, chosen, axis=-1)
        picked = np.take_along_axis(last, chosen, axis=-1)[valid]
        rows.append(
            [f"picked by {label(method)}", artifacts.pct(float(picked.mean()) if picked.size else math.nan)]
        )
    title = f"Responses whose lowest step score is on the final step (picks at N={result.ns[at]})"
    return overall, artifacts.table(title, ["responses", "share (%)"], rows)


def process_split_table(
    records: list[ProblemCandidates], result: Any, process_ok: np.ndarray, folder: Path
) -> dict[str, Any]:
    """BoN accuracy at every N split into sound and flawed processes; plots the first BoN-PRM method."""

    correct = CandidateArrays.build(records, []).correct
    rows, plotted = [], False
    for method, picks in result.picks.items():
        splits = [split_by_process(correct, process_ok, chosen) for chosen in picks]
        rows.append([label(method), *(f"{artifacts.pct(s)} + {artifacts.pct(f)}" for s, f in splits)])
        if not plotted and method.startswith("prm_"):
            parts = {
                "correct answer, sound process": [s for s, _ in splits],
                "correct answer, flawed process": [f for _, f in splits],
            }
            plots.stacked_vs_n(
                result.ns,
                parts,
                folder / "bon_process_split.png",
                f"{label(method)}: accuracy split by the true process",
            )
            plotted = True
    note = "Sound: the exact checker finds no wrong step; flawed: the answer is right but some step is wrong."
    return artifacts.table(
        "BoN accuracy (%) = sound process + flawed process",
        ["method", *(f"N={n}" for n in result.ns)],
        rows,
        note,
    )


def truth_table(summary: dict[str, Any]) -> dict[str, Any]:
    rows = [
        ["policy: flawed process among correct answers (%)", artifacts.pct(summary["flawed_among_correct"])],
        ["PRM step F1, wrong steps positive (%)", artifacts.pct(summary["step_f1"])],
        ["first-error F1, ProcessBench style (%)", artifacts.pct(summary["first_error_f1"])],
        [
            "flawed correct-answer responses: first error located (%)",
            artifacts.pct(summary["flawed_located"]),
        ],
    ]
    return artifacts.table(f"PRM against the exact truth (threshold {THRESHOLD})", ["metric", "value"], rows)


def run_diagnostics(records: list[ProblemCandidates], result: Any, cfg: Any) -> dict[str, Any]:
    """Write ``<run_dir>/diagnostics/`` from the BoN harness's candidates and picks (``bon.Curves``)."""
    folder = artifacts.stage_dir(cfg.run_dir, STAGE)
    overall, table = min_on_last_table(records, result)
    summary: dict[str, Any] = {"min_on_last_all": overall}
    ranking, ranking_tab = ranking_table(records, cfg.aggregations)
    summary.update(ranking)
    tables = [ranking_tab, table]
    notes = [
        "A PRM that rewards outcomes puts its lowest score on the final (answer) step; Lessons Fig. 8: 9-55% across public PRMs."
    ]
    process_ok = truth_arrays(records)
    if process_ok is not None:
        summary.update(truth_metrics(records))
        tables += [process_split_table(records, result, process_ok, folder), truth_table(summary)]
        notes.append("Truth: the synthetic world's exact step checker (prmkit.synthetic.checker).")
    metrics = {"title": "BoN-bias diagnostics", "notes": notes, "summary": summary, "tables": tables}
    artifacts.write_metrics(folder, metrics)
    return metrics
