"""Monte Carlo annotation on a Ray cluster of one node against two: rollouts/s and the ratio.

Both clusters run on this machine, started with ``ray start`` like a real one: a head node of one CPU,
and for two nodes a second ``ray start --address`` of one CPU. The same ``annotate mc --ray`` work
(the exact synthetic solver as completer, with slips, ``--n`` rollouts per step prefix, grading in
each task) runs on each, and on one process without Ray as the baseline. The labels of all three
are checked to be identical.

    OMP_NUM_THREADS=1 python benchmarks/ray_cluster.py [--solutions 200] [--n 8]

The driver shares the machine's cores with the nodes, so on 2 cores the two-node ratio is bounded
well below 2x.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from prmkit.annotate.io import read_pairs
from prmkit.annotate.mc import MCConfig, annotate_mc
from prmkit.data.jsonl import write_jsonl
from prmkit.generation.base import GenerationConfig, SamplingConfig
from prmkit.generation.sample import GenerateConfig, generate_solutions
from prmkit.synthetic.world import WorldConfig, make_problems

RAY = str(Path(sys.executable).with_name("ray"))
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "disabled"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(nodes: int) -> str:
    port = free_port()
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    subprocess.run([RAY, "start", "--head", "--port", str(port), "--include-dashboard", "false", *common],
                   env=ENV, check=True, capture_output=True)  # fmt: skip
    for _ in range(nodes - 1):
        subprocess.run([RAY, "start", "--address", f"127.0.0.1:{port}", *common], env=ENV, check=True,
                       capture_output=True)  # fmt: skip
    return f"127.0.0.1:{port}"


def run(cfg: MCConfig, pairs: list, out: Path) -> tuple[float, float]:
    """(rollouts/s, seconds) of labelling ``pairs`` into ``out``."""
    start = time.perf_counter()
    summary = annotate_mc(cfg, pairs, out)
    seconds = time.perf_counter() - start
    return summary["rollouts"] / seconds, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--solutions", type=int, default=200)
    parser.add_argument("--n", type=int, default=8, help="rollouts per step prefix")
    args = parser.parse_args()
    completer = GenerationConfig(backend="synthetic-solver", model="slip_rate=0.2")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_jsonl(root / "problems.jsonl", make_problems(WorldConfig(), args.solutions, seed=5))
        sampled = GenerateConfig(completer, SamplingConfig(n=1, seed=0), progress=False)
        generate_solutions(sampled, root / "problems.jsonl", root / "solutions.jsonl")
        pairs = read_pairs(root / "solutions.jsonl", root / "problems.jsonl")
        base = MCConfig(completer, SamplingConfig(n=args.n, seed=0), grade_workers=1, ray_chunk=16, progress=False)
        rows = {"one process, no Ray": run(base, pairs, root / "local.jsonl")}
        for nodes in (1, 2):
            address = start_cluster(nodes)
            try:
                cfg = MCConfig(**{**base.__dict__, "ray": True, "ray_address": address})
                rows[f"Ray, {nodes} node{'s' * (nodes > 1)} of 1 CPU"] = run(cfg, pairs, root / f"ray{nodes}.jsonl")
            finally:
                subprocess.run([RAY, "stop", "--force"], env=ENV, check=False, capture_output=True)
            assert (root / f"ray{nodes}.jsonl").read_bytes() == (root / "local.jsonl").read_bytes()
        print(f"{len(pairs)} solutions, {args.n} rollouts per step prefix; labels identical in every setting")
        print(f"{'setting':28} {'rollouts/s':>11} {'seconds':>8}")
        for name, (rate, seconds) in rows.items():
            print(f"{name:28} {rate:11.1f} {seconds:8.1f}")
        one, two = rows["Ray, 1 node of 1 CPU"][0], rows["Ray, 2 nodes of 1 CPU"][0]
        print(f"two nodes over one: {two / one:.2f}x")


if __name__ == "__main__":
    main()
