"""The quickstart's headline table, read from the stage summaries."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from prmkit.evaluate.bon import label as method_label


def headline_rows(summaries: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(what, value) rows for every stage that ran."""
    rows: list[tuple[str, str]] = []
    grades = summaries.get("grades", {})
    if "greedy" in grades:
        rows.append(("policy, greedy answer accuracy", f"{grades['greedy']['accuracy']:.1%}"))
    sampled = grades.get("annotate", {})
    if "right_answer_wrong_process" in sampled:
        rows.append(
            ("sampled: right answer but wrong process", f"{sampled['right_answer_wrong_process']:.1%}")
        )
    annotate = summaries.get("annotate", {})
    for key, value in annotate.items():
        if key.endswith("first-error accuracy"):
            rows.append((f"labels: {key}", f"{value:.1%}"))
    if "consensus_retention" in annotate:
        rows.append(("labels: consensus retention", f"{annotate['consensus_retention']:.1%}"))
    bon = summaries.get("bon", {})
    for method in ("greedy", "pass@n", "majority", "prm_min", "weighted_min", "orm"):
        if method in bon:
            rows.append((f"best-of-N: {method_label(method)}", f"{bon[method]:.1%}"))
    pb = summaries.get("processbench", {})
    if "average_f1" in pb:
        rows.append(("PRM: ProcessBench-style F1", f"{pb['average_f1']:.1%}"))
    rl = summaries.get("rl", {})
    if "accuracy_before" in rl:
        rows.append(
            (
                "RL: greedy accuracy before -> after",
                f"{rl['accuracy_before']:.1%} -> {rl['accuracy_after']:.1%}",
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
