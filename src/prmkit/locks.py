"""Exclusive locks on outputs, so that two processes never write the same file or run directory.

``ExclusiveLock(target)`` takes a non-blocking ``flock`` on ``<target>.lock`` and writes its PID there.
A second writer fails at once with an error naming the holder's PID, also when it names the
target through a symbolic link. The operating system drops the
lock when its holder exits, even by kill -9, so a crashed job never leaves a stale lock behind (the
small ``.lock`` file stays; it is the lock's handle, not its state).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from typing_extensions import Self

from prmkit.errors import PrmkitError


class ExclusiveLock:
    """See the module docstring; use as a context manager or call ``acquire``/``release``."""

    def __init__(self, target: str | Path) -> None:
        self.target = Path(target)
        real = self.target.resolve()  # a symbolic link to the target takes the target's own lock
        self.path = real.with_name(real.name + ".lock")
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = self.path.open("a+", encoding="utf-8")
        except OSError as exc:  # a read-only file system, or a parent that is a file
            found = next((p for p in self.path.parents if p.exists()), None)
            why = f"{found} is a file, not a folder" if found and not found.is_dir() else exc.strerror or str(exc)
            raise PrmkitError(f"{self.target}: cannot write there ({why})") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise PrmkitError(
                f"{self.target} is being written by another process (pid {holder}); wait for it to finish "
                "or stop it, then run again"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing the descriptor drops the flock
            self._fh = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def refuse_same_file(output: str | Path, *inputs: str | Path | None) -> None:
    """Refuse an output path that is also one of the inputs (it would be appended to or overwritten
    while it is read), whether named as is, through a symbolic link or by a hard link."""
    out = Path(output)
    real = out.resolve()
    for source in filter(None, inputs):
        if real == Path(source).resolve() or (out.exists() and Path(source).exists() and out.samefile(source)):
            raise PrmkitError(f"the output {output} is also an input ({source}); write to another file")
