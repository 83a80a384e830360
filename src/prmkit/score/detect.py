"""Which adapter reads a PRM folder: ``detect_format(dir)``.

Format detection (``format="auto"``): ``prmkit_prm.json`` names the format; otherwise ``config.json``
decides: ``*ForProcessRewardModel`` -> qwen-prm, ``*ForTokenClassification`` -> prmkit (with TRL's step
format), ``*ForSequenceClassification`` -> sequence-classification, ``prm_head.*`` weights ->
prmkit-likelihood, ``v_head.*`` weights -> value-head, any other causal LM -> math-shepherd.
"""

from __future__ import annotations

from pathlib import Path

from prmkit.errors import PrmkitError
from prmkit.score.contract import PRMContract
from prmkit.score.prm import read_json, safetensors_keys


def detect_format(folder: str | Path) -> str:
    """The adapter name for a PRM folder (see the module docstring for the rules)."""
    folder = Path(folder)
    return detect(folder, PRMContract.load(folder))


def detect(folder: Path, contract: PRMContract | None) -> str:
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
