"""How long ``prmkit <command> --help`` takes, against the floor of any typer CLI on this interpreter.

    python benchmarks/cli_help.py [--repeats 3]

Each command runs in a fresh process (the median of ``--repeats`` runs); the floor is a process that
imports typer and rich and exits. Prints seconds per command and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = ["quickstart", "grade", "generate", "score", "serve", "report", "data validate", "data convert",
            "synthetic make", "train policy", "train prm", "annotate mc", "annotate judge", "annotate consensus",
            "eval bon", "eval processbench", "rl grpo", "rl ppo"]  # fmt: skip
PRMKIT = str(Path(sys.executable).with_name("prmkit"))


def seconds(cmd: list[str], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    floor = seconds([sys.executable, "-c", "import typer, rich.console"], args.repeats)
    print(f"floor (python -c 'import typer, rich.console'): {floor:.2f} s")
    print(f"{'command':22} {'seconds':>8} {'x floor':>8}")
    times = {}
    for command in COMMANDS:
        times[command] = seconds([PRMKIT, *command.split(), "--help"], args.repeats)
        print(f"{command:22} {times[command]:8.2f} {times[command] / floor:8.1f}")
    slowest = max(times, key=times.__getitem__)
    print(f"slowest: {slowest} {times[slowest]:.2f} s ({times[slowest] / floor:.1f}x the floor)")


if __name__ == "__main__":
    main()
