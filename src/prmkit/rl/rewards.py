"""Reward functions for RL, following TRL's reward-function contract exactly.

A reward is called with keyword arguments only: ``prompts``, ``completions``, ``completion_ids`` and
every dataset column as a list with one entry per completion (prmkit passes ``question``, ``answer``
and ``problem_id``). Keywords it does not use are ignored (TRL also passes ``trainer_state``,
``log_extra`` and ``log_metric``). It returns one float, or None for "not applicable", per completion,
and its ``__name__`` is the name each reward is logged under. So every reward here plugs straight into
``trl.GRPOTrainer(reward_funcs=[...])``, and ``prmkit.rl.verl`` exposes them to verl.

Built-ins in ``REWARDS`` (factory options in brackets):

- ``correctness`` [timeout, workers]: 1 when the answer ``prmkit.grading.extract_answer`` finds is
  equivalent to the gold ``answer`` column, else 0; None where there is no gold answer.
- ``format`` [timeout, workers]: 1 when the *last* ``\\boxed{}`` is present, non-empty and valid
  mathematics (see ``parsable``), else 0 (Format-Length's R_f).
- ``length`` [max_length, peak]: Format-Length's R_l of ``x = L / max_length``, L in tokens
  (``length_reward``): the ``completion_lengths`` column where a caller passes one (verl's valid
  response length, EOS included, as the released code counts it), else ``len(completion_ids)``.
- ``format_length`` [max_length, peak, variant, timeout, workers]: the two combined, as in the paper
  (``variant: paper``) or the released code (``variant: code``); see ``format_length``.
- ``prm`` / ``prm_http`` (``prmkit.rl.prm_rewards``): a PRM's aggregated score, from a local folder or
  from ``prmkit serve``, with dense per-step scores for step-by-step PPO.

``RewardSet.from_specs`` builds a weighted set from ``RewardSpec``s and reports each reward on its own.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from prmkit.errors import ConfigError
from prmkit.grading import extract_answer, grade_batch_status, last_boxed
from prmkit.rl.prm_rewards import PRMHTTPReward, PRMReward  # noqa: F401  (registers prm and prm_http)
from prmkit.rl.reward_base import REWARDS, Reward, RewardFn, completion_text

Variant = Literal["paper", "code"]


@REWARDS.register("correctness")
class CorrectnessReward(Reward):
    """1/0 by ``prmkit.grading`` against the gold ``answer`` column; None where the gold is missing.

    The prediction is ``extract_answer(completion)`` (last box, then ``####``, then "the answer is"), so
    a completion with no final-answer marker is wrong. Grading runs in prmkit's grading process pool
    with a hard ``timeout`` per item (safe from any thread); a timeout counts as wrong.
    """

    name = "correctness"

    def __init__(self, timeout: float = 5.0, workers: int | None = None) -> None:
        super().__init__()
        self.timeout, self.workers = timeout, workers

    def __call__(
        self, *, completions: Sequence[Any], answer: Sequence[Any] | None = None, **_: Any
    ) -> list[float | None]:
        golds = [None if g is None else str(g).strip() or None for g in (answer or [None] * len(completions))]
        todo = [i for i, gold in enumerate(golds) if gold is not None]
        pairs = [(extract_answer(completion_text(completions[i])), golds[i]) for i in todo]
        out: list[float | None] = [None] * len(completions)
        for i, status in zip(todo, grade_batch_status(pairs, self.timeout, self.workers)):
            out[i] = 1.0 if status == "correct" else 0.0
        return out


@functools.lru_cache(maxsize=1)
def _strict_latex() -> list[Any]:
    """math-verify extraction of the boxed LaTeX only, with no repair of malformed operators."""
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig

    normalization = NormalizationConfig(
        basic_latex=True, units=True, malformed_operators=False, nits=False, boxed="all", equations=False
    )
    return [
        LatexExtractionConfig(
            normalization_config=normalization, boxed_match_priority=0, try_extract_without_anchor=False
        )
    ]


def boxed_answer(text: str) -> str | None:
    """The content of the last ``\\boxed{}`` (stripped, one trailing period dropped), or None."""
    boxed = last_boxed(text)
    return None if boxed is None else boxed.strip().removesuffix(".").strip()


def parsable(contents: Sequence[str], timeout: float = 5.0, workers: int | None = None) -> list[bool]:
    """Whether each boxed answer is valid mathematics: math-verify's LaTeX parser turns it into a SymPy
    object *without* repairing it (``x +* 2`` and ``(0,1`` fail, ``\\frac{3}{2}``, ``x^2 + 12y = 1``,
    ``(0,\\infty)`` pass), as Format-Length checks answers with SymPy.

    Parsing can spin for minutes (``(1, 9^{9^{9^{9}}})``: building the interval compares its ends, which
    evaluates the tower), and math-verify's own timeout uses signals, so it works in the main thread
    only. Every answer is therefore parsed first in prmkit's grading pool under a hard ``timeout`` (an
    answer that does not finish there is not parsable), and only answers that finished are parsed
    again here, strictly; this is safe from any thread.
    """
    from math_verify import parse

    guard = grade_batch_status([(c, c) for c in contents], timeout, workers)
    # math-verify's own timeout uses signals, which work in the main thread only
    parse_timeout = (
        max(1, math.ceil(timeout)) if threading.current_thread() is threading.main_thread() else None
    )
    out = []
    for content, status in zip(contents, guard):
        if status in ("timeout", "error"):
            out.append(False)
            continue
        parsed = parse(
            "\\boxed{" + content + "}",
            extraction_config=_strict_latex(),
            extraction_mode="first_match",
            fallback_mode="no_fallback",
            parsing_timeout=parse_timeout,
        )
        out.append(any(not isinstance(p, str) for p in parsed))
    return out


def format_scores(texts: Sequence[str], timeout: float = 5.0, workers: int | None = None) -> list[float]:
    """R_f per text: 1.0 when its last box is present, non-empty and ``parsable``, else 0.0."""
    boxes = [boxed_answer(t) for t in texts]
    todo = [i for i, box in enumerate(boxes) if box]
    out = [0.0] * len(texts)
    for i, ok in zip(todo, parsable([boxes[i] for i in todo], timeout, workers)):  # type: ignore[misc]
        out[i] = float(ok)
    return out


@REWARDS.register("format")
class FormatReward(Reward):
    """Format-Length's R_f: 1 when the last ``\\boxed{}`` is present, non-empty and parsable, else 0.

    Label-free: it never reads the gold answer. Unlike math-verify's extraction (first box) it reads
    the last box, the one a reader takes as the final answer.
    """

    name = "format"

    def __init__(self, timeout: float = 5.0, workers: int | None = None) -> None:
        super().__init__()
        self.timeout, self.workers = timeout, workers

    def __call__(self, *, completions: Sequence[Any], **_: Any) -> list[float | None]:
        return list(format_scores([completion_text(c) for c in completions], self.timeout, self.workers))


def length_reward(x: float, peak: float = 0.5) -> float:
    """Format-Length's R_l (Eq. 2-3) of the relative length ``x = L / L_max``, turning point ``peak``:
    ``1 - (1 - x/p)^2`` up to p, then ``1 - 2 ((x - p) / (1 - p))^2``, so R_l(0) = 0, R_l(p) = 1 and
    R_l(1) = -1 (p = 0.5: x = 0.25 -> 0.75, x = 0.75 -> 0.5).

    ``x`` is clipped to [0, 1] first: a response longer than L_max scores -1, as one of exactly L_max
    does. (The released code does not clip, so there R_l keeps falling below -1 past L_max.)
    """
    if not 0.0 < peak <= 1.0:
        raise ValueError(f"peak must lie in (0, 1], got {peak}")
    x = min(max(x, 0.0), 1.0)
    if x <= peak:
        return 1.0 - (1.0 - x / peak) ** 2
    return 1.0 - 2.0 * ((x - peak) / (1.0 - peak)) ** 2


def format_length(formatted: bool, r_length: float, variant: Variant = "paper") -> float:
    """Format-Length's combination (Eq. 5) of R_f and R_l.

    - ``paper``: ``R_f + R_l`` when the format is right, else ``min(0, R_f + R_l) = min(0, R_l)``;
    - ``code`` (the released implementation): ``0.5 R_f + R_l`` when right, else ``min(0, R_l)``.

    A badly formatted response never earns more than 0, however good its length.
    """
    if variant not in ("paper", "code"):
        raise ValueError(f"unknown format_length variant {variant!r}; use paper or code")
    if not formatted:
        return min(0.0, r_length)
    return (1.0 if variant == "paper" else 0.5) + r_length


def _token_lengths(
    completion_ids: Sequence[Sequence[int]] | None, lengths: Sequence[int] | None, n: int, name: str
) -> list[int]:
    """Each completion's length in tokens: ``lengths`` when given, else the length of its ids."""
    if lengths is not None and len(lengths) == n:
        return [int(length) for length in lengths]
    if completion_ids is None or len(completion_ids) != n:
        raise ConfigError(
            f"the {name} reward measures length in tokens and needs completion_ids or completion_lengths "
            "(one per completion)"
        )
    return [len(ids) for ids in completion_ids]


class _LengthBased(Reward):
    def __init__(self, max_length: int = 0, peak: float = 0.5) -> None:
        super().__init__()
        if max_length < 1:
            raise ConfigError(
                f"the {self.name} reward needs max_length >= 1 (L_max in tokens, e.g. the rollout max_new_tokens)"
            )
        length_reward(0.0, peak)  # validates peak
        self.max_length, self.peak = max_length, peak

    def r_length(
        self, completion_ids: Sequence[Sequence[int]] | None, lengths: Sequence[int] | None, n: int
    ) -> list[float]:
        tokens = _token_lengths(completion_ids, lengths, n, self.name)
        return [length_reward(length / self.max_length, self.peak) for length in tokens]


@REWARDS.register("length")
class LengthReward(_LengthBased):
    """Format-Length's R_l of ``x = L / max_length``, with L the completion's length in tokens."""

    name = "length"

    def __call__(
        self,
        *,
        completions: Sequence[Any],
        completion_ids: Sequence[Sequence[int]] | None = None,
        completion_lengths: Sequence[int] | None = None,
        **_: Any,
    ) -> list[float | None]:
        return list(self.r_length(completion_ids, completion_lengths, len(completions)))


@REWARDS.register("format_length")
class FormatLengthReward(_LengthBased):
    """Format-Length's label-free surrogate: ``format_length(R_f, R_l, variant)`` per completion."""

    name = "format_length"

    def __init__(
        self,
        max_length: int = 0,
        peak: float = 0.5,
        variant: Variant = "paper",
        timeout: float = 5.0,
        workers: int | None = None,
    ) -> None:
        super().__init__(max_length, peak)
        format_length(True, 0.0, variant)  # validates variant
        self.variant, self.timeout, self.workers = variant, timeout, workers

    def __call__(
        self,
        *,
        completions: Sequence[Any],
        completion_ids: Sequence[Sequence[int]] | None = None,
        completion_lengths: Sequence[int] | None = None,
        **_: Any,
    ) -> list[float | None]:
        r_length = self.r_length(completion_ids, completion_lengths, len(completions))
        r_format = format_scores([completion_text(c) for c in completions], self.timeout, self.workers)
        return [format_length(f > 0, r, self.variant) for f, r in zip(r_format, r_length)]


@dataclass
class RewardSpec:
    """One reward of a weighted set: a ``REWARDS`` name (or ``module:attr``), its weight and options."""

    name: str = field(
        metadata={
            "help": "reward name: correctness, format, length, format_length, prm, prm_http or module:attr"
        }
    )
    weight: float = field(default=1.0, metadata={"help": "weight in the total reward"})
    options: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "keyword options of the reward's factory"}
    )

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a reward needs a name")
        if not math.isfinite(self.weight):
            raise ValueError(f"reward {self.name!r}: weight must be finite, got {self.weight}")


