import pytest

from prmkit.data.records import Problem, Solution
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.checker import check, first_error, truth_labels

# Mia has 7 pens: +6, -8, *3  ->  values 7, 13, 5, 15
CHAIN = Chain(start=7, ops=(("+", 6), ("-", 8), ("*", 3)))
S1, S2, S3, ANS = "Step 1: 7 + 6 = 13", "Step 2: 13 - 8 = 5", "Step 3: 5 * 3 = 15", "The answer is \\boxed{15}."

CASES = [
    # the reference solution
    ([S1, S2, S3, ANS], -1, True, ""),
    # commuted operands of + and * are accepted
    (["Step 1: 6 + 7 = 13", S2, "Step 3: 3 * 5 = 15", ANS], -1, True, ""),
    # loose spacing, a final period and a wrong step number are fine
    (["Step 1:7+6=13.", "Step  7 : 13 -  8 = 5", S3, "So the answer is \\boxed{ 15 }"], -1, True, ""),
    # arithmetic slip at step 2, carried forward consistently
    ([S1, "Step 2: 13 - 8 = 6", "Step 3: 6 * 3 = 18", "The answer is \\boxed{18}."], 1, False, "wrong_result"),
    # wrong carried value: step 2 starts from 12 instead of 13
    ([S1, "Step 2: 12 - 8 = 4", "Step 3: 4 * 3 = 12", "The answer is \\boxed{12}."], 1, False, "wrong_carry"),
    # a slip whose carried-forward answer happens to be right is still wrong at the slip
    ([S1, "Step 2: 13 - 8 = 6", "Step 3: 5 * 3 = 15", ANS], 1, False, "wrong_result"),
    # skipped operation: -8 is left out, *3 comes instead
    ([S1, "Step 2: 13 * 3 = 39", "The answer is \\boxed{39}."], 1, False, "wrong_operation"),
    # subtraction does not commute
    ([S1, "Step 2: 8 - 13 = 5", S3, ANS], 1, False, "wrong_operation"),
    # wrong operand for the right operator
    (["Step 1: 7 + 5 = 12", "Step 2: 12 - 8 = 4"], 0, False, "wrong_operation"),
    # garbage text at the start
    (["Let me think about the pens.", S1, S2, S3, ANS], 0, False, "unparsable"),
    # a computation written in words is not parsable
    ([S1, "Step 2: thirteen minus eight is five", S3, ANS], 1, False, "unparsable"),
    # missing answer step: every written step is right, but the solution is not complete
    ([S1, S2, S3], -1, False, ""),
    # operations left undone and no answer (truncated)
    ([S1], -1, False, ""),
    # no steps at all
    ([], -1, False, ""),
    # wrong boxed answer after correct steps
    ([S1, S2, S3, "The answer is \\boxed{16}."], 3, False, "wrong_answer"),
    # a non-integer box is a wrong answer
    ([S1, S2, S3, "The answer is \\boxed{15.0}."], 3, False, "wrong_answer"),
    # premature answer: boxes the current value while an operation remains
    ([S1, S2, "The answer is \\boxed{5}."], 2, False, "premature_answer"),
    # extra computation step where the answer was due
    ([S1, S2, S3, "Step 4: 15 + 0 = 15", ANS], 3, False, "expected_answer"),
    # unparsable text where the answer was due
    ([S1, S2, S3, "Done."], 3, False, "expected_answer"),
    # anything after a correct answer step
    ([S1, S2, S3, ANS, "Step 5: 15 + 1 = 16"], 4, False, "after_answer"),
]


@pytest.mark.parametrize(("steps", "expected", "correct", "reason"), CASES)
def test_check_table(steps, expected, correct, reason):
    result = check(CHAIN, steps)
    assert (result.first_error, result.correct, result.reason) == (expected, correct, reason)
    assert first_error(CHAIN, steps) == expected


def test_hard_labels_follow_first_error():
    result = check(CHAIN, [S1, "Step 2: 13 - 8 = 6", "Step 3: 6 * 3 = 18", "The answer is \\boxed{18}."])
    assert result.hard == [1, 0, 0, 0]
    assert check(CHAIN, [S1, S2, S3, ANS]).hard == [1, 1, 1, 1]


def test_problem_metadata_and_truth_labels():
    problem = Problem(id="p", question="q", answer="15", metadata=CHAIN.to_metadata())
    assert Chain.from_problem(problem) == CHAIN
    solution = Solution(id="s", problem_id="p", steps=[S1, "Step 2: 12 - 8 = 4", "Step 3: 4 * 3 = 12", "\\boxed{12}"])
    labels = truth_labels(problem, solution)
    assert labels.source == "truth"
    assert (labels.first_error, labels.hard, labels.metadata) == (
        1,
        [1, 0, 0, 0],
        {"correct": False, "final_answer_correct": False, "reason": "wrong_carry"},
    )


def test_a_right_answer_after_a_wrong_step_is_final_answer_correct_but_not_correct():
    """Two slips that cancel: the truth marks the process wrong, the final answer right; an ORM and
    best-of-N grade the answer (known_correctness reads final_answer_correct first)."""
    from prmkit.data.records import LabeledSolution
    from prmkit.grading.batch import known_correctness

    problem = Problem(id="p", question="q", answer="15", metadata=CHAIN.to_metadata())
    steps = [S1, "Step 2: 13 - 8 = 4", "Step 3: 4 * 3 = 15", "The answer is \\boxed{15}."]
    labels = truth_labels(problem, Solution(id="s", problem_id="p", steps=steps))
    assert labels.first_error == 1 and labels.metadata["correct"] is False
    assert labels.metadata["final_answer_correct"] is True
    solution = Solution(id="s", problem_id="p", steps=steps)
    assert known_correctness(LabeledSolution(problem=problem, solution=solution, labels=labels)) is True


def test_problem_without_structure_is_refused():
    with pytest.raises(ValueError, match="no synthetic structure"):
        check(Problem(id="p", question="q", answer="1"), [S1])
