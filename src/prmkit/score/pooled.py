"""A PRM served by vLLM's pooling API: ``--prm http://HOST:PORT --served.api vllm --served.tokenizer DIR``.

vLLM serves a PRM with the ``token_classify`` task (``vllm serve MODEL --runner pooling``; see
docs/prm.md for each format's launch line) and answers ``POST /pooling {"model": M, "input":
[token ids, ...]}`` with one vector per step tag (STEP pooling) or per token (ALL pooling). What
goes in is built here, as the model's format requires, by the same step-encoding contract that scores
the folder locally: ``DIR`` holds the PRM's tokenizer and config (the PRM folder itself, or a copy
without the weights), and its format decides the text:

- ``qwen-prm``: the model card's chat, steps joined by ``<extra_0>`` with a trailing one; P(correct)
  is class 1 of ``[p_neg, p_pos]``.
- ``math-shepherd``: the question and steps each ending in the tag ``ки``; P(correct) is the first
  of ``[p(+), p(-)]`` (vLLM's ``returned_token_ids`` in that order).
- ``prmkit`` (a token-classification folder): its contract's separator; P(correct) is its
  ``positive_label``.

Token ids go out, never text, so vLLM cannot tokenize differently from the contract. Each answer is
read back in order: a vector per step, or per token from which the steps' positions are taken; any
other count is an error naming the solution, never a shifted score. The text vLLM scores is the
contract's, so the steps beyond the contract's ``max_length`` (or ``--max-tokens``) score NaN.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prmkit.data.encoding import EncodedSteps, encode_steps
from prmkit.errors import ConfigError, PrmkitError
from prmkit.score.config import PRMConfig
from prmkit.score.served import HTTPPRM

POOLED_FORMATS = ("qwen-prm", "math-shepherd", "prmkit")


def positive_class(name: str, positive_label: int = 1) -> int | None:
    """Which class of a pooled step vector is P(correct) for a format vLLM pools (None for the others):
    Math-Shepherd's ``[p(+), p(-)]`` puts it first, Qwen's ``[p_neg, p_pos]`` second, and a prmkit
    token-classification folder where its ``positive_label`` says."""
    return {"math-shepherd": 0, "qwen-prm": 1, "prmkit": positive_label}.get(name)


@dataclasses.dataclass(frozen=True)
class PooledFormat:
    """How a format's inputs are encoded and which class of a step's vector is P(correct)."""

    name: str
    encode: Callable[[str, list[str]], EncodedSteps]
    positive: int


def pooled_format(folder: str | Path, cfg: PRMConfig) -> PooledFormat:
    """The encoding of a PRM folder's format, read from its tokenizer and config (no weights)."""
    from prmkit.data.formats.math_shepherd import TAG
    from prmkit.score.adapters.math_shepherd import CANDIDATES, MATH_SHEPHERD_STEP_FORMAT, encode_tagged
    from prmkit.score.adapters.qwen import qwen_step_format
    from prmkit.score.adapters.token_classification import TRL_STEP_FORMAT
    from prmkit.score.contract import PRMContract
    from prmkit.score.detect import detect
    from prmkit.score.prm import load_tokenizer, resolve_step_format

    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"--served.tokenizer {folder}: not a folder (give the PRM folder, weights optional)")
    contract = PRMContract.load(folder)
    name = detect(folder, contract) if cfg.format == "auto" else cfg.format
    positive = positive_class(name, contract.positive_label if contract is not None else 1)
    if positive is None:
        raise ConfigError(
            f"{folder}: format {name} is not served by vLLM's pooling API (it serves {', '.join(POOLED_FORMATS)}); "
            "serve it with prmkit serve"
        )
    tokenizer = load_tokenizer(folder)
    if name == "math-shepherd":
        options = contract.options if contract is not None else {}
        if options.get("candidates", CANDIDATES) != CANDIDATES:
            raise ConfigError(f"{folder}: candidates other than {CANDIDATES!r}: launch vLLM's returned_token_ids to match")
        fmt = resolve_step_format(contract, cfg, MATH_SHEPHERD_STEP_FORMAT)
        limit = fmt.max_length or cfg.max_tokens
        tag = options.get("tag", TAG)
        return PooledFormat(name, lambda q, s: encode_tagged(tokenizer, q, s, fmt, tag, limit), positive)
    if name == "qwen-prm":
        fmt = qwen_step_format(tokenizer, contract, cfg)
    else:
        fmt = resolve_step_format(contract, cfg, TRL_STEP_FORMAT)
    capped = dataclasses.replace(fmt, max_length=fmt.max_length or cfg.max_tokens)
    return PooledFormat(name, lambda q, s: encode_steps(tokenizer, q, s, capped), positive)


