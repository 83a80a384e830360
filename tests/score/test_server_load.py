"""Load test: the real server (``prmkit serve`` in a subprocess on 127.0.0.1) under a bounded burst of
concurrent clients sending good and malformed requests, then a graceful shutdown with work in flight."""

from __future__ import annotations

import asyncio
import random
import signal
import time

import httpx
import pytest

from prmkit.score import load_prm, tiny


@pytest.fixture(scope="module")
def prm_dir(tmp_path_factory):
    return tiny.make_prmkit_prm(tmp_path_factory.mktemp("load") / "prm")


def _requests(n: int) -> list[tuple[dict | bytes, int, list | None]]:
    """(body, expected status, (question, steps) or None): three in four good, the rest malformed."""
    rng = random.Random(11)
    bad = [
        ({"problem": "q"}, 422),
        ({"problem": "q", "steps": ["ok", ""]}, 422),
        ({"items": []}, 422),
        (b'{"problem": "q", "steps": [', 422),
        ({"problem": "q", "steps": ["s"] * 600}, 413),
    ]
    out = []
    for i in range(n):
        if i % 4 == 3:
            body, status = bad[(i // 4) % len(bad)]
            out.append((body, status, None))
        else:
            question, steps = tiny.sample_problem(rng)
            out.append(({"problem": question, "steps": steps}, 200, (question, steps)))
    return out


async def _burst(server, requests: list, clients: int) -> list[httpx.Response]:
    limit = asyncio.Semaphore(clients)
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=60) as client:

        async def send(body):
            async with limit:
                if isinstance(body, bytes):
                    return await client.post(
                        "/score", content=body, headers={"Content-Type": "application/json"}
                    )
                return await client.post("/score", json=body)

        return await asyncio.gather(*(send(body) for body, _, _ in requests))


def test_burst_then_graceful_shutdown(prm_dir, prmkit_server):
    requests = _requests(64)
    good = [r[2] for r in requests if r[2] is not None]
    offline = load_prm(prm_dir).score([q for q, _ in good], [s for _, s in good])
    server = prmkit_server(prm_dir, "--batching", "--max-wait-ms", "300")
    url, signalled = server.url, False
    try:
        responses = asyncio.run(_burst(server, requests, clients=16))
        assert [r.status_code for r in responses] == [status for _, status, _ in requests]
        served = [
            r.json()["results"][0]["step_scores"]
            for r, (_, status, _) in zip(responses, requests)
            if status == 200
        ]
        for got, want in zip(served, offline):
            assert got == pytest.approx(want, abs=1e-5)
        for r, (_, status, _) in zip(responses, requests):
            if status == 422:
                assert r.json()["error"].startswith("body")
        health = httpx.get(f"{url}/health", timeout=5).json()
        assert health["status"] == "ok"
        assert health["requests"] == len(good)
        assert health["batches"] < len(good)  # concurrent requests were batched
        assert httpx.post(f"{url}/score", json={"problem": "q", "steps": ["a"]}).status_code == 401

        async def shutdown_with_work_in_flight():
            burst = asyncio.ensure_future(_burst(server, requests[:8], clients=8))
            await asyncio.sleep(0.1)  # the requests now wait in the batcher's 300 ms window
            nonlocal signalled
            server.proc.send_signal(signal.SIGTERM)
            signalled = True
            return await burst

        last = asyncio.run(shutdown_with_work_in_flight())
    finally:
        assert server.stop() if not signalled else server.stopped_gracefully()
    assert [r.status_code for r in last] == [status for _, status, _ in requests[:8]]


@pytest.mark.slow
def test_shutdown_with_more_work_than_the_graceful_timeout(prm_dir, prmkit_server):
    """SIGTERM with many seconds of accepted work and a 2 s graceful timeout: every accepted request is
    answered 200 or 503 with Retry-After (no 500, no dropped connection), and the server exits in time."""
    server = prmkit_server(prm_dir, "--graceful-timeout", "2", "--no-batching", "--max-queue", "1000")
    rng = random.Random(5)
    heavy = []
    for _ in range(60):
        question, steps = tiny.sample_problem(rng, num_steps=8)
        heavy.append({"items": [{"problem": question, "steps": steps}] * 32})
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)  # one connection each

    async def flood() -> tuple[list[httpx.Response | Exception], float]:
        async with httpx.AsyncClient(
            base_url=server.url, headers=server.headers, timeout=60, limits=limits
        ) as client:
            tasks = [asyncio.ensure_future(client.post("/score", json=body)) for body in heavy]
            while (await client.get("/health")).json()["requests"] < len(heavy):  # all accepted
                await asyncio.sleep(0.05)
            server.proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            return await asyncio.gather(*tasks, return_exceptions=True), signalled

    answers, signalled = asyncio.run(flood())
    assert server.stopped_gracefully()
    exited = time.monotonic() - signalled
    statuses = [a.status_code if isinstance(a, httpx.Response) else type(a).__name__ for a in answers]
    assert set(statuses) <= {200, 503} and 503 in statuses, statuses
    assert all(a.headers["Retry-After"] for a in answers if a.status_code == 503)
    assert exited < 2 + 3  # the graceful timeout and some slack (it was 68 s against 30 s)
