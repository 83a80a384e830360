"""The scoring server: ``prmkit serve --prm DIR``, a FastAPI app over one loaded PRM.

Routes: ``POST /score`` (one problem with its steps, or a batch of ``items``), ``GET /health`` and the
OpenAPI docs (``/docs``, ``/openapi.json``). For clients written for vLLM, ``POST /pooling`` answers as
vLLM's ``token_classify`` task with STEP pooling does (one ``[p_neg, p_pos]`` per step tag; Math-Shepherd's
``[p(+), p(-)]``) for the formats vLLM pools (``prmkit.score.pooled``), and ``GET /v1/models`` names the
model.

- Validation: bad JSON or fields answer 422 with ``error`` naming the field (``body.steps.1: ...``).
- Limits: a body over ``max_body_bytes`` answers 413 before it is parsed, and so does a request over
  ``max_steps`` steps, ``max_solutions`` solutions or ``max_request_tokens`` tokens (as the PRM encodes
  them: scoring cost grows with the tokens, so this bounds what one request can cost).
- Scheduling (``prmkit.score.batcher``): concurrent requests share forward passes; requests over
  ``lane_tokens`` take turns in a bulk lane with its own thread, so small requests never wait behind a
  large one; a full queue answers 503 with ``Retry-After`` (backpressure instead of running out of memory).
- Security: binds to 127.0.0.1 unless told otherwise; with a token (``--token``, ``--token-file`` or
  ``$PRMKIT_SERVER_TOKEN``; the first shows in ``ps``) every route but ``/health`` needs ``Authorization: Bearer <token>``.
  Models load from safetensors, never with ``trust_remote_code``.
- Shutdown (SIGINT/SIGTERM): the server stops accepting connections and new requests (503), scores
  what it can of the accepted ones within ``graceful_timeout``, answers the rest 503 with Retry-After
  (never a 500 or a dropped connection), and exits within that timeout.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from prmkit.data.encoding import EncodedSteps
from prmkit.errors import ConfigError
from prmkit.score.aggregate import AGGREGATIONS, aggregate, nan_to_none
from prmkit.score.batcher import Batcher, CpuLanes, Overloaded, ShuttingDown
from prmkit.score.config import ServeConfig, is_served
from prmkit.score.load import load_prm
from prmkit.score.pooled import positive_class
from prmkit.score.prm import PRM
from prmkit.weights import weights_fingerprint

DRAIN_SHARE = 0.8  # of graceful_timeout spent scoring accepted requests; the rest answers the others
OPEN_PATHS = frozenset({"/health"})


Step = Annotated[str, StringConstraints(min_length=1)]


class ScoreItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problem: str = Field(min_length=1, description="the question")
    steps: list[Step] = Field(min_length=1, description="the solution's steps, in order")


class ScoreRequest(BaseModel):
    """Either ``problem`` + ``steps`` or ``items`` (a batch of them)."""

    model_config = ConfigDict(extra="forbid")

    problem: str | None = Field(default=None, min_length=1, description="the question (single form)")
    steps: list[Step] | None = Field(default=None, min_length=1, description="its steps (single form)")
    items: list[ScoreItem] | None = Field(
        default=None, min_length=1, description="several solutions (batch form)"
    )
    aggregation: str | None = Field(default=None, description="min, product, last, mean or geometric_mean")

    @field_validator("aggregation")
    @classmethod
    def _known_aggregation(cls, value: str | None) -> str | None:
        if value is not None and value not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation; known: {', '.join(AGGREGATIONS.names())}")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> ScoreRequest:
        if self.items is not None:
            if self.problem is not None or self.steps is not None:
                raise ValueError("give either 'items' or 'problem' with 'steps', not both")
        elif self.problem is None or self.steps is None:
            raise ValueError(
                f"field '{'steps' if self.steps is None else 'problem'}' is required (or give 'items')"
            )
        return self

    def solutions(self) -> list[ScoreItem]:
        if self.items is not None:
            return self.items
        assert self.problem is not None and self.steps is not None
        return [ScoreItem(problem=self.problem, steps=self.steps)]


class PoolingRequest(BaseModel):
    """vLLM's pooling request; its other fields (``task``, ``encoding_format``, ...) are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = Field(default=None, description="the served model's name (as /v1/models lists it)")
    input: list[list[int]] | list[int] | list[str] | str = Field(
        description="token ids or texts, one or several, each encoded as the PRM's format requires"
    )

    def inputs(self) -> list[list[int]] | list[str]:
        if isinstance(self.input, str):
            return [self.input]
        if self.input and isinstance(self.input[0], int):
            return [self.input]  # type: ignore[list-item]
        return self.input  # type: ignore[return-value]


