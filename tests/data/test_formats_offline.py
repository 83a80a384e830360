"""Every offline dataset loads with the record counts its README states, and the gold answers parse."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from prmkit.data.formats import FORMATS, load_dataset_records
from prmkit.data.records import LabeledSolution, Problem


@pytest.fixture(scope="module")
def prm800k():
    return load_dataset_records("prm800k")


@pytest.mark.parametrize(
    "name, split, count",
    [
        ("gsm8k", "test", 1319),
        ("gsm8k", "train", 7473),
        ("gsm8k", "test_socratic", 1319),
        ("math500", "test", 500),
        ("aime24", "test", 30),
        ("amc23", "test", 40),
        ("minerva", "test", 272),
        ("olympiadbench", "test", 675),
    ],
)
def test_problem_sets_load_every_problem_with_a_unique_id(name, split, count):
    problems = load_dataset_records(name, split)
    assert len(problems) == count
    assert all(isinstance(p, Problem) and p.answer for p in problems)
    assert len({p.id for p in problems}) == count
    assert problems[17].id == f"{name}-{split}-17"


@pytest.mark.parametrize(
    "split, count, erroneous, answer_correct",
    [
        ("gsm8k", 400, 207, 200),
        ("math", 1000, 594, 500),
        ("olympiadbench", 1000, 661, 500),
        ("omnimath", 1000, 759, 500),
    ],
)
def test_processbench_subsets_match_the_paper_statistics(split, count, erroneous, answer_correct):
    records = load_dataset_records("processbench", split)
    assert len(records) == count
    assert sum(r.labels.first_error >= 0 for r in records) == erroneous
    assert sum(r.labels.metadata["final_answer_correct"] for r in records) == answer_correct
    first = records[0]
    assert first.problem.metadata["source_id"] == f"{split}-0"
    assert (
        first.labels.source == "human"
        and first.labels.metadata["generator"] == first.solution.generator["model"]
    )
    # hard labels are implied by the first error: correct before it, wrong from it on
    wrong = next(r for r in records if r.labels.first_error > 0)
    k = wrong.labels.first_error
    assert wrong.labels.hard == [1] * k + [0] * (wrong.labels.num_steps - k)


def test_gsm8k_golds_drop_thousands_separators_and_reference_steps_drop_annotations():
    raw = [json.loads(line) for line in (FORMATS.get("gsm8k").resolve("test")[0]).open()]
    assert raw[146]["answer"].endswith("#### 2,125")
    records = load_dataset_records("gsm8k", "test", reference=True)
    assert records[146].problem.answer == "2125"
    assert not any("," in r.problem.answer for r in records)
    steps = records[
        2
    ].solution.steps  # "... 80,000+50,000=$<<80000+50000=130000>>130,000\n..." then "#### 70000"
    assert steps[0] == "The cost of the house and repairs came out to 80,000+50,000=$130,000"
    assert len(steps) == 4 and not any("<<" in s or "####" in s for s in steps)
    assert records[2].solution.final_answer == "70000"


def test_answers_are_normalised_per_benchmark():
    aime = load_dataset_records("aime24")
    assert aime[7].metadata["raw_answer"] == "025" and aime[7].answer == "25"
    amc = load_dataset_records("amc23")
    assert amc[0].answer == "27" and amc[15].answer == "-1"  # stored as 27.0 and -1.0
    minerva = load_dataset_records("minerva")
    assert minerva[0].answer == "1.6"  # the last \boxed{} of the solution
    olympiad = load_dataset_records("olympiadbench")
    assert olympiad[0].answer == "2" and olympiad[1].answer == r"\frac{1}{2 n+2}"  # "$...$" dropped
    assert Counter(p.metadata["answer_type"] for p in olympiad)["Numerical"] == 572
    assert sum(p.metadata["unit"] is None for p in olympiad) == 667
    math500 = load_dataset_records("math500")
    assert Counter(p.metadata["level"] for p in math500)[5] == 134


def test_reference_solutions_are_split_into_steps():
    for name in ("math500", "aime24", "minerva", "olympiadbench"):
        records = load_dataset_records(name, reference=True, limit=20)
        assert all(isinstance(r, LabeledSolution) and r.labels is None for r in records)
        assert all(r.solution.final_answer == r.problem.answer for r in records)
        assert sum(len(r.solution.steps) for r in records) > 20  # more than one step per problem on average


def test_prm800k_stepwise_rows_become_labelled_prefixes(prm800k):
    # 5,449 rows: 110 unrated model steps are skipped, the other 5,339 each give one sample.
    assert len(prm800k) == 5339
    assert len({r.problem.id for r in prm800k}) == 98  # 3 of the 101 problems have only unrated rows
    assert all(r.problem.answer for r in prm800k)  # every gold found in MATH-500
    last = Counter(r.labels.hard[-1] for r in prm800k)
    assert last == {1: 2245 + 867 + 257, 0: 1970}  # ratings +1 / 0 / human -> correct, -1 -> wrong
    assert all(set(r.labels.hard[:-1]) <= {1} for r in prm800k)
    assert len({r.solution.id for r in prm800k}) == 5339


def test_prm800k_prefix_steps_were_all_rated_good_or_human_written():
    """Why prefix steps are labelled correct: every chosen step is rated +1 or written by a human."""
    path = FORMATS.get("prm800k").resolve()[0]
    chosen = [
        json.loads(line) for line in path.open() if '"is_preferred_response":true' in line.replace(" ", "")
    ]
    assert chosen and all(r["rating"] == 1 or r["is_human_response"] for r in chosen)


def test_prm800k_neutral_option_and_parquet_copy(prm800k):
    strict = load_dataset_records("prm800k", neutral="wrong")
    assert Counter(r.labels.hard[-1] for r in strict)[0] == 1970 + 867
    parquet = FORMATS.get("prm800k").resolve()[0].with_suffix(".parquet")
    assert load_dataset_records("prm800k", path=parquet) == prm800k


def test_prm800k_raw_samples_follow_the_chosen_chain():
    records = load_dataset_records("prm800k-raw")
    assert len(records) == 6
    assert [r.labels.num_steps for r in records] == [6, 7, 5, 7, 8, 12]
    found_error = records[1]
    assert found_error.labels.metadata["finish_reason"] == "found_error"
    assert found_error.labels.first_error == 6  # phase 2 stops at the first -1
    assert found_error.solution.steps[-1].startswith(
        "For the Democrats, there are 5! ways to order them in a line"
    )
    assert records[0].solution.steps[1].startswith("We have $3p+e=1.24$")  # the human completion
    assert records[0].solution.final_answer == "29" and records[5].problem.answer == ""  # screening question


def test_math_shepherd_sample_labels():
    records = load_dataset_records("math-shepherd")
    assert len(records) == 7
    assert records[0].labels.hard == [1, 1, 1, 1, 0] and records[0].labels.source == "mc"
    assert records[0].problem.question.endswith("in a year?")
    assert records[0].solution.steps[0].startswith("Step 1: Janet spends 3 hours")
    assert records[0].solution.final_answer == "13520"
