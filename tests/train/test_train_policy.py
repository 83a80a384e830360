import json
import random

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from prmkit.config import load_config
from prmkit.data.prompts import render_prompt
from prmkit.errors import ConfigError
from prmkit.synthetic.checker import parse_computation
from prmkit.synthetic.policy_eval import evaluate_policy, sample_completions
from prmkit.synthetic.tokenizer import build_tokenizer
from prmkit.synthetic.world import WorldConfig, load_world, make_problems
from prmkit.train.policy import (
    PolicyTrainConfig,
    build_model,
    encode_batch,
    train_policy,
    training_texts,
)

SMALL_WORLD = WorldConfig(min_ops=1, max_ops=2, max_operand=20, max_value=60, max_factor=5)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """One short training run shared by the tests below (about 20 s on one thread)."""
    cfg = PolicyTrainConfig(world=SMALL_WORLD, steps=80, batch_size=16, warmup_steps=10, seed=0)
    out = tmp_path_factory.mktemp("policy")
    return cfg, train_policy(cfg, out, progress=False)


def test_loss_falls_clearly(short_run):
    _, result = short_run
    first, last = result.losses[:5], result.losses[-10:]
    assert sum(last) / len(last) < 0.35 * sum(first) / len(first)


def test_saved_directory_loads_without_prmkit_and_writes_steps(short_run):
    cfg, result = short_run
    model = AutoModelForCausalLM.from_pretrained(result.output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(result.output_dir)
    assert model.num_parameters() == result.num_parameters < 1_000_000
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id
    assert load_world(result.output_dir) == cfg.world
    assert json.loads((result.output_dir / "train_metrics.json").read_text())["steps"] == cfg.steps
    assert load_config(PolicyTrainConfig, result.output_dir / "train_config.yaml") == cfg

    problems = make_problems(cfg.world, 16, seed=123)
    texts = sample_completions(model, tokenizer, [render_prompt(p) for p in problems])
    first_steps = [t.split("\n\n")[0] for t in texts]
    assert sum(parse_computation(s) is not None for s in first_steps) >= 12, first_steps
    assert all(s.startswith("Step 1:") for s in first_steps)


def test_evaluate_policy_reports_what_it_sampled(short_run):
    cfg, result = short_run
    model = AutoModelForCausalLM.from_pretrained(result.output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(result.output_dir)
    ev = evaluate_policy(model, tokenizer, make_problems(cfg.world, 24, seed=5), temperature=1.0, batch_size=7)
    assert len(ev.results) == len(ev.texts) == 24
    wrong = sum(not r.correct for r in ev.results)
    assert sum(ev.first_errors.values()) == wrong
    assert ev.accuracy == pytest.approx(1 - wrong / 24)


def test_training_is_reproducible(tmp_path):
    cfg = PolicyTrainConfig(world=SMALL_WORLD, steps=3, batch_size=4, warmup_steps=1, hidden_size=32, intermediate_size=64)
    a = train_policy(cfg, tmp_path / "a", progress=False).losses
    b = train_policy(cfg, tmp_path / "b", progress=False).losses
    cfg.seed = 1
    c = train_policy(cfg, tmp_path / "c", progress=False).losses
    assert a == b
    assert a != c


def test_packed_batch_masks_prompts_and_matches_unpacked_logits():
    tokenizer = build_tokenizer()
    cfg = PolicyTrainConfig(world=SMALL_WORLD, hidden_size=32, intermediate_size=64, max_length=128)
    pairs = training_texts(make_problems(SMALL_WORLD, 6, seed=0), random.Random(0), mistake_rate=0.0, kinds=["slip"])
    batch = encode_batch(tokenizer, pairs, max_length=cfg.max_length)
    assert batch["input_ids"].shape[0] < len(pairs)  # several sequences share a row
    model = build_model(cfg, tokenizer).eval()
    with torch.no_grad():
        packed = model(**batch, use_cache=False).logits
    row, start = 0, 0
    for prompt, solution in pairs:
        prompt_ids = tokenizer(prompt)["input_ids"]
        target = [*tokenizer(solution, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
        ids = prompt_ids + target
        if start + len(ids) > cfg.max_length or batch["position_ids"][row, start] != 0:
            row, start = row + 1, 0
        span = slice(start, start + len(ids))
        assert batch["input_ids"][row, span].tolist() == ids
        assert batch["position_ids"][row, span].tolist() == list(range(len(ids)))
        assert batch["labels"][row, span].tolist() == [-100] * len(prompt_ids) + target
        with torch.no_grad():
            alone = model(input_ids=torch.tensor([ids])).logits[0]
        assert torch.allclose(packed[row, span], alone, atol=1e-5)  # attention stays inside each sequence
        start += len(ids)
    with pytest.raises(ConfigError, match="max_length"):
        encode_batch(tokenizer, pairs, max_length=20)


def test_mistake_rate_controls_the_share_of_wrong_solutions():
    from prmkit.synthetic.checker import check

    problems = make_problems(WorldConfig(), 400, seed=0)
    pairs = training_texts(problems, random.Random(0), mistake_rate=0.25, kinds=["slip", "carry", "skip"])
    wrong = sum(not check(p, s.split("\n\n")).correct for p, (_, s) in zip(problems, pairs))
    assert 70 <= wrong <= 130


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mistake_rate": 1.5}, "mistake_rate"),
        ({"mistake_kinds": ["typo"]}, "mistake_kinds"),
        ({"warmup_steps": 10, "steps": 10}, "warmup_steps"),
        ({"hidden_size": 100, "num_heads": 3}, "multiple"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PolicyTrainConfig(**kwargs)


@pytest.mark.slow
def test_default_policy_is_right_about_half_the_time(tmp_path):
    """The full default run (a few minutes on one thread): sampled accuracy in the 40-70% band the
    policy is tuned for, with first errors spread over several steps."""
    cfg = PolicyTrainConfig()
    result = train_policy(cfg, tmp_path, progress=False)
    model = AutoModelForCausalLM.from_pretrained(result.output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(result.output_dir)
    problems = make_problems(cfg.world, 200, seed=1)
    greedy = evaluate_policy(model, tokenizer, problems, temperature=0.0)
    sampled = evaluate_policy(model, tokenizer, problems, temperature=0.7)
    print(f"{result.seconds:.0f}s greedy {greedy.accuracy:.3f} T=0.7 {sampled.accuracy:.3f} {sampled.first_errors}")
    assert 0.4 <= sampled.accuracy <= 0.7
    assert greedy.accuracy >= sampled.accuracy
    assert sum(count >= 5 for step, count in sampled.first_errors.items() if step >= 0) >= 3
