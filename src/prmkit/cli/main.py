"""The ``prmkit`` command: one sub-command per stage, each a thin layer over the library."""

from __future__ import annotations

from prmkit.cli.options import new_app

app = new_app("prmkit: process supervision for LLM math reasoning (annotate, train PRMs, verify, evaluate, reinforce).")


def _attach() -> None:
    import importlib

    for module in ("data", "grade", "generate", "synthetic", "train", "quickstart"):
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
