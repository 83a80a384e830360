"""How an evaluation stage writes its results into a run directory (the convention ``prmkit report`` reads).

``<run_dir>/<stage>/metrics.json`` is one JSON object. ``prmkit report`` renders these keys when
present, and flattens the scalars of any other object into a key/value table:

- ``title`` (str) and ``notes`` (list of str): the section heading and paragraphs under it;
- ``summary`` (object of scalars): a key/value table;
- ``tables`` (list of ``{"title", "columns", "rows", "note"}``): tables, rows as lists of cells;
- anything else (e.g. ``data`` with raw curves) is kept for programs, not shown.

PNG figures go beside it (``<run_dir>/<stage>/*.png``) and are embedded in the report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.json"


def stage_dir(run_dir: str | Path, stage: str) -> Path:
    path = Path(run_dir) / stage
    path.mkdir(parents=True, exist_ok=True)
    return path


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN and infinities become None (strict JSON has no NaN)."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


def write_metrics(folder: Path, metrics: dict[str, Any]) -> Path:
    path = folder / METRICS_FILE
    path.write_text(json.dumps(_clean(metrics), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], note: str = ""
) -> dict[str, Any]:
    return {"title": title, "columns": list(columns), "rows": [list(r) for r in rows], "note": note}


def markdown(tab: dict[str, Any]) -> str:
    """A ``table(...)`` as a GitHub Markdown table, with its title as a heading."""
    lines = [
        f"### {tab['title']}",
        "",
        "| " + " | ".join(tab["columns"]) + " |",
        "|" + "---|" * len(tab["columns"]),
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in tab["rows"]]
    if tab.get("note"):
        lines += ["", tab["note"]]
    return "\n".join(lines) + "\n"


def pct(value: float | None, digits: int = 1) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{100 * value:.{digits}f}"
    )


def pct_ci(value: float, low: float, high: float) -> str:
    return f"{pct(value)} [{pct(low)}, {pct(high)}]"
