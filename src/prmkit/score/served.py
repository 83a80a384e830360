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
from prmkit.score.config import PRMConfig, ServedPRMConfig, is_served
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


class HTTPPRM:
    """What every served-PRM client shares: the HTTP client (bearer token, timeout, connections), and
    ``score`` sending the solutions in ordered chunks, ``served.concurrency`` at a time, halving a chunk
    the server refuses as too large (413). Subclasses build and read one request (``_request``)."""

    format: str = "unknown"
    predicts_class: bool = True
    weights: str | None = None

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
        self.max_solutions, self.max_steps = cfg.batch_size, served.max_steps

    def get(self, path: str) -> dict[str, Any]:
        """GET ``path``: its JSON object, or an error naming the server."""
        try:
            response = self.client.get(path)
        except httpx.TransportError as exc:
            why = f"{type(exc).__name__}: {exc}"
            raise PrmkitError(f"{self.url}: cannot reach the PRM server ({why})") from None
        if response.status_code != 200:
            raise PrmkitError(f"{self.url}{path}: HTTP {response.status_code}: {response.text[:200]}")
        return decode_object(response, f"{self.url}{path}")

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST with ``prmkit.http.post_json``'s retries."""
        return post_json(self.client, path, body, self.cfg.served.retries)

    def score(self, problems: Sequence[ProblemLike], solutions: Sequence[StepsLike]) -> list[list[float]]:
        """One probability of correctness per step of each solution (NaN where the server gave none)."""
        return self.score_counted(problems, solutions).scores

    def score_counted(self, problems: Sequence[ProblemLike], solutions: Sequence[StepsLike]) -> Scored:
        """``score``, with the tokens the server's model read per solution and the requests it took."""
        questions, steps = questions_and_steps(problems, solutions)
        chunks = request_chunks([len(s) for s in steps], self.max_solutions, self.max_steps)
        with ThreadPoolExecutor(self.cfg.served.concurrency) as pool:
            answers = list(pool.map(lambda chunk: self._split(questions, steps, chunk), chunks))
        out: list[list[float]] = [[] for _ in steps]
        tokens = [0] * len(steps)
        for chunk, (results, _) in zip(chunks, answers):
            for i, (scores, count) in zip(chunk, results):
                out[i], tokens[i] = scores, count
        return Scored(out, tokens, sum(requests for _, requests in answers))

    def _split(
        self, questions: list[str], steps: list[list[str]], chunk: list[int]
    ) -> tuple[list[tuple[list[float], int]], int]:
        """``_request``'s answer for ``chunk``, halving a request refused as too large, and the
        requests it took."""
        try:
            return self._request(questions, steps, chunk), 1
        except Refused as exc:
            if exc.status != 413 or len(chunk) == 1:
                raise
        half = len(chunk) // 2
        first, a = self._split(questions, steps, chunk[:half])
        second, b = self._split(questions, steps, chunk[half:])
        return first + second, a + b

    def _request(
        self, questions: list[str], steps: list[list[str]], chunk: list[int]
    ) -> list[tuple[list[float], int]]:
        """(step scores, tokens read) of each solution of ``chunk``, in order, from one request."""
        raise NotImplementedError

    def close(self) -> None:
        self.client.close()


class ServedPRM(HTTPPRM):
    """A client of ``prmkit serve`` with ``PRM.score``'s contract (see the module docstring)."""

    def __init__(self, cfg: PRMConfig, token: str | None = None) -> None:
        super().__init__(cfg, token)
        health = self.get("/health")
        self.format = str(health.get("format", "unknown"))
        self.predicts_class = bool(health.get("predicts_class", True))
        limits = health.get("limits") or {}
        self.max_solutions = min(self.max_solutions, int(limits.get("max_solutions", self.max_solutions)))
        self.max_steps = min(self.max_steps, int(limits.get("max_steps", self.max_steps)))
        self.weights = health.get("weights")  # the served folder's weights_fingerprint

    def _request(
        self, questions: list[str], steps: list[list[str]], chunk: list[int]
    ) -> list[tuple[list[float], int]]:
        body = {"items": [{"problem": questions[i], "steps": steps[i]} for i in chunk]}
        results = self.post("/score", body).get("results")
        if not isinstance(results, list) or len(results) != len(chunk):
            raise PrmkitError(f"{self.url}/score: asked for {len(chunk)} solutions, got {str(results)[:200]}")
        out = []
        for i, result in zip(chunk, results):
            scores = result.get("step_scores") if isinstance(result, dict) else None
            if not isinstance(scores, list) or len(scores) != len(steps[i]):
                raise PrmkitError(
                    f"{self.url}/score: solution {i} has {len(steps[i])} steps but the server answered "
                    f"{str(scores)[:200]}"
                )
            out.append(([math.nan if s is None else float(s) for s in scores], int(result.get("tokens", 0))))
        return out


def model_fingerprint(path: str, served: ServedPRMConfig | None = None) -> str | None:
    """``weights_fingerprint`` of a local model, or the one ``prmkit serve`` reports for a served PRM
    (vLLM reports none)."""
    if not is_served(path):
        return weights_fingerprint(path)
    if served is not None and served.api == "vllm":
        return None
    client = ServedPRM(PRMConfig(prm=path, served=served or ServedPRMConfig()))
    client.close()
    return client.weights
