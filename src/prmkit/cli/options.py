"""Typer commands generated from config dataclasses, so every knob has one definition.

``@config_command(app, "name", ConfigClass)`` turns each dataclass field (nested ones as
``--parent.child``) into an option with the field's help text, adds ``--config FILE.yaml``, resolves
defaults < YAML < flags, and calls the decorated function with the config object. Prmkit errors are
printed as one line on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import inspect
import os
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union

import typer
from rich.markup import escape

from prmkit.config import _field_types, _is_dataclass_type, load_config, renamed
from prmkit.errors import PrmkitError

C = TypeVar("C")

_SIMPLE = (int, float, str, bool, Path)


def _cli_type(tp: Any) -> Any | None:
    """The type typer should parse for a field, or None when the field is YAML-only."""
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _cli_type(args[0]) if len(args) == 1 else None
    if origin is Literal:
        return str
    if origin is list and typing.get_args(tp) and typing.get_args(tp)[0] in _SIMPLE:
        return list[typing.get_args(tp)[0]]
    return tp if tp in _SIMPLE else None


def _help(f: dataclasses.Field) -> str:
    text = escape(f.metadata.get("help", ""))  # rich would eat "[ray]" in "prmkit[ray]" as markup
    tp = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
    if "Literal" in str(tp):
        text += f" [{tp}]"
    return text


def _flat_fields(cls: type, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field, Any]]:
    types = _field_types(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp = types[f.name]
        if _is_dataclass_type(tp):
            yield from _flat_fields(tp, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", f, tp


def _renamed_fields(cls: type, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(old dotted name, type of the field it now names) for every renamed setting, nested ones too."""
    types = _field_types(cls)
    for old, new in renamed(cls).items():
        owner, *path = new.split(".")
        tp = types[owner]
        for part in path:
            tp = _field_types(tp)[part]
        if _is_dataclass_type(tp):  # a renamed block: each of its settings under the old block's name
            yield from ((dotted, field_tp) for dotted, _, field_tp in _flat_fields(tp, f"{prefix}{old}."))
        else:
            yield f"{prefix}{old}", tp
    for name, tp in types.items():
        if _is_dataclass_type(tp):
            yield from _renamed_fields(tp, f"{prefix}{name}.")


def _default_config(config_cls: type) -> Any:
    """The config built with no settings, or None when it needs some."""
    try:
        return config_cls()
    except Exception:  # noqa: BLE001  (a config with required fields: those have no default to show)
        return None


def default_text(value: Any) -> str | bool:
    """How ``--help`` (and the CLI reference) shows a default: lists space-separated, booleans in lower
    case; False for no default worth showing (None, empty)."""
    if value is None or value in ("", [], ()):
        return False
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def _field_default(defaults: Any, dotted: str) -> str | bool:
    """The shown default of field ``dotted`` in ``defaults`` (a config built with no settings)."""
    if defaults is None:
        return False
    value = defaults
    for part in dotted.split("."):
        value = getattr(value, part)
    return default_text(value)


def _flag_decls(dotted: str, is_bool: bool) -> list[str]:
    """``--a.b-c`` for a field ``a.b_c``; ``--x/--no-x`` for a boolean."""
    flag = "--" + dotted.replace("_", "-")
    return [f"{flag}/--no-{flag[2:]}"] if is_bool else [flag]


FILE_ERRORS = frozenset({errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.EROFS,
                         errno.ENOSPC, errno.EEXIST, errno.ENAMETOOLONG})  # fmt: skip


def report_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn PrmkitError and the errors of a path the system refuses (missing, read-only, full, not a
    folder, ...) into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PrmkitError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:  # a path the system refuses: missing, read-only, full, not a folder, ...
            if exc.filename is None or exc.errno not in FILE_ERRORS:
                raise
            why = "a file, not a folder" if exc.errno == errno.EEXIST and os.path.isfile(exc.filename) else exc.strerror
            typer.echo(f"error: {exc.filename}: {why}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def config_command(
    app: typer.Typer,
    name: str,
    config_cls: type[C],
    help: str,
    extra: list[inspect.Parameter] | None = None,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn(cfg, **extra)`` as command ``name`` with one option per config field.

    ``extra`` holds additional typer parameters (e.g. positional file arguments) passed through to
    ``fn`` by keyword.
    """

    def decorator(fn: Callable[..., None]) -> Callable[..., None]:
        params = list(extra or [])
        flat = {}
        defaults = _default_config(config_cls)
        for dotted, f, tp in _flat_fields(config_cls):
            cli_tp = _cli_type(tp)
            if cli_tp is None:
                continue
            ident = dotted.replace(".", "__")
            flat[ident] = dotted
            shown = _field_default(defaults, dotted)
            option = typer.Option(*_flag_decls(dotted, cli_tp is bool), help=_help(f), show_default=shown)
            annotation = Annotated[cli_tp | None, option]
            params.append(inspect.Parameter(ident, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation))
        for old, tp in _renamed_fields(config_cls):  # old flags keep working, unlisted, with a warning
            cli_tp = _cli_type(tp)
            if cli_tp is None:
                continue
            ident = "renamed__" + old.replace(".", "__")
            flat[ident] = old
            annotation = Annotated[cli_tp | None, typer.Option(*_flag_decls(old, cli_tp is bool), hidden=True)]
            params.append(inspect.Parameter(ident, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation))
        params.append(
            inspect.Parameter(
                "config",
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[Path | None, typer.Option("--config", "-c", help="YAML config (flags override it)")],
            )
        )
        extra_names = {p.name for p in extra or []}

        @report_errors
        def command(**kwargs: Any) -> None:
            overrides = {flat[k]: v for k, v in kwargs.items() if k in flat and v is not None}
            cfg = load_config(config_cls, kwargs.get("config"), overrides)
            fn(cfg, **{k: kwargs[k] for k in extra_names})

        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__doc__ = help
        command.config_cls = config_cls  # type: ignore[attr-defined]  # lets tests check YAML files against it
        app.command(name, help=help)(command)
        return fn

    return decorator


def argument(name: str, tp: Any, help: str, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    """A positional argument for ``config_command(extra=[...])``."""
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[tp, typer.Argument(help=help)]
    )


def output_option(help: str) -> inspect.Parameter:
    """A required ``--output/-o PATH`` for ``config_command(extra=[...])``."""
    return inspect.Parameter(
        "output", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Path, typer.Option("--output", "-o", help=help)]
    )


def new_app(help: str) -> typer.Typer:
    return typer.Typer(help=help, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

