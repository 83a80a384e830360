"""The rich progress bar shared by long jobs (on stderr, so stdout stays clean), with the time left."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True) -> Iterator[Callable[..., None]]:
    """Yield ``advance(info="", steps=1)``, which moves the bar and shows ``info`` beside it."""
    progress = Progress(
        TextColumn(f"[bold]{description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )
    with progress:
        task = progress.add_task(description, total=total, info="")

        def advance(info: str = "", steps: int = 1) -> None:
            progress.update(task, advance=steps, info=info)

        yield advance