@dataclass
class RewardOutput:
    """``total``: the weighted sum of the rewards that apply (None skipped, like TRL's nansum); NaN
    where none applies (TRL's "unscorable" row). ``per_reward``: each reward's own values."""

    total: list[float]
    per_reward: dict[str, list[float | None]]


class RewardSet:
    """Weighted reward functions called with one set of keyword arguments.

    ``functions`` and ``weights`` plug into TRL as ``GRPOTrainer(reward_funcs=rs.functions,
    args=GRPOConfig(reward_weights=rs.weights, ...))``.
    """

    def __init__(self, functions: Sequence[RewardFn], weights: Sequence[float] | None = None) -> None:
        self.functions = list(functions)
        self.weights = [float(w) for w in weights] if weights is not None else [1.0] * len(self.functions)
        self.names = [getattr(f, "__name__", type(f).__name__) for f in self.functions]
        if len(self.weights) != len(self.functions):
            raise ConfigError(f"{len(self.weights)} weights for {len(self.functions)} rewards")
        duplicates = sorted({n for n in self.names if self.names.count(n) > 1})
        if duplicates:
            raise ConfigError(
                f"reward {', '.join(duplicates)} appears twice; each reward is logged by name, so give it once"
            )

    @classmethod
    def from_specs(cls, specs: Sequence[RewardSpec]) -> RewardSet:
        if not specs:
            raise ConfigError("no rewards given")
        functions = []
        for spec in specs:
            factory = REWARDS.get(spec.name)
            try:
                functions.append(factory(**spec.options))
            except TypeError as exc:
                raise ConfigError(
                    f"reward {spec.name!r}: bad options {sorted(spec.options)}: {exc}"
                ) from None
        return cls(functions, [spec.weight for spec in specs])

    def __call__(self, **kwargs: Any) -> RewardOutput:
        n = len(kwargs["completions"])
        per_reward: dict[str, list[float | None]] = {}
        for name, fn in zip(self.names, self.functions):
            values = list(fn(**kwargs))
            if len(values) != n:
                raise ValueError(f"reward {name!r} returned {len(values)} values for {n} completions")
            per_reward[name] = [None if v is None or math.isnan(v) else float(v) for v in values]
        total = []
        for i in range(n):
            terms = [
                w * per_reward[name][i]
                for name, w in zip(self.names, self.weights)
                if per_reward[name][i] is not None
            ]
            total.append(math.fsum(terms) if terms else math.nan)  # type: ignore[arg-type]
        return RewardOutput(total=total, per_reward=per_reward)
