"""Figures of the label-quality lab (PNG, drawn off-screen with the Agg backend)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

HEATMAP_METHODS = ("MC-HE", "MC-HE first-error search", "judge", "consensus")


def _nan0(value: float | None) -> float:
    return 0.0 if value is None or math.isnan(value) else value


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def quality_bars(methods: dict[str, dict[str, Any]], path: Path) -> Path:
    """First-error accuracy, step F1 (up to the first error) and ProcessBench F1 per method."""
    series = {
        "first-error accuracy": [m["first_error_acc"] for m in methods.values()],
        "step F1, erroneous steps (≤ first error)": [m["first"]["f1"] for m in methods.values()],
        "ProcessBench F1": [m["pb_f1"] for m in methods.values()],
    }
    fig, ax = plt.subplots(figsize=(9, 4.6), dpi=110)
    width = 0.8 / len(series)
    for k, (label, values) in enumerate(series.items()):
        xs = np.arange(len(methods)) + (k - (len(series) - 1) / 2) * width
        ax.bar(xs, [100 * _nan0(v) for v in values], width=width, label=label)
    ax.set_xticks(range(len(methods)), list(methods), rotation=25, ha="right")
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.set_title("Annotation methods against the exact truth")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _save(fig, path)


def recall_vs_false_alarms(methods: dict[str, dict[str, Any]], path: Path) -> Path:
    """Each method's recall of true first errors against its false-alarm rate on correct steps."""
    fig, ax = plt.subplots(figsize=(6.5, 4.8), dpi=110)
    for name, m in methods.items():
        x, y = 100 * _nan0(m["first"]["false_alarm"]), 100 * _nan0(m["first"]["recall"])
        ax.scatter([x], [y], s=40)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xlabel("correct steps flagged wrong (%)")
    ax.set_ylabel("true first errors flagged (%)")
    ax.set_title("Recall against false alarms (steps up to the true first error)")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def first_error_heatmaps(pairs: dict[str, list[list[int]]], path: Path) -> Path:
    """True (rows) against predicted (columns) first-error position, -1 = no error, row-normalised."""
    names = [n for n in HEATMAP_METHODS if pairs.get(n)]
    top = max(max(max(p) for p in pairs[n]) for n in names)
    ticks = list(range(-1, top + 1))
    fig, axes = plt.subplots(1, len(names), figsize=(3.4 * len(names), 3.4), dpi=110, squeeze=False)
    for ax, name in zip(axes[0], names):
        grid = np.zeros((len(ticks), len(ticks)))
        for true, pred in pairs[name]:
            grid[true + 1, pred + 1] += 1
        rows = grid.sum(axis=1, keepdims=True)
        ax.imshow(
            np.divide(grid, rows, out=np.zeros_like(grid), where=rows > 0), vmin=0, vmax=1, cmap="Blues"
        )
        ax.set_xticks(range(len(ticks)), ticks)
        ax.set_yticks(range(len(ticks)), ticks)
        ax.set_xlabel("predicted first error")
        ax.set_ylabel("true first error")
        ax.set_title(name, fontsize=10)
    return _save(fig, path)


def draw_all(data: dict[str, Any], out_dir: Path) -> list[Path]:
    methods = data["methods"]
    return [
        quality_bars(methods, out_dir / "label_quality.png"),
        recall_vs_false_alarms(methods, out_dir / "recall_vs_false_alarms.png"),
        first_error_heatmaps(data["first_errors"], out_dir / "first_error_positions.png"),
    ]
