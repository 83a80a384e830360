"""The command-line reference (``docs/cli.md``), generated from the commands themselves, so the page
cannot drift from the code (a test compares them):

    python -m prmkit.cli.reference > docs/cli.md
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

from typer.main import get_command

from prmkit.cli.options import default_text

HEADER = """# Command-line reference

Every `prmkit` command with its arguments and options, generated from the code
(`python -m prmkit.cli.reference > docs/cli.md`). Options also come from a YAML file given with
`--config` (keys as the option names without `--`, nested ones as YAML blocks); flags override it.
A setting that was renamed still works under its old name for one release, with a warning that names
the new one.
"""
NOT_MEASURED = "<!-- not a measurement -->"  # defaults are settings, not results (see tests/docs)


def walk(command: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every runnable command under ``command`` (typer's click objects), depth first, in listed order."""
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            yield from walk(sub, f"{path} {name}")
    else:
        yield path, command


def cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def default(param: Any) -> str:
    """The default ``--help`` shows (config commands show their dataclass's), or the parameter's own."""
    if param.required:
        return "required"
    if isinstance(param.show_default, str):
        return f"`{param.show_default}`"
    shown = False if callable(param.default) else default_text(param.default)
    return f"`{shown}`" if shown is not False else ""


def type_name(param: Any) -> str:
    """``flag``, or the value's type as typed (``int``, ``path``, ``list[str]``)."""
    if getattr(param, "is_flag", False):
        return "flag"
    annotation = param.type_descriptor.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is not list and len(args) == 1:  # ``int | None``
        annotation = args[0]
    if typing.get_origin(annotation) is list:
        return f"list[{typing.get_args(annotation)[0].__name__.lower()}]"
    return annotation.__name__.lower()


def option_names(param: Any) -> str:
    if param.param_type_name == "argument":
        return f"`{param.name.upper()}`"
    return ", ".join(f"`{name}`" for name in [*param.opts, *param.secondary_opts])


def section(path: str, command: Any) -> str:
    lines = [f"## `{path}`", "", (command.help or "").strip().split("\n\n")[0].strip(), ""]
    rows = [p for p in command.params if not getattr(p, "hidden", False) and p.name != "help"]
    if rows:
        lines += ["| argument or option | type | default | description |", "|---|---|---|---|"]
        for p in rows:
            lines.append(f"| {option_names(p)} | {cell(type_name(p))} | {default(p)} | {cell(p.help or '')} |")
        lines.append(NOT_MEASURED)
    return "\n".join(lines).rstrip() + "\n"


def markdown() -> str:
    """The reference page."""
    from prmkit.cli.main import full_app

    root = get_command(full_app())
    sections = [section(path, command) for path, command in walk(root, "prmkit")]
    return HEADER + "\n" + "\n".join(sections)


if __name__ == "__main__":
    print(markdown(), end="")
