"""Matplotlib figures for the evaluation stages (PNG files, drawn off-screen with the Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt


def accuracy_vs_n(
    ns: Sequence[int], curves: dict[str, dict[str, list[float]]], path: Path, title: str
) -> Path:
    """One line per method with its confidence band (``accuracy``, ``ci_low``, ``ci_high`` in [0, 1])."""
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    for label, curve in curves.items():
        pct = [100 * v for v in curve["accuracy"]]
        (line,) = ax.plot(
            ns, pct, marker="o", markersize=3.5, label=label, linestyle="--" if "oracle" in label else "-"
        )
        ax.fill_between(
            ns,
            [100 * v for v in curve["ci_low"]],
            [100 * v for v in curve["ci_high"]],
            color=line.get_color(),
            alpha=0.15,
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(ns), [str(n) for n in ns])
    ax.set_xlabel("N (samples per problem)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def stacked_vs_n(ns: Sequence[int], parts: dict[str, list[float]], path: Path, title: str) -> Path:
    """Stacked areas (in [0, 1]) against N, e.g. accuracy split by whether the process is correct."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    ax.stackplot(
        list(ns), *[[100 * v for v in values] for values in parts.values()], labels=list(parts), alpha=0.8
    )
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(ns), [str(n) for n in ns])
    ax.set_xlabel("N (samples per problem)")
    ax.set_ylabel("share of problems (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def bars(
    labels: Sequence[str], series: dict[str, list[float]], path: Path, title: str, ylabel: str = "%"
) -> Path:
    """Grouped bars (values in [0, 1], drawn as percentages)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    width = 0.8 / max(len(series), 1)
    for k, (name, values) in enumerate(series.items()):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(labels))]
        ax.bar(xs, [100 * v for v in values], width=width, label=name)
    ax.set_xticks(range(len(labels)), list(labels))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _save(fig, path)


def line(
    xs: Sequence[float],
    ys: Sequence[float],
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    mark: float | None = None,
) -> Path:
    """A single curve (values in [0, 1] drawn as percentages), with an optional vertical marker."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    ax.plot(list(xs), [100 * y for y in ys])
    if mark is not None:
        ax.axvline(mark, color="gray", linestyle="--", linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
