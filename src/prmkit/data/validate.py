"""Check a data file record by record and report every bad record, not just the first."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prmkit.data.formats import FORMATS, LoadOptions, Result
from prmkit.data.jsonl import UniqueIds
from prmkit.data.records import record_key
from prmkit.errors import ConfigError, DataError

Progress = Callable[[Iterator[Result]], Iterable[Result]]


@dataclass
class ValidationReport:
    path: Path
    records: int = 0  # rows read (a file that cannot be decoded past some point counts that point once)
    bad: int = 0  # rows with at least one error
    errors: list[DataError] = field(default_factory=list)


def validate_report(
    path: str | Path, kind: str | None = None, format: str | None = None, progress: Progress | None = None
) -> ValidationReport:
    """Validate ``path`` as prmkit JSONL (record kind per line from ``detect_kind``, or ``kind``) or,
    with ``format``, as one of the registered dataset formats (e.g. ``"processbench"``).

    Every field error of every row is collected. A missing file raises ``DataError``; an unknown
    kind or format raises ``ConfigError``.
    """
    name = format or "jsonl"
    if kind is not None and name not in ("jsonl", "hf"):
        raise ConfigError(f"--kind applies to prmkit records, not to format {name!r}")
    fmt = FORMATS.get(name)
    file, split = fmt.resolve(None, path)
    report = ValidationReport(file)
    results = fmt.results(file, split, LoadOptions(kind=kind))
    ids = UniqueIds(file)
    for result in progress(results) if progress else results:
        report.records += 1
        errors = list(result.errors)
        for record in result.records:
            try:
                ids.add(record_key(record), result.row.line if result.row is not None else None)
            except DataError as exc:
                errors.append(exc)
        if errors:
            report.bad += 1
            report.errors.extend(errors)
    return report


def validate_file(path: str | Path, kind: str | None = None, format: str | None = None) -> list[DataError]:
    """Every error in ``path`` (empty when the file is valid); see ``validate_report``."""
    return validate_report(path, kind, format).errors
