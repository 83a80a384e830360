"""A persistent pool of grading processes with a hard deadline on every item.

Why not ``concurrent.futures.ProcessPoolExecutor``: it cannot kill one stuck worker without breaking
the whole pool, and math-verify can spin for minutes inside C code (``\\boxed{9^{9^{9^{9}}}}``) where no
signal reaches it. Here each worker owns a pipe; one dispatcher thread hands out small chunks of
pairs, reads back one status byte per item, and when the item at the head of a worker's chunk passes
its deadline it SIGKILLs that worker, marks the item ``timeout``, re-queues the rest of the chunk and
starts a replacement.

Workers are fresh interpreters (``subprocess`` with ``sys.executable``: spawn semantics, since forking
a process that holds threads or torch is unsafe) that import only math-verify. Unlike multiprocessing's
spawn/forkserver they do not re-import the caller's ``__main__``, so a script without an
``if __name__ == "__main__"`` guard works and workers do not pay for the caller's torch import. They
are started only by the dispatcher thread and die with it (Linux ``PDEATHSIG``) or when the pipe closes.

The pool is safe to share between threads: ``submit`` queues a job and returns a GradingJob; items of
all jobs are graded first come, first served.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from concurrent.futures import wait as wait_futures
from multiprocessing.connection import Connection, wait

from prmkit.grading.compare import Status
from prmkit.processes import python_child

_BOOT = "from prmkit.grading.pool import _worker_main; _worker_main(int(sys.argv[1]))"
_READY = b"R"
_CODES: dict[bytes, Status] = {b"c": "correct", b"w": "wrong", b"e": "error"}
_MAX_CHUNK = 16
_MAX_START_FAILURES = 3


def _worker_main(fd: int) -> None:
    conn = Connection(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    from prmkit.grading.compare import grade_status

    grade_status("1", "1")  # import and warm math-verify before taking work
    conn.send_bytes(_READY)
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        for prediction, gold in chunk:
            conn.send_bytes(grade_status(prediction, gold)[0].encode())


class GradingJob:
    """One submitted batch: ``result()`` waits for its statuses; ``finished`` counts graded items."""

    def __init__(self, size: int, timeout: float) -> None:
        self.timeout = timeout
        self.results: list[Status | None] = [None] * size
        self.remaining = size
        self.future: Future[list[Status]] = Future()
        if size == 0:
            self.future.set_result([])

    @property
    def finished(self) -> int:
        return len(self.results) - self.remaining

    def result(self, timeout: float | None = None) -> list[Status]:
        return self.future.result(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds; True once every item is graded (or the pool failed)."""
        wait_futures([self.future], timeout)
        return self.future.done()

    def cancel(self) -> None:
        """Drop the items not yet handed to a worker; ``result()`` then raises CancelledError."""
        self.future.cancel()


_Item = tuple[GradingJob, int, str, str]


