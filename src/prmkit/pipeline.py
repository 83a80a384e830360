"""Run directories made of resumable stages.

Each stage writes into ``<run>/<stage>/`` and, when it has finished, a ``.done`` marker holding its
timing and summary. A stage whose marker exists is skipped, so an interrupted run resumes at the first
unfinished stage; stages that append to logs (sampling, annotation) also resume inside themselves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

DONE = ".done"
COMPLETE = "COMPLETE"
MIN_EVIDENCE = 30.0  # planned seconds of finished stages before the speed so far rescales the estimate


def new_or_unfinished_run(runs_dir: str | Path) -> Path:
    """The newest run in ``runs_dir`` that has not completed, else a new timestamped one."""
    runs_dir = Path(runs_dir)
    runs = sorted(p for p in runs_dir.glob("*") if p.is_dir()) if runs_dir.exists() else []
    if runs and not (runs[-1] / COMPLETE).exists():
        return runs[-1]
    return runs_dir / datetime.now().strftime("%Y%m%d-%H%M%S")


class Run:
    """A run directory; ``run.stage(name, fn)`` runs ``fn(stage_dir)`` unless it already finished.

    ``plan`` maps each stage to its expected seconds; the run then heads every stage with its number
    and an estimate of the time left, rescaled by how fast the stages run so far on this machine.
    """

    def __init__(
        self, path: str | Path, console: Console | None = None, plan: dict[str, float] | None = None
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.console = console or Console(stderr=True)
        self.summaries: dict[str, dict[str, Any]] = {}
        self.plan = dict(plan or {})
        self._expected_done = self._actual_done = 0.0

    def time_left(self, name: str) -> float:
        """Estimated seconds from the start of stage ``name`` to the end of the plan."""
        names = list(self.plan)
        remaining = sum(self.plan[n] for n in names[names.index(name) :]) if name in self.plan else 0.0
        # rescale only once the finished stages were planned to take a while: tiny stages say little
        speed = self._actual_done / self._expected_done if self._expected_done >= MIN_EVIDENCE else 1.0
        return remaining * min(max(speed, 0.25), 4.0)

    def _heading(self, name: str) -> str:
        if name not in self.plan:
            return f"[bold]{name}"
        left = self.time_left(name)
        eta = f"{left:.0f} s" if left < 90 else f"{left / 60:.0f} min"
        return f"[bold]{name}[/bold] (stage {list(self.plan).index(name) + 1}/{len(self.plan)}, about {eta} left)"

    def stage(self, name: str, fn: Callable[[Path], dict[str, Any] | None]) -> dict[str, Any]:
        stage_dir = self.path / name
        marker = stage_dir / DONE
        if marker.exists():
            info = json.loads(marker.read_text(encoding="utf-8"))
            self.console.print(f"[dim]✓ {name}: done earlier ({info['seconds']:.0f} s), skipped[/dim]")
        else:
            self.console.rule(self._heading(name))
            stage_dir.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            summary = fn(stage_dir) or {}
            info = {"seconds": time.perf_counter() - start, "summary": summary}
            tmp = marker.with_name(DONE + ".tmp")
            tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
            tmp.replace(marker)
            self.console.print(f"✓ {name}: {info['seconds']:.0f} s")
            if name in self.plan:
                self._expected_done += self.plan[name]
                self._actual_done += info["seconds"]
        self.summaries[name] = info["summary"]
        return info["summary"]

    def complete(self) -> None:
        (self.path / COMPLETE).write_text(datetime.now().isoformat(), encoding="utf-8")
