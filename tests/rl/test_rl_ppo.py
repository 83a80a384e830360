"""PPO: step rewards reach GAE on the right tokens, and outcome PPO trains its value head."""

from __future__ import annotations

import pytest
import torch
from rl_tiny import char_rewards, make_policy, tiny_sampling
from transformers import AutoModelForCausalLM, AutoTokenizer

from prmkit.data.records import Problem
from prmkit.rl.config import PPOConfig
from prmkit.rl.ppo import PPO, ValueHead, train_ppo
from prmkit.rl.prm_rewards import step_spans
from prmkit.rl.rollout import Rollout, pad_rows

TEXTS = ["Step 1: 3 + 4 = 7\n\nThe answer is \\boxed{7}.", "Step 1: 5 - 2 = 3\n\nStep 2: 3 * 2 = 6"]


class ScriptedPRM:
    """Stand-in PRM: fixed per-step probabilities, the real step spans."""

    def step_scores(self, *, completions, **_):
        return [[0.9, 0.6], [0.75, 0.25]][: len(completions)]

    def step_spans(self, completion):
        return step_spans(completion)


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    return make_policy(tmp_path_factory.mktemp("ppo") / "policy")


def _rollout(tok, texts):
    problem = Problem(id="p", question="Mia has 3 pens.", answer="7")
    prompt = tok("Mia has 3 pens.\n\n")["input_ids"]
    ids = [tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for t in texts]
    batch = pad_rows([prompt] * len(texts), ids, tok.pad_token_id, torch.device("cpu"))
    return Rollout(
        problems=[problem] * len(texts), prompts=["Mia has 3 pens.\n\n"] * len(texts), completions=texts,
        completion_ids=ids, truncated=[False] * len(texts), batch=batch,
        rewards=torch.tensor([1.0, 0.0]), per_reward={}, correct=None,
    )  # fmt: skip


def test_step_rewards_reach_gae_on_each_steps_last_token(policy, tmp_path):
    tok = AutoTokenizer.from_pretrained(policy)
    model = AutoModelForCausalLM.from_pretrained(policy)
    cfg = PPOConfig(
        policy=str(policy), output_dir=str(tmp_path), mode="step", prm="scripted", step_transform="centered",
        gamma=1.0, lam=1.0, whiten_advantages=False,
    )  # fmt: skip
    algo = PPO(cfg, model, tok, prm=ScriptedPRM())
    rollout = _rollout(tok, TEXTS)
    rewards, metrics = algo.step_rewards(rollout)
    assert metrics["steps"] == 2 and metrics["step_score"] == pytest.approx(2.5 / 4)
    for row, text in enumerate(TEXTS):
        placed = rewards[row].nonzero().squeeze(-1).tolist()
        ends = [tok.decode(rollout.completion_ids[row][: t + 1]) for t in placed]
        assert ends == [text[:end] for _, end in step_spans(text)]  # the prefix through t is exactly the step
    assert rewards[0][rewards[0] != 0].tolist() == pytest.approx([0.8, 0.2])  # 2p - 1
    # with zero values, no KL and gamma = lambda = 1 the advantage is the reward still to come
    zeros = torch.zeros_like(rollout.batch.mask)
    data, _ = algo.prepare(rollout, {"logprobs": zeros, "entropy": zeros, "values": zeros}, None)
    assert data["advantages"][0, 0].item() == pytest.approx(1.0)
    assert data["advantages"][1, 0].item() == pytest.approx(0.5 - 0.5)
    assert data["returns"][0, -1].item() == 0.0  # padding


def test_outcome_reward_sits_on_the_last_token(policy, tmp_path):
    tok = AutoTokenizer.from_pretrained(policy)
    cfg = PPOConfig(policy=str(policy), output_dir=str(tmp_path), gamma=1.0, lam=1.0, whiten_advantages=False)
    algo = PPO(cfg, AutoModelForCausalLM.from_pretrained(policy), tok)
    rollout = _rollout(tok, TEXTS)
    zeros = torch.zeros_like(rollout.batch.mask)
    data, metrics = algo.prepare(rollout, {"logprobs": zeros, "entropy": zeros, "values": zeros}, None)
    n = int(rollout.batch.mask[0].sum())
    assert data["returns"][0, :n].tolist() == pytest.approx([1.0] * n)  # reward 1 at the end, undiscounted
    assert data["returns"][1].abs().sum().item() == 0.0 and metrics["score"] == pytest.approx(0.5)


def test_outcome_ppo_trains_its_value_head(policy, tmp_path):
    cfg = PPOConfig(
        policy=str(policy), output_dir=str(tmp_path / "rl"), steps=6, batch_size=8, lr=1e-2,
        sampling=tiny_sampling(1, temperature=1.0), epochs=2, minibatches=2, vf_coef=1.0,
    )  # fmt: skip
    result = train_ppo(cfg, rewards=char_rewards(), progress=False)
    records = result.records
    assert records[0]["kl"] == pytest.approx(0.0, abs=1e-7) and records[-1]["kl"] > 0
    assert records[-1]["value_loss"] < records[0]["value_loss"] / 2, [r["value_loss"] for r in records]
    head = ValueHead(32)
    head.load_state_dict(torch.load(result.output_dir / "value_head.pt"))
    assert head.linear.weight.abs().sum() > 0  # it moved from its zero init
