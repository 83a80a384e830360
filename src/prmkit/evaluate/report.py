"""``prmkit report RUN_DIR``: one self-contained HTML page with every metric and figure of a run.

Every direct sub-folder of the run directory is a stage (``labels``, ``prm``, ``bon``,
``processbench``, ``diagnostics``, ``rl``, ... in that order, then any other alphabetically). A stage
shows its ``metrics.json`` as described in ``prmkit.artifacts`` (title, notes, summary,
tables; a plain object of numbers becomes a key/value table) and embeds its PNG files as data URIs,
so the page can be mailed or archived alone. Stages without either are skipped.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prmkit.artifacts import METRICS_FILE
from prmkit.errors import PrmkitError

STAGES = {
    "labels": "Label quality",
    "annotate": "Annotation",
    "verifier": "Verifier backbone",
    "prm": "PRM training",
    "orm": "ORM training",
    "bon": "Best-of-N",
    "beam": "Beam search",
    "processbench": "ProcessBench",
    "diagnostics": "BoN-bias diagnostics",
    "rl": "Reinforcement learning",
}
MAX_LIST = 12
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:18px 32px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#b8c0cc;font-size:13px}nav{padding:10px 32px;background:#e8ebf0;font-size:14px}
nav a{margin-right:16px;color:#2450a6;text-decoration:none}main{padding:8px 32px 40px;max-width:1100px}
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:16px 22px;margin:18px 0}
h2{margin:0 0 10px;font-size:19px}h3{font-size:15px;margin:18px 0 6px}p.note{color:#4a5365;font-size:13px;margin:4px 0}
table{border-collapse:collapse;font-size:13px;margin:6px 0 4px}th,td{border:1px solid #dde1e7;padding:4px 9px;text-align:left}
th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:14px 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:12px;color:#4a5365}
"""


@dataclass
class Stage:
    name: str
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    if isinstance(value, list):
        shown = ", ".join(_fmt(v) for v in value[:MAX_LIST])
        return f"[{shown}{', ...' if len(value) > MAX_LIST else ''}]"
    return "n/a" if value is None else str(value)


def _flatten(obj: Any, prefix: str = "") -> list[list[str]]:
    """Key/value rows for the scalars (and short lists of scalars) of a nested object."""
    rows: list[list[str]] = []
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flatten(value, name + ".")
        elif not isinstance(value, list) or all(not isinstance(v, (dict, list)) for v in value):
            rows.append([name, _fmt(value)])
    return rows


def load_stage(folder: Path) -> Stage | None:
    """A stage from its folder, or None when it holds no metrics and no figures."""
    images = sorted(folder.glob("*.png"))
    metrics_path = folder / METRICS_FILE
    if not metrics_path.is_file() and not images:
        return None
    stage = Stage(folder.name, STAGES.get(folder.name, folder.name), images=images)
    if metrics_path.is_file():
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise PrmkitError(f"{metrics_path}: not valid JSON: {exc}") from None
        if not isinstance(metrics, dict):
            raise PrmkitError(f"{metrics_path}: expected a JSON object")
        stage.title = str(metrics.get("title") or stage.title)
        stage.notes = [str(n) for n in metrics.get("notes", [])]
        stage.tables = list(metrics.get("tables", []))
        plain = {k: v for k, v in metrics.items() if k not in ("title", "notes", "tables", "data")}
        if "summary" in plain or not stage.tables:
            rows = _flatten(plain.get("summary", plain) if "summary" in plain else plain)
            if rows:
                stage.tables.insert(0, {"title": "Summary", "columns": ["metric", "value"], "rows": rows})
    return stage


def collect(run_dir: Path) -> list[Stage]:
    folders = [p for p in run_dir.iterdir() if p.is_dir()]
    order = {name: i for i, name in enumerate(STAGES)}
    folders.sort(key=lambda p: (order.get(p.name, len(order)), p.name))
    return [s for s in (load_stage(p) for p in folders) if s is not None]


def _cell(value: Any) -> str:
    cls = (
        ' class="num"'
        if isinstance(value, (int, float)) or (isinstance(value, str) and value[:1].isdigit())
        else ""
    )
    return f"<td{cls}>{html.escape(_fmt(value))}</td>"


def _table(tab: dict[str, Any]) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in tab.get("columns", []))
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in tab.get("rows", []))
    note = f'<p class="note">{html.escape(tab["note"])}</p>' if tab.get("note") else ""
    return f"<h3>{html.escape(str(tab.get('title', '')))}</h3><table><tr>{head}</tr>{body}</table>{note}"


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption = html.escape(path.stem.replace("_", " "))
    return f'<figure><img src="data:image/png;base64,{data}" alt="{caption}"><figcaption>{caption}</figcaption></figure>'


def render(stages: list[Stage], title: str, subtitle: str) -> str:
    nav = "".join(f'<a href="#{html.escape(s.name)}">{html.escape(s.title)}</a>' for s in stages)
    sections = []
    for s in stages:
        parts = [f'<section id="{html.escape(s.name)}"><h2>{html.escape(s.title)}</h2>']
        parts += [f'<p class="note">{html.escape(n)}</p>' for n in s.notes]
        parts += [_table(t) for t in s.tables] + [_figure(p) for p in s.images]
        sections.append("".join(parts) + "</section>")
    empty = "" if stages else "<section><p>No stage of this run has written metrics yet.</p></section>"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head><body>'
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header><nav>{nav}</nav>"
        f"<main>{''.join(sections)}{empty}</main></body></html>\n"
    )


def write_report(
    run_dir: str | Path, output: str | Path | None = None, title: str | None = None, allow_empty: bool = True
) -> Path:
    """Write ``<run_dir>/report.html`` (or ``output``) and return its path; with ``allow_empty=False``
    a folder where no stage has written metrics is refused."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise PrmkitError(f"{run_dir}: run directory not found")
    stages = collect(run_dir)
    if not stages and not allow_empty:
        raise PrmkitError(f"{run_dir}: no stage here has written metrics (<stage>/metrics.json): is it a run directory?")
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    page = render(
        stages,
        title or f"prmkit report: {run_dir.name}",
        f"{run_dir.resolve()} · {len(stages)} stages · {stamp}",
    )
    path = Path(output) if output is not None else run_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
