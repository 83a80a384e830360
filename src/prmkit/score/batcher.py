"""Dynamic batching for the scoring server: concurrent requests share one forward pass.

Requests wait in a bounded asyncio queue. One worker takes the oldest, then keeps collecting for up to
``max_wait_ms`` or until ``max_batch_size`` solutions are waiting, and scores them all with one
``PRM.score_encoded`` call in a dedicated thread (so the event loop keeps answering). A full queue is refused
at once (``Overloaded``): the server answers 503 with Retry-After instead of piling up work and memory.
``close`` begins a shutdown: new requests are refused (``Overloaded``), and those still queued at its
deadline are answered ``ShuttingDown`` (the server's 503 with Retry-After) rather than cut off. ``stop``
drains: every request already accepted is scored, or answered, before the worker ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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


@dataclass
class BatchStats:
    requests: int = 0
    solutions: int = 0
    batches: int = 0
    rejected: int = 0
    largest_batch: int = 0

    def as_dict(self) -> dict[str, float]:
        mean = self.solutions / self.batches if self.batches else 0.0
        return {
            "requests": self.requests,
            "solutions": self.solutions,
            "batches": self.batches,
            "rejected": self.rejected,
            "largest_batch": self.largest_batch,
            "mean_batch": mean,
        }


class Batcher:
    """See the module docstring. ``batching=False`` scores each request on its own (for comparison)."""

    def __init__(
        self,
        score: ScoreFn,
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        max_queue: int = 256,
        batching: bool = True,
    ) -> None:
        self.score = score
        self.max_batch_size = max_batch_size if batching else 1
        self.max_wait = max_wait_ms / 1000.0 if batching else 0.0
        self.queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=max_queue)
        self.stats = BatchStats()
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prmkit-score")
        self._worker: asyncio.Task[None] | None = None
        self.closing = False

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def submit(self, encoded: Sequence[Any], num_steps: Sequence[Any]) -> list[list[float]]:
        """Score one request's solutions; raises Overloaded when the queue is full."""
        job = _Job(list(encoded), list(num_steps), asyncio.get_running_loop().create_future())
        if self.closing:
            self.stats.rejected += 1
            raise Overloaded
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            self.stats.rejected += 1
            raise Overloaded from None
        self.stats.requests += 1
        self._arrived.set()
        return await job.future

    async def _collect(self) -> list[_Job]:
        jobs = [await self.queue.get()]
        size = len(jobs[0].encoded)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while size < self.max_batch_size:
            while not self.queue.empty() and size < self.max_batch_size:
                jobs.append(self.queue.get_nowait())
                size += len(jobs[-1].encoded)
            remaining = deadline - loop.time()
            if size >= self.max_batch_size or remaining <= 0:
                break
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)  # waiting on an Event loses nothing
            except TimeoutError:
                break
        return jobs

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = await self._collect()
            encoded = [e for job in jobs for e in job.encoded]
            num_steps = [n for job in jobs for n in job.num_steps]
            try:
                scores = await loop.run_in_executor(self._executor, self.score, encoded, num_steps)
            except Exception as exc:  # noqa: BLE001  (the model failed: every request in the batch learns why)
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
            else:
                start = 0
                for job in jobs:
                    if not job.future.done():  # a client that went away cancelled its future
                        job.future.set_result(scores[start : start + len(job.encoded)])
                    start += len(job.encoded)
                self.stats.batches += 1
                self.stats.solutions += len(encoded)
                self.stats.largest_batch = max(self.stats.largest_batch, len(encoded))
            finally:
                for _ in jobs:
                    self.queue.task_done()

    def close(self, deadline: float) -> None:
        """Refuse new requests from now on; answer those still queued after ``deadline`` seconds
        with ``ShuttingDown`` (the batch being scored then still finishes)."""
        if self.closing:
            return
        self.closing = True
        asyncio.get_running_loop().call_later(deadline, self._expire)

    def _expire(self) -> None:
        while not self.queue.empty():
            job = self.queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(ShuttingDown())
            self.queue.task_done()

    async def stop(self, timeout: float = 30.0) -> None:
        """Finish every accepted request (up to ``timeout`` seconds), then end the worker."""
        if self._worker is not None:
            try:
                await asyncio.wait_for(self.queue.join(), timeout)
            except TimeoutError:
                pass
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        self._executor.shutdown(wait=True)
