"""The scoring benchmark times prmkit and its baselines the same way (warm-up, then a median of repeats)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "scoring.py"


def test_every_method_gets_the_same_warm_up_and_repeats(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("scoring_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    calls: dict[str, int] = {}

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(bench, "per_prefix_unbatched", counted("unbatched", bench.per_prefix_unbatched))
    monkeypatch.setattr(bench, "per_prefix_batched", counted("batched", bench.per_prefix_batched))
    args = ["scoring.py", "--solutions", "4", "--hidden", "32", "--layers", "1", "--repeats", "3"]
    monkeypatch.setattr(sys, "argv", args)
    bench.main()
    # 1 warm-up + 3 timed runs each; the batched baseline also runs once to check the scores agree
    assert calls == {"unbatched": 4, "batched": 5}
    assert "per-prefix, unbatched (peers)" in capsys.readouterr().out
