"""PRM-guided beam search and incremental step scoring."""

from __future__ import annotations

import math
import random
import warnings

import pytest
from scripted import TREE, ScriptedBackend, leaves

from prmkit.generation.base import SamplingConfig
from prmkit.score import aggregate, load_prm
from prmkit.score.tiny import make_math_shepherd, make_qwen_prm, sample_problem
from prmkit.search import FullPrefixScorer, IncrementalScorer, SearchConfig, search, step_scorer


@pytest.mark.parametrize("fmt", ["prmkit", "qwen-prm"])
def test_incremental_scores_equal_one_pass_scores(fmt, tiny_prm, tmp_path):
    prm = tiny_prm if fmt == "prmkit" else load_prm(make_qwen_prm(tmp_path / "prm"))
    scorer = step_scorer(prm)
    assert isinstance(scorer, IncrementalScorer)
    rng = random.Random(1)
    expected_passes = 0
    for _ in range(3):
        question, steps = sample_problem(rng, rng.randint(1, 4))
        expected_passes += 1 + len(steps)  # one pass for the question, one per batch of siblings
        state = scorer.start(question)
        for step in steps:
            siblings = scorer.extend(state, [step, step + " (checked)", "Hmm, 2 + 2 = 5"])
            for child in siblings:  # every sibling, not only the one kept, equals full scoring
                full = prm.score([question], [list(child.steps)])[0]
                assert child.scores == pytest.approx(full, abs=1e-5)
            state = siblings[0]
    assert scorer.forward_passes == expected_passes
    full = FullPrefixScorer(prm)
    s = full.start(question)
    for step in steps:
        s = full.extend(s, [step])[0]
    assert s.scores == pytest.approx(state.scores, abs=1e-5)


def test_incremental_respects_max_length(tiny_prm):
    prm = load_prm(tiny_prm.cfg.prm, max_length=40)
    question, steps = sample_problem(random.Random(3), 5)
    full = prm.score([question], [steps])[0]
    assert any(math.isnan(x) for x in full), "the example must overflow max_length"
    scorer = step_scorer(prm)
    state = scorer.start(question)
    for step in steps:
        state = scorer.extend(state, [step])[0]
    assert [math.isnan(x) for x in state.scores] == [math.isnan(x) for x in full]
    assert [x for x in state.scores if not math.isnan(x)] == pytest.approx(
        [x for x in full if not math.isnan(x)], abs=1e-5
    )


def test_a_prm_without_incremental_head_falls_back_with_a_warning(tmp_path):
    prm = load_prm(make_math_shepherd(tmp_path / "ms"))
    with pytest.warns(UserWarning, match="rescoring full prefixes"):
        scorer = step_scorer(prm)
    assert isinstance(scorer, FullPrefixScorer)


def _oracle_best(prm, question, aggregation):
    """Exhaustive search: the leaf whose full one-pass scores aggregate highest."""
    scored = [(aggregate(prm.score([question], [list(leaf)])[0], aggregation), leaf) for leaf in leaves()]
    return max(scored, key=lambda x: x[0])


def _oracle_greedy(prm, question, aggregation):
    """Beam width 1: at every depth keep the child whose aggregated full scores are highest."""
    steps: tuple[str, ...] = ()
    while True:
        kids = [(*steps, s) for s in TREE[steps]]
        values = [aggregate(prm.score([question], [list(k)])[0], aggregation) for k in kids]
        steps = kids[values.index(max(values))]
        if "boxed" in steps[-1]:
            return steps


@pytest.mark.parametrize("aggregation", ["min", "last", "product"])
def test_wide_beam_is_exhaustive_and_narrow_beam_is_greedy(problem, tiny_prm, aggregation):
    wide = SearchConfig(method="beam", beam_width=len(leaves()), expansions=3, aggregation=aggregation)
    result = search([problem], wide, ScriptedBackend(problem), tiny_prm)[0]
    best_score, best_leaf = _oracle_best(tiny_prm, problem.question, aggregation)
    assert tuple(result.solution.steps) == best_leaf
    assert result.score == pytest.approx(best_score, abs=1e-5)
    assert {tuple(c.steps) for c in result.candidates} == set(leaves())
    narrow = SearchConfig(method="beam", beam_width=1, expansions=3, aggregation=aggregation)
    result = search([problem], narrow, ScriptedBackend(problem), tiny_prm)[0]
    assert tuple(result.solution.steps) == _oracle_greedy(tiny_prm, problem.question, aggregation)


def test_the_aggregation_knob_changes_the_choice(problem, tiny_prm):
    picks = {}
    for aggregation in ("min", "last", "product"):
        cfg = SearchConfig(method="beam", beam_width=len(leaves()), expansions=3, aggregation=aggregation)
        picks[aggregation] = tuple(
            search([problem], cfg, ScriptedBackend(problem), tiny_prm)[0].solution.steps
        )
    assert len(set(picks.values())) > 1, f"precondition: the tiny PRM ranks leaves the same way under {picks}"


