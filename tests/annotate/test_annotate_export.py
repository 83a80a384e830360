"""Exports of annotation outputs, read back through prmkit's format loaders."""

from __future__ import annotations

import pytest
from annotate_cases import make_pairs, solver_mc

from prmkit.annotate.io import export_annotations, read_labeled
from prmkit.annotate.judge import judgement
from prmkit.annotate.mc import annotate_mc
from prmkit.data.formats import from_hf_dataset, load_dataset_records, to_hf_dataset
from prmkit.data.jsonl import write_jsonl


@pytest.fixture(scope="module")
def mc_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "mc.jsonl"
    annotate_mc(solver_mc(n=4, model="slip_rate=0.3"), make_pairs(8, stream="export", mistake_rate=0.5), path)
    return path


def test_prmkit_jsonl_and_datasets_round_trip_exactly(tmp_path, mc_file):
    records = read_labeled(mc_file)
    assert any(0.0 < s < 1.0 for r in records for s in r.labels.soft)  # real soft labels to carry
    assert export_annotations(mc_file, tmp_path / "out.jsonl", "jsonl") == 8
    assert load_dataset_records("jsonl", path=tmp_path / "out.jsonl") == records
    assert export_annotations(mc_file, tmp_path / "hf", "hf") == 8
    assert load_dataset_records("hf", path=tmp_path / "hf") == records
    assert from_hf_dataset(to_hf_dataset(records)) == records


def test_math_shepherd_keeps_hard_labels_and_trl_keeps_soft_labels(tmp_path, mc_file):
    records = read_labeled(mc_file)
    export_annotations(mc_file, tmp_path / "ms.jsonl", "math-shepherd")
    shepherd = load_dataset_records("math-shepherd", path=tmp_path / "ms.jsonl")
    export_annotations(mc_file, tmp_path / "trl.jsonl", "trl-stepwise")
    trl = load_dataset_records("trl-stepwise", path=tmp_path / "trl.jsonl", label_source="mc")
    for rec, ms, tr in zip(records, shepherd, trl):
        assert ms.problem.question == rec.problem.question and len(ms.solution.steps) == len(
            rec.solution.steps
        )
        assert ms.labels.hard == rec.labels.hard and ms.labels.first_error == rec.labels.first_error
        assert tr.solution.steps == rec.solution.steps and tr.labels.soft == rec.labels.soft
        assert tr.labels.source == "mc"


def test_judge_exports_skip_unparsable_verdicts(tmp_path):
    pairs = make_pairs(3, stream="export-judge")
    verdicts = [
        judgement(pairs[0], ["\\boxed{1}"], 1),
        judgement(pairs[1], ["no box"], 1),
        judgement(pairs[2], ["\\boxed{-1}"], 1),
    ]
    write_jsonl(tmp_path / "judge.jsonl", verdicts)
    assert export_annotations(tmp_path / "judge.jsonl", tmp_path / "ms.jsonl", "math-shepherd") == 2
    back = load_dataset_records("math-shepherd", path=tmp_path / "ms.jsonl")
    n0 = len(pairs[0].solution.steps)
    assert [b.labels.hard for b in back] == [[1] + [0] * (n0 - 1), [1] * len(pairs[2].solution.steps)]
