"""The scoring server in-process: validation (422 naming the field), limits (413), auth (401),
dynamic batching, backpressure (503) and scores identical to offline scoring."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest
from fastapi.testclient import TestClient

from prmkit.errors import ConfigError
from prmkit.score import load_prm, tiny
from prmkit.score.batcher import Batcher, Overloaded
from prmkit.score.config import ServeConfig
from prmkit.score.server import create_app

TOKEN = "s3cret-token-of-24-chars"


@pytest.fixture(scope="module")
def prm_dir(tmp_path_factory):
    return tiny.make_prmkit_prm(tmp_path_factory.mktemp("server") / "prm")


@pytest.fixture(scope="module")
def prm(prm_dir):
    return load_prm(prm_dir)


@pytest.fixture(scope="module")
def problems():
    rng = random.Random(3)
    return [tiny.sample_problem(rng) for _ in range(6)]


def _client(prm, prm_dir, **overrides):
    cfg = ServeConfig(prm=str(prm_dir), token=TOKEN, **overrides)
    return TestClient(create_app(prm, cfg), headers={"Authorization": f"Bearer {TOKEN}"})


def test_single_and_batch_forms_match_offline_scores(prm, prm_dir, problems):
    offline = prm.score([q for q, _ in problems], [s for _, s in problems])
    with _client(prm, prm_dir) as client:
        q, steps = problems[0]
        one = client.post("/score", json={"problem": q, "steps": steps, "aggregation": "product"})
        assert one.status_code == 200, one.text
        body = one.json()
        assert body["aggregation"] == "product"
        assert body["results"][0]["step_scores"] == pytest.approx(offline[0], abs=1e-5)
        product = 1.0
        for s in offline[0]:
            product *= s
        assert body["results"][0]["score"] == pytest.approx(product, abs=1e-5)
        many = client.post("/score", json={"items": [{"problem": q, "steps": s} for q, s in problems]})
        assert many.status_code == 200
        got = [r["step_scores"] for r in many.json()["results"]]
        for row, want in zip(got, offline):
            assert row == pytest.approx(want, abs=1e-5)
        assert many.json()["aggregation"] == "min"
        assert many.json()["results"][1]["score"] == pytest.approx(min(offline[1]), abs=1e-5)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"problem": "What is 2 + 2?"}, "steps"),  # the single form without its steps
        ({"steps": ["2 + 2 = 4"]}, "problem"),
        ({"problem": "What is 2 + 2?", "steps": ["2 + 2 = 4", ""]}, "body.steps.1"),  # an empty step
        ({"problem": "What is 2 + 2?", "steps": "2 + 2 = 4"}, "body.steps"),  # not a list
        ({"problem": "What is 2 + 2?", "steps": []}, "body.steps"),
        ({"items": [{"problem": "x", "steps": [3]}]}, "body.items.0.steps.0"),
        ({"problem": "q", "steps": ["a"], "aggregation": "median"}, "body.aggregation"),
        ({"problem": "q", "steps": ["a"], "temperature": 1}, "body.temperature"),  # unknown field
    ],
)
def test_bad_requests_get_422_naming_the_field(prm, prm_dir, body, field):
    with _client(prm, prm_dir) as client:
        response = client.post("/score", json=body)
    assert response.status_code == 422
    assert field in response.json()["error"]


def test_malformed_json_is_422(prm, prm_dir):
    with _client(prm, prm_dir) as client:
        response = client.post(
            "/score", content=b'{"problem": "q", "steps": [', headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422


def test_limits_answer_413(prm, prm_dir):
    with _client(prm, prm_dir, max_body_bytes=2000, max_steps=10, max_solutions=2) as client:
        big = client.post("/score", json={"problem": "q" * 5000, "steps": ["a"]})
        assert big.status_code == 413 and "2000 bytes" in big.json()["error"]
        chunked = client.post("/score", content=iter([b'{"problem": "', b"q" * 3000, b'", "steps": ["a"]}']))
        assert chunked.status_code == 413  # no Content-Length: counted while reading
        steps = client.post("/score", json={"problem": "q", "steps": ["a"] * 11})
        assert steps.status_code == 413 and "11 steps" in steps.json()["error"]
        sols = client.post("/score", json={"items": [{"problem": "q", "steps": ["a"]}] * 3})
        assert sols.status_code == 413 and "3 solutions" in sols.json()["error"]
        assert client.post("/score", json={"problem": "q", "steps": ["a"] * 10}).status_code == 200


def test_a_request_over_the_token_budget_answers_413_before_scoring(prm, prm_dir):
    """One long step costs quadratically: the budget is counted in the PRM's own tokens."""
    with _client(prm, prm_dir, max_request_tokens=300) as client:
        tokens = len(prm.encode("q", ["1" * 1000]))
        long = client.post("/score", json={"problem": "q", "steps": ["1" * 1000]})
        assert (
            long.status_code == 413
            and long.json()["error"] == f"{tokens} tokens in one request; the limit is 300"
        )
        assert client.get("/health").json()["solutions"] == 0  # refused before it reached the model
        assert client.post("/score", json={"problem": "q", "steps": ["1" * 50]}).status_code == 200


