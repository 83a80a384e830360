"""Dynamic batching and fair scheduling for the scoring server.

Work runs in two lanes, each with its own scoring thread, so that one costly request cannot stall
the others:

- **Interactive** (requests of at most ``lane_tokens`` tokens): one worker takes the oldest request
  and every request queued behind it, up to ``max_batch_size`` solutions and ``lane_tokens`` tokens,
  and scores them all with one ``PRM.score_encoded`` call (which pads sequences of similar length
  together). It does not wait for more (unless ``max_wait_ms`` > 0): batches form from the requests
  that queue while a forward pass runs, so batching adds no latency when the server is idle. No batch
  costs more than one forward pass over ``lane_tokens`` tokens.
- **Bulk** (larger requests): the requests take turns, a slice of at most ``lane_tokens`` tokens (at
  least one solution) at a time, so a request of 64 long solutions does not hold back the next one.

A full queue is refused at once (``Overloaded``): the server answers 503 with Retry-After instead of
piling up work and memory. ``close`` begins a shutdown: new requests are refused (``Overloaded``), the
bulk lane stops taking turns and finishes its requests one by one in arrival order, and those still
waiting at its deadline are answered ``ShuttingDown`` (the server's 503 with
Retry-After) rather than cut off. ``stop`` drains: every request already accepted is scored, or
answered, before the workers end.

On CPU (``CpuLanes``) the bulk lane by default only uses time the interactive lane leaves idle: its
thread runs at idle priority on one core, which the interactive lane's thread shares (or, with several
torch threads, spans). Two forward passes side by side on separate cores can slow each other through
the caches and memory they share; ``benchmarks/server.py`` measures both placements.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

# ``score(encoded, num_steps)``: one entry per solution in each list, as ``PRM.score_encoded`` takes them
# (the server encodes a request once, to check its token budget); the batcher only concatenates them.
ScoreFn = Callable[[list[Any], list[Any]], list[list[float]]]


class Overloaded(Exception):
    """The queue is full, or the server is shutting down; try again later."""


class ShuttingDown(Overloaded):
    """Accepted, but the server shut down before it could be scored; try again later."""


@dataclass
class _Job:
    encoded: list[Any]
    num_steps: list[Any]
    future: asyncio.Future[list[list[float]]]
    arrival: int  # the order requests came in
    scores: list[list[float]] = field(default_factory=list)  # bulk lane: filled a slice at a time
    tokens: int = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = sum(map(len, self.encoded))


@dataclass
class BatchStats:
    requests: int = 0
    bulk_requests: int = 0
    solutions: int = 0
    batches: int = 0
    rejected: int = 0
    largest_batch: int = 0

    def as_dict(self) -> dict[str, float]:
        mean = self.solutions / self.batches if self.batches else 0.0
        return {
            "requests": self.requests,
            "bulk_requests": self.bulk_requests,
            "solutions": self.solutions,
            "batches": self.batches,
            "rejected": self.rejected,
            "largest_batch": self.largest_batch,
            "mean_batch": mean,
        }


@dataclass(frozen=True)
class CpuLanes:
    """Where the lanes run on CPU: the interactive lane's torch threads, and the core the bulk lane
    shares with it at idle priority (None: the bulk lane runs beside it, wherever the OS puts it)."""

    interactive_threads: int
    shared_core: int | None


def _thread_pool(name: str, threads: int | None = None, core: int | None = None, idle: bool = False) -> ThreadPoolExecutor:
    """One scoring thread, with ``threads`` torch threads, pinned to ``core``, at ``idle`` priority
    (it runs only when nothing else wants its core). Pinning and priority are Linux-only."""

    def init() -> None:
        if threads:
            import torch

            torch.set_num_threads(threads)
        if core is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {core})  # 0: this thread
        if idle and hasattr(os, "SCHED_IDLE"):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))

    return ThreadPoolExecutor(1, thread_name_prefix=f"prmkit-{name}", initializer=init)


class Batcher:
    """See the module docstring. ``batching=False`` scores each interactive request on its own."""

    def __init__(
        self,
        score: ScoreFn,
        max_batch_size: int = 32,
        max_wait_ms: float = 0.0,
        max_queue: int = 256,
        batching: bool = True,
        lane_tokens: int = 4096,
        cpu_lanes: CpuLanes | None = None,
    ) -> None:
        self.score = score
        self.max_batch_size = max_batch_size if batching else 1
        self.max_wait = max_wait_ms / 1000.0 if batching else 0.0
        self.max_queue = max_queue
        self.lane_tokens = lane_tokens
        self.queue: collections.deque[_Job] = collections.deque()  # interactive, oldest first
        self.bulk: collections.deque[_Job] = collections.deque()  # bulk, next turn first
        self.stats = BatchStats()
        self._arrived = asyncio.Event()
        self._bulk_arrived = asyncio.Event()
        if cpu_lanes is None:
            self._pools = (_thread_pool("score"), _thread_pool("bulk"))
        else:  # one interactive thread is pinned to the shared core; several span it
            threads, core = cpu_lanes.interactive_threads, cpu_lanes.shared_core
            self._pools = (
                _thread_pool("score", threads, core if threads == 1 else None),
                _thread_pool("bulk", 1, core, idle=core is not None),
            )
        self._workers: list[asyncio.Task[None]] = []
        self._running = 0  # jobs taken off a queue and not answered yet
        self._arrivals = itertools.count()
        self.closing = False

    @property
    def pending(self) -> int:
        """Requests accepted and not answered yet."""
        return len(self.queue) + len(self.bulk) + self._running

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._workers = [loop.create_task(self._interactive()), loop.create_task(self._bulk())]

    async def submit(self, encoded: Sequence[Any], num_steps: Sequence[Any]) -> list[list[float]]:
        """Score one request's solutions; raises Overloaded when the queue is full."""
        job = _Job(list(encoded), list(num_steps), asyncio.get_running_loop().create_future(), next(self._arrivals))
        if self.closing or len(self.queue) + len(self.bulk) >= self.max_queue:
            self.stats.rejected += 1
            raise Overloaded
        self.stats.requests += 1
        if job.tokens > self.lane_tokens:
            self.stats.bulk_requests += 1
            self.bulk.append(job)
            self._bulk_arrived.set()
        else:
            self.queue.append(job)
            self._arrived.set()
        return await job.future

    async def _next_arrival(self, event: asyncio.Event, timeout: float | None = None) -> bool:
        event.clear()
        try:
            await asyncio.wait_for(event.wait(), timeout)  # waiting on an Event loses nothing
        except TimeoutError:
            return False
        return True

    async def _collect(self) -> list[_Job]:
        """The oldest interactive request, with whatever joins it within ``max_wait`` and the budgets."""
        while not self.queue:
            await self._next_arrival(self._arrived)
        jobs = [self.queue.popleft()]
        size, tokens = len(jobs[0].encoded), jobs[0].tokens
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while size < self.max_batch_size:
            while (
                self.queue
                and size < self.max_batch_size
                and tokens + self.queue[0].tokens <= self.lane_tokens
            ):
                jobs.append(self.queue.popleft())
                size, tokens = size + len(jobs[-1].encoded), tokens + jobs[-1].tokens
            remaining = deadline - loop.time()
            if self.queue or remaining <= 0 or not await self._next_arrival(self._arrived, remaining):
                break  # full (the next would not fit), or the window closed
        return jobs

    async def _run(
        self, lane: int, jobs: list[_Job], encoded: list[Any], num_steps: list[Any]
    ) -> list[list[float]]:
        """Score in the lane's thread, counting the jobs as running meanwhile."""
        self._running += len(jobs)
        try:
            loop = asyncio.get_running_loop()
            scores = await loop.run_in_executor(self._pools[lane], self.score, encoded, num_steps)
        except asyncio.CancelledError:  # ``stop`` ran out of time: the requests still get an answer
            for job in jobs:
                _answer(job, ShuttingDown())
            raise
        finally:
            self._running -= len(jobs)
        self.stats.batches += 1
        self.stats.solutions += len(encoded)
        self.stats.largest_batch = max(self.stats.largest_batch, len(encoded))
        return scores

    async def _interactive(self) -> None:
        while True:
            jobs = await self._collect()
            encoded = [e for job in jobs for e in job.encoded]
            num_steps = [n for job in jobs for n in job.num_steps]
            try:
                scores = await self._run(0, jobs, encoded, num_steps)
            except Exception as exc:  # noqa: BLE001  (the model failed: every request in the batch learns why)
                for job in jobs:
                    _answer(job, exc)
                continue
            start = 0
            for job in jobs:
                _answer(job, scores[start : start + len(job.encoded)])
                start += len(job.encoded)

    def _next_slice(self, job: _Job) -> slice:
        """The job's next solutions, at most ``lane_tokens`` tokens of them (at least one)."""
        start = end = len(job.scores)
        tokens = 0
        while end < len(job.encoded) and (end == start or tokens + len(job.encoded[end]) <= self.lane_tokens):
            tokens += len(job.encoded[end])
            end += 1
        return slice(start, end)

    def _next_bulk_turn(self) -> _Job:
        """Turns go round while the server runs; once it is closing, the oldest request goes on to
        the end, so that what fits in the drain finishes whole, in the order it came."""
        if not self.closing:
            return self.bulk.popleft()
        oldest = min(self.bulk, key=lambda job: job.arrival)
        self.bulk.remove(oldest)
        return oldest

    async def _bulk(self) -> None:
        while True:
            while not self.bulk:
                await self._next_arrival(self._bulk_arrived)
            job = self._next_bulk_turn()
            if job.future.done():  # the client went away, or the shutdown answered it
                continue
            part = self._next_slice(job)
            try:
                job.scores += await self._run(1, [job], job.encoded[part], job.num_steps[part])
            except Exception as exc:  # noqa: BLE001  (the model failed: the request learns why)
                _answer(job, exc)
                continue
            if len(job.scores) == len(job.encoded):
                _answer(job, job.scores)
            else:
                self.bulk.append(job)  # the next bulk request takes its turn

    def close(self, deadline: float) -> None:
        """Refuse new requests from now on; answer those still waiting after ``deadline`` seconds
        with ``ShuttingDown`` (a forward pass running then still finishes)."""
        if self.closing:
            return
        self.closing = True
        asyncio.get_running_loop().call_later(deadline, self._expire)

    def _expire(self) -> None:
        for waiting in (self.queue, self.bulk):
            while waiting:
                _answer(waiting.popleft(), ShuttingDown())

    async def stop(self, timeout: float = 30.0) -> None:
        """Finish every accepted request (up to ``timeout`` seconds), then end the workers."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            try:
                await worker
            except asyncio.CancelledError:
                pass
        self._workers = []
        for pool in self._pools:
            pool.shutdown(wait=True)


def _answer(job: _Job, outcome: list[list[float]] | BaseException) -> None:
    """Resolve the job's future, unless its client went away (which cancels it)."""
    if job.future.done():
        return
    if isinstance(outcome, BaseException):
        job.future.set_exception(outcome)
    else:
        job.future.set_result(outcome)
