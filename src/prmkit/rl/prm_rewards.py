"""PRM rewards: a process reward model's score of each completion, aggregated or per step.

- ``PRMReward`` (``prm``): a PRM loaded in-process with ``prmkit.score.load_prm`` (any adapter).
- ``PRMHTTPReward`` (``prm_http``): a PRM served by ``prmkit serve``, over HTTP (httpx), so the PRM can
  live on another GPU or node than the trainer (the verl recipe in ``configs/`` does this).

Both split each completion into steps with ``prmkit.data.steps.split_steps`` (``step_style``,
prmkit's blank-line paragraphs by default), score the steps against the ``question`` column (the prompt
text when there is none), and aggregate with ``prmkit.score.aggregate`` (``aggregation``, default
``min``). For step-by-step PPO, ``step_scores`` gives the per-step probabilities and ``step_spans``
each step's character span in the completion, so the trainer can put step k's reward on the token
that ends step k. A completion with no step at all (empty text) has no step scores and reward 0.
Steps the PRM could not score (beyond its max length) are NaN in ``step_scores`` and skipped by the
aggregation; a completion none of whose steps were scored gets None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from prmkit.data.steps import StepStyle, split_steps
from prmkit.errors import ConfigError
from prmkit.rl.reward_base import REWARDS, Reward, completion_text
from prmkit.score.aggregate import aggregate, check_aggregation


def step_spans(text: str, style: StepStyle = "paragraph") -> list[tuple[int, int]]:
    """``(start, end)`` character span of each step ``split_steps(text, style)`` returns, in order."""
    spans, cursor = [], 0
    for step in split_steps(text, style):
        start = text.index(step, cursor)  # steps are stripped, in-order pieces of the text
        spans.append((start, start + len(step)))
        cursor = start + len(step)
    return spans


class StepScoreReward(Reward):
    """Shared logic of the PRM rewards; subclasses implement ``score_steps``."""

    def __init__(self, aggregation: str = "min", step_style: StepStyle = "paragraph") -> None:
        super().__init__()
        try:
            check_aggregation(aggregation)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        split_steps("", step_style)  # validates the style
        self.aggregation, self.step_style = aggregation, step_style

    def score_steps(self, questions: list[str], steps: list[list[str]]) -> list[list[float]]:
        """P(step is correct) for every step of every solution (NaN where unscored)."""
        raise NotImplementedError

    def step_spans(self, completion: Any) -> list[tuple[int, int]]:
        """Each step's ``(start, end)`` character span in the completion text."""
        return step_spans(completion_text(completion), self.step_style)

    def step_scores(
        self,
        *,
        completions: Sequence[Any],
        prompts: Sequence[Any] | None = None,
        question: Sequence[str] | None = None,
        **_: Any,
    ) -> list[list[float]]:
        """One probability per step of each completion (the steps of ``step_spans``)."""
        questions = _questions(question, prompts, len(completions))
        steps = [split_steps(completion_text(c), self.step_style) for c in completions]
        todo = [i for i, s in enumerate(steps) if s]
        out: list[list[float]] = [[] for _ in completions]
        if todo:
            for i, row in zip(todo, self.score_steps([questions[i] for i in todo], [steps[i] for i in todo])):
                out[i] = row
        return out

    def __call__(self, **kwargs: Any) -> list[float | None]:
        out: list[float | None] = []
        for row in self.step_scores(**kwargs):
            value = aggregate(row, self.aggregation) if row else 0.0
            out.append(None if math.isnan(value) else value)
        return out


def _questions(question: Sequence[str] | None, prompts: Sequence[Any] | None, n: int) -> list[str]:
    if question is not None:
        return [str(q) for q in question]
    if prompts is not None:
        return [completion_text(p).strip() for p in prompts]
    raise ConfigError("the PRM reward needs a question column (or the prompts) to score the steps against")


@REWARDS.register("prm")
class PRMReward(StepScoreReward):
    """The PRM in folder ``prm`` (any ``prmkit.score`` adapter); other options go to ``PRMConfig``
    (``device``, ``dtype``, ``batch_size``, ``max_tokens``, ``max_length``, ``format``, ``separator``)."""

    name = "prm"

    def __init__(
        self, prm: str = "", aggregation: str = "min", step_style: StepStyle = "paragraph", **prm_options: Any
    ) -> None:
        from prmkit.score import PRMConfig, load_prm

        super().__init__(aggregation, step_style)
        self.model = load_prm(PRMConfig(prm=str(prm), **prm_options))

    def score_steps(self, questions: list[str], steps: list[list[str]]) -> list[list[float]]:
        return self.model.score(questions, steps)


@REWARDS.register("prm_http")
class PRMHTTPReward(StepScoreReward):
    """A PRM served at ``url`` by ``prmkit serve`` (``api`` "prmkit") or by vLLM (``api`` "vllm", with
    ``tokenizer`` the PRM's folder and ``model`` its served name; ``prmkit.score.pooled``): requests
    of at most ``batch_size`` solutions and ``max_steps`` steps, retried ``retries`` times (503's
    ``Retry-After`` honoured). The bearer token is ``token`` or ``$PRMKIT_SERVER_TOKEN``. The ``prm``
    reward with ``prm=URL`` does the same with the served PRM's defaults.
    """

    name = "prm_http"

    def __init__(
        self,
        url: str = "",
        aggregation: str = "min",
        step_style: StepStyle = "paragraph",
        token: str | None = None,
        timeout: float = 120.0,
        batch_size: int = 32,
        max_steps: int = 512,
        retries: int = 3,
        api: str = "prmkit",
        tokenizer: str = "",
        model: str = "",
    ) -> None:
        from prmkit.score.config import PRMConfig, ServedPRMConfig, is_served
        from prmkit.score.load import connect

        super().__init__(aggregation, step_style)
        if not is_served(url):
            raise ConfigError(
                f"the prm_http reward needs url, where `prmkit serve` listens (e.g. http://127.0.0.1:8000); got {url!r}"
            )
        try:
            served = ServedPRMConfig(
                max_steps=max_steps, timeout=timeout, retries=retries, api=api, tokenizer=tokenizer, model=model  # type: ignore[arg-type]
            )
            cfg = PRMConfig(prm=url, batch_size=batch_size, served=served)
        except ValueError as exc:
            raise ConfigError(f"prm_http: {exc}") from None
        self.model = connect(cfg, token=token)

    def score_steps(self, questions: list[str], steps: list[list[str]]) -> list[list[float]]:
        return self.model.score(questions, steps)

    def close(self) -> None:
        self.model.close()