def test_the_token_can_come_from_a_file_out_of_sight_of_ps(prm, prm_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("PRMKIT_SERVER_TOKEN", raising=False)
    (tmp_path / "token").write_text(f"{TOKEN}\n")
    cfg = ServeConfig(prm=str(prm_dir), token_file=str(tmp_path / "token"))
    with TestClient(create_app(prm, cfg)) as client:
        body = {"problem": "q", "steps": ["a"]}
        assert client.post("/score", json=body).status_code == 401
        assert (
            client.post("/score", json=body, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        )
    (tmp_path / "token").write_text("")
    with pytest.raises(ConfigError, match="the token file is empty"):
        ServeConfig(prm=str(prm_dir), token_file=str(tmp_path / "token")).resolved_token()


def test_token_is_required_everywhere_but_health(prm, prm_dir):
    cfg = ServeConfig(prm=str(prm_dir), token=TOKEN)
    with TestClient(create_app(prm, cfg)) as client:
        assert client.get("/health").json()["status"] == "ok"
        for method, path in [("post", "/score"), ("get", "/docs"), ("get", "/openapi.json")]:
            response = getattr(client, method)(path)
            assert response.status_code == 401, path
            assert response.headers["WWW-Authenticate"] == "Bearer"
        wrong = client.post(
            "/score", json={"problem": "q", "steps": ["a"]}, headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        ok = client.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and "/score" in ok.json()["paths"]


def test_a_short_token_is_refused_naming_where_it_came_from(prm_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("PRMKIT_SERVER_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="^--token: the server token has 6 characters; use at least 16"):
        ServeConfig(prm=str(prm_dir), token="abc123").resolved_token()
    (tmp_path / "token").write_text("abcd\n")
    with pytest.raises(ConfigError, match="token: the server token has 4 characters"):
        ServeConfig(prm=str(prm_dir), token_file=str(tmp_path / "token")).resolved_token()
    monkeypatch.setenv("PRMKIT_SERVER_TOKEN", "short")
    with pytest.raises(ConfigError, match=r"^\$PRMKIT_SERVER_TOKEN: the server token has 5 characters"):
        ServeConfig(prm=str(prm_dir)).resolved_token()


def test_token_comes_from_the_environment(prm, prm_dir, monkeypatch):
    monkeypatch.setenv("PRMKIT_SERVER_TOKEN", "from-the-environment")
    with TestClient(create_app(prm, ServeConfig(prm=str(prm_dir)))) as client:
        assert client.post("/score", json={"problem": "q", "steps": ["a"]}).status_code == 401
        ok = client.post(
            "/score", json={"problem": "q", "steps": ["a"]}, headers={"Authorization": "Bearer from-the-environment"}
        )
        assert ok.status_code == 200


def test_bind_address_defaults_to_loopback():
    assert ServeConfig().host == "127.0.0.1"


# --- The batcher: one scoring call for concurrent requests, and backpressure -------------------


def _recording_score(calls, gate=None):
    def score(problems, steps):
        if gate is not None:
            gate.wait(10)
        calls.append(len(problems))
        return [[float(len(p))] * len(s) for p, s in zip(problems, steps)]

    return score


def test_concurrent_requests_share_one_scoring_call():
    calls: list[int] = []

    async def main():
        batcher = Batcher(_recording_score(calls), max_batch_size=32, max_wait_ms=200)
        batcher.start()
        results = await asyncio.gather(*(batcher.submit(["x" * i], [["s"] * i]) for i in range(1, 9)))
        await batcher.stop()
        return results

    results = asyncio.run(main())
    assert calls == [8]  # eight requests, one call
    assert [r[0][0] for r in results] == [float(i) for i in range(1, 9)]  # each got its own rows back


def test_an_idle_batcher_scores_at_once_and_batches_what_queues_meanwhile():
    import threading
    import time

    calls: list[int] = []
    gate = threading.Event()

    async def main():
        batcher = Batcher(_recording_score(calls, gate))  # the defaults: batching on, no waiting
        batcher.start()
        first = asyncio.ensure_future(batcher.submit(["x"], [["s"]]))
        await asyncio.sleep(0.05)  # the lone request is in its forward pass (held by the gate)
        rest = [asyncio.ensure_future(batcher.submit(["x" * i], [["s"]])) for i in range(2, 6)]
        await asyncio.sleep(0.05)
        gate.set()
        start = time.perf_counter()
        await asyncio.gather(first, *rest)
        lone = asyncio.get_running_loop().time()
        await batcher.submit(["y"], [["s"]])  # idle again: scored with no window to wait out
        waited = asyncio.get_running_loop().time() - lone
        await batcher.stop()
        return time.perf_counter() - start, waited

    _, waited = asyncio.run(main())
    assert calls == [1, 4, 1]  # the four that queued during the first pass went in one call
    assert waited < 0.05


def test_the_server_batches_by_default_on_an_accelerator_only():
    assert ServeConfig().batching is None and ServeConfig().max_wait_ms == 0


def test_without_batching_each_request_is_scored_alone():
    calls: list[int] = []

    async def main():
        batcher = Batcher(_recording_score(calls), max_wait_ms=200, batching=False)
        batcher.start()
        await asyncio.gather(*(batcher.submit(["x"], [["s"]]) for _ in range(4)))
        await batcher.stop()

    asyncio.run(main())
    assert calls == [1, 1, 1, 1]


def test_large_requests_take_turns_in_the_bulk_lane_and_small_ones_skip_them():
    calls: list[list[str]] = []

    def score(encoded, steps):
        calls.append(list(encoded))
        return [[float(len(e))] * len(s) for e, s in zip(encoded, steps)]

    async def main():
        batcher = Batcher(score, max_wait_ms=0, lane_tokens=8)
        batcher.start()
        big = [batcher.submit([f"{name}{i}" * 2 for i in range(3)], [["s"]] * 3) for name in "ab"]
        results = await asyncio.gather(*big, batcher.submit(["c"], [["s"]]))
        await batcher.stop()
        return results, batcher.stats

    (a, b, c), stats = asyncio.run(main())
    bulk = [call for call in calls if call != ["c"]]
    assert bulk == [["a0a0", "a1a1"], ["b0b0", "b1b1"], ["a2a2"], ["b2b2"]]  # 8 tokens a slice, by turns
    assert a == b == [[4.0]] * 3 and c == [[1.0]]
    assert stats.bulk_requests == 2 and stats.requests == 3


def test_a_closing_batcher_finishes_bulk_requests_whole_in_arrival_order():
    """Taking turns while draining would leave every request half scored when time runs out."""
    calls: list[str] = []
    gate = threading.Event()

    def score(encoded, steps):
        gate.wait(5)
        calls.append(encoded[0][0])
        return [[1.0]] * len(encoded)

    async def main():
        batcher = Batcher(score, max_wait_ms=0, lane_tokens=8)
        batcher.start()
        jobs = []
        for name in "abc":
            jobs.append(asyncio.ensure_future(batcher.submit([name * 8] * 3, [["s"]] * 3)))
            await asyncio.sleep(0.02)  # "a" is in the model before "b" and "c" arrive
        batcher.close(deadline=60)
        gate.set()
        await batcher.stop()
        return await asyncio.gather(*jobs)

    assert asyncio.run(main()) == [[[1.0]] * 3] * 3
    assert calls == ["a", "a", "a", "b", "b", "b", "c", "c", "c"]


def test_full_queue_is_refused_and_accepted_work_is_drained():
    calls: list[int] = []
    gate = threading.Event()

    async def main():
        batcher = Batcher(_recording_score(calls, gate), max_batch_size=1, max_wait_ms=0, max_queue=2)
        batcher.start()
        first = asyncio.ensure_future(batcher.submit(["a"], [["s"]]))
        await asyncio.sleep(0.05)  # the worker holds "a" (blocked in the model)
        queued = [asyncio.ensure_future(batcher.submit([b], [["s"]])) for b in "bc"]
        await asyncio.sleep(0)
        with pytest.raises(Overloaded):
            await batcher.submit(["d"], [["s"]])
        gate.set()
        stopping = asyncio.ensure_future(batcher.stop())
        done = await asyncio.gather(first, *queued)
        await stopping
        return done, batcher.stats

    done, stats = asyncio.run(main())
    assert [row[0][0] for row in done] == [1.0, 1.0, 1.0]
    assert calls == [1, 1, 1] and stats.rejected == 1


def test_overload_answers_503_with_retry_after(prm_dir, problems, monkeypatch):
    prm = load_prm(prm_dir)
    gate, real_score = threading.Event(), prm.score_encoded

    def slow_score(encoded, num_steps):  # the server scores what it encoded to check the token budget
        gate.wait(10)
        return real_score(encoded, num_steps)

    monkeypatch.setattr(prm, "score_encoded", slow_score)
    q, steps = problems[0]
    body = {"problem": q, "steps": steps}
    with _client(prm, prm_dir, max_batch_size=1, max_wait_ms=0, max_queue=1) as client:
        codes: list[int] = []
        threads = [
            threading.Thread(target=lambda: codes.append(client.post("/score", json=body).status_code))
            for _ in range(2)
        ]
        for t in threads:  # one request blocks in the model, one waits in the queue
            t.start()
            threading.Event().wait(0.3)
        refused = client.post("/score", json=body)
        gate.set()
        for t in threads:
            t.join(10)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert codes == [200, 200]
