"""Monte Carlo annotation: exact HE/SE with the exact solver, the first-error search, batching and seeds."""

from __future__ import annotations

import math

import pytest
from annotate_cases import make_pairs, solver_mc

from prmkit.annotate.io import read_labeled
from prmkit.annotate.mc import FirstErrorSearch, MCConfig, annotate_mc, label_stream
from prmkit.data.records import LabeledSolution, Solution
from prmkit.errors import ConfigError
from prmkit.generation.base import GenerationConfig, SamplingConfig
from prmkit.synthetic.checker import check
from prmkit.synthetic.solver import SyntheticSolverBackend


def truth(pair: LabeledSolution):
    return check(pair.problem, pair.solution.steps)


@pytest.fixture(scope="module")
def pairs():
    return make_pairs(24, mistake_rate=0.6)


def test_all_strategy_gives_exact_hard_and_soft_labels_with_a_perfect_completer(pairs):
    records = list(label_stream(solver_mc(n=4), SyntheticSolverBackend(), pairs))
    assert [r.solution.id for r in records] == [p.solution.id for p in pairs]
    assert any(truth(p).first_error >= 0 for p in pairs) and any(truth(p).first_error < 0 for p in pairs)
    for pair, rec in zip(pairs, records):
        t, labels = truth(pair), rec.labels
        # From a correct prefix the solver always reaches the gold answer; after an error, never.
        assert labels.hard == t.hard
        assert labels.soft == [float(h) for h in t.hard]
        assert labels.first_error == t.first_error
        counts = labels.metadata["counts"]
        # The last prefix is the whole solution: its label is the solution's own answer, no rollouts.
        assert counts[-1] is None and labels.metadata["final_answer_correct"] == t.correct
        assert counts[:-1] == [4 * h for h in t.hard[:-1]]
        assert labels.metadata["rollouts"] == 4 * (len(t.hard) - 1)
        assert labels.source == "mc" and labels.metadata["monotone"]


def test_soft_labels_follow_the_slip_rate_of_the_completer():
    # From a correct prefix with r operations left, a rollout stays right with probability (1 - s)^r.
    slip, n = 0.3, 16
    pairs = make_pairs(30, stream="slips", mistake_rate=0.0)
    records = list(label_stream(solver_mc(n=n), SyntheticSolverBackend(slip_rate=slip), pairs))
    by_remaining: dict[int, list[float]] = {}
    for rec in records:
        ops = len(rec.solution.steps) - 1
        for i, (count, soft, hard) in enumerate(
            zip(rec.labels.metadata["counts"], rec.labels.soft, rec.labels.hard)
        ):
            if count is None:
                continue
            assert soft == count / n and hard == int(count > 0)
            by_remaining.setdefault(ops - 1 - i, []).append(soft)
    for remaining, values in by_remaining.items():
        expected = (1 - slip) ** remaining
        sd = math.sqrt(expected * (1 - expected) / (n * len(values)))
        assert abs(sum(values) / len(values) - expected) < 4 * sd + 1e-9, (remaining, values)
    assert {0, 1, 2} <= set(by_remaining)


@pytest.mark.parametrize("trust", [False, True])
def test_first_error_search_finds_the_truth_with_fewer_rollouts(pairs, trust):
    backend = SyntheticSolverBackend()
    full = list(label_stream(solver_mc(n=4, trust_correct_answers=trust), backend, pairs))
    search = list(
        label_stream(solver_mc(n=4, strategy="first-error", trust_correct_answers=trust), backend, pairs)
    )
    for pair, rec in zip(pairs, search):
        t, labels = truth(pair), rec.labels
        assert labels.first_error == t.first_error and labels.hard == t.hard
        drawn = labels.metadata["drawn"]
        measured = [i for i, d in enumerate(drawn) if d]
        if t.correct and trust:
            assert measured == []  # a right final answer taken as a witness that every prefix reaches it
        else:  # the last step's label is its own answer's: the search runs over the steps before it
            assert 1 <= len(measured) <= math.ceil(math.log2(len(t.hard)))
        # A prefix stops at its first correct rollout (2 per round); HE 0 takes all 4.
        assert all(drawn[i] == (2 if t.hard[i] else 4) for i in measured)
        assert labels.metadata["rollouts"] == sum(drawn)
        # SE only where every step before the last drew all 4 (a prefix stopped early has no measured SE)
        unmeasured = any(d < 4 for d in drawn[:-1])
        assert (labels.soft is None) == unmeasured
        assert unmeasured or labels.soft == [*(c / 4 for c in labels.metadata["counts"][:-1]), float(t.correct)]
    assert sum(r.labels.metadata["rollouts"] for r in search) < sum(r.labels.metadata["rollouts"] for r in full)


