"""What every verification method shares: its config, its result, its signature and its registry.

A method is one function registered in ``SEARCHES`` with the signature

    method(problems, cfg, backend, prm) -> list[SearchResult]

(``prm`` may be None for methods that need no verifier, such as majority voting). Adding a method
means adding a module with one registered function, never editing a dispatcher::

    results = search(problems, SearchConfig(method="beam", aggregation="product"), backend, prm)

Two kinds: the selection rules (``bon``, ``majority``, ``weighted_vote``, and any rule registered with
``prmkit.search.selection.register_rule``) sample ``sampling.n`` candidates and pick one of them, so
``prmkit eval bon`` runs them too, on stored candidates; ``beam`` builds its candidates step by step
and is a search method only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from prmkit.config import moved_into
from prmkit.data.prompts import DEFAULT_PROMPT
from prmkit.data.records import Problem, Solution
from prmkit.data.steps import StepStyle
from prmkit.errors import ConfigError
from prmkit.generation.base import SamplingConfig
from prmkit.registry import Registry

if TYPE_CHECKING:
    from prmkit.generation.base import GenerationBackend
    from prmkit.score.prm import PRM

_BUILTIN_MODULES = ("prmkit.search.selection", "prmkit.search.beam")


@dataclass
class SearchConfig:
    """How a verification method samples and picks.

    Sampling: ``sampling`` (``n`` candidates of at most ``max_new_tokens`` for the selection rules;
    ``temperature``, ``top_p``, ``stop`` and ``seed`` for every method), ``prompt_template``,
    ``step_style`` (one step format per solution: how text splits into steps, and what beam search
    stops each step at and joins steps with, ``prmkit.data.steps.step_separator``).
    Verification: ``aggregation`` (how step scores become one solution score).
    Beam search: ``beam_width``, ``expansions``, ``max_depth``, ``step_max_tokens``, ``keep_duplicates``,
    ``incremental``.
    """

    RENAMED: ClassVar[dict[str, str]] = moved_into(
        "sampling", SamplingConfig, {k: k for k in ("n", "temperature", "top_p", "max_new_tokens", "seed")}
    )

    method: str = field(
        default="bon",
        metadata={"help": "verification method: bon, majority, weighted_vote, beam, dvts (or 'module:function')"},
    )
    sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(n=8, max_new_tokens=512, temperature=0.7, top_p=1.0, seed=0),
        metadata={
            "help": "candidates per problem (n, for bon, majority, weighted_vote) and how they are sampled; "
            "each problem derives its seed from seed and its id"
        },
    )
    aggregation: str = field(
        default="min", metadata={"help": "step-score aggregation: min, product, last, mean, geometric_mean"}
    )
    prompt_template: str = field(
        default=DEFAULT_PROMPT, metadata={"help": "prompt format; {question} is replaced by the question"}
    )
    step_style: StepStyle = field(
        default="paragraph",
        metadata={"help": "how generated text is split into steps (beam search: where a step ends)"},
    )
    beam_width: int = field(
        default=4,
        metadata={"help": "beam search: solutions kept after every step (and completed ones wanted); dvts: subtrees"},
    )
    expansions: int = field(default=4, metadata={"help": "beam search and dvts: next steps sampled per kept solution"})
    max_depth: int = field(default=16, metadata={"help": "beam search: most steps per solution"})
    step_max_tokens: int = field(default=128, metadata={"help": "beam search: most tokens per step"})
    keep_duplicates: bool = field(
        default=False,
        metadata={
            "help": "beam search and dvts: a next step sampled k times fills k slots (its copies part at the next "
            "step) instead of one"
        },
    )
    incremental: bool = field(
        default=True,
        metadata={
            "help": "beam search: score each new step on the cached prefix (false: rescore the full prefix)"
        },
    )

    def __post_init__(self) -> None:
        from prmkit.score.aggregate import check_aggregation

        check_aggregation(self.aggregation)
        for name in ("beam_width", "expansions", "max_depth", "step_max_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass
class SearchResult:
    """The chosen solution of one problem, the candidates it was chosen from, and what it cost."""

    problem_id: str
    solution: Solution | None  # None when no candidate gave anything to choose
    score: float  # the chosen solution's score (aggregated PRM score, or vote share)
    candidates: list[Solution] = field(default_factory=list)
    step_scores: list[list[float]] = field(default_factory=list)  # per candidate, when a PRM scored them
    stats: dict[str, Any] = field(default_factory=dict)


SearchFn = Callable[[Sequence[Problem], SearchConfig, "GenerationBackend", "PRM | None"], list[SearchResult]]
SEARCHES: Registry[SearchFn] = Registry("search method")


def search(
    problems: Sequence[Problem], cfg: SearchConfig, backend: GenerationBackend, prm: PRM | None = None
) -> list[SearchResult]:
    """Run the method named by ``cfg.method`` on ``problems``."""
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    return SEARCHES.get(cfg.method)(problems, cfg, backend, prm)


def require_prm(prm: PRM | None, method: str) -> PRM:
    if prm is None:
        raise ConfigError(f"search method {method!r} needs a PRM (pass --prm DIR)")
    return prm


def sample_candidates(
    problems: Sequence[Problem], cfg: SearchConfig, backend: GenerationBackend
) -> list[list[Solution]]:
    """``cfg.sampling.n`` sampled solutions per problem, as ``prmkit generate`` samples them
    (``prmkit.generation.sample.sample_solutions``: ids ``{problem_id}-s{k}``, seeds from stable ids)."""
    from prmkit.generation.sample import sample_solutions

    info = {"temperature": cfg.sampling.temperature}
    return sample_solutions(backend, problems, cfg.sampling, cfg.prompt_template, cfg.step_style, info)


def score_candidates(
    prm: PRM, problems: Sequence[Problem], candidates: Sequence[Sequence[Solution]]
) -> tuple[list[list[list[float]]], dict[str, int]]:
    """Step scores of every candidate, all problems in one ``PRM.score_counted`` call (it batches by
    length), and what it cost: ``prm_forward_passes`` (requests, for a served PRM) and ``prm_tokens``."""
    flat_problems = [p for p, sols in zip(problems, candidates) for _ in sols]
    scored = prm.score_counted(flat_problems, [s for sols in candidates for s in sols])
    out, start = [], 0
    for sols in candidates:
        out.append(scored.scores[start : start + len(sols)])
        start += len(sols)
    return out, {"prm_forward_passes": scored.passes, "prm_tokens": sum(scored.tokens)}