def step_scores(vectors: Any, encoded: EncodedSteps, positive: int, where: str) -> list[float]:
    """P(correct) of each encoded step from one pooling answer: a vector per step, or per token (then
    read at the step ends). A vector of two or more is normalised and read at ``positive``; a single
    value is the probability itself."""
    if not isinstance(vectors, list):
        raise PrmkitError(f"{where}: expected a list of vectors, got {str(vectors)[:200]}")
    if len(vectors) == len(encoded.input_ids) and len(vectors) != encoded.num_steps:
        vectors = [vectors[i] for i in encoded.step_ends]
    if len(vectors) != encoded.num_steps:
        raise PrmkitError(
            f"{where}: {encoded.num_steps} steps ({len(encoded.input_ids)} tokens) went out but the server "
            f"answered {len(vectors)} vectors: its step tag or pooling does not match the folder's format "
            "(does the question contain the step tag?)"
        )
    out = []
    for vector in vectors:
        values = vector if isinstance(vector, list) else [vector]
        if not values or not all(isinstance(v, int | float) for v in values):
            raise PrmkitError(f"{where}: a step's output is not a vector of numbers: {str(vector)[:200]}")
        if len(values) == 1:
            out.append(float(values[0]))
        else:
            total = sum(values)
            out.append(float(values[positive]) / total if total > 0 else math.nan)
    return out


class PooledPRM(HTTPPRM):
    """A client of vLLM's ``/pooling`` (or ``prmkit serve``'s) with ``PRM.score``'s contract."""

    def __init__(self, cfg: PRMConfig, token: str | None = None) -> None:
        if not cfg.served.tokenizer:
            raise ConfigError(
                "--served.api vllm needs --served.tokenizer DIR: the PRM's folder (its tokenizer and config), "
                "from which the requests are encoded as its format requires"
            )
        self.pooled = pooled_format(cfg.served.tokenizer, cfg)
        super().__init__(cfg, token)
        self.format = self.pooled.name
        self.model = cfg.served.model or self._first_model()

    def _first_model(self) -> str:
        models = self.get("/v1/models").get("data")
        if not isinstance(models, list) or not models or not isinstance(models[0], dict) or "id" not in models[0]:
            raise PrmkitError(f"{self.url}/v1/models: no served model listed; pass --served.model")
        return str(models[0]["id"])

    def _request(
        self, questions: list[str], steps: list[list[str]], chunk: list[int]
    ) -> list[tuple[list[float], int]]:
        encoded = [self.pooled.encode(questions[i], steps[i]) for i in chunk]
        answer = self.post("/pooling", {"model": self.model, "input": [e.input_ids for e in encoded]})
        data = answer.get("data")
        if not isinstance(data, list) or len(data) != len(chunk):
            raise PrmkitError(f"{self.url}/pooling: asked for {len(chunk)} inputs, got {str(data)[:200]}")
        data = sorted(data, key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
        out = []
        for i, item, enc in zip(chunk, data, encoded):
            where = f"{self.url}/pooling, solution {i}"
            scores = step_scores(item.get("data") if isinstance(item, dict) else None, enc, self.pooled.positive, where)
            out.append((scores + [math.nan] * (len(steps[i]) - enc.num_steps), len(enc.input_ids)))
        return out

