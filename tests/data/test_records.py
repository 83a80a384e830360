"""The shared records refuse inconsistent data with a message that names the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels, detect_kind


def _sol(**kw):
    return Solution(**{"id": "s1", "problem_id": "p1", "steps": ["a", "b", "c"], **kw})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hard": [1, 0]}, "hard has 2 labels for 3 steps"),  # length mismatch
        ({"hard": [1, 2, 1], "first_error": 1}, "hard labels must be 0 or 1"),  # not binary
        ({"hard": [1, 0, 1], "first_error": -1}, "disagrees with hard labels"),  # first error is step 1
        ({"first_error": 3}, "out of range"),  # only 3 steps
        ({"soft": [0.5, 1.5, 0.0]}, "soft labels must lie in [0, 1]"),  # probability > 1
    ],
)
def test_step_labels_refuse_inconsistent_values(kwargs, message):
    base = {"solution_id": "s1", "num_steps": 3, "first_error": -1, "source": "mc"}
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        StepLabels(**{**base, **kwargs})


def test_hard_labels_may_recover_after_an_error():
    # MC "all" labelling can mark a later step reachable again; the first error is still step 1.
    labels = StepLabels(solution_id="s", num_steps=3, first_error=1, hard=[1, 0, 1], soft=[1, 0, 0.5], source="mc")
    assert labels.first_error == 1


def test_from_first_error_builds_hard_labels():
    assert StepLabels.from_first_error("s", 4, 2, source="judge").hard == [1, 1, 0, 0]
    assert StepLabels.from_first_error("s", 2, -1, source="truth").hard == [1, 1]


def test_blank_step_and_unknown_field_are_refused():
    with pytest.raises(ValidationError, match="step 1 is empty"):
        _sol(steps=["ok", "   "])
    with pytest.raises(ValidationError, match="Extra inputs"):
        Problem(id="p", question="q", answer="1", anwser="2")


def test_labeled_solution_checks_links():
    problem = Problem(id="p1", question="q", answer="1")
    labels = StepLabels.from_first_error("s1", 3, 0, source="human")
    assert LabeledSolution(problem=problem, solution=_sol(), labels=labels).labels is labels
    with pytest.raises(ValidationError, match="problem_id"):
        LabeledSolution(problem=problem, solution=_sol(problem_id="p2"))
    with pytest.raises(ValidationError, match="num_steps"):
        LabeledSolution(problem=problem, solution=_sol(), labels=StepLabels.from_first_error("s1", 2, 0, source="human"))


@pytest.mark.parametrize(
    "obj, kind",
    [
        ({"id": "p", "question": "q", "answer": "1"}, "problem"),
        ({"id": "s", "problem_id": "p", "steps": ["a"]}, "solution"),
        ({"solution_id": "s", "num_steps": 1, "first_error": -1, "source": "mc"}, "labels"),
        ({"problem": {}, "solution": {}}, "labeled"),
    ],
)
def test_detect_kind(obj, kind):
    assert detect_kind(obj) == kind
