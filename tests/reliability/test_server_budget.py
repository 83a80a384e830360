"""One client cannot stall the others: while the largest request the server accepts is being scored,
normal requests keep their latency (p99 under twice the unloaded p99), and a request over the token
budget is refused with 413 naming the limit."""

from __future__ import annotations

import random
import statistics
import threading
import time

import httpx
import pytest

from prmkit.score import load_prm, tiny

MAX_REQUEST_TOKENS = 16384  # the server's default


@pytest.fixture(scope="module")
def prm_dir(tmp_path_factory):
    return tiny.make_prmkit_prm(tmp_path_factory.mktemp("budget") / "prm")


def p99(client: httpx.Client, bodies: list[dict]) -> float:
    latencies = []
    for body in bodies:
        start = time.perf_counter()
        assert client.post("/score", json=body).status_code == 200
        latencies.append(time.perf_counter() - start)
    return statistics.quantiles(latencies, n=100)[98]


def test_normal_requests_keep_their_latency_while_a_maximal_request_runs(prm_dir, prmkit_server):
    server = prmkit_server(prm_dir)
    rng = random.Random(3)
    normal = [dict(zip(("problem", "steps"), tiny.sample_problem(rng))) for _ in range(300)]
    big = tiny.longest_request(load_prm(prm_dir), MAX_REQUEST_TOKENS)
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as client:
        p99(client, normal[:50])  # warm-up
        unloaded = p99(client, normal)

        busy, stop, big_answers = threading.Event(), threading.Event(), []

        def flood() -> None:
            with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as other:
                while not stop.is_set():
                    busy.set()
                    start = time.perf_counter()
                    status = other.post("/score", json=big).status_code
                    big_answers.append((status, time.perf_counter() - start))

        flooder = threading.Thread(target=flood)
        flooder.start()
        busy.wait()
        time.sleep(0.2)  # the maximal request is in its forward pass
        loaded = p99(client, normal)
        stop.set()
        flooder.join()
        health = client.get("/health").json()
    assert {status for status, _ in big_answers} == {200}
    assert health["bulk_requests"] == len(big_answers)
    # The flood ran all through the measurement, and one normal request queued behind a maximal one
    # would have waited far past the bound.
    assert statistics.median(seconds for _, seconds in big_answers) > 20 * unloaded
    assert loaded < 2 * unloaded, f"p99 {loaded * 1e3:.1f} ms loaded vs {unloaded * 1e3:.1f} ms unloaded"


def test_a_request_over_the_token_budget_is_refused_with_the_limit(prm_dir, prmkit_server):
    server = prmkit_server(prm_dir, "--max-request-tokens", "1000")
    big = tiny.longest_request(load_prm(prm_dir), MAX_REQUEST_TOKENS)
    answer = httpx.post(f"{server.url}/score", json=big, headers=server.headers, timeout=60)
    assert answer.status_code == 413
    assert answer.json()["error"].endswith("tokens in one request; the limit is 1000")


def test_one_solution_over_the_budget_is_refused_not_cut_to_fit(prm_dir, prmkit_server):
    """The PRM cuts a sequence at its longest (the budget here), so counting the cut text would let a
    solution of any length through, scored for the whole budget's cost."""
    server = prmkit_server(prm_dir)
    prm = load_prm(prm_dir)
    body = tiny.longest_request(prm, MAX_REQUEST_TOKENS)
    body["steps"] += body["steps"][:40]
    tokens = len(prm.encode(body["problem"], body["steps"], cut=False))
    assert tokens > MAX_REQUEST_TOKENS >= len(prm.encode(body["problem"], body["steps"]))
    answer = httpx.post(f"{server.url}/score", json=body, headers=server.headers, timeout=60)
    assert answer.status_code == 413
    assert answer.json()["error"] == f"{tokens} tokens in one request; the limit is {MAX_REQUEST_TOKENS}"
    assert httpx.get(f"{server.url}/health").json()["solutions"] == 0