def pooling_tag(prm: PRM) -> tuple[int, int] | None:
    """(the step tag's token id, the class of P(correct)) where vLLM's STEP pooling reads ``prm``'s
    format: the one token its encoding puts at every step end. None for the formats vLLM does not
    pool, or where the step ends hold different tokens."""
    positive = positive_class(prm.format, getattr(prm, "positive_label", 1))
    probe = prm.encode("1 + 1", ["2 + 2 = 4", "4 + 4 = 8", "8"])
    tags = {probe.input_ids[end] for end in probe.step_ends}
    return (tags.pop(), positive) if positive is not None and len(tags) == 1 else None


class ScoreResult(BaseModel):
    step_scores: list[float | None] = Field(
        description="P(step is correct); null where the step did not fit the model"
    )
    score: float | None = Field(description="the step scores aggregated")
    tokens: int = Field(description="tokens the PRM read for this solution (its cut, where it was cut)")


class ScoreResponse(BaseModel):
    aggregation: str
    results: list[ScoreResult]


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


class BearerAuth:
    """Require ``Authorization: Bearer <token>`` on every HTTP route outside ``OPEN_PATHS``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not secrets.compare_digest(given, self.expected):
                response = _error(401, "missing or wrong bearer token", **{"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, by header or while reading, before parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = _error(413, f"request body over {self.max_bytes} bytes")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await too_large(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def encode_request(prm: PRM, items: list[ScoreItem], budget: int) -> tuple[int, list[EncodedSteps]]:
    """The request's tokens, every solution whole (what it would cost), and, within ``budget``, each
    solution as it is scored (cut at the PRM's longest sequence)."""
    whole = [prm.encode(item.problem, item.steps, cut=False) for item in items]
    tokens = sum(map(len, whole))
    if tokens > budget:
        return tokens, []
    cut = [e if len(e) <= prm.max_length else prm.encode(i.problem, i.steps) for e, i in zip(whole, items)]
    return tokens, cut


def cpu_lanes(prm: PRM, share_core: bool) -> CpuLanes | None:
    """On CPU, where the lanes run: with ``share_core`` (and Linux), the interactive lane takes every
    torch thread and shares the last core we may use with the bulk lane; otherwise the bulk lane takes
    one of the threads, beside the interactive lane."""
    if prm.device.type != "cpu":
        return None
    import torch

    threads = torch.get_num_threads()
    if share_core and hasattr(os, "sched_getaffinity") and hasattr(os, "SCHED_IDLE"):
        return CpuLanes(threads, max(os.sched_getaffinity(0)))
    return CpuLanes(max(1, threads - 1), None)


def create_app(prm: PRM, cfg: ServeConfig) -> FastAPI:
    """The FastAPI app serving ``prm`` (see the module docstring)."""
    batcher_box: dict[str, Batcher] = {}
    weights = weights_fingerprint(cfg.prm)  # clients record it beside what they scored

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batching = prm.device.type != "cpu" if cfg.batching is None else cfg.batching
        batcher = Batcher(
            prm.score_encoded, cfg.max_batch_size, cfg.max_wait_ms, cfg.max_queue, batching, cfg.lane_tokens,
            cpu_lanes(prm, cfg.bulk_shares_core),
        )  # fmt: skip
        batcher.start()
        batcher_box["batcher"] = batcher
        yield
        batcher.close(0.0)  # already closed by a signal, or closed now: what is queued is answered 503
        await batcher.stop(max(1.0, (1 - DRAIN_SHARE) * cfg.graceful_timeout))

    app = FastAPI(title="prmkit PRM scoring server", version="1", lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
        return JSONResponse({"error": f"{where}: {message}", "detail": detail}, status_code=422)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        batcher = batcher_box.get("batcher")
        stats = batcher.stats.as_dict() if batcher else {}
        return {
            "status": "ok",
            "format": prm.format,
            "predicts_class": prm.predicts_class,
            "weights": weights,
            "limits": {
                "max_solutions": cfg.max_solutions,
                "max_steps": cfg.max_steps,
                "max_request_tokens": cfg.max_request_tokens,
            },
            "queue": batcher.pending if batcher else 0,
            **stats,
        }

    @app.post(
        "/score",
        response_model=ScoreResponse,
        responses={
            401: {"description": "bad token"},
            413: {"description": "too large"},
            503: {"description": "overloaded"},
        },
    )
    async def score(request: ScoreRequest) -> Any:
        items = request.solutions()
        num_steps = sum(len(item.steps) for item in items)
        if len(items) > cfg.max_solutions:
            return _error(413, f"{len(items)} solutions in one request; the limit is {cfg.max_solutions}")
        if num_steps > cfg.max_steps:
            return _error(413, f"{num_steps} steps in one request; the limit is {cfg.max_steps}")
        tokens, encoded = await asyncio.to_thread(encode_request, prm, items, cfg.max_request_tokens)
        if tokens > cfg.max_request_tokens:
            return _error(413, f"{tokens} tokens in one request; the limit is {cfg.max_request_tokens}")
        try:
            scores = await batcher_box["batcher"].submit(encoded, [len(i.steps) for i in items])
        except ShuttingDown:
            return _error(503, "the server is shutting down; retry later", **{"Retry-After": "5"})
        except Overloaded:
            why = (
                "the server is shutting down"
                if batcher_box["batcher"].closing
                else "the scoring queue is full"
            )
            return _error(503, f"{why}; retry later", **{"Retry-After": "1"})
        name = request.aggregation or cfg.aggregation
        results = [
            ScoreResult(
                step_scores=[nan_to_none(s) for s in row], score=nan_to_none(aggregate(row, name)), tokens=len(e)
            )
            for row, e in zip(scores, encoded)
        ]
        return ScoreResponse(aggregation=name, results=results)

    tag = pooling_tag(prm)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": cfg.prm, "object": "model", "owned_by": "prmkit"}]}

    @app.post("/pooling")
    async def pooling(request: PoolingRequest) -> Any:
        if request.model is not None and request.model != cfg.prm:
            return _error(404, f"model {request.model!r} is not served here; /v1/models lists {cfg.prm!r}")
        if tag is None:
            return _error(400, f"format {prm.format} has no step tag to pool at; use /score")
        inputs = request.inputs()
        if len(inputs) > cfg.max_solutions:
            return _error(413, f"{len(inputs)} inputs in one request; the limit is {cfg.max_solutions}")
        ids = [
            x if isinstance(x, list) else prm.tokenizer(x, add_special_tokens=prm.step_format.add_bos)["input_ids"]
            for x in inputs
        ]
        tokens = sum(map(len, ids))
        if tokens > cfg.max_request_tokens:
            return _error(413, f"{tokens} tokens in one request; the limit is {cfg.max_request_tokens}")
        longest = max(range(len(ids)), key=lambda i: len(ids[i]), default=0)
        if ids and len(ids[longest]) > prm.max_length:
            return _error(400, f"input {longest} has {len(ids[longest])} tokens; the model reads at most {prm.max_length}")
        step_id, positive = tag
        encoded = []
        for x in ids:
            ends = [i for i, t in enumerate(x) if t == step_id]
            encoded.append(EncodedSteps(input_ids=x, step_ends=ends, num_steps=len(ends)))
        try:
            scores = await batcher_box["batcher"].submit(encoded, [e.num_steps for e in encoded])
        except (ShuttingDown, Overloaded):
            return _error(503, "the server is busy or shutting down; retry later", **{"Retry-After": "1"})
        data = [
            {"index": i, "object": "pooling", "data": [[p, 1 - p] if positive == 0 else [1 - p, p] for p in row]}
            for i, row in enumerate(scores)
        ]
        usage = {"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0}
        return {"id": f"pool-{secrets.token_hex(8)}", "object": "list", "created": int(time.time()),
                "model": cfg.prm, "data": data, "usage": usage}  # fmt: skip

    app.state.begin_shutdown = lambda: batcher_box["batcher"].close(DRAIN_SHARE * cfg.graceful_timeout)
    app.add_middleware(BodyLimit, max_bytes=cfg.max_body_bytes)
    token = cfg.resolved_token()
    if token:
        app.add_middleware(BearerAuth, token=token)
    return app


def serve(cfg: ServeConfig) -> None:
    """Load the PRM and run the server until SIGINT/SIGTERM."""
    import uvicorn

    if cfg.host not in ("127.0.0.1", "localhost", "::1") and not cfg.resolved_token():
        print(
            f"warning: serving on {cfg.host} without a token: anyone who reaches it can use it",
            file=sys.stderr,
        )
    if not cfg.prm:
        raise ConfigError("no PRM given: pass --prm DIR")
    if is_served(cfg.prm):
        raise ConfigError(f"--prm {cfg.prm}: prmkit serve loads a PRM folder, not a served PRM")
    prm = load_prm(cfg)
    app = create_app(prm, cfg)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            if not self.should_exit:  # the first signal: stop taking work, answer what cannot finish
                asyncio.get_running_loop().call_soon_threadsafe(app.state.begin_shutdown)
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app,
        host=cfg.host,
        port=cfg.port,
        timeout_graceful_shutdown=int(cfg.graceful_timeout),
        log_level="info",
    )
    Server(config).run()