def test_search_and_all_share_rollouts_and_batching_does_not_change_labels(pairs):
    # Seeds come from (solution id, step, sample), so the same prefix gets the same rollouts in
    # both strategies and in any batch composition.
    cfg = solver_mc(n=6, model="slip_rate=0.25")
    backend = SyntheticSolverBackend(slip_rate=0.25)
    full = list(label_stream(cfg, backend, pairs))
    search = list(
        label_stream(
            solver_mc(n=6, model="slip_rate=0.25", strategy="first-error", rollout_chunk=1), backend, pairs
        )
    )
    partial = 0
    for a, b in zip(full, search):
        for ca, cb, db in zip(
            a.labels.metadata["counts"], b.labels.metadata["counts"], b.labels.metadata["drawn"]
        ):
            if db == 6:
                assert ca == cb  # all six samples: exactly the rollouts "all" drew
            elif db:
                assert cb == 1 and ca >= 1  # stopped at the first success, which "all" saw too
                partial += db < 6
    assert partial > 0
    small_rounds = list(
        label_stream(solver_mc(n=6, model="slip_rate=0.25", rollouts_per_call=1), backend, pairs)
    )
    assert [r.model_dump() for r in small_rounds] == [r.model_dump() for r in full]
    reversed_order = list(label_stream(cfg, backend, pairs[::-1]))
    assert [r.model_dump() for r in reversed_order[::-1]] == [r.model_dump() for r in full]


def test_search_under_monotonicity_and_a_solution_without_an_answer():
    est = FirstErrorSearch(num_steps=7, n=8, final_correct=None)
    true_first = 4
    while est.pending():
        ((step, first, count),) = est.pending()
        assert (first, count) == (0, 8)  # rollout_chunk 0: all n at once
        est.record(step, 0 if step >= true_first else 3, count)
    assert est.hard() == [1, 1, 1, 1, 0, 0, 0]
    assert est.rollouts == 8 * 3  # log2(8) rounds over 7 steps plus "no error"
    # A solution that stops without an answer has its last prefix rolled out like the others.
    pair = make_pairs(1, stream="unanswered", mistake_rate=0.0)[0]
    steps = pair.solution.steps[:-1]
    cut = LabeledSolution(
        problem=pair.problem, solution=Solution(id="cut", problem_id=pair.problem.id, steps=steps)
    )
    (rec,) = label_stream(solver_mc(n=2), SyntheticSolverBackend(), [cut])
    assert rec.labels.metadata["final_answer_correct"] is None
    assert rec.labels.metadata["counts"] == [2] * len(steps) and rec.labels.first_error == -1


def test_resume_refuses_other_labelling_settings_but_not_other_execution_settings(tmp_path, pairs):
    out = tmp_path / "mc.jsonl"
    first = annotate_mc(solver_mc(n=2), pairs[:5], out)
    assert first["written"] == 5 and first["rollouts"] > 0
    again = annotate_mc(solver_mc(n=2, rollouts_per_call=7), pairs, out)
    assert again["skipped"] == 5 and again["written"] == len(pairs) - 5
    with pytest.raises(ConfigError, match="strategy"):
        annotate_mc(solver_mc(n=2, strategy="first-error"), pairs, out)


def test_config_errors_name_the_fix():
    with pytest.raises(ConfigError, match="unknown strategy 'bisect'; known: all, first-error"):
        solver_mc(strategy="bisect")
    with pytest.raises(ConfigError, match="needs sampling.seed"):
        solver_mc(seed=None)
    with pytest.raises(ConfigError, match="slip_rate"):
        SyntheticSolverBackend(solver_mc(model="slip_rate=2").generation)


def test_solver_is_a_registered_backend_with_the_seed_contract():
    from prmkit.generation import GenerationConfig, load_backend

    pair = make_pairs(1, stream="seeds", mistake_rate=0.0)[0]
    backend = load_backend(GenerationConfig(backend="synthetic-solver", model="slip_rate=0.5"))
    prompt = pair.problem.question + "\n\n"
    a = backend.generate([prompt, prompt], n=6, seed=[11, 11])
    b = backend.generate([prompt], n=3, seed=14)
    assert [c.text for c in a[0]] == [c.text for c in a[1]]
    assert [c.text for c in a[0][3:]] == [c.text for c in b[0]]
    assert len({c.text for c in a[0]}) > 1
    cut = backend.generate([prompt], n=1, max_new_tokens=3, seed=0)[0][0]
    assert cut.finish_reason == "length" and len(cut.text.split()) == 3


