"""prmkit's own JSONL: one record (problem, solution, labels or labeled) per line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prmkit.data.formats.base import DatasetFormat, LoadContext, register
from prmkit.data.formats.rows import Row
from prmkit.data.jsonl import validation_errors, write_jsonl
from prmkit.data.records import RECORD_KINDS, Record, detect_kind
from prmkit.errors import DataError


@register
class JsonlFormat(DatasetFormat):
    """The record kind comes from the ``kind`` option, else from each line's keys (``detect_kind``).
    Every field error of a line is reported."""

    name = "jsonl"
    description = "prmkit records JSONL (problem / solution / labels / labeled, detected per line)"
    writable = True

    def parse(self, row: Row, ctx: LoadContext) -> tuple[Any, list[DataError]]:
        kind = ctx.options.kind or (detect_kind(row.obj) if isinstance(row.obj, dict) else "problem")
        record, errors = validation_errors(RECORD_KINDS[kind], row.obj, row.path, row.line)
        return record, [row.error(e.message, e.field) for e in errors]

    def convert(self, raw: Record, row: Row, ctx: LoadContext) -> list[Record]:
        return [raw]

    def write(self, records: Iterable[Record], path: Path) -> int:
        return write_jsonl(path, records)
