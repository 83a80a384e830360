"""Append-only JSONL logs survive a torn last line and never duplicate a key."""

from __future__ import annotations

import json

import pytest

from prmkit.data.jsonl import AppendLog, iter_jsonl, read_records, write_jsonl
from prmkit.data.records import Problem
from prmkit.errors import DataError


def test_resume_after_torn_write_has_no_duplicates_or_gaps(tmp_path):
    path = tmp_path / "out.jsonl"
    with AppendLog(path) as log:
        for i in range(3):
            log.append({"id": f"k{i}", "v": i})
    with path.open("ab") as fh:  # a crash in the middle of writing record k3
        fh.write(b'{"id":"k3","v"')
    with AppendLog(path) as log:
        assert set(log.done) == {"k0", "k1", "k2"}
        for i in range(3, 5):
            if f"k{i}" not in log:
                log.append({"id": f"k{i}", "v": i})
        with pytest.raises(ValueError, match="already written"):
            log.append({"id": "k1", "v": 1})
    ids = [obj["id"] for _, obj in iter_jsonl(path)]
    assert ids == ["k0", "k1", "k2", "k3", "k4"]


def test_errors_name_file_line_and_field(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(
        b'{"id": "a", "question": "q", "answer": "1"}\n'
        b'{"id": "b", "question": "q"}\n'
    )
    with pytest.raises(DataError, match=r"p\.jsonl:2: field 'answer': missing"):
        read_records(path, Problem)
    path.write_bytes(b'{"id": "a", "question": "q", "answer": "1"}\n{"id": \n')
    with pytest.raises(DataError, match=r"p\.jsonl:2: malformed JSON"):
        read_records(path, Problem)
    path.write_bytes('{"id": "a", "question": "caf\u00e9", "answer": "1"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match=r"p\.jsonl:1: not UTF-8"):
        read_records(path, Problem)


def test_write_jsonl_is_atomic_and_round_trips(tmp_path):
    path = tmp_path / "sub" / "p.jsonl"
    problems = [Problem(id=str(i), question="q\u00e9", answer=str(i)) for i in range(3)]
    assert write_jsonl(path, problems) == 3
    assert read_records(path, Problem) == problems
    assert not (tmp_path / "sub" / "p.jsonl.tmp").exists()
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0])["question"] == "q\u00e9"
