"""The label-quality lab: every annotation method scored against the synthetic world's exact truth.

Methods: MC-HE (hard labels of an ``all`` run), MC-SE at each threshold ``t`` (a step is correct iff
its soft label is > t), MC-HE from a ``first-error`` search run (optional), the judge, and consensus
(MC ``all`` and the judge agreeing on the first error). The truth is the exact checker's
(``prmkit.synthetic.checker``): hard 1 before the true first error, 0 from it on.

Metrics, per method, over the solutions it labels:

- ``coverage``: labelled solutions / all solutions (the judge loses unparsable verdicts, consensus
  its disagreements: this is consensus's retention);
- ``first_error_acc``: predicted first error (first step labelled 0, -1 if none) equals the truth;
- ``pb_f1``: ProcessBench's F1 of the accuracy on erroneous and on correct solutions;
- step-level precision, recall and F1 for *erroneous* steps (a step is flagged when labelled 0) on
  two step sets: ``first`` = every step up to and including the true first error (all steps of an
  error-free solution), because what a step after an error "should" be labelled is a convention
  (carried-forward work, "after an error"); and ``all`` = every step, truth 0 after the error. On
  ``first`` the only erroneous step is the first error, so false positives are correct steps flagged
  wrong; ``false_alarm`` is their share among correct steps;
- ``rawp_flagged``: among solutions with a right final answer but a wrong process, the share the
  method flags (first error != -1);
- ``rollouts``: MC rollouts spent per labelled solution (consensus: all MC rollouts / kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prmkit.annotate.consensus import consensus
from prmkit.annotate.io import Judgement
from prmkit.artifacts import markdown, pct, table, write_metrics
from prmkit.data.records import LabeledSolution
from prmkit.errors import DataError
from prmkit.grading import grade_solutions
from prmkit.metrics.processbench import subset_metrics
from prmkit.synthetic.checker import check


@dataclass
class ReportConfig:
    """``prmkit annotate report``: the annotation files to compare and the SE thresholds."""

    mc: str = field(
        default="", metadata={"help": "MC output of an 'all' run (hard and soft labels of every step)"}
    )
    judge: str = field(default="", metadata={"help": "judge output (Judgement JSONL)"})
    search: str = field(
        default="", metadata={"help": "optional MC output of a 'first-error' run on the same solutions"}
    )
    thresholds: list[float] = field(
        default_factory=lambda: [0.0, 0.25, 0.5], metadata={"help": "MC-SE thresholds t: correct iff SE > t"}
    )
    plots: bool = field(default=True, metadata={"help": "write PNG figures"})

    def __post_init__(self) -> None:
        if not self.mc or not self.judge:
            raise ValueError("name both --mc (an 'all' run) and --judge")


@dataclass(frozen=True)
class Truth:
    first_error: int
    hard: list[int]
    final_correct: bool


@dataclass
class Method:
    """One method's predicted hard labels per solution id, and the MC rollouts it cost."""

    name: str
    hard: dict[str, list[int]]
    rollouts: int | None = None


def truths(records: Sequence[LabeledSolution]) -> dict[str, Truth]:
    """Exact step truth and final-answer correctness (math-verify) of every solution."""
    try:
        checked = [check(r.problem, r.solution.steps) for r in records]
    except ValueError as exc:
        raise DataError(f"the label-quality lab needs synthetic-world problems: {exc}") from None
    grades = grade_solutions([r.problem for r in records], [r.solution for r in records])
    return {
        r.solution.id: Truth(c.first_error, c.hard, g.correct) for r, c, g in zip(records, checked, grades)
    }


def first_zero(hard: list[int]) -> int:
    return hard.index(0) if 0 in hard else -1


def implied(first_error: int, num_steps: int) -> list[int]:
    return [1] * num_steps if first_error < 0 else [1] * first_error + [0] * (num_steps - first_error)


def build_methods(
    mc: Sequence[LabeledSolution],
    judge: Sequence[Judgement],
    search: Sequence[LabeledSolution],
    thresholds: Sequence[float],
) -> tuple[list[Method], dict[str, Any]]:
    """The methods to compare, and consensus's retention counts."""
    if any(r.labels is None or r.labels.soft is None for r in mc):
        raise DataError("the MC file needs hard and soft labels on every solution (an 'all' run)")
    spent = sum(r.labels.metadata.get("rollouts", 0) for r in mc)  # type: ignore[union-attr]
    methods = [Method("MC-HE", {r.solution.id: list(r.labels.hard) for r in mc}, spent)]  # type: ignore[union-attr, arg-type]
    for t in thresholds:
        soft = {r.solution.id: [int(s > t) for s in r.labels.soft] for r in mc}  # type: ignore[union-attr]
        methods.append(Method(f"MC-SE>{t:g}", soft, spent))
    if search:
        hard = {
            r.solution.id: list(r.labels.hard or implied(r.labels.first_error, r.labels.num_steps))
            for r in search
        }  # type: ignore[union-attr]
        methods.append(
            Method(
                "MC-HE first-error search", hard, sum(r.labels.metadata.get("rollouts", 0) for r in search)
            )
        )  # type: ignore[union-attr]
    judged = {
        j.solution.id: implied(j.labels.first_error, j.labels.num_steps)
        for j in judge
        if j.labels is not None
    }
    methods.append(Method("judge", judged))
    kept, stats = consensus(mc, judge)
    methods.append(Method("consensus", {r.solution.id: list(r.labels.hard) for r in kept}, spent))  # type: ignore[union-attr, arg-type]
    return methods, stats


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return {"precision": precision, "recall": recall, "f1": f1}


