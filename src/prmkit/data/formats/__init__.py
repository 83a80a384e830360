"""Loaders and writers for the offline benchmark formats, behind one registry (``FORMATS``).

    problems = load_dataset_records("gsm8k", split="test", limit=2)
    labelled = load_dataset_records("processbench", split="math")
    write_records(labelled, "pb.trl.jsonl", "trl-stepwise")

``FORMATS.names()`` lists the formats; each module's format docstring states its mapping rules.
"""

from prmkit.data.formats import (  # noqa: F401  (importing a module registers its format)
    aime24,
    amc23,
    gsm8k,
    hf,
    math500,
    math_shepherd,
    minerva,
    olympiadbench,
    prm800k,
    prm800k_raw,
    processbench,
    records_jsonl,
    trl_stepwise,
)
from prmkit.data.formats.base import (
    FORMATS,
    DatasetFormat,
    LoadOptions,
    Result,
    collect,
    load_dataset_records,
    write_records,
)
from prmkit.data.formats.hf import from_hf_dataset, to_hf_dataset

__all__ = [
    "FORMATS",
    "DatasetFormat",
    "LoadOptions",
    "Result",
    "collect",
    "from_hf_dataset",
    "load_dataset_records",
    "to_hf_dataset",
    "write_records",
]
