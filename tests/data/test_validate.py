"""Bad input gives one-line errors naming file, line and field; validation reports every bad record."""

from __future__ import annotations

import json

import pytest

from prmkit.data.formats import load_dataset_records
from prmkit.data.validate import validate_file, validate_report
from prmkit.errors import ConfigError, DataError

PROBLEM = {"id": "p1", "question": "What is 1+1?", "answer": "2"}
SOLUTION = {"id": "s1", "problem_id": "p1", "steps": ["1+1=2.", "The answer is 2."]}


def _jsonl(path, lines):
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def _one_error(path, **kw):
    errors = validate_file(path, **kw)
    assert len(errors) == 1, [str(e) for e in errors]
    message = str(errors[0])
    assert "\n" not in message
    with pytest.raises(DataError) as raised:  # loading stops at the same error
        load_dataset_records(kw.get("format") or "jsonl", path=path, kind=kw.get("kind"))
    assert str(raised.value) == message
    return message


@pytest.mark.parametrize(
    "bad_line, expected",
    [
        ('{"id": "p3", "question": ', "malformed JSON: Expecting value at column 26"),  # cut-off line
        ({"id": "p3", "answer": "2"}, "field 'question': missing"),
        ({**SOLUTION, "steps": []}, "field 'steps': List should have at least 1 item"),
        ({**SOLUTION, "steps": ["ok", "   "]}, "field 'steps': step 1 is empty"),  # a whitespace-only step
        (
            {"solution_id": "s1", "num_steps": 5, "first_error": 7, "source": "mc"},
            "first_error 7 is out of range for 5 steps",
        ),
        ({**PROBLEM, "id": 5}, "field 'id': Input should be a valid string"),  # mistyped
        ({**PROBLEM, "answr": "2"}, "field 'answr': unknown field (typo?)"),
    ],
)
def test_bad_jsonl_record_on_line_3(tmp_path, bad_line, expected):
    path = _jsonl(tmp_path / "bad.jsonl", [PROBLEM, SOLUTION, bad_line, {**PROBLEM, "id": "p4"}])
    assert _one_error(path).startswith(f"{path}:3: {expected}")


def test_non_utf8_bytes_name_the_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(
        json.dumps(PROBLEM).encode()
        + b"\n"
        + '{"id": "p2", "question": "caf\u00e9?", "answer": "1"}'.encode("latin-1")
        + b"\n"
    )
    assert _one_error(path) == f"{path}:2: not UTF-8 (byte 29); re-save the file as UTF-8"


def _processbench(path, records):
    path.write_text(json.dumps(records, indent=2))
    return path


def _pb(label, steps=("a", "b", "c", "d", "e"), **kw):
    return {
        "id": "x-0",
        "generator": "m",
        "problem": "q?",
        "steps": list(steps),
        "final_answer_correct": True,
        "label": label,
        **kw,
    }


def test_processbench_errors_name_record_index_and_its_line(tmp_path):
    # indent=2 with 5 steps: each record spans 14 lines, the first starts on line 2
    path = _processbench(
        tmp_path / "pb.json", [_pb(-1), _pb(7), _pb(1, steps=("a", "  ", "c"), final_answer_correct="yes")]
    )
    errors = [str(e) for e in validate_file(path, format="processbench")]
    assert errors == [
        f"{path}:16: field '[1].label': 7 is out of range for 5 steps (use -1..4)",
        f"{path}:30: field '[2].steps.1': empty step (only whitespace)",
        f"{path}:30: field '[2].final_answer_correct': Input should be a valid boolean",
    ]
    report = validate_report(path, format="processbench")
    assert (report.records, report.bad) == (3, 2)


def test_processbench_malformed_array_stops_with_the_json_line(tmp_path):
    path = tmp_path / "pb.json"
    path.write_text('[\n  {"id": "x", "label": 1},\n  {"id": oops}\n]')
    assert [str(e) for e in validate_file(path, format="processbench")][-1].startswith(
        f"{path}:3: malformed JSON"
    )


@pytest.mark.parametrize(
    "label_text, expected",
    [
        (
            "Q? Step 1: a +\nStep 2: b x",
            "field 'label': character 'x' at offset 25 (step tag 2) is not '+' or '-'",
        ),
        ("Q? Step 1: a +\nStep 2: b", "field 'label': has 24 characters, expected 26"),
        ("Q? Step 1: A +\nStep 2: b -", "field 'label': text before step tag 1 differs from input"),
    ],
)
def test_math_shepherd_label_errors(tmp_path, label_text, expected):
    row = {"input": "Q? Step 1: a ки\nStep 2: b ки", "label": label_text, "task": "GSM8K"}
    path = _jsonl(tmp_path / "ms.jsonl", [row])
    assert _one_error(path, format="math-shepherd").startswith(f"{path}:1: {expected}")


def test_external_format_field_errors(tmp_path):
    gsm = _jsonl(
        tmp_path / "g.jsonl",
        [
            {"question": "q", "answer": "1\n#### 2"},
            {"answer": "#### 2"},
            {"question": "q", "answer": "no gold"},
        ],
    )
    assert [str(e) for e in validate_file(gsm, format="gsm8k")] == [
        f"{gsm}:2: field 'question': missing",
        f"{gsm}:3: field 'answer': no '#### <gold answer>' line",
    ]
    minerva = _jsonl(tmp_path / "m.jsonl", [{"problem": "p", "solution": "no box"}])
    assert (
        _one_error(minerva, format="minerva")
        == f"{minerva}:1: field 'solution': no \\boxed{{}} answer in the solution"
    )


def test_validate_reports_every_bad_line(tmp_path):
    lines = [
        PROBLEM,
        "not json",
        SOLUTION,
        {**SOLUTION, "steps": []},
        {**PROBLEM, "id": "p5"},
        {"id": "p9", "answer": "1"},
        PROBLEM,
    ]
    path = _jsonl(tmp_path / "mixed.jsonl", lines)
    errors = validate_file(path)
    assert [e.line for e in errors] == [2, 4, 6, 7]
    assert errors[2].field == "question"
    assert errors[3].message == "duplicate problem id 'p1' (first on line 1)"
    report = validate_report(path)
    assert (report.records, report.bad) == (7, 4)


def test_forced_kind_and_unknown_names(tmp_path):
    path = _jsonl(tmp_path / "p.jsonl", [PROBLEM])
    assert validate_file(path, kind="problem") == []
    assert str(validate_file(path, kind="solution")[0]).startswith(f"{path}:1: field 'problem_id': missing")
    with pytest.raises(ConfigError, match="unknown record kind 'nope'"):
        validate_file(path, kind="nope")
    with pytest.raises(ConfigError, match="unknown dataset format 'nope'; known: aime24"):
        validate_file(path, format="nope")
    with pytest.raises(DataError, match="file not found"):
        validate_file(tmp_path / "missing.jsonl")
