"""Name -> implementation registries for everything pluggable (backends, adapters, aggregations...)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Generic, TypeVar

from prmkit.errors import ConfigError

T = TypeVar("T")
ALLOW_IMPORTS = "PRMKIT_ALLOW_IMPORTS"


class Registry(Generic[T]):
    """A named table of implementations.

    ``@registry.register("name")`` binds an implementation; binding a taken name to a different object
    raises. ``registry.get("name")`` looks it up; a dotted path ``"package.module:attr"`` is the escape
    hatch for implementations that live outside prmkit. Importing it runs that module's code, so it is
    allowed only when the user opts in with ``PRMKIT_ALLOW_IMPORTS=1`` (``ALLOW_IMPORTS``): a name
    read from a config file or a command line can then never reach ``os:system`` unasked.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            existing = self._items.get(name)
            if existing is not None and existing is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered to {existing!r}")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        if name in self._items:
            return self._items[name]
        if ":" in name:
            if os.environ.get(ALLOW_IMPORTS) != "1":
                raise ConfigError(
                    f"{self.kind} {name!r} is a module:attr path to code outside prmkit; prmkit imports such "
                    f"code only when you opt in with {ALLOW_IMPORTS}=1"
                )
            module_name, _, attr = name.partition(":")
            try:
                return getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as exc:
                raise ConfigError(f"cannot import {self.kind} {name!r}: {exc}") from exc
        known = ", ".join(sorted(self._items)) or "none"
        raise ConfigError(f"unknown {self.kind} {name!r}; known: {known} (or a 'module:attr' path)")

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items
