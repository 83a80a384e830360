"""Loading a PRM folder: ``load_prm(dir)`` detects its format (``prmkit.score.detect``) and builds the
matching adapter; a URL connects to a served PRM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import prmkit.score.adapters  # noqa: F401  (registers the built-in adapters)
from prmkit.errors import ConfigError, PrmkitError
from prmkit.score.config import is_served
from prmkit.score.contract import PRMContract
from prmkit.score.detect import detect
from prmkit.score.pooled import PooledPRM
from prmkit.score.prm import ADAPTERS, PRM, PRMConfig
from prmkit.score.served import HTTPPRM, ServedPRM


def connect(cfg: PRMConfig, token: str | None = None) -> HTTPPRM:
    """The client of the PRM served at ``cfg.prm``: ``prmkit serve``'s API, or vLLM's pooling API."""
    return (PooledPRM if cfg.served.api == "vllm" else ServedPRM)(cfg, token)


def load_prm(cfg: PRMConfig | str | Path, **overrides: Any) -> PRM | HTTPPRM:
    """Load a PRM from a local folder, ``load_prm("runs/prm")`` or ``load_prm(PRMConfig(prm=..., format=...))``,
    or connect to one that ``prmkit serve`` serves, ``load_prm("http://127.0.0.1:8000")``, or vLLM
    (``served.api`` "vllm", ``prmkit.score.pooled``)."""
    if not isinstance(cfg, PRMConfig):
        cfg = PRMConfig(prm=str(cfg), **overrides)
    elif overrides:
        cfg = PRMConfig(**{**cfg.__dict__, **overrides})
    if not cfg.prm:
        raise ConfigError("no PRM given: pass --prm DIR")
    if is_served(cfg.prm):
        return connect(cfg)
    folder = Path(cfg.prm)
    if not folder.is_dir():
        raise PrmkitError(f"{folder}: PRM folder not found")
    contract = PRMContract.load(folder)
    name = detect(folder, contract) if cfg.format == "auto" else cfg.format
    return ADAPTERS.get(name).from_folder(folder, cfg, contract)
