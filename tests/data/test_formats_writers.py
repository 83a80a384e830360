"""Writers: Math-Shepherd round-trips, TRL stepwise rows, datasets.Dataset and our JSONL load back."""

from __future__ import annotations

import json

import datasets
import pytest

from prmkit.data.formats import FORMATS, from_hf_dataset, load_dataset_records, to_hf_dataset, write_records
from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels
from prmkit.errors import DataError


def _labeled(steps, **labels):
    problem = Problem(id="p1", question="What is 2+3?", answer="5", metadata={"level": 1})
    solution = Solution(id="s1", problem_id="p1", steps=steps, generator={"model": "tiny", "seed": 3})
    kw = {"first_error": -1, "source": "mc", **labels}
    return LabeledSolution(
        problem=problem, solution=solution, labels=StepLabels(solution_id="s1", num_steps=len(steps), **kw)
    )


def test_math_shepherd_sample_round_trips_text_and_labels(tmp_path):
    source = FORMATS.get("math-shepherd").resolve()[0]
    records = load_dataset_records("math-shepherd")
    out = tmp_path / "ms.jsonl"
    assert write_records(records, out, "math-shepherd") == 7
    original = [json.loads(line) for line in source.open()]
    written = [json.loads(line) for line in out.open()]
    assert written == original  # input, label and task texts are identical
    again = load_dataset_records("math-shepherd", path=out, split="sample")
    assert [r.labels.hard for r in again] == [r.labels.hard for r in records]
    assert again == records


def test_math_shepherd_writer_numbers_plain_steps_and_uses_implied_labels(tmp_path):
    rec = _labeled(["Add 2 and 3.", "So the answer is 6."], first_error=1)  # judge-style: no hard list
    out = tmp_path / "ms.jsonl"
    write_records([rec], out, "math-shepherd")
    row = json.loads(out.read_text())
    assert row["input"] == "What is 2+3? Step 1: Add 2 and 3. ки\nStep 2: So the answer is 6. ки"
    assert row["label"] == "What is 2+3? Step 1: Add 2 and 3. +\nStep 2: So the answer is 6. -"
    assert load_dataset_records("math-shepherd", path=out)[0].labels.hard == [1, 0]


def test_trl_stepwise_writes_soft_labels_as_floats_and_hard_as_bools(tmp_path):
    soft = _labeled(["a", "b", "c"], first_error=2, hard=[1, 1, 0], soft=[0.9, 0.6, 0.1])
    hard = _labeled(["a", "b"], first_error=1, hard=[1, 0])
    out = tmp_path / "trl.jsonl"
    assert write_records([soft, hard], out, "trl-stepwise") == 2
    rows = [json.loads(line) for line in out.open()]
    assert rows[0] == {"prompt": "What is 2+3?", "completions": ["a", "b", "c"], "labels": [0.9, 0.6, 0.1]}
    assert rows[1]["labels"] == [True, False]
    back = load_dataset_records("trl-stepwise", path=out)
    assert back[0].labels.soft == [0.9, 0.6, 0.1] and back[0].labels.first_error == 2
    assert back[1].labels.hard == [1, 0]


def test_writers_that_need_labels_refuse_problems(tmp_path):
    with pytest.raises(DataError, match="record 0 is a Problem; trl-stepwise needs labelled solutions"):
        write_records([Problem(id="p", question="q", answer="1")], tmp_path / "x.jsonl", "trl-stepwise")


def test_hf_dataset_round_trip_keeps_nesting_and_free_form_metadata(tmp_path):
    records = load_dataset_records("processbench", "gsm8k", limit=20) + [_labeled(["x", "y"], hard=[1, 1])]
    dataset = to_hf_dataset(records)
    assert isinstance(dataset, datasets.Dataset) and len(dataset) == 21
    assert set(dataset.column_names) == {"problem", "solution", "labels"}
    assert dataset[0]["solution"]["steps"] == records[0].solution.steps
    dataset.to_parquet(tmp_path / "pb.parquet")
    reloaded = datasets.Dataset.from_parquet(str(tmp_path / "pb.parquet"))
    assert from_hf_dataset(reloaded) == records
    problems = load_dataset_records("math500", limit=5)
    assert from_hf_dataset(to_hf_dataset(problems)) == problems


def test_hf_format_saves_and_loads_a_folder(tmp_path):
    records = load_dataset_records("gsm8k", reference=True, limit=5)
    assert write_records(records, tmp_path / "ds", "hf") == 5
    assert load_dataset_records("hf", path=tmp_path / "ds") == records


def test_jsonl_round_trip_of_mixed_kinds(tmp_path):
    rec = _labeled(["a", "b"], hard=[1, 1])
    mixed = [rec.problem, rec.solution, rec.labels, rec]
    write_records(mixed, tmp_path / "r.jsonl")
    assert load_dataset_records("jsonl", path=tmp_path / "r.jsonl") == mixed


@pytest.mark.parametrize(
    "text, signs, question, hard",
    [
        # a stray tag inside the question (TRL special-cases these by prompt prefix): its sign is dropped
        (
            "Mr. Rocky sells 3 ки jugs. How many? Step 1: 3 jugs. ки\nStep 2: So 3. ки",
            "-+-",
            "Mr. Rocky sells 3 jugs. How many?",
            [1, 0],
        ),
        # no "Step 1:" marker: the question ends at the first "?"
        ("How many? First 3. ки\nThen 4. ки", "+-", "How many?", [1, 0]),
    ],
)
def test_math_shepherd_loader_handles_upstream_glitches(tmp_path, text, signs, question, hard):
    label = text
    for sign in signs:
        label = label.replace("ки", sign, 1)
    path = tmp_path / "ms.jsonl"
    path.write_text(json.dumps({"input": text, "label": label, "task": "GSM8K"}) + "\n")
    (rec,) = load_dataset_records("math-shepherd", path=path)
    assert rec.problem.question == question
    assert rec.labels.hard == hard and len(rec.solution.steps) == len(hard)
    assert rec.problem.metadata.get("question_tags", 0) == len(signs) - len(hard)
