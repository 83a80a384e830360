"""GRPO end to end on a tiny random policy: the reward rises, artifacts are written, KL and minibatches work."""

from __future__ import annotations

import dataclasses
import json

import pytest
from rl_tiny import char_rewards, digit_rewards, make_policy, tiny_sampling
from transformers import AutoModelForCausalLM, AutoTokenizer

from prmkit.errors import ConfigError
from prmkit.evaluate.report import write_report
from prmkit.rl.config import GRPOConfig
from prmkit.rl.grpo import train_grpo
from prmkit.rl.rewards import RewardSpec


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    return make_policy(tmp_path_factory.mktemp("grpo") / "policy")


@pytest.fixture(scope="module")
def easy_run(policy, tmp_path_factory):
    cfg = GRPOConfig(
        policy=str(policy), output_dir=str(tmp_path_factory.mktemp("grpo") / "rl"), steps=20, batch_size=4,
        sampling=tiny_sampling(4, temperature=1.0), lr=1e-2, beta=0.0, checkpoint_every=10,
    )  # fmt: skip
    return cfg, train_grpo(cfg, rewards=digit_rewards(), progress=False)


def test_reward_rises_on_an_easy_reward(easy_run):
    _, result = easy_run
    rewards = [r["reward/total"] for r in result.records]
    first, last = sum(rewards[:5]) / 5, sum(rewards[-5:]) / 5
    assert last > first + 0.05, rewards
    assert all(r["clip_frac"] == 0 for r in result.records)  # one on-policy update: the ratio is exactly 1
    assert all(r["reward/digits"] == pytest.approx(r["reward/total"]) for r in result.records)


def test_run_artifacts(easy_run):
    cfg, result = easy_run
    out = result.output_dir
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 21))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["title"] == "RL: GRPO" and metrics["data"]["step"] == steps
    assert len(metrics["data"]["reward/total"]) == 20 and metrics["summary"]["steps"] == 20
    assert (out / "curves.png").stat().st_size > 10_000
    assert (out / "config.yaml").is_file() and (out / "checkpoint.pt").is_file()
    model = AutoModelForCausalLM.from_pretrained(result.policy_dir)
    assert AutoTokenizer.from_pretrained(result.policy_dir).eos_token == "</s>"
    assert (result.policy_dir / "world.json").is_file()
    page = write_report(out.parent).read_text()  # the run folder is a stage of its parent run
    assert "RL: GRPO" in page and "Curves at selected steps" in page and "data:image/png;base64" in page
    initial = AutoModelForCausalLM.from_pretrained(cfg.policy)
    assert not model.lm_head.weight.equal(initial.lm_head.weight)  # the trained weights were saved


def test_kl_to_reference_and_several_minibatch_updates(policy, tmp_path):
    cfg = GRPOConfig(
        policy=str(policy), output_dir=str(tmp_path / "rl"), steps=2, batch_size=2, lr=1e-2,
        sampling=tiny_sampling(4, temperature=1.0), beta=0.1, epochs=2, minibatches=2, scale_rewards="none",
        loss_type="dr_grpo",
    )  # fmt: skip
    records = train_grpo(cfg, rewards=char_rewards(), progress=False).records
    assert records[0]["kl"] == pytest.approx(0.0, abs=1e-7)  # nothing has moved yet
    assert records[1]["kl"] > 1e-4  # four updates later the policy differs from the frozen reference
    assert records[0]["lr"] == pytest.approx(1e-2)


def test_config_errors_name_the_fix(policy, tmp_path):
    with pytest.raises(ConfigError, match=r"sampling\.n must be >= 2"):
        GRPOConfig(policy=str(policy), output_dir=str(tmp_path), sampling=tiny_sampling(1))
    with pytest.raises(ConfigError, match="--policy"):
        GRPOConfig(output_dir=str(tmp_path))
    cfg = GRPOConfig(policy=str(policy), output_dir=str(tmp_path / "x"), rewards=[RewardSpec("nope")])
    with pytest.raises(ConfigError, match="unknown reward 'nope'"):
        train_grpo(cfg, progress=False)


def test_resuming_with_other_settings_is_refused(easy_run):
    cfg, _ = easy_run
    with pytest.raises(ConfigError, match=r"other settings \(lr\)"):
        train_grpo(dataclasses.replace(cfg, lr=1e-3), rewards=digit_rewards(), progress=False)
