"""YAML configs that map onto dataclasses: defaults < YAML file < command-line overrides.

Unknown keys are refused (with the valid ones listed), values are type-checked, and the fully resolved
config can be written beside every output so a run is reproducible from its artifacts.

A setting that was renamed keeps working for one release: a config class lists ``RENAMED = {"old":
"new.dotted.name"}``, and an old key (in YAML, a flag or a saved config) is read as the new one with a
``RenamedSetting`` warning that names both.
"""

from __future__ import annotations

import dataclasses
import json
import typing
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar

import yaml
from pydantic import ConfigDict, TypeAdapter, ValidationError

from prmkit.errors import ConfigError

C = TypeVar("C")


class RenamedSetting(UserWarning):
    """A setting was given under its old name; it still works, for one release."""


def renamed(cls: type) -> dict[str, str]:
    """``cls``'s old setting names -> their new (dotted) names."""
    return dict(getattr(cls, "RENAMED", {}))


def moved_into(block: str, cls: type, old_names: dict[str, str] | None = None) -> dict[str, str]:
    """``RENAMED`` entries for settings that moved into the nested ``block`` (a ``cls``): each field of
    ``cls`` under its own name, or only ``old_names`` (old name -> field of ``cls``) when given."""
    pairs = old_names if old_names is not None else {f.name: f.name for f in dataclasses.fields(cls)}
    return {old: f"{block}.{new}" for old, new in pairs.items()}


def _rename(cls: type, data: dict[str, Any], where: str) -> dict[str, Any]:
    """``data`` with the old names of ``cls``'s settings moved to their new places (warning once each)."""
    moved = {old: new for old, new in renamed(cls).items() if old in data}
    if not moved:
        return data
    rest = {k: v for k, v in data.items() if k not in moved}
    for old, new in moved.items():
        warnings.warn(
            f"{where}: '{old}' is now '{new}'; the old name works until the next release",
            RenamedSetting,
            stacklevel=3,
        )
    return merge(rest, unflatten({new: data[old] for old, new in moved.items()}))


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


FINITE = ConfigDict(allow_inf_nan=False)  # nan passes every range check (nan < 0 is false): refuse it


def _numeric_only(tp: Any) -> bool:
    """Whether ``tp`` is int or float (optionally with None): a bool or a string there is a mistake."""
    args = set(typing.get_args(tp)) - {type(None)} if typing.get_origin(tp) in (typing.Union, UnionType) else {tp}
    return bool(args) and args <= {int, float}


def check_value(tp: Any, value: Any, where: str) -> Any:
    """``value`` validated as ``tp``: finite numbers only, and no bool or string read as a number."""
    if _numeric_only(tp) and isinstance(value, (bool, str)):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    try:
        return TypeAdapter(tp, config=FINITE).validate_python(value)
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"]
        raise ConfigError(f"{where}: {msg} (got {value!r})") from None


def from_dict(cls: type[C], data: dict[str, Any], where: str = "config") -> C:
    """Build dataclass ``cls`` from a (possibly nested) mapping, refusing unknown keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    data = _rename(cls, data, where)
    types = _field_types(cls)
    unknown = sorted(set(data) - set(types))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(types)}")
    kwargs = {}
    defaults = {f.name: f for f in dataclasses.fields(cls)}
    for name, value in data.items():
        tp = types[name]
        if _is_dataclass_type(tp):
            # a nested block starts from the parent's default for it (which may differ from tp's own)
            kwargs[name] = from_dict(tp, _over_default(defaults[name], value), f"{where}.{name}")
            continue
        kwargs[name] = check_value(tp, value, f"{where}.{name}")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _over_default(f: dataclasses.Field, value: Any) -> Any:
    """``value`` (a mapping) merged over field ``f``'s default instance, when it has one."""
    if not isinstance(value, dict) or f.default_factory is dataclasses.MISSING:
        return value
    default = f.default_factory()
    fields = _field_types(type(default))
    return merge({k: v for k, v in to_dict(default).items() if k in fields}, value)


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base``."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` -> ``{"a": {"b": 1}}``."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


class StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (plain YAML keeps the last, silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, typing.Hashable):
                continue  # the base class refuses it
            if key in first:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is given twice (first on line {first[key] + 1})", key_node.start_mark
                )
            first[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path``; any fault is a ConfigError naming the file and line."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x})") from None
    try:
        data = yaml.load(text, Loader=StrictLoader) or {}  # StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    return data


def load_config(
    cls: type[C], path: str | Path | None = None, overrides: dict[str, Any] | None = None, section: str | None = None
) -> C:
    """Resolve a config: dataclass defaults, then the YAML file (or one of its sections), then overrides.

    ``overrides`` may use dotted keys for nested fields (``{"optim.lr": 1e-3}``).
    """
    data: dict[str, Any] = {}
    where = cls.__name__
    if path is not None:
        data = read_yaml(path)
        where = str(path)
        if section is not None:
            data = data.get(section, {})
            where += f" [{section}]"
    if overrides:
        data = merge(data, unflatten(overrides))
    return from_dict(cls, data, where)


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (the inverse of ``unflatten``)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def refuse_changed_settings(cfg: Any, path: str | Path, free: Iterable[str] = (), hint: str = "") -> None:
    """Refuse to resume work that a run with other settings started: every setting of ``cfg`` (nested
    ones by dotted name) except the ``free`` ones (how the work runs, not what it computes) must equal
    the config saved at ``path`` when the work began. Call it only where there is work to resume: a
    missing ``path`` is refused too, since the settings the work was made with can then not be checked."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"{path} is missing, so the settings of the work beside it cannot be checked against these; "
            f"restore it, {hint or 'or write to a new output'}"
        )
    saved = flatten(json.loads(json.dumps(to_dict(from_dict(type(cfg), read_yaml(path), str(path))), default=str)))
    now = flatten(json.loads(json.dumps(to_dict(cfg), default=str)))
    free_fields = set(free)
    changed = sorted(k for k in now if k not in free_fields and saved.get(k) != now[k])
    if changed:
        raise ConfigError(
            f"{path}: the work there was started with other settings ({', '.join(changed)}); resume with the "
            f"same settings, {hint or 'or write to a new output'}"
        )


def save_config(cfg: Any, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8")
