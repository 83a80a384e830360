"""Every YAML file under configs/ loads into the config of the command its header names.

A config file starts with ``# run: prmkit <command> ... --config <this file>``; the test finds that
command in the CLI and loads the file with its dataclass, so a renamed field or a bad value fails here.
A launcher's config (``# run: accelerate launch --config_file <this file> -m prmkit.cli.main <command>
...``) is read by accelerate's own loader instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from prmkit.cli.main import COMMANDS as LISTED
from prmkit.cli.main import full_app
from prmkit.config import load_config

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").rglob("*.yaml"))
HEADER = re.compile(r"^#\s*run:\s*prmkit\s+(.+)$", re.MULTILINE)
LAUNCHER = re.compile(r"^#\s*run:\s*accelerate launch --config_file (\S+) -m prmkit\.cli\.main (.+)$", re.MULTILINE)


def command_configs(group: typer.Typer, prefix: str = "") -> dict[str, type]:
    """'annotate mc' -> MCConfig, for every command made with config_command."""
    out = {}
    for info in group.registered_commands:
        cls = getattr(info.callback, "config_cls", None)
        if cls is not None:
            out[f"{prefix}{info.name}"] = cls
    for sub in group.registered_groups:
        out.update(command_configs(sub.typer_instance, f"{prefix}{sub.name} "))
    return out


COMMANDS = command_configs(full_app())


def test_the_cli_exposes_its_config_classes():
    assert {"quickstart", "annotate mc", "train prm", "eval bon"} <= set(COMMANDS)


def test_every_registered_command_is_listed_for_lazy_loading():
    app = full_app()
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert names == set(LISTED)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_config_file_loads_into_its_command(path):
    launcher = LAUNCHER.search(path.read_text(encoding="utf-8"))
    if launcher is not None:
        from accelerate.commands.config.config_args import ClusterConfig

        assert Path(launcher.group(1)).name == path.name
        assert ClusterConfig.from_yaml_file(str(path)).num_processes > 1
        return
    header = HEADER.search(path.read_text(encoding="utf-8"))
    assert header is not None, f"{path}: start the file with '# run: prmkit <command> ... --config {path.name}'"
    words = header.group(1).split()
    command = next(
        (c for c in sorted(COMMANDS, key=len, reverse=True) if words[: len(c.split())] == c.split()), None
    )
    assert command is not None, f"{path}: no prmkit command in {header.group(0)!r}"
    load_config(COMMANDS[command], path)
