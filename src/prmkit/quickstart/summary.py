"""The quickstart's headline table, read from the stage summaries."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from prmkit.evaluate.methods import label as method_label


def pct(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.1%}"


def headline_rows(summaries: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(what, value) rows for every stage that ran."""
    rows: list[tuple[str, str]] = []
    problems = summaries.get("problems", {})
    if "overlap" in problems:
        rows.append(("held-out problems repeating a training problem", f"{problems['overlap']} of {problems['eval']}"))
    grades = summaries.get("grades", {})
    if "greedy" in grades:
        rows.append(("policy, greedy answer accuracy", pct(grades["greedy"]["accuracy"])))
    sampled = grades.get("annotate", {})
    if "right_answer_wrong_process" in sampled:
        rows.append(("sampled: right answer but wrong process", pct(sampled["right_answer_wrong_process"])))
    annotate = summaries.get("annotate", {})
    for key, value in annotate.items():
        if key.endswith("first-error accuracy"):
            rows.append((f"labels: {key}", pct(value)))
    if "consensus_retention" in annotate:
        rows.append(("labels: consensus retention", pct(annotate["consensus_retention"])))
    bon = summaries.get("bon", {})
    backbone = summaries.get("prm", {}).get("backbone", "the PRM's backbone")
    for method in ("greedy", "pass@n", "majority", "prm_min", "weighted_min", "orm", "likelihood"):
        if method in bon:
            what = method_label(method) + (f", {backbone} untrained" if method == "likelihood" else "")
            rows.append((f"best-of-N: {what}", pct(bon[method])))
    ranked = (
        ("ranking_auroc_min", "PRM (min)"),
        ("ranking_auroc_likelihood", f"{backbone} likelihood, untrained"),
        ("ranking_auroc_orm", "ORM (last step)"),
    )
    for key, what in ranked:
        if key in bon:
            rows.append((f"ranking AUROC within a problem: {what}", f"{bon[key]:.3f}"))
    if "min_on_last_all" in bon:
        rows.append(("PRM: lowest step score on the last step", pct(bon["min_on_last_all"])))
    pb = summaries.get("processbench", {})
    if "average_f1" in pb:
        rows.append(("PRM: ProcessBench-style F1", pct(pb["average_f1"])))
    rl = summaries.get("rl", {})
    if "accuracy_before" in rl:
        rows.append(
            (
                "RL: greedy accuracy before -> after",
                f"{pct(rl['accuracy_before'])} -> {pct(rl['accuracy_after'])}",
            )
        )
    return rows


def headline_table(summaries: dict[str, dict[str, Any]], console: Console) -> None:
    table = Table(title="prmkit quickstart: headline numbers (details in the report)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for what, value in headline_rows(summaries):
        table.add_row(what, value)
    console.print(table)
