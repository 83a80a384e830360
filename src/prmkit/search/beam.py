"""Step-level beam search guided by a PRM (search-and-learn's beam search, with explicit sizes).

Every problem starts from its prompt. At each depth, each kept partial solution ("beam") samples
``expansions`` next steps (the root samples ``beam_width * expansions``, so every depth spends the same
budget); generation stops at the step separator of ``step_style`` (``prmkit.data.steps.step_separator``:
``"\\n\\n"`` for paragraphs), one call per depth for all beams of all problems, with any generation
backend, at ``sampling.temperature`` and ``sampling.top_p``. Each new step is scored by a
``StepScorer`` (incrementally on the cached prefix by default) and the child's score is the
``aggregation`` of its step scores. A child whose step holds a final answer, ended the sequence (EOS,
when the backend reports token ids), held one of ``sampling.stop`` (the step is cut there), hit
``step_max_tokens``, or reached ``max_depth`` is finished; identical next steps of one beam are
scored once and, unless ``keep_duplicates``, kept once (a prefix the policy samples every time then
holds one slot, and the others go to whatever else was sampled, or stay empty). Of all children of a problem, the best ``beam_width - completed`` are kept: the finished
ones among them join the completed solutions (so a finished solution holds its slot), the others go
on. A problem stops when ``beam_width`` solutions are complete or no beam is left; its answer is the
completed solution with the highest aggregated score. With ``beam_width=1`` this is greedy step
search (Lessons Table 8); with a beam as wide as the tree it is exhaustive.

``dvts`` (diverse verifier tree search, Beeching et al. 2024) spends the same budget on
``beam_width`` independent subtrees per problem, each a greedy step search that samples
``expansions`` next steps and keeps its best one, with its own seeds; the answer is the subtree
solution with the highest aggregated score. Beam search lets one strong prefix take every slot;
the subtrees keep ``beam_width`` different ones to the end.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.progress import Progress

from prmkit.data.prompts import render_prompt
from prmkit.data.records import Problem, Solution
from prmkit.data.steps import join_steps, step_separator
from prmkit.generation.base import Completion, GenerationBackend, cut_at_stop, stable_seed
from prmkit.grading import extract_answer
from prmkit.score.aggregate import aggregate
from prmkit.score.prm import PRM
from prmkit.search.base import SEARCHES, SearchConfig, SearchResult, require_prm
from prmkit.search.incremental import PrefixState, StepScorer, step_scorer


@dataclass
class _Beam:
    state: PrefixState
    score: float = math.nan
    finish: str = ""  # why it completed: answer, eos, stop, length, empty, depth


@dataclass
class _Problem:
    problem: Problem
    prompt: str
    active: list[_Beam]
    completed: list[_Beam] = field(default_factory=list)
    seed_key: str = ""  # what its samples' seeds derive from: the problem id (and the subtree, in DVTS)


def _finish(completion: Completion, step: str, eos_ids: set[int], stopped: bool) -> str:
    """Why a freshly generated step ends its solution ("" when the solution goes on)."""
    if extract_answer(step) is not None:
        return "answer"
    if completion.token_ids and completion.token_ids[-1] in eos_ids:
        return "eos"
    if stopped:
        return "stop"
    if completion.finish_reason == "length":
        return "length"
    return ""


def _expand(
    node: _Problem,
    beam: _Beam,
    completions: list[Completion],
    scorer: StepScorer,
    cfg: SearchConfig,
    eos_ids: set[int],
) -> list[_Beam]:
    """Score the distinct non-empty next steps of ``beam`` once each; an empty step completes the beam
    itself. With ``cfg.keep_duplicates`` a step sampled k times gives k children (k beams that part
    at the next step), else one."""
    steps: dict[str, str] = {}
    sampled: list[str] = []
    for completion in completions:
        text, stopped = cut_at_stop(completion.text, cfg.sampling.stop)
        step = text.strip()
        if not step:
            if beam.state.steps and not beam.finish:
                beam.finish = "empty"
                node.completed.append(beam)
            continue
        steps.setdefault(step, _finish(completion, step, eos_ids, stopped))
        sampled.append(step)
    children = dict(zip(steps, scorer.extend(beam.state, list(steps))))
    kept = sampled if cfg.keep_duplicates else list(steps)
    return [_Beam(children[step], aggregate(children[step].scores, cfg.aggregation), steps[step]) for step in kept]


def _rank(beams: list[_Beam]) -> list[_Beam]:
    return sorted(beams, key=lambda b: -math.inf if math.isnan(b.score) else b.score, reverse=True)


def _step(
    nodes: list[_Problem], depth: int, cfg: SearchConfig, backend: GenerationBackend, scorer: StepScorer
) -> int:
    """One depth of the search for every unfinished problem; returns the tokens generated."""
    work = [(node, beam) for node in nodes for beam in node.active]
    n = cfg.beam_width * cfg.expansions if depth == 0 else cfg.expansions
    separator, base = step_separator(cfg.step_style), cfg.sampling.seed
    prompts = [node.prompt + "".join(s + separator for s in beam.state.steps) for node, beam in work]
    # A beam's seed depends on its problem, depth and rank alone, never on the other problems searched with it.
    ranks = [k for node in nodes for k in range(len(node.active))]
    seeds = [None if base is None else stable_seed(base, node.seed_key, depth, k) for k, (node, _) in zip(ranks, work)]  # fmt: skip
    # sampling.stop is applied to each step afterwards: a stop string ends the solution, not the step
    sampling = {"temperature": cfg.sampling.temperature, "top_p": cfg.sampling.top_p, "stop": [separator]}
    results = backend.generate(prompts, n=n, max_new_tokens=cfg.step_max_tokens, seed=seeds, **sampling)
    eos_ids = set(getattr(backend, "eos_token_ids", ()) or ())
    children: dict[int, list[_Beam]] = {id(node): [] for node in nodes}
    for (node, beam), completions in zip(work, results):
        children[id(node)].extend(_expand(node, beam, completions, scorer, cfg, eos_ids))
    for node in nodes:
        kids = children[id(node)]
        if depth + 1 >= cfg.max_depth:
            for kid in kids:
                kid.finish = kid.finish or "depth"
        kept = _rank(kids)[: max(cfg.beam_width - len(node.completed), 0)]
        node.completed.extend(k for k in kept if k.finish)
        node.active = [k for k in kept if not k.finish]
    return sum(c.num_tokens for completions in results for c in completions)


def _result(problem: Problem, beams: list[_Beam], stats: dict[str, object], cfg: SearchConfig, label: str) -> SearchResult:
    ranked = _rank(beams)
    solutions = [
        Solution(
            id=f"{problem.id}-{label}{i}",
            problem_id=problem.id,
            steps=list(b.state.steps),
            final_answer=extract_answer(join_steps(list(b.state.steps), cfg.step_style)),
            generator={"method": label, "finish": b.finish},
        )
        for i, b in enumerate(ranked)
    ]
    return SearchResult(
        problem_id=problem.id,
        solution=solutions[0] if solutions else None,
        score=ranked[0].score if ranked else math.nan,
        candidates=solutions,
        step_scores=[list(b.state.scores) for b in ranked],
        stats=dict(stats),
    )


def _tree_search(
    problems: Sequence[Problem], cfg: SearchConfig, backend: GenerationBackend, prm: PRM | None, subtrees: int
) -> list[SearchResult]:
    """Beam search (``subtrees`` 1) or DVTS (``beam_width`` subtrees of width 1) for every problem."""
    scorer = step_scorer(require_prm(prm, cfg.method), cfg.incremental)
    label = "beam" if subtrees == 1 else "dvts"
    tree_cfg = cfg if subtrees == 1 else dataclasses.replace(cfg, beam_width=1)
    keys = [(p, p.id if subtrees == 1 else f"{p.id}/subtree{k}") for p in problems for k in range(subtrees)]
    nodes = [
        _Problem(p, render_prompt(p, cfg.prompt_template), [_Beam(scorer.start(p.question))], seed_key=key)
        for p, key in keys
    ]
    generated = 0
    depth = 0
    with Progress(transient=True) as progress:
        task = progress.add_task(f"{label} search", total=cfg.max_depth)
        while depth < cfg.max_depth:
            live = [node for node in nodes if node.active]
            if not live:
                break
            generated += _step(live, depth, tree_cfg, backend, scorer)
            depth += 1
            progress.advance(task)
    stats = {  # for the whole call, all problems together
        "scoring": scorer.mode,
        "prm_forward_passes": scorer.forward_passes,
        "prm_tokens": scorer.tokens,
        "prm_seconds": scorer.seconds,
        "generated_tokens": generated,
        "depth": depth,
        "aggregation": cfg.aggregation,
    }
    return [
        _result(p, [b for node in nodes[i * subtrees : (i + 1) * subtrees] for b in node.completed], stats, cfg, label)
        for i, p in enumerate(problems)
    ]


@SEARCHES.register("beam")
def beam_search(
    problems: Sequence[Problem], cfg: SearchConfig, backend: GenerationBackend, prm: PRM | None = None
) -> list[SearchResult]:
    """PRM-guided step-level beam search (see the module docstring). It builds its candidates step by
    step rather than picking among N sampled ones, so it is a search method and no selection rule
    (``prmkit.search.selection``): ``prmkit eval bon`` does not run it."""
    return _tree_search(problems, cfg, backend, prm, 1)


@SEARCHES.register("dvts")
def dvts(
    problems: Sequence[Problem], cfg: SearchConfig, backend: GenerationBackend, prm: PRM | None = None
) -> list[SearchResult]:
    """Diverse verifier tree search: ``beam_width`` independent greedy subtrees per problem, each
    keeping the best of ``expansions`` next steps (see the module docstring); a search method."""
    return _tree_search(problems, cfg, backend, prm, cfg.beam_width)