def test_incremental_and_full_prefix_beams_agree_and_incremental_is_cheaper(problem, tiny_prm):
    results = {}
    for incremental in (True, False):
        cfg = SearchConfig(
            method="beam", beam_width=2, expansions=3, aggregation="last", incremental=incremental
        )
        results[incremental] = search(
            [problem, problem.model_copy(update={"id": "p1"})], cfg, ScriptedBackend(problem), tiny_prm
        )
    for a, b in zip(results[True], results[False]):
        assert a.solution.steps == b.solution.steps
        assert a.score == pytest.approx(b.score, abs=1e-5)
    inc, full = results[True][0].stats, results[False][0].stats
    assert (inc["scoring"], full["scoring"]) == ("incremental", "full-prefix")
    assert inc["prm_tokens"] < full["prm_tokens"]


def test_beam_search_with_a_real_backend_stops_at_the_step_separator(tmp_path, tiny_prm):
    from prmkit.data.records import Problem
    from prmkit.generation import GenerationConfig
    from prmkit.generation.hf import TransformersBackend
    from prmkit.generation.tiny import char_tokenizer, tiny_llama

    tokenizer = char_tokenizer()
    backend = TransformersBackend(
        GenerationConfig(device="cpu"), model=tiny_llama(len(tokenizer)), tokenizer=tokenizer
    )
    problems = [Problem(id=f"q{i}", question=f"What is {i} + {i}?", answer=str(2 * i)) for i in range(2)]
    cfg = SearchConfig(
        method="beam", beam_width=2, expansions=2, max_depth=3, step_max_tokens=6,
        sampling=SamplingConfig(temperature=1.0),
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", message="incremental step scoring unavailable")
        results = search(problems, cfg, backend, tiny_prm)
    # the tiny PRM supports incremental scoring: no fallback to full prefixes
    assert not [w for w in caught if "rescoring full prefixes" in str(w.message)]
    for result in results:
        assert 1 <= len(result.candidates) <= cfg.beam_width + cfg.beam_width * cfg.expansions
        for cand, scores in zip(result.candidates, result.step_scores):
            assert (
                all("\n\n" not in s for s in cand.steps) and len(scores) == len(cand.steps) <= cfg.max_depth
            )
            assert scores == pytest.approx(
                tiny_prm.score(
                    [problems[0].question if cand.problem_id == "q0" else problems[1].question], [cand.steps]
                )[0],
                abs=1e-5,
            )
        assert result.stats["prm_forward_passes"] > 0 and result.stats["generated_tokens"] > 0


def test_beam_search_verified_by_the_policy_likelihood(tmp_path):
    from prmkit.data.records import Problem
    from prmkit.generation import GenerationConfig
    from prmkit.generation.hf import TransformersBackend
    from prmkit.generation.tiny import save_tiny_llama
    from prmkit.score import PRMConfig

    policy = save_tiny_llama(tmp_path / "policy")
    backend = TransformersBackend(GenerationConfig(model=str(policy), device="cpu"))
    likelihood = load_prm(PRMConfig(prm=str(policy), format="likelihood", device="cpu"))
    problems = [Problem(id="q0", question="What is 2 + 2?", answer="4")]
    cfg = SearchConfig(method="beam", beam_width=2, expansions=2, max_depth=2, step_max_tokens=6)
    with pytest.warns(UserWarning, match="rescoring full prefixes"):
        (result,) = search(problems, cfg, backend, likelihood)
    for cand, scores in zip(result.candidates, result.step_scores):
        assert scores == pytest.approx(likelihood.score([problems[0].question], [cand.steps])[0], rel=1e-4)


def test_dvts_runs_beam_width_greedy_subtrees_on_the_same_budget(problem, tiny_prm):
    greedy = _oracle_greedy(tiny_prm, problem.question, "min")
    cfg = SearchConfig(method="dvts", beam_width=3, expansions=3, aggregation="min")
    (result,) = search([problem], cfg, ScriptedBackend(problem), tiny_prm)
    # the scripted tree samples the same children whatever the seed, so every subtree is the greedy path
    assert [tuple(c.steps) for c in result.candidates] == [greedy] * 3
    assert tuple(result.solution.steps) == greedy and result.solution.id == f"{problem.id}-dvts0"
    (beam,) = search([problem], SearchConfig(method="beam", beam_width=3, expansions=3), ScriptedBackend(problem), tiny_prm)
    assert result.stats["generated_tokens"] == 3 * search(
        [problem], SearchConfig(method="beam", beam_width=1, expansions=3), ScriptedBackend(problem), tiny_prm
    )[0].stats["generated_tokens"]
    assert len({tuple(c.steps) for c in beam.candidates}) == 3  # beam search keeps 3 different leaves here


def test_keep_duplicates_lets_a_step_sampled_twice_fill_two_slots(problem, tiny_prm):
    # the root samples beam_width * expansions = 6 steps: each of the 3 first steps twice
    def first_steps(keep):
        cfg = SearchConfig(method="beam", beam_width=2, expansions=3, max_depth=1, keep_duplicates=keep)
        (result,) = search([problem], cfg, ScriptedBackend(problem), tiny_prm)
        return [c.steps[0] for c in result.candidates]

    scores = {s: tiny_prm.score([problem], [[s]])[0][0] for s in TREE[()]}
    best = max(scores, key=scores.get)
    assert first_steps(True) == [best, best]
    merged = first_steps(False)
    assert len(set(merged)) == 2 and merged[0] == best
