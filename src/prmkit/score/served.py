"""A PRM served by ``prmkit serve``, used like a local one: ``load_prm("http://127.0.0.1:8000")``.

``ServedPRM.score`` has the contract of ``PRM.score``: one probability of correctness per step, NaN
for steps the server's model could not fit. Solutions go out in requests of at most ``batch_size``
solutions and ``served.max_steps`` steps (each capped at the limit the server's ``/health``
reports), ``served.concurrency`` at a time, each retried as ``prmkit.http.post_json`` says; a
request of several solutions that the server refuses as too large (413, its token budget) is split
in two and sent again; the bearer token is ``token``, else read from ``$PRMKIT_SERVER_TOKEN`` (or
``served.token_env``). A server that answers with another number of solutions or of step scores than
asked is an error, never a shifted score.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from prmkit.errors import PrmkitError
from prmkit.http import Refused, decode_object, post_json
from prmkit.score.config import PRMConfig, is_served
from prmkit.score.prm import ProblemLike, Scored, StepsLike, questions_and_steps
from prmkit.weights import weights_fingerprint


def request_chunks(num_steps: Sequence[int], max_solutions: int, max_steps: int) -> list[list[int]]:
    """Indices in order, grouped under ``max_solutions`` solutions and ``max_steps`` steps per group
    (a solution longer than ``max_steps`` goes alone)."""
    chunks: list[list[int]] = [[]]
    count = 0
    for i, n in enumerate(num_steps):
        if chunks[-1] and (len(chunks[-1]) >= max_solutions or count + n > max_steps):
            chunks.append([])
            count = 0
        chunks[-1].append(i)
        count += n
    return chunks if chunks[0] else []


class ServedPRM:
    """A client of ``prmkit serve`` with ``PRM.score``'s contract (see the module docstring)."""

    def __init__(self, cfg: PRMConfig, token: str | None = None) -> None:
        self.cfg = cfg
        self.url = cfg.prm.rstrip("/")
        served = cfg.served
        token = token or os.environ.get(served.token_env)
        self.client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=served.timeout,
            limits=httpx.Limits(max_connections=served.concurrency),
        )
        health = self._health()
        self.format: str = str(health.get("format", "unknown"))
        self.predicts_class: bool = bool(health.get("predicts_class", True))
        limits = health.get("limits") or {}
        self.max_solutions = min(cfg.batch_size, int(limits.get("max_solutions", cfg.batch_size)))
        self.max_steps = min(served.max_steps, int(limits.get("max_steps", served.max_steps)))
        self.weights: str | None = health.get("weights")  # the served folder's weights_fingerprint

    def _health(self) -> dict[str, Any]:
        try:
            response = self.client.get("/health")
        except httpx.TransportError as exc:
            why = f"{type(exc).__name__}: {exc}"
            raise PrmkitError(f"{self.url}: cannot reach the PRM server ({why})") from None
        if response.status_code != 200:
            raise PrmkitError(f"{self.url}/health: HTTP {response.status_code}: {response.text[:200]}")
        return decode_object(response, f"{self.url}/health")

    def score(self, problems: Sequence[ProblemLike], solutions: Sequence[StepsLike]) -> list[list[float]]:
        """One probability of correctness per step of each solution (NaN where the server gave none)."""
        return self.score_counted(problems, solutions).scores

    def score_counted(self, problems: Sequence[ProblemLike], solutions: Sequence[StepsLike]) -> Scored:
        """``score``, with the tokens the server's model read per solution and the requests it took."""
        questions, steps = questions_and_steps(problems, solutions)
        chunks = request_chunks([len(s) for s in steps], self.max_solutions, self.max_steps)
        with ThreadPoolExecutor(self.cfg.served.concurrency) as pool:
            answers = list(pool.map(lambda chunk: self._results(questions, steps, chunk), chunks))
        out: list[list[float]] = [[] for _ in steps]
        tokens = [0] * len(steps)
        for results, _ in answers:
            for i, result in results:
                scores = result.get("step_scores") if isinstance(result, dict) else None
                if not isinstance(scores, list) or len(scores) != len(steps[i]):
                    raise PrmkitError(
                        f"{self.url}/score: solution {i} has {len(steps[i])} steps but the server answered "
                        f"{str(scores)[:200]}"
                    )
                out[i] = [math.nan if s is None else float(s) for s in scores]
                tokens[i] = int(result.get("tokens", 0))
        return Scored(out, tokens, sum(requests for _, requests in answers))

    def _results(
        self, questions: list[str], steps: list[list[str]], chunk: list[int]
    ) -> tuple[list[tuple[int, Any]], int]:
        """(index, result) for the solutions of ``chunk``, halving a request refused as too large, and
        the requests it took."""
        body = {"items": [{"problem": questions[i], "steps": steps[i]} for i in chunk]}
        try:
            answer = post_json(self.client, "/score", body, self.cfg.served.retries)
        except Refused as exc:
            if exc.status != 413 or len(chunk) == 1:
                raise
            half = len(chunk) // 2
            first, a = self._results(questions, steps, chunk[:half])
            second, b = self._results(questions, steps, chunk[half:])
            return first + second, a + b
        results = answer.get("results")
        if not isinstance(results, list) or len(results) != len(chunk):
            raise PrmkitError(f"{self.url}/score: asked for {len(chunk)} solutions, got {str(results)[:200]}")
        return list(zip(chunk, results)), 1

    def close(self) -> None:
        self.client.close()


def model_fingerprint(path: str) -> str | None:
    """``weights_fingerprint`` of a local model, or the one the server of a served PRM reports."""
    if not is_served(path):
        return weights_fingerprint(path)
    served = ServedPRM(PRMConfig(prm=path))
    served.close()
    return served.weights
