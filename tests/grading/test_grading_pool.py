"""grade_batch: hard per-item timeouts in the process pool, recovery, threads and Ray."""

from __future__ import annotations

import threading
import time

import pytest

from prmkit.grading import GradingPool, grade_batch, grade_batch_status

TIMEOUT = 1.0
WORKERS = 2
RESTART = 4.0  # a worker restart (interpreter + math-verify import) takes 1-3 s on 2 shared cores
PATHOLOGICAL = [
    "\\boxed{9^{9^{9^{9}}}}",  # a tower of powers: hangs in C code for minutes
    "\\boxed{10^{10^{10^{10}}}-10^{10^{10^{10}}}}",  # two towers to subtract
    "\\boxed{" + "{" * 1000 + "1" + "}" * 1000 + "}",  # 1000 nested braces
    "x" * 100_000,  # a 100 kB product of symbols
]
EASY = [("0.5", "\\frac{1}{2}"), ("3", "4"), ("2,125", "2125"), ("\\{2,1\\}", "\\{1,2\\}")]
EASY_EXPECTED = [True, False, True, True]


@pytest.fixture(scope="module", autouse=True)
def warm_pool() -> None:
    """Start the shared pool once, so timings below exclude interpreter start-up."""
    assert grade_batch(EASY, workers=WORKERS) == EASY_EXPECTED


def test_one_stuck_item_returns_false_within_the_timeout() -> None:
    start = time.monotonic()
    statuses = grade_batch_status([(PATHOLOGICAL[0], "5")], timeout=TIMEOUT, workers=WORKERS)
    elapsed = time.monotonic() - start
    assert statuses == ["timeout"]
    assert elapsed < TIMEOUT + 1.0  # the deadline, plus the kill and the IPC


def test_pathological_items_do_not_break_the_batch_or_the_pool() -> None:
    pairs = [(p, "5") for p in PATHOLOGICAL] + EASY * 5
    start = time.monotonic()
    results = grade_batch(pairs, timeout=TIMEOUT, workers=WORKERS)
    elapsed = time.monotonic() - start
    assert results == [False] * len(PATHOLOGICAL) + EASY_EXPECTED * 5
    # worst case: every stuck item lands on the same worker and costs it the deadline plus one restart
    assert elapsed < len(PATHOLOGICAL) * (TIMEOUT + RESTART)
    assert grade_batch(EASY * 3, timeout=TIMEOUT, workers=WORKERS) == EASY_EXPECTED * 3  # replacements work


def test_pathological_gold_times_out_too() -> None:
    assert grade_batch_status([("5", PATHOLOGICAL[1])], timeout=TIMEOUT, workers=WORKERS) == ["timeout"]


def test_trivial_pairs_skip_the_pool() -> None:
    statuses = grade_batch_status([(None, "1"), ("1", None), ("1", "1")], workers=WORKERS)
    assert statuses == ["wrong", "error", "correct"]
    assert grade_batch([]) == []


def test_concurrent_calls_from_several_threads() -> None:
    """Each thread gets its own results, in order, while the threads share one pool."""
    jobs = {n: [(str(i), str(i if (i + n) % 3 else i + 1)) for i in range(25)] for n in range(4)}
    results: dict[int, list[bool]] = {}

    def work(n: int) -> None:
        results[n] = grade_batch(jobs[n], timeout=5.0, workers=WORKERS)

    threads = [threading.Thread(target=work, args=(n,)) for n in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == {n: [pred == gold for pred, gold in pairs] for n, pairs in jobs.items()}


def test_closed_pool_fails_pending_jobs_and_refuses_new_ones() -> None:
    pool = GradingPool(workers=1)
    job = pool.submit([(PATHOLOGICAL[0], "5")], timeout=30.0)
    pool.close()
    with pytest.raises(RuntimeError):
        job.result(timeout=10)
    with pytest.raises(RuntimeError):
        pool.submit([("1", "1")], timeout=1.0)


def test_grade_batch_inside_a_ray_task() -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:

        @ray.remote
        def grade_remote(pairs: list[tuple[str, str]]) -> list[str]:
            from prmkit.grading import grade_batch_status

            return grade_batch_status(pairs, timeout=TIMEOUT, workers=1)

        statuses = ray.get(grade_remote.remote(EASY + [(PATHOLOGICAL[0], "5")]), timeout=120)
    finally:
        ray.shutdown()
    assert statuses == ["correct", "wrong", "correct", "correct", "timeout"]