class _Worker:
    """One grading process, talking over a socket pair wrapped as a multiprocessing Connection."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            self.proc = subprocess.Popen(
                [*python_child(_BOOT), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        self.conn = Connection(ours.detach())
        self.ready = False
        self.inflight: deque[_Item] = deque()
        self.deadline = math.inf

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.conn.close()


class GradingPool:
    """``workers`` grading processes behind one dispatcher thread, started on first use."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.pid = os.getpid()
        self.broken: BaseException | None = None
        self._lock = threading.Lock()
        self._queue: deque[_Item] = deque()
        self._jobs: set[GradingJob] = set()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._start_failures = 0

    def submit(self, pairs: Sequence[tuple[str, str]], timeout: float) -> GradingJob:
        """Queue ``pairs`` for grading; the job's result is one status per pair, in order."""
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        job = GradingJob(len(pairs), float(timeout))
        if not pairs:
            return job
        with self._lock:
            if self.closed:
                raise RuntimeError("the grading pool is closed") from self.broken
            self._jobs.add(job)
            self._queue.extend((job, i, pred, gold) for i, (pred, gold) in enumerate(pairs))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="prmkit-grading", daemon=True)
                self._thread.start()
        self._wake()
        return job

    @property
    def closed(self) -> bool:
        """True once closed or broken (a failure in the dispatcher); a closed pool takes no jobs."""
        return self._closed or self.broken is not None

    def close(self) -> None:
        """Kill the workers and fail jobs still pending; idempotent."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    # -- dispatcher thread -------------------------------------------------------------------------

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass  # a wake-up is already pending, or the pool is gone

    def _run(self) -> None:
        workers: list[_Worker] = []
        error: BaseException = RuntimeError("the grading pool was closed while grading")
        try:
            workers = [_Worker() for _ in range(self.workers)]
            while not self._closed:
                self._assign(workers)
                deadline = min(w.deadline for w in workers)
                pause = None if deadline == math.inf else max(0.0, deadline - time.monotonic())
                for conn in wait([w.conn for w in workers] + [self._wake_r], pause):
                    if conn is self._wake_r:
                        self._drain_wakeups()
                    else:
                        self._receive(workers, next(w for w in workers if w.conn is conn))
                self._expire(workers)
        except BaseException as exc:  # noqa: BLE001 - reported to every waiting caller
            error = self.broken = exc
        finally:
            for worker in workers:
                worker.kill()
            with self._lock:
                self._closed = True
                jobs, self._jobs = self._jobs, set()
                self._queue.clear()
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(error)

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _assign(self, workers: list[_Worker]) -> None:
        for worker in workers:
            if not worker.ready or worker.inflight:
                continue
            chunk: list[_Item] = []
            with self._lock:
                size = max(1, min(_MAX_CHUNK, len(self._queue) // (4 * self.workers)))
                while self._queue and len(chunk) < size:
                    item = self._queue.popleft()
                    if item[0].future.cancelled():
                        self._jobs.discard(item[0])
                    else:
                        chunk.append(item)
            if not chunk:
                return
            worker.inflight.extend(chunk)
            worker.deadline = time.monotonic() + chunk[0][0].timeout
            try:
                worker.conn.send([(pred, gold) for _, _, pred, gold in chunk])
            except OSError:
                self._replace(workers, worker, "error")

    def _receive(self, workers: list[_Worker], worker: _Worker) -> None:
        try:
            message = worker.conn.recv_bytes()
        except (EOFError, OSError):
            self._replace(workers, worker, "error")  # the worker died (crash, OOM kill)
            return
        if message == _READY:
            worker.ready = True
            self._start_failures = 0
            return
        self._finish(worker.inflight.popleft(), _CODES[message])
        worker.deadline = time.monotonic() + worker.inflight[0][0].timeout if worker.inflight else math.inf

    def _expire(self, workers: list[_Worker]) -> None:
        now = time.monotonic()
        for worker in list(workers):
            if worker.inflight and now >= worker.deadline:
                self._replace(workers, worker, "timeout")

    def _replace(self, workers: list[_Worker], worker: _Worker, head_status: Status) -> None:
        """Kill ``worker``, give its current item ``head_status``, re-queue the rest, start a new one."""
        worker.kill()
        if not worker.ready:
            self._start_failures += 1
            if self._start_failures >= _MAX_START_FAILURES:
                raise RuntimeError(f"grading workers die on start-up (exit code {worker.proc.returncode})")
        if worker.inflight:
            self._finish(worker.inflight.popleft(), head_status)
            with self._lock:
                self._queue.extendleft(reversed(worker.inflight))
        workers[workers.index(worker)] = _Worker()

    def _finish(self, item: _Item, status: Status) -> None:
        job, index = item[0], item[1]
        job.results[index] = status
        job.remaining -= 1
        if job.remaining == 0:
            with self._lock:
                self._jobs.discard(job)
            with contextlib.suppress(InvalidStateError):  # the caller cancelled it
                job.future.set_result(job.results)  # type: ignore[arg-type]


_pools: dict[int, GradingPool] = {}
_pools_lock = threading.Lock()


def shared_pool(workers: int) -> GradingPool:
    """The process-wide pool with ``workers`` processes (a new one after a fork or a failure)."""
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is None or pool.pid != os.getpid() or pool.closed:
            pool = _pools[workers] = GradingPool(workers)
        return pool


def close_pools() -> None:
    """Shut down every shared pool this process started (also runs at interpreter exit)."""
    with _pools_lock:
        pools = [p for p in _pools.values() if p.pid == os.getpid()]
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(close_pools)
