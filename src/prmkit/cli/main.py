"""The ``prmkit`` command: one sub-command per stage, each a thin layer over the library."""

from __future__ import annotations

import os
import signal
import sys

# prmkit draws its own rich progress bars; silence the hub/transformers tqdm bars and advisory noise.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from prmkit.cli import annotate, data, evaluate, generate, grade, quickstart, score, synthetic, train
from prmkit.cli.options import new_app

app = new_app("prmkit: process supervision for LLM math reasoning (annotate, train PRMs, verify, evaluate, reinforce).")
for command_module in (data, grade, generate, synthetic, train, score, annotate, evaluate, quickstart):
    command_module.register(app)

def main() -> None:
    """The ``prmkit`` entry point: SIGTERM exits like Ctrl-C, so servers stop and logs close on the way out."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    app()


if __name__ == "__main__":
    main()
