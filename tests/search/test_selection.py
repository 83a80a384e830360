"""One registry of selection rules: a rule registered once is a search method and an eval bon curve;
beam search is a search method only. And the search settings' new names (the sampling block, the
step style's separator)."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
from scripted import TREE, ScriptedBackend, leaves

from prmkit.config import RenamedSetting, from_dict
from prmkit.generation.base import SamplingConfig
from prmkit.score import aggregate
from prmkit.search import (
    SEARCHES,
    SELECTION_RULES,
    SearchConfig,
    SelectionRule,
    best_index,
    register_rule,
    search,
)


@pytest.fixture
def registries(monkeypatch):
    """Rules registered in the test are gone afterwards (both registries are restored)."""
    importlib.import_module("prmkit.search.beam")  # registered before the copy, so it stays registered
    monkeypatch.setattr(SELECTION_RULES, "_items", dict(SELECTION_RULES._items))
    monkeypatch.setattr(SEARCHES, "_items", dict(SEARCHES._items))


def worst(clusters, scores):
    """The lowest aggregated score: the anti-verifier."""
    return best_index([-s for s in scores])


def test_a_rule_registered_once_reaches_search_and_eval_bon(registries, problem, tiny_prm):
    from prmkit.evaluate.bon import curves
    from prmkit.evaluate.config import BonEvalConfig
    from prmkit.evaluate.methods import CandidateArrays, method_picks

    register_rule("worst", SelectionRule(pick_one=worst))
    # search: sample, score, pick the lowest aggregated score
    cfg = SearchConfig(method="worst", sampling=SamplingConfig(n=len(leaves())), aggregation="min")
    result = search([problem], cfg, ScriptedBackend(problem), tiny_prm)[0]
    scores = [aggregate(tiny_prm.score([problem], [c])[0], "min") for c in result.candidates]
    assert result.solution is result.candidates[scores.index(min(scores))]
    assert result.score == pytest.approx(min(scores), abs=1e-6)
    # eval bon: one curve per verifier score set, after the built-in ones
    rng = np.random.default_rng(0)
    arrays = CandidateArrays(
        correct=rng.random((3, 6)) < 0.5,
        clusters=rng.integers(-1, 3, size=(3, 6)),
        scores={"min": rng.random((3, 6)), "last": rng.random((3, 6)), "orm": rng.random((3, 6))},
        greedy=None,
    )
    idx = np.broadcast_to(np.arange(6), (3, 1, 6))  # one subset: every candidate
    picks = method_picks(arrays, idx, ["min", "last"], "min")
    assert list(picks) == ["majority", "weighted_min", "prm_min", "prm_last", "orm",
                           "worst_prm_min", "worst_prm_last", "worst_orm"]  # fmt: skip
    for method, key in (("worst_prm_min", "min"), ("worst_prm_last", "last"), ("worst_orm", "orm")):
        assert picks[method][:, 0].tolist() == arrays.scores[key].argmin(axis=1).tolist()
    summary = curves(arrays, BonEvalConfig(aggregations=["min", "last"], repeats=20))
    assert summary.ns == [1, 2, 4, 6] and "worst_prm_min" in summary.per_problem


def test_a_vectorised_rule_serves_search_one_problem_at_a_time(registries, problem):
    seen = []

    def last(clusters, scores, idx):  # the subset's last candidate
        seen.append((clusters, scores))
        return idx[..., -1]

    register_rule("last", SelectionRule(pick=last, uses_scores=False))
    cfg = SearchConfig(method="last", sampling=SamplingConfig(n=3))
    (result,) = search([problem], cfg, ScriptedBackend(problem))  # no PRM needed, no answers grouped
    assert result.solution is result.candidates[2] and math.isnan(result.score)
    assert seen == [(None, None)]  # what a rule does not use is not computed


def test_beam_is_a_search_method_but_no_selection_rule(registries):
    importlib.import_module("prmkit.search.beam")
    assert "beam" in SEARCHES and "beam" not in SELECTION_RULES
    assert [name for name, _ in SELECTION_RULES.items()] == ["majority", "weighted_vote", "bon"]
    with pytest.raises(ValueError, match="search method 'beam' is already registered"):
        register_rule("beam", SelectionRule(pick_one=worst))
    assert "beam" not in SELECTION_RULES
    with pytest.raises(ValueError, match="needs pick"):
        SelectionRule()
    with pytest.raises(ValueError, match="reads neither scores nor answers needs pick"):
        SelectionRule(pick_one=worst, uses_scores=False)  # pick_one could not know how many candidates


def test_weighted_vote_search_sums_the_aggregated_scores_per_answer(problem, tiny_prm):
    cfg = SearchConfig(method="weighted_vote", sampling=SamplingConfig(n=len(leaves())), aggregation="last")
    (result,) = search([problem], cfg, ScriptedBackend(problem), tiny_prm)
    scores = [aggregate(tiny_prm.score([problem], [c])[0], "last") for c in result.candidates]
    totals: dict[str, float] = {}
    for cand, score in zip(result.candidates, scores):
        totals[cand.final_answer] = totals.get(cand.final_answer, 0.0) + score
    assert result.solution.final_answer == max(totals, key=totals.get)
    assert result.score == pytest.approx(scores[result.candidates.index(result.solution)], abs=1e-6)
    assert result.stats["aggregation"] == "last" and result.stats["prm_tokens"] > 0  # the whole call's cost
    assert result.stats["prm_forward_passes"] >= 1


def test_search_settings_default_and_old_names_land_in_the_sampling_block():
    assert SearchConfig().sampling == SamplingConfig(n=8, max_new_tokens=512, temperature=0.7, top_p=1.0, seed=0)
    old = {"n": 4, "temperature": 1.0, "top_p": 0.9, "max_new_tokens": 64, "seed": 3}
    with pytest.warns(RenamedSetting) as caught:
        cfg = from_dict(SearchConfig, {"method": "majority", **old})
    assert cfg.sampling == SamplingConfig(n=4, temperature=1.0, top_p=0.9, max_new_tokens=64, seed=3)
    assert {str(w.message).split(";")[0] for w in caught} == {f"config: '{k}' is now 'sampling.{k}'" for k in old}
    # a partial block keeps search's own defaults for the rest
    assert from_dict(SearchConfig, {"sampling": {"n": 2}}).sampling.max_new_tokens == 512


class Recording(ScriptedBackend):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stops: set[tuple[str, ...]] = set()

    def generate(self, prompts, n=1, stop=None, **kwargs):
        self.stops.add(tuple(stop or ()))
        return super().generate(prompts, n=n, stop=stop, **kwargs)


@pytest.mark.parametrize(("style", "separator"), [("paragraph", "\n\n"), ("newline", "\n")])
def test_beam_search_stops_at_and_joins_with_the_step_style_separator(problem, tiny_prm, style, separator):
    backend = Recording(problem)
    cfg = SearchConfig(method="beam", beam_width=len(leaves()), expansions=3, step_style=style)
    (result,) = search([problem], cfg, backend, tiny_prm)
    assert backend.stops == {(separator,)}
    assert {tuple(c.steps) for c in result.candidates} == set(leaves())
    assert all(c.final_answer == c.steps[-1].split("{")[1].rstrip("}.") for c in result.candidates)


def test_a_stop_string_ends_the_solution_in_beam_search(problem, tiny_prm):
    cfg = SearchConfig(method="beam", beam_width=len(leaves()), expansions=3, sampling=SamplingConfig(stop=["= 8"]))
    (result,) = search([problem], cfg, ScriptedBackend(problem), tiny_prm)
    cut = [c for c in result.candidates if c.generator["finish"] == "stop"]
    assert [c.steps for c in cut] == [["Step 1: 3 + 4"]]  # "Step 1: 3 + 4 = 8" cut at its stop string
    assert not any("= 8" in s for c in result.candidates for s in c.steps)
    assert len(TREE[("Step 1: 3 + 4 = 8",)]) == 2 and math.isfinite(result.score)
