"""The ``prmkit`` command: one sub-command per stage, each a thin layer over the library."""

from __future__ import annotations

import os

# prmkit draws its own rich progress bars; silence the hub/transformers tqdm bars and advisory noise.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from prmkit.cli.options import new_app  # noqa: E402

app = new_app("prmkit: process supervision for LLM math reasoning (annotate, train PRMs, verify, evaluate, reinforce).")


def _attach() -> None:
    import importlib

    for module in ("data", "grade", "generate", "synthetic", "train", "score", "annotate", "evaluate", "quickstart"):
        try:
            mod = importlib.import_module(f"prmkit.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"prmkit.cli.{module}":
                raise
            continue
        mod.register(app)


_attach()

if __name__ == "__main__":
    app()
