"""Loading a PRM folder: ``load_prm(dir)`` detects its format and builds the matching adapter.

Format detection (``format="auto"``): ``prmkit_prm.json`` names the format; otherwise ``config.json``
decides: ``*ForProcessRewardModel`` -> qwen-prm, ``*ForTokenClassification`` -> prmkit (with TRL's step
format), ``*ForSequenceClassification`` -> sequence-classification, ``prm_head.*`` weights ->
prmkit-likelihood, ``v_head.*`` weights -> value-head, any other causal LM -> math-shepherd.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import prmkit.score.adapters  # noqa: F401  (registers the built-in adapters)
from prmkit.errors import ConfigError, PrmkitError
from prmkit.score.config import is_served
from prmkit.score.contract import PRMContract
from prmkit.score.prm import ADAPTERS, PRM, PRMConfig, read_json, safetensors_keys
from prmkit.score.served import ServedPRM


def detect_format(folder: str | Path) -> str:
    """The adapter name for a PRM folder (see the module docstring for the rules)."""
    folder = Path(folder)
    return _detect(folder, PRMContract.load(folder))


def _detect(folder: Path, contract: PRMContract | None) -> str:
    """``detect_format`` with the folder's contract already read."""
    if contract is not None:
        return contract.format
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise PrmkitError(f"{folder}: no config.json, so not a Hugging Face model folder")
    architectures = read_json(config_path).get("architectures") or []
    for suffix, name in (
        ("ForProcessRewardModel", "qwen-prm"),
        ("ForTokenClassification", "prmkit"),
        ("ForSequenceClassification", "sequence-classification"),
    ):
        if any(a.endswith(suffix) for a in architectures):
            return name
    keys = safetensors_keys(folder)
    if any(k.startswith("prm_head.") for k in keys):
        return "prmkit-likelihood"
    if any(k.startswith("v_head.") for k in keys):
        return "value-head"
    if any(a.endswith("ForCausalLM") for a in architectures):
        return "math-shepherd"
    raise PrmkitError(
        f"{folder}: cannot tell the PRM format from architectures {architectures}; pass --format"
    )


def load_prm(cfg: PRMConfig | str | Path, **overrides: Any) -> PRM | ServedPRM:
    """Load a PRM from a local folder, ``load_prm("runs/prm")`` or ``load_prm(PRMConfig(prm=..., format=...))``,
    or connect to one that ``prmkit serve`` serves: ``load_prm("http://127.0.0.1:8000")``."""
    if not isinstance(cfg, PRMConfig):
        cfg = PRMConfig(prm=str(cfg), **overrides)
    elif overrides:
        cfg = PRMConfig(**{**cfg.__dict__, **overrides})
    if not cfg.prm:
        raise ConfigError("no PRM given: pass --prm DIR")
    if is_served(cfg.prm):
        return ServedPRM(cfg)
    folder = Path(cfg.prm)
    if not folder.is_dir():
        raise PrmkitError(f"{folder}: PRM folder not found")
    contract = PRMContract.load(folder)
    name = _detect(folder, contract) if cfg.format == "auto" else cfg.format
    return ADAPTERS.get(name).from_folder(folder, cfg, contract)