def test_hard_threshold_applies_to_records_written_by_annotate_mc():
    """``annotate mc`` stores HE as ``hard`` next to SE; a threshold must still move the targets."""
    from prmkit.train.prm_data import step_targets

    pairs = make_pairs(12, mistake_rate=0.5)
    records = list(label_stream(solver_mc(n=8, model="slip_rate=0.3"), SyntheticSolverBackend(slip_rate=0.3), pairs))
    soft = [p for r in records for p in r.labels.soft]
    assert any(0.0 < p <= 0.5 for p in soft)  # some steps reach the answer in at most half the rollouts
    for rec in records:
        he = step_targets(rec, "hard", "prm")
        assert he == [float(v) for v in rec.labels.hard]
        assert step_targets(rec, "hard", "prm", threshold=0.0) == he  # SE > 0 is HE
        assert step_targets(rec, "hard", "prm", threshold=0.5) == [float(p > 0.5) for p in rec.labels.soft]
    assert any(
        step_targets(r, "hard", "prm", threshold=0.5) != step_targets(r, "hard", "prm") for r in records
    )


def test_annotate_mc_through_llama_server_slots_writes_each_solution_once(llama_server, tmp_path):
    """Rollouts from llama.cpp's own server, several requests in flight over its slots."""
    pairs = make_pairs(3, stream="slots")
    gen = GenerationConfig(backend="openai", base_url=llama_server.base_url, logprobs=False,
                           max_concurrency=llama_server.parallel)  # fmt: skip
    cfg = MCConfig(gen, SamplingConfig(n=2, max_new_tokens=16, seed=0), grade_workers=1, progress=False)
    summary = annotate_mc(cfg, pairs, tmp_path / "mc.jsonl")
    labeled = read_labeled(tmp_path / "mc.jsonl")
    assert sorted(x.solution.id for x in labeled) == sorted(x.solution.id for x in pairs)
    assert summary["rollouts"] > 0
    assert all(x.labels is not None and len(x.labels.hard) == len(x.solution.steps) for x in labeled)


def test_labels_the_search_did_not_measure_are_refused_where_they_would_be_read(tmp_path):
    """First-error search stops a prefix at its first correct rollout; no consumer may read that as SE."""
    from prmkit.annotate.relabel import RelabelConfig, relabel_file
    from prmkit.errors import DataError
    from prmkit.train.prm_data import check_targets, load_labelled

    pairs = make_pairs(12, mistake_rate=0.5)
    out = tmp_path / "search.jsonl"
    cfg = solver_mc(n=8, model="slip_rate=0.3", strategy="first-error", rollout_chunk=1)
    annotate_mc(cfg, pairs, out)
    records = read_labeled(out)
    partial_draws = [(r, i) for r in records for i, d in enumerate(r.labels.metadata["drawn"]) if 0 < d < 8]
    assert partial_draws  # some prefix stopped early: e.g. 1 correct of 1 drawn
    assert all(r.labels.soft is None for r, _ in partial_draws)
    assert all(r.labels.metadata["counts"][i] >= 1 for r, i in partial_draws)  # the observation is kept
    line = next(k for k, r in enumerate(records, 1) if r.labels.soft is None)
    first = records[line - 1].solution.id
    for kwargs, flag in [
        ({"labels": "soft"}, "--labels soft"),
        ({"threshold": 0.5}, "--hard-threshold 0.5"),
        ({"kind": "progress"}, "progress labels"),
    ]:
        with pytest.raises(DataError, match=f"search.jsonl:{line}: field '{first}.labels.soft': no soft labels.*{flag}"):
            load_labelled(str(out), check=lambda e, kw=kwargs: check_targets(e, **kw))
    assert len(load_labelled(str(out), check=check_targets)) == len(pairs)  # hard labels (HE) are measured
    assert len(load_labelled(str(out), check=lambda e: check_targets(e, threshold=0.0))) == len(pairs)
    with pytest.raises(DataError, match=f"search.jsonl:{line}: field '{first}.labels.soft': no soft labels"):
        relabel_file(RelabelConfig(kind="advantage"), out, tmp_path / "advantage.jsonl")
    assert not (tmp_path / "advantage.jsonl").exists()
