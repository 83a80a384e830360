"""Resuming PRM training: changed settings are refused, and a resumed run ends exactly where an
uninterrupted one does, even when a kill tore its newest checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from prm_cases import rule_data
from safetensors.torch import load_file

from prmkit.errors import ConfigError
from prmkit.train.prm import train_prm
from prmkit.train.prm_config import PRMTrainConfig


def cfg(backbone: str, out: Path, **kw) -> PRMTrainConfig:
    steps = {"batch_size": 8, "lr": 3e-3, "eval_steps": 0, "save_steps": 4, "logging_steps": 1000, "max_steps": 8}
    return PRMTrainConfig(**{"model": backbone, "output_dir": str(out), "eval_fraction": 0.0, **steps, **kw})


def test_a_torn_newest_checkpoint_is_skipped_and_the_resumed_run_equals_the_uninterrupted_one(
    backbone, tmp_path
):
    data = rule_data(120, "train")
    whole = train_prm(data, cfg(backbone, tmp_path / "whole"))
    resumed_dir = tmp_path / "resumed"
    train_prm(data, cfg(backbone, resumed_dir))
    checkpoints = resumed_dir / "checkpoints"
    (checkpoints / "checkpoint-8" / "trainer_state.json").write_text('{"global_st')  # killed mid-write
    again = train_prm(data, cfg(backbone, resumed_dir))
    assert again.resumed_from == str(checkpoints / "checkpoint-4")
    a = load_file(str(whole.output_dir / "model.safetensors"))
    b = load_file(str(again.output_dir / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)  # steps 5-8 redone exactly
    state = json.loads((checkpoints / "checkpoint-8" / "trainer_state.json").read_text())
    assert state["global_step"] == 8


def test_train_prm_refuses_to_resume_with_other_settings(backbone, tmp_path):
    data = rule_data(40, "train")
    train_prm(data, cfg(backbone, tmp_path / "prm", max_steps=4))
    with pytest.raises(ConfigError, match=r"other settings \(labels, lr\).*--no-resume"):
        train_prm(data, cfg(backbone, tmp_path / "prm", max_steps=8, lr=1e-2, labels="soft"))
    assert train_prm(data, cfg(backbone, tmp_path / "prm", max_steps=8)).resumed_from  # longer: allowed
