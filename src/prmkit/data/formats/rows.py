"""Tolerant row readers for JSONL, JSON-array and parquet files.

Each reader yields one ``Row`` per record, or a ``DataError`` where a record cannot be decoded, so
that validation can report every bad record and loading can stop at the first one. A missing file
raises at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prmkit.data.jsonl import decode_line
from prmkit.errors import DataError


@dataclass(frozen=True)
class Row:
    """One raw record: where it sits in its file and its decoded JSON value."""

    path: Path
    line: int  # 1-based line (parquet and datasets: 1-based row number)
    index: int  # 0-based position among the file's records
    obj: Any
    in_array: bool = False  # JSON-array files name the record index in every error

    def error(self, message: str, field: str | None = None) -> DataError:
        """A one-line error naming the file, line, record index (JSON arrays) and field."""
        if self.in_array:
            field = f"[{self.index}]" + (f".{field}" if field else "")
        return DataError(message, path=self.path, line=self.line, field=field)


def _require_file(path: Path) -> None:
    if not path.exists():
        raise DataError("file not found", path=path)
    if path.is_dir():
        raise DataError("is a directory, expected a file", path=path)


def iter_jsonl_rows(path: Path) -> Iterator[Row | DataError]:
    """Every non-blank line of a JSONL file (blank lines are skipped, not counted)."""
    _require_file(path)
    index = 0
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                yield Row(path, lineno, index, decode_line(raw.rstrip(b"\r\n"), path, lineno))
            except DataError as exc:
                yield exc
            index += 1


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def iter_json_array_rows(path: Path) -> Iterator[Row | DataError]:
    """The elements of a file holding one JSON array, each with the line where it starts.

    Elements are decoded one at a time (``raw_decode``), so a record's line number costs one
    newline count over the text between records. Malformed JSON ends the file: nothing after it can
    be located reliably.
    """
    _require_file(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        yield DataError(f"not UTF-8 (byte {exc.start}); re-save the file as UTF-8", path=path, line=line)
        return
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if not text.startswith("[", pos):
        yield DataError("expected a JSON array ('[' ...)", path=path, line=text.count("\n", 0, pos) + 1)
        return
    pos, line, counted, index = _skip_ws(text, pos + 1), 1, 0, 0
    while not text.startswith("]", pos):
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield DataError(f"malformed JSON: {exc.msg} at column {exc.colno}", path=path, line=exc.lineno)
            return
        yield Row(path, line, index, obj, in_array=True)
        index += 1
        pos = _skip_ws(text, end)
        if text.startswith(",", pos):
            pos = _skip_ws(text, pos + 1)
        elif not text.startswith("]", pos):
            where = text.count("\n", 0, pos) + 1
            yield DataError("malformed JSON: expected ',' or ']' after a record", path=path, line=where)
            return


def iter_parquet_rows(path: Path) -> Iterator[Row | DataError]:
    """The rows of a parquet file, numbered from 1."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _require_file(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"cannot read parquet: {exc}", path=path) from None
    for index, obj in enumerate(table.to_pylist()):
        yield Row(path, index + 1, index, obj)
