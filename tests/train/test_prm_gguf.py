"""A PRM backbone loaded from a GGUF file (SmolLM2) trains: the dequantized weights are plain tensors."""

from __future__ import annotations

import pytest

from prmkit.generation import smollm2_gguf_path
from prmkit.train.prm import load_backbone
from prmkit.train.prm_config import PRMTrainConfig


@pytest.mark.slow
def test_a_gguf_backbone_is_trainable_and_saves_without_a_quantization_config(tmp_path):
    from transformers.trainer_utils import validate_quantization_for_training

    model, _ = load_backbone(PRMTrainConfig(model=str(smollm2_gguf_path())))
    validate_quantization_for_training(model)  # raised "purely quantized models" before
    assert all(p.requires_grad and p.dtype.is_floating_point for p in model.parameters())
    model.save_pretrained(tmp_path)
    assert "quantization_config" not in (tmp_path / "config.json").read_text()
