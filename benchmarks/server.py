"""Scoring-server throughput and latency at 1, 8 and 32 concurrent clients, batching on and off.

    python benchmarks/server.py                    # a random Llama PRM built locally
    python benchmarks/server.py --prm runs/prm     # any PRM folder prmkit can load

For each setting the real server (``prmkit serve``) runs in a subprocess on 127.0.0.1; each client
sends single-solution requests back to back for ``--requests`` requests in all. Prints requests/s
and p50/p99 latency, and how many scoring calls (batches) the server ran. The client and the server
share the machine, so on a 2-core box both compete for CPU: compare rows, not absolute numbers.

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
import time

import httpx

from prmkit.score import tiny

LAUNCH = (
    "from prmkit.cli.options import new_app; from prmkit.cli.score import register; "
    "app = new_app('prmkit'); register(app); app()"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    prm: str, batching: bool, threads: int, prm_batch_size: int, max_wait_ms: float
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
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="the server's batching window")
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
        print(f"{'batching':9} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'batches':>8}")
        for batching in (True, False):
            proc, url = start_server(prm, batching, args.threads, args.prm_batch_size, args.max_wait_ms)
            try:
                asyncio.run(run_clients(url, bodies[:16], 4))  # warm-up
                for clients in args.concurrency:
                    before = httpx.get(f"{url}/health").json()["batches"]
                    seconds, latencies = asyncio.run(run_clients(url, bodies, clients))
                    batches = httpx.get(f"{url}/health").json()["batches"] - before
                    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
                    row = f"{'on' if batching else 'off':9} {clients:7d} {len(bodies) / seconds:8.1f}"
                    print(f"{row} {p50 * 1000:8.1f} {p99 * 1000:8.1f} {batches:8d}")
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)


if __name__ == "__main__":
    main()
