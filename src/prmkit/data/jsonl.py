"""JSONL reading with precise errors, atomic writes, and crash-safe append-only logs."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from typing_extensions import Self

from prmkit.errors import DataError
from prmkit.locks import ExclusiveLock

M = TypeVar("M", bound=BaseModel)


def decode_line(raw: bytes, path: str | Path, lineno: int) -> Any:
    """Decode one JSONL line (UTF-8, one JSON value) or raise a DataError naming file and line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 (byte {exc.start}); re-save the file as UTF-8", path=path, line=lineno)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON: {exc.msg} at column {exc.colno}", path=path, line=lineno)
    except RecursionError:
        raise DataError("JSON nested too deeply to be a record", path=path, line=lineno) from None
    if "\\ud" in text.lower():  # a \uXXXX escape of a UTF-16 surrogate: half of a pair is no text
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = ord(exc.object[exc.start])
            raise DataError(f"a lone UTF-16 surrogate (\\u{bad:04x}) in a string: not text", path=path, line=lineno) from None
    return value


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield (1-based line number, parsed value) for every non-blank line."""
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", path=path)
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.strip():
                yield lineno, decode_line(raw.rstrip(b"\r\n"), path, lineno)


def validation_errors(
    model: type[M], obj: Any, path: str | Path, line: int
) -> tuple[M | None, list[DataError]]:
    """Validate ``obj`` as ``model``; return the record or every field error as DataErrors."""
    if not isinstance(obj, dict):
        return None, [DataError(f"expected a JSON object, got {type(obj).__name__}", path=path, line=line)]
    try:
        return model.model_validate(obj), []
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or None
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                msg = "missing"
            elif err["type"] == "extra_forbidden":
                msg = "unknown field (typo?)"
            errors.append(DataError(msg, path=path, line=line, field=field))
        return None, errors


def parse_record(model: type[M], obj: Any, path: str | Path, line: int) -> M:
    """Validate one object, raising the first field error."""
    record, errors = validation_errors(model, obj, path, line)
    if errors:
        raise errors[0]
    assert record is not None
    return record


class UniqueIds:
    """The ids read so far from one file: a repeated one is a DataError naming both lines (a later
    duplicate would otherwise win silently, or be counted as done twice)."""

    def __init__(self, path: str | Path, field: str = "id") -> None:
        self.path, self.field = path, field
        self.first_line: dict[str, int] = {}

    def add(self, key: str | None, line: int | None) -> None:
        if key is None:
            return
        if key in self.first_line:
            raise DataError(
                f"duplicate {key} (first on line {self.first_line[key]})", path=self.path, line=line, field=self.field
            )
        self.first_line[key] = line or 0


def read_records(path: str | Path, model: type[M]) -> list[M]:
    """Read a JSONL file of ``model`` records, raising on the first bad line, a repeated id or an
    empty file (an input with nothing in it is a mistake, not a job done)."""
    from prmkit.data.records import record_key

    ids, out = UniqueIds(path), []
    for line, obj in iter_jsonl(path):
        record = parse_record(model, obj, path, line)
        ids.add(record_key(record), line)  # type: ignore[arg-type]
        out.append(record)
    if not out:
        raise DataError(f"no {model.__name__} records in the file", path=path)
    return out


def dumps(record: BaseModel | dict[str, Any]) -> str:
    obj = record.model_dump(mode="json") if isinstance(record, BaseModel) else record
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_jsonl(path: str | Path, records: Iterable[BaseModel | dict[str, Any]]) -> int:
    """Write all records atomically (temp file + rename); return how many were written."""
    path = Path(path)
    if path.is_dir():
        raise DataError("is a directory; name the file to write", path=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(dumps(rec) + "\n")
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise DataError(f"cannot write ({exc.strerror or exc}) after {count} records; nothing was replaced", path=path) from None
    finally:
        with contextlib.suppress(OSError):  # gone already, or a read-only file system that never made it
            tmp.unlink()
    return count


class AppendLog:
    """An append-only JSONL file keyed by one field, safe against kill -9 and held by one writer.

    On open, an exclusive lock is taken (``prmkit.locks``: a second writer is refused, naming the
    first one's PID), a torn last line (a crash mid-write) is cut off, and the keys already present
    are read, so a resumed job skips finished work: no duplicates, no gaps. Each ``append`` is flushed
    and fsynced before it returns. An existing file whose lines are not records of this log (no key,
    not JSON, or not ``model``) is refused, and nothing is cut from it.
    """

    def __init__(
        self, path: str | Path, key: Callable[[dict[str, Any]], str] | str = "id", model: type[BaseModel] | None = None
    ) -> None:
        self.path = Path(path)
        self._key = (lambda obj: str(obj[key])) if isinstance(key, str) else key
        self._model = model  # what every line must be; an existing file of other records is refused
        self._lock = ExclusiveLock(self.path)  # it makes the folder, or says why it cannot
        self._lock.acquire()
        try:
            self._open()
        except BaseException:
            self._lock.release()
            raise

    def _open(self) -> None:
        """Read what an earlier run wrote, refusing a file that is not such a log (nothing is cut
        from it then), and cut a torn last line."""
        data = self.path.read_bytes() if self.path.exists() else b""
        end = data.rfind(b"\n") + 1
        if data[end:] and not data[end:].lstrip().startswith(b"{"):
            self._refuse(data.count(b"\n") + 1, "its last line is not a record")
        self.done: dict[str, dict[str, Any]] = {}
        for lineno, raw in enumerate(data[:end].split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                obj = decode_line(raw.rstrip(b"\r"), self.path, lineno)
                if self._model is not None:
                    parse_record(self._model, obj, self.path, lineno)
                self.done[self._key(obj)] = obj
            except DataError as exc:
                self._refuse(lineno, f"field '{exc.field}': {exc.message}" if exc.field else exc.message)
            except (KeyError, TypeError, IndexError):
                self._refuse(lineno, "it is not a record of this output")
        if end < len(data):  # a torn last line, left by a kill
            with self.path.open("r+b") as fh:
                fh.truncate(end)
        self._fh = self.path.open("ab")

    def _refuse(self, line: int, why: str) -> None:
        raise DataError(
            f"{why}: the file exists and is not an output of this command; write to another file or remove it",
            path=self.path,
            line=line,
        )

    def __contains__(self, key: str) -> bool:
        return key in self.done

    def append(self, record: BaseModel | dict[str, Any]) -> None:
        line = dumps(record)
        obj = json.loads(line)
        key = self._key(obj)
        if key in self.done:
            raise ValueError(f"{self.path}: key {key!r} is already written")
        try:
            self._fh.write(line.encode("utf-8") + b"\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            raise DataError(
                f"cannot append ({exc.strerror or exc}) after {len(self.done)} complete records; they stay, "
                "and the same command run again resumes after the last complete line",
                path=self.path,
            ) from None
        self.done[key] = obj

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError:
            pass  # a failed append already said so; a torn last line is cut off on the next open
        self._lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
