"""Scoring-server throughput and latency at 1, 8 and 32 concurrent clients, batching on and off; and
fairness: one client's p99 alone and while another sends the largest request the server accepts.

    python benchmarks/server.py                    # a random Llama PRM built locally
    python benchmarks/server.py --prm runs/prm     # any PRM folder prmkit can load

For each setting the real server (``prmkit serve``) runs in a subprocess on 127.0.0.1; each client
sends single-solution requests back to back for ``--requests`` requests in all. Prints requests/s
and p50/p99 latency, and how many scoring calls (batches) the server ran. The client and the server
share the machine, so on a 2-core box both compete for CPU: compare rows, not absolute numbers.

Fairness compares the server's two lanes (requests over ``--lane-tokens`` are scored in a thread of
their own; on CPU at idle priority on a core the interactive lane shares) with two lanes side by side
(``--no-bulk-shares-core``: the bulk lane on a core of its own) and with one lane (``--lane-tokens``
past the request budget, so the largest request blocks the queue for its whole forward pass).

On one CPU thread a forward pass costs about the same per padded token at any batch size, so
batching saves little there and the padding of mixed-length requests costs extra; the gain of
dynamic batching is on accelerators, where one request leaves most of the device idle.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from prmkit.score import load_prm, tiny
from prmkit.score.config import ServeConfig

LAUNCH = (
    "from prmkit.cli.options import new_app; from prmkit.cli.score import register; "
    "app = new_app('prmkit'); register(app); app()"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    prm: str, batching: bool, threads: int, prm_batch_size: int, max_wait_ms: float, *extra: str
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    flags = [
        "--batching" if batching else "--no-batching",
        "--max-wait-ms",
        str(max_wait_ms),
        "--max-batch-size",
        "32",
        "--max-queue",
        "1024",
        *extra,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "serve", "--prm", prm, "--port", str(port), *flags],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


async def run_clients(url: str, bodies: list[dict], clients: int) -> tuple[float, list[float]]:
    """Send every body with ``clients`` workers; return the wall time and each request's latency."""
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                start = time.perf_counter()
                response = await client.post("/score", json=body)
                response.raise_for_status()
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return time.perf_counter() - start, latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def flooding(url: str, body: dict) -> Iterator[list[float]]:
    """Another client sends ``body`` back to back meanwhile; yields the seconds each took."""
    stop, first_sent, seconds = threading.Event(), threading.Event(), []

    def flood() -> None:
        with httpx.Client(base_url=url, timeout=600) as client:
            while not stop.is_set():
                first_sent.set()
                start = time.perf_counter()
                client.post("/score", json=body).raise_for_status()
                seconds.append(time.perf_counter() - start)

    thread = threading.Thread(target=flood)
    thread.start()
    first_sent.wait()
    time.sleep(0.2)  # in its forward pass
    try:
        yield seconds
    finally:
        stop.set()
        thread.join()


def fairness(prm: str, bodies: list[dict], threads: int) -> None:
    scorer = load_prm(prm)
    big = tiny.longest_request(scorer, ServeConfig.max_request_tokens)
    tokens = len(scorer.encode(big["problem"], big["steps"]))
    print(f"\nfairness: one client's p99, alone and while another sends requests of {tokens} tokens "
          f"(the budget: {ServeConfig.max_request_tokens})")  # fmt: skip
    print(f"{'lanes':9} {'alone ms':>9} {'loaded ms':>10} {'ratio':>6} {'large s':>8}")
    ratios = {}
    settings = (("two", []), ("beside", ["--no-bulk-shares-core"]), ("one", ["--lane-tokens", str(10**9)]))
    for lanes, flags in settings:
        proc, url = start_server(prm, True, threads, 16, 5.0, *flags)
        try:
            asyncio.run(run_clients(url, bodies[:16], 1))  # warm-up
            alone = percentile(asyncio.run(run_clients(url, bodies, 1))[1], 0.99)
            with flooding(url, big) as large:
                loaded = percentile(asyncio.run(run_clients(url, bodies, 1))[1], 0.99)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        ratios[lanes] = loaded / alone
        print(f"{lanes:9} {alone * 1000:9.1f} {loaded * 1000:10.1f} {ratios[lanes]:6.2f} "
              f"{statistics.median(large):8.2f}")  # fmt: skip
    print(f"loaded/alone ratio over two lanes': side by side {ratios['beside'] / ratios['two']:.2f}x, "
          f"one lane {ratios['one'] / ratios['two']:.1f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prm", help="PRM folder (default: a random Llama PRM built locally)")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=192, help="requests per (setting, concurrency)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the server")
    parser.add_argument(
        "--prm-batch-size", type=int, default=16, help="sequences per forward pass in the server"
    )
    parser.add_argument("--max-wait-ms", type=float, default=0.0, help="the server's batching window")
    parser.add_argument("--skip-throughput", action="store_true", help="measure fairness only")
    parser.add_argument("--skip-fairness", action="store_true", help="measure throughput only")
    args = parser.parse_args()

    rng = random.Random(0)
    bodies = []
    for _ in range(args.requests):
        question, steps = tiny.sample_problem(rng, rng.randint(3, 8))
        bodies.append({"problem": question, "steps": steps})
    with tempfile.TemporaryDirectory() as tmp:
        prm = args.prm or str(
            tiny.make_prmkit_prm(f"{tmp}/prm", hidden=args.hidden, layers=args.layers, heads=8)
        )
        print(f"{args.requests} requests of 4-9 steps per row; server torch threads: {args.threads}")
        if not args.skip_throughput:
            throughput(prm, bodies, args)
        if not args.skip_fairness:
            fairness(prm, bodies, args.threads)


def throughput(prm: str, bodies: list[dict], args: argparse.Namespace) -> None:
    print(f"{'batching':9} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'batches':>8}")
    rates: dict[tuple[bool, int], float] = {}
    for batching in (True, False):
        proc, url = start_server(prm, batching, args.threads, args.prm_batch_size, args.max_wait_ms)
        try:
            asyncio.run(run_clients(url, bodies[:16], 4))  # warm-up
            for clients in args.concurrency:
                before = httpx.get(f"{url}/health").json()["batches"]
                seconds, latencies = asyncio.run(run_clients(url, bodies, clients))
                batches = httpx.get(f"{url}/health").json()["batches"] - before
                p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
                rates[batching, clients] = len(bodies) / seconds
                row = f"{'on' if batching else 'off':9} {clients:7d} {len(bodies) / seconds:8.1f}"
                print(f"{row} {p50 * 1000:8.1f} {p99 * 1000:8.1f} {batches:8d}")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    ratios = ", ".join(f"{c} clients {rates[True, c] / rates[False, c]:.2f}" for c in args.concurrency)
    print(f"req/s with batching over without: {ratios}")


if __name__ == "__main__":
    main()
