"""Every command answers --help through the lazy CLI, and the promised commands are all there."""

from __future__ import annotations

import typer
from typer.main import get_command
from typer.testing import CliRunner

from prmkit.cli.main import app, full_app

EXPECTED = {
    ("data", "validate"),
    ("data", "convert"),
    ("grade",),
    ("generate",),
    ("synthetic", "make"),
    ("train", "policy"),
    ("train", "prm"),
    ("train", "orm"),
    ("score",),
    ("serve",),
    ("quickstart",),
    ("annotate", "mc"),
    ("annotate", "judge"),
    ("annotate", "consensus"),
    ("annotate", "report"),
    ("eval", "bon"),
    ("eval", "processbench"),
    ("report",),
    ("rl", "grpo"),
    ("rl", "ppo"),
}


def _command_paths(group, prefix=()):
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from _command_paths(cmd, path)
        else:
            yield path


def test_every_command_has_help():
    """Enumerate the eagerly built CLI, and ask the lazy one (what `prmkit` runs) for each command's help."""
    paths = set(_command_paths(get_command(full_app())))
    assert EXPECTED <= paths, f"missing: {EXPECTED - paths}"
    runner = CliRunner()
    for path in sorted(paths):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output
    assert isinstance(app, typer.Typer)


HEAVY = ("torch", "transformers", "matplotlib", "fastapi")
PROBE = """
import json, sys
from typer.testing import CliRunner
from prmkit.cli.main import app
for path in json.loads(sys.argv[1]):
    assert CliRunner().invoke(app, [*path, "--help"]).exit_code == 0, path
print(json.dumps(sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)))
"""


def test_help_imports_no_model_code():
    """``--help`` reads the config dataclasses only: no torch, transformers, matplotlib or fastapi
    (each costs seconds of start-up; benchmarks/cli_help.py times it)."""
    import json
    import subprocess
    import sys

    paths = sorted(_command_paths(get_command(full_app())))
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(paths), json.dumps(HEAVY)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    assert json.loads(probe.stdout.splitlines()[-1]) == []