def step_metrics(preds: dict[str, list[int]], truth: dict[str, Truth], upto_first: bool) -> dict[str, float]:
    """Precision, recall and F1 for erroneous steps, and the false-alarm rate on correct steps."""
    tp = fp = fn = tn = 0
    for sid, pred in preds.items():
        t = truth[sid]
        end = len(t.hard) if not upto_first or t.first_error < 0 else t.first_error + 1
        for i in range(end):
            wrong, flagged = t.hard[i] == 0, pred[i] == 0
            tp += wrong and flagged
            fp += flagged and not wrong
            fn += wrong and not flagged
            tn += not wrong and not flagged
    return {**_prf(tp, fp, fn), "false_alarm": fp / (fp + tn) if fp + tn else float("nan")}


def method_metrics(method: Method, truth: dict[str, Truth]) -> dict[str, Any]:
    sids = list(method.hard)
    predicted = [first_zero(method.hard[s]) for s in sids]
    actual = [truth[s].first_error for s in sids]
    rawp = [s for s in sids if truth[s].final_correct and truth[s].first_error != -1]
    return {
        "labelled": len(sids),
        "coverage": len(sids) / len(truth),
        "first_error_acc": sum(p == a for p, a in zip(predicted, actual)) / len(sids)
        if sids
        else float("nan"),
        "pb_f1": subset_metrics(actual, predicted)["f1"] if sids else float("nan"),
        "first": step_metrics(method.hard, truth, upto_first=True),
        "all": step_metrics(method.hard, truth, upto_first=False),
        "rawp_flagged": sum(first_zero(method.hard[s]) != -1 for s in rawp) / len(rawp)
        if rawp
        else float("nan"),
        "rollouts": method.rollouts / len(sids) if method.rollouts is not None and sids else None,
    }


def dataset_summary(mc: Sequence[LabeledSolution], truth: dict[str, Truth]) -> dict[str, Any]:
    values = list(truth.values())
    right = [t for t in values if t.final_correct]
    return {
        "solutions": len(values),
        "process_correct": sum(t.first_error == -1 for t in values) / len(values),
        "answer_correct": len(right) / len(values),
        "right_answer_wrong_process": sum(t.first_error != -1 for t in right) / len(right)
        if right
        else float("nan"),
        "right_answer_wrong_process_count": sum(t.first_error != -1 for t in right),
        "mc_non_monotone": sum(not r.labels.metadata.get("monotone", True) for r in mc) / len(mc),  # type: ignore[union-attr]
    }


def quality_table(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    columns = ["method", "labelled %", "first-error acc %", "PB F1 %", "P (≤first)", "R (≤first)", "F1 (≤first)",
               "false alarms %", "F1 (all steps)", "right-answer-wrong-process flagged %", "rollouts / labelled sol."]  # fmt: skip
    rows = []
    for name, m in results.items():
        rows.append([
            name, pct(m["coverage"]), pct(m["first_error_acc"]), pct(m["pb_f1"]), pct(m["first"]["precision"]),
            pct(m["first"]["recall"]), pct(m["first"]["f1"]), pct(m["first"]["false_alarm"]), pct(m["all"]["f1"]),
            pct(m["rawp_flagged"]), "n/a" if m["rollouts"] is None else f"{m['rollouts']:.1f}",
        ])  # fmt: skip
    note = ("P/R/F1 are for erroneous steps, in %; '≤first' counts the steps up to and including the true first "
            "error; false alarms = correct steps (≤first) flagged wrong.")  # fmt: skip
    return table("Label quality against the exact truth", columns, rows, note)


def label_quality(
    mc: Sequence[LabeledSolution],
    judge: Sequence[Judgement],
    search: Sequence[LabeledSolution] = (),
    thresholds: Sequence[float] = (0.0, 0.25, 0.5),
) -> dict[str, Any]:
    """All metrics as one JSON-ready object (``prmkit.artifacts`` layout)."""
    truth = truths(mc)
    methods, retention = build_methods(mc, judge, search, thresholds)
    for method in methods:
        missing = set(method.hard) - set(truth)
        if missing:
            raise DataError(f"{method.name}: solution {min(missing)!r} is not in the MC file")
    results = {m.name: method_metrics(m, truth) for m in methods}
    summary = dataset_summary(mc, truth)
    summary["consensus_retention"] = retention["retention"]
    return {
        "title": "Label quality on the synthetic world",
        "notes": [
            (
                f"{summary['solutions']} solutions; truth from the exact checker. Consensus kept "
                f"{retention['kept']} ({pct(retention['retention'])}%): agree on an error {retention['agree_error']}, "
                f"agree on none {retention['agree_correct']}, disagree {retention['disagree']}, judge unparsable "
                f"{retention['unparsable']}."
            ),
        ],
        "summary": summary,
        "tables": [quality_table(results)],
        "data": {"methods": results, "consensus": retention,
                 "first_errors": {m.name: [[truth[s].first_error, first_zero(h)] for s, h in m.hard.items()] for m in methods}},
    }  # fmt: skip


def write_report(metrics: dict[str, Any], out_dir: str | Path, plots: bool = True) -> list[Path]:
    """``metrics.json``, ``report.md`` and (with ``plots``) PNG figures in ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [write_metrics(out_dir, metrics)]
    summary = "\n".join(
        f"- {k}: {pct(v) + ' %' if isinstance(v, float) else v}" for k, v in metrics["summary"].items()
    )
    text = f"# {metrics['title']}\n\n" + "\n\n".join(metrics["notes"]) + f"\n\n{summary}\n\n"
    text += "\n".join(markdown(t) for t in metrics["tables"])
    (out_dir / "report.md").write_text(text, encoding="utf-8")
    paths.append(out_dir / "report.md")
    if plots:
        from prmkit.annotate.report_plots import draw_all

        paths += draw_all(metrics["data"], out_dir)
    return paths
