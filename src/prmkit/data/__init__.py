"""The shared data model, step splitting and encoding, and JSONL I/O."""

from prmkit.data.encoding import EncodedSteps, StepFormat, collate, encode_steps
from prmkit.data.jsonl import AppendLog, iter_jsonl, read_records, write_jsonl
from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels
from prmkit.data.steps import join_steps, split_steps

__all__ = [
    "AppendLog",
    "EncodedSteps",
    "LabeledSolution",
    "Problem",
    "Solution",
    "StepFormat",
    "StepLabels",
    "collate",
    "encode_steps",
    "iter_jsonl",
    "join_steps",
    "read_records",
    "split_steps",
    "write_jsonl",
]
