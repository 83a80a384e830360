"""``metrics.json`` and the curve plot of an RL run, in the layout ``prmkit report`` reads.

The run folder is a report stage (``<run>/rl``, or ``<run>/rl_<name>`` for several runs): its
``metrics.json`` carries a title, notes, a summary, a table of the curves at a few steps, the held-out
evaluations when there are any, and the full per-step curves under ``data``; ``curves.png`` plots
reward, accuracy (held-out accuracy as points), KL and response length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prmkit.artifacts import table, write_metrics

PLOT_FILE = "curves.png"
PANELS = (
    ("reward", "reward/"),
    ("accuracy", "accuracy"),
    ("KL to reference", "kl"),
    ("response tokens", "length"),
)
TABLE_KEYS = ("reward/total", "accuracy", "kl", "entropy", "length")


def _mean(values: Sequence[float | None]) -> float:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def curves(records: Sequence[dict[str, Any]]) -> dict[str, list[float | None]]:
    """Every numeric log key as a list over steps (None where a step lacks it)."""
    keys = sorted({k for r in records for k, v in r.items() if isinstance(v, (int, float)) and k != "step"})
    out: dict[str, list[float | None]] = {"step": [r["step"] for r in records]}
    for key in keys:
        out[key] = [r.get(key) for r in records]
    return out


def summarize(records: Sequence[dict[str, Any]], window: int = 10) -> dict[str, Any]:
    """First-window and last-window means of the headline curves, plus timing."""
    summary: dict[str, Any] = {"steps": len(records)}
    if not records:
        return summary
    head, tail = records[:window], records[-window:]
    for key in TABLE_KEYS:
        if any(key in r for r in records):
            summary[f"{key} (first {len(head)})"] = _mean([r.get(key) for r in head])
            summary[f"{key} (last {len(tail)})"] = _mean([r.get(key) for r in tail])
    seconds = sum(r.get("seconds", 0.0) for r in records)
    summary["seconds"] = round(seconds, 1)
    summary["steps_per_second"] = len(records) / seconds if seconds else math.nan
    return summary


def write_run_metrics(
    folder: Path,
    title: str,
    notes: list[str],
    records: Sequence[dict[str, Any]],
    evals: Sequence[dict[str, Any]] = (),
) -> Path:
    """Write ``metrics.json`` and ``curves.png`` into the run folder; return the metrics path."""
    data = curves(records)
    picks = sorted({round(i * (len(records) - 1) / 9) for i in range(10)}) if records else []
    keys = [k for k in TABLE_KEYS if k in data]
    rows = [[records[i]["step"], *(_fmt(records[i].get(k)) for k in keys)] for i in picks]
    summary = summarize(records)
    tables = [table("Curves at selected steps", ["step", *keys], rows)]
    if evals:
        for e in (evals[0], evals[-1]):
            low, high = e["accuracy_ci"]
            summary[f"held-out accuracy (step {e['step']})"] = f"{e['accuracy']:.3f} [{low:.3f}, {high:.3f}]"
        eval_rows = [
            [e["step"], _fmt(e["accuracy"]), f"[{e['accuracy_ci'][0]:.3f}, {e['accuracy_ci'][1]:.3f}]",
             _fmt(e["boxed"]), _fmt(e["length"])]
            for e in evals
        ]  # fmt: skip
        columns = ["step", "accuracy", "95% CI", "boxed", "length"]
        tables.append(
            table(f"Held-out evaluation (greedy, {evals[0]['problems']} problems)", columns, eval_rows)
        )
        data["heldout"] = {k: [e[k] for e in evals] for k in ("step", "accuracy", "boxed", "length")}
    metrics = {"title": title, "notes": notes, "summary": summary, "tables": tables, "data": data}
    if records:
        plot_curves(data, folder / PLOT_FILE, title)
    return write_metrics(folder, metrics)


def _fmt(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) and not math.isnan(value) else value


def _smooth(values: Sequence[float | None], width: int) -> list[float]:
    clean = [math.nan if v is None else float(v) for v in values]
    return [_mean(clean[max(0, i - width + 1) : i + 1]) for i in range(len(clean))]


def plot_curves(data: dict[str, Any], path: Path, title: str) -> Path:
    """Four panels (reward terms, accuracy, KL, length): raw per step, faint, and a moving average."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = data["step"]
    width = max(1, len(steps) // 10)
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), dpi=100, sharex=True)
    for ax, (label, prefix) in zip(axes.flat, PANELS):
        keys = [k for k in data if k.startswith(prefix)] if prefix.endswith("/") else [prefix]
        keys = [k for k in keys if k in data]
        for key in keys:
            values = [math.nan if v is None else v for v in data[key]]
            (line,) = ax.plot(steps, _smooth(values, width), label=key.removeprefix(prefix) or key)
            if width > 1:
                ax.plot(steps, values, color=line.get_color(), alpha=0.25, linewidth=0.8)
        if prefix == "accuracy" and "heldout" in data:
            held = data["heldout"]
            ax.plot(held["step"], held["accuracy"], "o--", color="black", label="held-out (greedy)")
            ax.legend(fontsize=7)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend(fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("step")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
