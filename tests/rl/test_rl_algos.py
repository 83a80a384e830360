"""The RL math against hand-worked cases: group advantages, GAE, KL estimators, clipped losses."""

from __future__ import annotations

import math

import pytest
import torch

from prmkit.rl.algos import (
    aggregate_loss,
    clipped_policy_loss,
    clipped_value_loss,
    gae,
    group_advantages,
    kl_penalty,
    masked_whiten,
)
from prmkit.rl.config import RLConfig, parse_reward
from prmkit.rl.optim import lr_factor
from prmkit.rl.rewards import RewardSpec

NAN = float("nan")


def test_group_advantages_divide_by_the_group_sample_std():
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 2.0])
    adv, zero_std = group_advantages(rewards, group_size=4, scale="group")
    # group 1: mean 0.5, sample std sqrt((4 * 0.25) / 3) = 0.57735; group 2 ties -> advantage 0
    expected = 0.5 / (math.sqrt(1 / 3) + 1e-4)
    assert adv.tolist() == pytest.approx([expected, -expected, -expected, expected, 0, 0, 0, 0], abs=1e-6)
    assert zero_std.tolist() == [False] * 4 + [True] * 4


def test_dr_grpo_advantages_are_not_scaled():
    adv, _ = group_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0, 3.0, 1.0]), group_size=3, scale="none")
    # group means 1/3 and 5/3
    assert adv.tolist() == pytest.approx([2 / 3, -1 / 3, -1 / 3, -2 / 3, 4 / 3, -2 / 3], abs=1e-6)


def test_batch_scaling_uses_the_std_of_every_reward():
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 2.0])
    adv, _ = group_advantages(rewards, group_size=4, scale="batch")
    std = math.sqrt(5.5 / 7)  # mean 1.25; squared deviations sum to 5.5
    assert adv[0].item() == pytest.approx(0.5 / (std + 1e-4), abs=1e-6)
    assert adv[4].item() == 0


def test_nan_rewards_stay_out_of_the_statistics_and_get_zero_advantage():
    adv, _ = group_advantages(torch.tensor([1.0, NAN, 0.0, 1.0]), group_size=4)
    # valid: 1, 0, 1 -> mean 2/3, sample std sqrt((1/9 + 4/9 + 1/9) / 2)
    std = math.sqrt((6 / 9) / 2)
    assert adv.tolist() == pytest.approx(
        [(1 / 3) / (std + 1e-4), 0.0, (-2 / 3) / (std + 1e-4), (1 / 3) / (std + 1e-4)]
    )


def test_group_size_must_divide_the_batch():
    with pytest.raises(ValueError, match="groups of 3"):
        group_advantages(torch.zeros(4), group_size=3)


def test_gae_by_hand():
    rewards = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 5.0]])
    values = torch.tensor([[0.5, 0.6, 0.7], [0.2, 0.4, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    adv, ret = gae(rewards[:1], values[:1], mask[:1], gamma=1.0, lam=0.9)
    # deltas 0.1, 0.1, 0.3 -> A2 = 0.3, A1 = 0.1 + 0.9 * 0.3, A0 = 0.1 + 0.9 * A1
    assert adv[0].tolist() == pytest.approx([0.433, 0.37, 0.3])
    assert ret[0].tolist() == pytest.approx([0.933, 0.97, 1.0])
    # second row: the padded token's reward and value are ignored; the episode ends after token 1
    adv, ret = gae(rewards[1:], values[1:], mask[1:], gamma=0.5, lam=1.0)
    assert adv[0].tolist() == pytest.approx([0.3, 0.6, 0.0])  # delta1 = 1 - 0.4, delta0 = 0.5 * 0.4 - 0.2
    assert ret[0].tolist() == pytest.approx([0.5, 1.0, 0.0])


def test_kl_estimators_by_hand():
    logp, ref = torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.25)])
    assert kl_penalty(logp, ref, "k1").item() == pytest.approx(math.log(2))
    assert kl_penalty(logp, ref, "k3").item() == pytest.approx(0.5 + math.log(2) - 1)  # q/p - log(q/p) - 1


def test_k3_is_unbiased_for_kl_under_the_policy():
    p = torch.tensor([0.5, 0.3, 0.2])
    q = torch.tensor([0.2, 0.2, 0.6])
    exact = (p * (p / q).log()).sum()
    expected_k3 = (p * kl_penalty(p.log(), q.log(), "k3")).sum()
    assert expected_k3.item() == pytest.approx(exact.item(), abs=1e-6)
    assert (kl_penalty(p.log(), q.log(), "k3") >= 0).all()


def test_clipped_policy_loss_takes_the_pessimistic_side():
    old = torch.zeros(3)
    logp = torch.tensor([math.log(1.5), math.log(0.5), math.log(0.5)])
    adv = torch.tensor([1.0, 1.0, -1.0])
    loss, clipped = clipped_policy_loss(logp[None], old[None], adv[None], clip_eps=0.2)
    assert loss[0].tolist() == pytest.approx([-1.2, -0.5, 0.8])
    assert clipped[0].tolist() == [1.0, 0.0, 1.0]


def test_clipped_value_loss_by_hand():
    loss = clipped_value_loss(torch.tensor([1.0]), torch.tensor([0.5]), torch.tensor([0.0]), clip_eps=0.2)
    assert loss.item() == pytest.approx(0.5 * max(1.0, 0.7**2))


@pytest.mark.parametrize(
    ("loss_type", "expected"),
    [("grpo", (6 / 3 + 4 / 1) / 2), ("bnpo", 10 / 4), ("dr_grpo", 10 / (2 * 5))],
)
def test_loss_reductions_match_trl_definitions(loss_type, expected):
    per_token = torch.tensor([[1.0, 2.0, 3.0], [4.0, 7.0, 7.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    assert aggregate_loss(per_token, mask, loss_type, max_tokens=5).item() == pytest.approx(expected)


def test_whitening_ignores_padding():
    x = torch.tensor([[1.0, 3.0, 100.0]])
    out = masked_whiten(x, torch.tensor([[1.0, 1.0, 0.0]]))
    assert out[0].tolist() == pytest.approx([-1.0, 1.0, 0.0], abs=1e-4)


def test_lr_schedule_warms_up_then_holds_or_decays():
    constant = RLConfig(policy="p", output_dir="o", steps=10, warmup_steps=3)
    assert [lr_factor(constant, u) for u in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    cosine = RLConfig(policy="p", output_dir="o", steps=5, epochs=2, lr_schedule="cosine")  # 10 updates
    assert [lr_factor(cosine, u) for u in (0, 5, 10)] == pytest.approx([1.0, 0.5, 0.0])


def test_reward_flags_parse_weights_options_and_import_paths():
    assert parse_reward("correctness") == RewardSpec("correctness")
    assert parse_reward("format_length:0.5,variant=code,max_length=64") == RewardSpec(
        "format_length", 0.5, {"variant": "code", "max_length": 64}
    )
    assert parse_reward("my.module:reward") == RewardSpec("my.module:reward")  # a module:attr name
    assert parse_reward("my.module:reward:2") == RewardSpec("my.module:reward", 2.0)
