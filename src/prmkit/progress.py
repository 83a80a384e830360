"""The rich progress bar shared by long jobs (on stderr, so stdout stays clean), with the time left.

A job running in a background process has no terminal to draw on: inside ``mirror_progress(path)``
every bar also writes its state to ``path``, which the foreground reads back with ``read_progress``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def step_progress(title: str, info: str = "{task.fields[info]}", enabled: bool = True) -> Progress:
    """The bar every long job draws, on stderr: title, bar, done/total, ``info`` (a format string of the
    task's fields; empty for none), time elapsed and time left."""
    middle = [TextColumn(info)] if info else []
    return Progress(
        TextColumn(f"[bold]{title}"),
        BarColumn(),
        MofNCompleteColumn(),
        *middle,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


T = TypeVar("T")


def counted(items: Iterable[T], label: str) -> Iterator[T]:
    """``items``, counted on stderr as they pass (a transient spinner, for streams of unknown length;
    drawn only on a terminal)."""
    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn(label), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=None)
        for item in items:
            bar.advance(task)
            yield item


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True) -> Iterator[Callable[..., None]]:
    """Yield ``advance(info="", steps=1)``, which moves the bar and shows ``info`` beside it."""
    progress = step_progress(description, enabled=enabled)
    with progress:
        task = progress.add_task(description, total=total, info="")
        mirror = _Mirror(_mirror_path, description, total) if _mirror_path else None

        def advance(info: str = "", steps: int = 1) -> None:
            progress.update(task, advance=steps, info=info)
            if mirror:
                mirror.advance(steps)

        yield advance


_mirror_path: Path | None = None


@contextmanager
def mirror_progress(path: Path) -> Iterator[None]:
    """Inside the block, progress bars also write their state to ``path`` (see ``read_progress``)."""
    global _mirror_path
    previous, _mirror_path = _mirror_path, path
    try:
        yield
    finally:
        _mirror_path = previous


def read_progress(path: Path) -> dict[str, Any] | None:
    """The last state mirrored to ``path``: ``description``, ``completed``, ``total``; None before any."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class _Mirror:
    """Writes a bar's state to a file, atomically, at most twice a second and at the end."""

    def __init__(self, path: Path, description: str, total: int) -> None:
        self.path, self.description, self.total = path, description, total
        self.completed, self.written_at = 0, 0.0
        self.write()

    def advance(self, steps: int) -> None:
        self.completed += steps
        if self.completed >= self.total or time.monotonic() - self.written_at > 0.5:
            self.write()

    def write(self) -> None:
        state = {"description": self.description, "completed": self.completed, "total": self.total}
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        tmp.replace(self.path)
        self.written_at = time.monotonic()
