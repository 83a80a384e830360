"""BoN-bias diagnostics on hand-built candidates with exact truth."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from bon_records import store

from prmkit.evaluate.bon import curves
from prmkit.evaluate.config import BonEvalConfig
from prmkit.evaluate.diagnostics import min_on_last, run_diagnostics, split_by_process, truth_metrics
from prmkit.evaluate.methods import CandidateArrays


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([0.9, 0.8, 0.2], True),
        ([0.2, 0.9, 0.8], False),
        ([0.5, 0.5], False),  # a tie with an earlier step is not "on the final step"
        ([0.9, math.nan, 0.1], True),  # unscored steps are skipped
        ([0.4], None),  # one scored step says nothing
    ],
)
def test_min_on_last(scores, expected):
    assert min_on_last(scores) == expected


#   (answer correct, cluster, step scores, true first error)
ROWS = [
    [
        (True, 0, [0.9, 0.9, 0.8], -1),  # sound and right
        (True, 0, [0.9, 0.8, 0.3], 1),  # right answer, flawed at step 1; the PRM flags step 2
        (False, 1, [0.2, 0.9, 0.9], 0),  # wrong, flawed at 0; the PRM flags step 0
    ],
    [
        (True, 0, [0.95, 0.4, 0.9], 1),  # right answer, flawed at 1; the PRM flags step 1 exactly
        (False, 1, [0.9, 0.9, 0.85], 2),  # wrong at 2; the PRM misses it
        (True, 0, [0.6, 0.7, 0.8], -1),  # sound and right
    ],
]


def test_truth_metrics_by_hand():
    m = truth_metrics(store(ROWS))
    # wrong steps (positives): c1 s1,s2; c2 s0,s1,s2; c3 s1,s2; c4 s2 -> 8; flagged (< 0.5): c1 s2, c2 s0, c3 s1 -> tp 3, fp 0
    assert m["step_precision"] == 1.0 and m["step_recall"] == pytest.approx(3 / 8)
    assert m["step_f1"] == pytest.approx(2 * (3 / 8) / (1 + 3 / 8))
    # first errors: truth [-1, 1, 0, 1, 2, -1], predicted [-1, 2, 0, 1, -1, -1]
    assert m["first_error_acc_error"] == pytest.approx(2 / 4) and m["first_error_acc_correct"] == 1.0
    assert m["flawed_among_correct"] == pytest.approx(2 / 4) and m["flawed_correct_answers"] == 2
    assert m["flawed_located"] == pytest.approx(1 / 2)


def test_split_by_process():
    correct = np.array([[True, True, False]])
    sound = np.array([[True, False, False]])
    chosen = np.array([[0, 1, 2, 1]])
    assert split_by_process(correct, sound, chosen) == pytest.approx((0.25, 0.5))


def test_run_diagnostics_writes_metrics_and_the_split_figure(tmp_path):
    records = store(ROWS)
    cfg = BonEvalConfig(run_dir=str(tmp_path), aggregations=["min", "last"], repeats=50, bootstrap=50)
    result = curves(CandidateArrays.build(records, cfg.aggregations), cfg)
    metrics = run_diagnostics(records, result, cfg)
    saved = json.loads((tmp_path / "diagnostics" / "metrics.json").read_text())
    assert saved["summary"]["min_on_last_all"] == pytest.approx(3 / 6)  # q0 s0, q0 s1, q1 s1
    assert saved["summary"]["step_f1"] == pytest.approx(metrics["summary"]["step_f1"])
    # min: q0 right {0.8, 0.3} above wrong {0.2} (1.0); q1 right {0.4, 0.6} below wrong 0.85 (0.0)
    assert saved["summary"]["ranking_auroc_min"] == pytest.approx(0.5)
    # last: q0 right {0.8, 0.3} below wrong 0.9 (0.0); q1 right {0.9, 0.8} around wrong 0.85 (0.5)
    assert saved["summary"]["ranking_auroc_last"] == pytest.approx(0.25)
    split = next(t for t in saved["tables"] if t["title"].startswith("BoN accuracy"))
    row = next(r for r in split["rows"] if r[0] == "BoN-PRM (min)")
    # N=3 (all candidates): min picks q0 s0 (0.8: right, sound) and q1 s1 (0.85: wrong)
    assert row[-1] == "50.0 + 0.0"
    row = next(r for r in split["rows"] if r[0] == "BoN-PRM (last)")
    # last picks q0 s2 (0.9: wrong) and q1 s0 (0.9: right answer, flawed process)
    assert row[-1] == "0.0 + 50.0"
    assert (tmp_path / "diagnostics" / "bon_process_split.png").stat().st_size > 10_000
