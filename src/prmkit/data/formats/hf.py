"""Conversion to and from ``datasets.Dataset``, and the ``hf`` format (a ``save_to_disk`` folder).

Records keep their nesting (a LabeledSolution row has ``problem``, ``solution`` and ``labels``
struct columns); only the free-form dicts (``metadata``, ``generator``) are stored as JSON strings,
because Arrow needs one schema per column and their keys and value types differ from row to row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prmkit.data.formats.base import LoadOptions, collect, register
from prmkit.data.formats.records_jsonl import JsonlFormat
from prmkit.data.formats.rows import Row
from prmkit.data.records import Record
from prmkit.errors import DataError

if TYPE_CHECKING:
    import datasets

FREE_FORM = ("metadata", "generator")


def _encode(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        k: json.dumps(v, ensure_ascii=False) if k in FREE_FORM else _encode(v) if isinstance(v, dict) else v
        for k, v in obj.items()
    }


def _decode(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        k: json.loads(v)
        if k in FREE_FORM and isinstance(v, str)
        else _decode(v)
        if isinstance(v, dict)
        else v
        for k, v in obj.items()
    }


def _rows(dataset: datasets.Dataset, path: Path) -> Iterator[Row]:
    for index, obj in enumerate(dataset):
        yield Row(path, index + 1, index, _decode(obj))


def to_hf_dataset(records: Iterable[Record]) -> datasets.Dataset:
    """A ``datasets.Dataset`` with one row per record (all records must be of one kind)."""
    import datasets

    records = list(records)
    kinds = sorted({type(r).__name__ for r in records})
    if len(kinds) > 1:
        raise DataError(f"cannot put mixed record kinds ({', '.join(kinds)}) in one dataset")
    return datasets.Dataset.from_list([_encode(r.model_dump(mode="json")) for r in records])


def from_hf_dataset(dataset: datasets.Dataset, kind: str | None = None) -> list[Record]:
    """The records of a dataset made by ``to_hf_dataset`` (kind detected per row unless given)."""
    return collect(HfFormat().results_of(_rows(dataset, Path("<dataset>")), "", LoadOptions(kind=kind)))


@register
class HfFormat(JsonlFormat):
    """A folder written by ``Dataset.save_to_disk`` holding prmkit records (see ``to_hf_dataset``)."""

    name = "hf"
    description = "datasets.Dataset folder (save_to_disk) of prmkit records"

    def rows(self, path: Path) -> Iterator[Row | DataError]:
        import datasets

        if not path.is_dir():
            raise DataError(
                "folder not found (expected a datasets.Dataset saved with save_to_disk)", path=path
            )
        try:
            dataset = datasets.load_from_disk(str(path))
        except (FileNotFoundError, ValueError) as exc:
            raise DataError(f"not a saved datasets.Dataset: {exc}", path=path) from None
        return _rows(dataset, path)

    def write(self, records: Iterable[Record], path: Path) -> int:
        dataset = to_hf_dataset(records)
        dataset.save_to_disk(str(path))
        return len(dataset)
