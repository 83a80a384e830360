"""The RL settings: rollouts in a ``sampling`` block (old flat names still read, with a warning), and
precision in torch's dtype names (the old fp32/bf16 still read, with a warning)."""

from __future__ import annotations

import dataclasses

import pytest

from prmkit.config import RenamedSetting, from_dict, refuse_changed_settings, save_config
from prmkit.errors import ConfigError
from prmkit.generation.base import SamplingConfig
from prmkit.rl.config import GRPOConfig, PPOConfig, RLConfig

RUN = {"policy": "p", "output_dir": "o"}


def test_each_trainer_has_its_own_sampling_defaults_that_yaml_overrides_in_part():
    grpo = from_dict(GRPOConfig, {**RUN, "sampling": {"temperature": 1.0}})
    assert grpo.sampling == SamplingConfig(n=4, max_new_tokens=256, temperature=1.0, top_p=1.0, seed=0)
    ppo = from_dict(PPOConfig, {**RUN, "sampling": {"max_new_tokens": 40}})
    assert ppo.sampling == SamplingConfig(n=1, max_new_tokens=40, temperature=0.7, top_p=1.0, seed=0)
    assert PPOConfig(**RUN).sampling.n == 1 and GRPOConfig(**RUN).sampling.n == 4
    assert GRPOConfig(**RUN).precision == "float32"


def test_old_flat_rollout_names_are_read_into_sampling_with_a_warning():
    old = {"group_size": 8, "max_new_tokens": 64, "temperature": 0.6, "top_p": 0.9}
    with pytest.warns(RenamedSetting) as caught:
        cfg = from_dict(GRPOConfig, {**RUN, **old, "sampling": {"seed": 5}})
    assert cfg.sampling == SamplingConfig(n=8, max_new_tokens=64, temperature=0.6, top_p=0.9, seed=5)
    messages = sorted(str(w.message) for w in caught)
    assert "config: 'group_size' is now 'sampling.n'; the old name works until the next release" in messages
    assert any("'temperature' is now 'sampling.temperature'" in m for m in messages)
    with pytest.warns(RenamedSetting, match="'group_size' is now 'sampling.n'"):
        assert from_dict(PPOConfig, {**RUN, "group_size": 2}).sampling.n == 2


def test_rollout_sampling_that_rl_cannot_use_is_refused():
    with pytest.raises(ConfigError, match="RL resumption needs seeded rollouts"):
        from_dict(GRPOConfig, {**RUN, "sampling": {"seed": None}})
    with pytest.raises(ConfigError, match="RL rollouts do not support stop strings"):
        from_dict(GRPOConfig, {**RUN, "sampling": {"stop": ["\n\n"]}})
    with pytest.raises(ConfigError, match=r"sampling\.temperature > 0"):
        GRPOConfig(**RUN, sampling=SamplingConfig(temperature=0.0))
    with pytest.raises(ConfigError, match="max_new_tokens must be >= 1"):  # 0 no longer means the policy's
        from_dict(GRPOConfig, {**RUN, "sampling": {"max_new_tokens": 0}})
    with pytest.raises(ConfigError, match="minibatches 9 > 8 completions per step"):
        RLConfig(**RUN, batch_size=2, minibatches=9)


def test_precision_takes_torch_dtype_names_and_the_old_ones_for_one_release():
    assert from_dict(GRPOConfig, {**RUN, "precision": "bfloat16"}).precision == "bfloat16"
    with pytest.warns(RenamedSetting, match="precision 'bf16' is now 'bfloat16'; the old name works until"):
        assert from_dict(PPOConfig, {**RUN, "precision": "bf16"}).precision == "bfloat16"
    with pytest.warns(RenamedSetting, match="precision 'fp32' is now 'float32'"):
        assert GRPOConfig(**RUN, precision="fp32").precision == "float32"
    with pytest.raises(ConfigError, match="precision must be one of float32, bfloat16, got 'float16'"):
        from_dict(GRPOConfig, {**RUN, "precision": "float16"})


def test_a_run_saved_with_old_names_resumes_under_the_new_ones(tmp_path):
    path = tmp_path / "config.yaml"
    cfg = GRPOConfig(**RUN, sampling=SamplingConfig(n=4, max_new_tokens=32, temperature=1.0), precision="bfloat16")
    save_config(cfg, path)
    refuse_changed_settings(cfg, path)  # the same settings
    reseeded = dataclasses.replace(cfg, sampling=dataclasses.replace(cfg.sampling, seed=1))
    with pytest.raises(ConfigError, match=r"other settings \(sampling\.seed\)"):
        refuse_changed_settings(reseeded, path)
    old = path.read_text().replace("precision: bfloat16", "precision: bf16")
    old = old.replace("sampling:\n  n: 4\n", "group_size: 4\nsampling:\n")
    assert "group_size: 4" in old and "precision: bf16" in old
    path.write_text(old)
    with pytest.warns(RenamedSetting):
        refuse_changed_settings(cfg, path)
