"""Errors that reach users as one clear line (file, line, field), never as a traceback."""

from __future__ import annotations

from pathlib import Path


class PrmkitError(Exception):
    """Base class for errors the CLI reports as a single line and exit code 2."""


class DataError(PrmkitError):
    """A bad record: names the file, the 1-based line (or record index) and the field."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        self.message = message
        super().__init__(self.format())

    def format(self) -> str:
        where = self.path or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        what = f"field '{self.field}': " if self.field else ""
        return f"{where}: {what}{self.message}"


class ConfigError(PrmkitError):
    """A bad configuration value or an unknown key."""
