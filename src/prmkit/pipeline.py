"""Run directories made of resumable stages.

Each stage writes into ``<run>/<stage>/`` and, when it has finished, a ``.done`` marker holding its
timing and summary. A stage whose marker exists is skipped, so an interrupted run resumes at the first
unfinished stage; stages that append to logs (sampling, annotation) also resume inside themselves.

A stage that needs nothing from the stages before it can start early in a background process
(``start_in_background``, one torch thread) and overlap them on a second core; ``stage`` then waits
for it, showing its progress. The child writes its own marker, its output goes to
``<stage>/background.log``, and it dies with the run (``prmkit.processes``), so a killed run leaves no
orphan and simply starts the stage again when resumed.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from prmkit.errors import PrmkitError
from prmkit.processes import python_child
from prmkit.progress import mirror_progress, read_progress

DONE = ".done"
COMPLETE = "COMPLETE"
MIN_EVIDENCE = 30.0  # planned seconds of finished stages before the speed so far rescales the estimate
TASK = ".task.pickle"
PROGRESS = ".progress.json"
BACKGROUND_LOG = "background.log"
StageFn = Callable[[Path], "dict[str, Any] | None"]


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
        self._background: dict[str, subprocess.Popen[bytes]] = {}
        self._threads: int | None = None  # this process's torch threads before any background child

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

    def stage(self, name: str, fn: StageFn) -> dict[str, Any]:
        """Run stage ``name`` (or wait for it, when it was started in the background) unless it is done."""
        stage_dir = self.path / name
        marker = stage_dir / DONE
        if name in self._background:
            self.console.rule(self._heading(name))
            start = time.perf_counter()
            self._wait(name, self._background.pop(name))
            self._share_cores()
            info = json.loads(marker.read_text(encoding="utf-8"))
            waited = time.perf_counter() - start
            self.console.print(f"✓ {name}: {info['seconds']:.0f} s in the background, {waited:.0f} s waited")
            self._count(name, waited)
        elif marker.exists():
            info = json.loads(marker.read_text(encoding="utf-8"))
            self.console.print(f"[dim]✓ {name}: done earlier ({info['seconds']:.0f} s), skipped[/dim]")
        else:
            self.console.rule(self._heading(name))
            info = run_stage(stage_dir, fn)
            self.console.print(f"✓ {name}: {info['seconds']:.0f} s")
            self._count(name, info["seconds"])
        self.summaries[name] = info["summary"]
        return info["summary"]

    def start_in_background(self, name: str, fn: StageFn) -> bool:
        """Start stage ``name`` now in a child process with one torch thread, unless it is done; ``fn``
        must pickle (a module-level function or a ``functools.partial`` of one). Returns whether a
        child was started: not when the stage is done, or when there is no spare core (it then runs
        in turn, in the foreground)."""
        stage_dir = self.path / name
        if (stage_dir / DONE).exists() or name in self._background:
            return False
        if usable_cores() <= len(self._background) + 1:
            return False
        stage_dir.mkdir(parents=True, exist_ok=True)
        (stage_dir / PROGRESS).unlink(missing_ok=True)
        (stage_dir / TASK).write_bytes(pickle.dumps(fn))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        code = f"from prmkit.pipeline import background_main\nbackground_main({str(stage_dir)!r})\n"
        with open(stage_dir / BACKGROUND_LOG, "wb") as log:
            self._background[name] = subprocess.Popen(
                python_child(code), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        self._share_cores()
        return True

    def _share_cores(self) -> None:
        """Leave a core to each background child: torch threads that outnumber the free cores spin
        while they wait, which made training steps up to 100 times slower on 2 shared cores."""
        import torch

        if self._threads is None:
            self._threads = torch.get_num_threads()
        torch.set_num_threads(max(1, min(self._threads, usable_cores() - len(self._background))))

    def _wait(self, name: str, child: subprocess.Popen[bytes]) -> None:
        """Wait for a background stage, showing the progress it mirrors; raise if it failed."""
        stage_dir = self.path / name
        bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=self.console,
        )  # fmt: skip
        with bar:
            task = bar.add_task(f"{name} (background)", total=None)
            while child.poll() is None:
                state = read_progress(stage_dir / PROGRESS)
                if state:
                    bar.update(task, description=state["description"], completed=state["completed"],
                               total=state["total"])  # fmt: skip
                time.sleep(0.25)
        if child.returncode != 0 or not (stage_dir / DONE).exists():
            log = stage_dir / BACKGROUND_LOG
            tail = " | ".join(log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:])
            raise PrmkitError(
                f"stage {name!r} failed in the background (exit code {child.returncode}); {log}: {tail}"
            )

    def stop_background(self) -> None:
        """Kill the background stages still running (they start over when the run is resumed)."""
        for child in self._background.values():
            child.kill()
            child.wait()
        self._background.clear()

    def _count(self, name: str, seconds: float) -> None:
        if name in self.plan:
            self._expected_done += self.plan[name]
            self._actual_done += seconds

    def complete(self) -> None:
        (self.path / COMPLETE).write_text(datetime.now().isoformat(), encoding="utf-8")


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_stage(stage_dir: Path, fn: StageFn) -> dict[str, Any]:
    """Run ``fn(stage_dir)`` and write the stage's marker; return what the marker holds."""
    stage_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    summary = fn(stage_dir) or {}
    info = {"seconds": time.perf_counter() - start, "summary": summary}
    tmp = stage_dir / (DONE + ".tmp")
    tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
    tmp.replace(stage_dir / DONE)
    return info


def background_main(stage_dir: str) -> None:
    """The body of a background stage's child process (see ``Run.start_in_background``)."""
    path = Path(stage_dir)
    fn = pickle.loads((path / TASK).read_bytes())
    with mirror_progress(path / PROGRESS):
        run_stage(path, fn)
