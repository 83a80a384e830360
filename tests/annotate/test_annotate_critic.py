"""The synthetic critic: its training data, its directory, judging through the transformers backend,
and the guard that keeps its training problems out of what it labels."""

from __future__ import annotations

import json
import random

import pytest
from annotate_cases import make_pairs

from prmkit.annotate.critic_model import (
    CRITIC_TEMPLATE,
    TAG_TOKENS,
    CriticTrainConfig,
    critic_examples,
    critic_pair,
    critic_tokenizer,
    problem_stream,
    train_critic,
)
from prmkit.annotate.io import read_annotations
from prmkit.annotate.judge import CriticSpec, JudgeConfig, annotate_judge, critic_spec
from prmkit.errors import DataError
from prmkit.evaluate.critic import CRITIQUE_TEMPLATE
from prmkit.generation.base import GenerationConfig, SamplingConfig
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.checker import first_error
from prmkit.synthetic.render import solution_steps
from prmkit.synthetic.world import WorldConfig, make_problems

SMALL = WorldConfig(min_ops=1, max_ops=3, max_operand=9, max_value=99, max_factor=5)
TINY = {"hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "num_layers": 1}


@pytest.fixture(scope="module")
def critic_dir(tmp_path_factory):
    cfg = CriticTrainConfig(world=SMALL, steps=3, batch_size=8, warmup_steps=1, eval_problems=8, **TINY)
    out = tmp_path_factory.mktemp("critic")
    summary = train_critic(cfg, out, progress=False)
    return out, summary


def test_training_examples_are_labelled_by_the_exact_checker():
    cfg = CriticTrainConfig(world=SMALL)
    problems = make_problems(SMALL, 60, problem_stream(0))
    examples = critic_examples(problems, random.Random(0), cfg)
    assert all(label == first_error(p, steps) for steps, label, p in examples)
    labels = [label for _, label, _ in examples]
    assert 5 < labels.count(-1) < 30 and max(labels) >= 1  # about three in four carry one mistake
    for steps, label, problem in examples:
        prompt, target = critic_pair(problem, steps, label)
        assert prompt.startswith(problem.question + "\n\n<paragraph_0>\n")
        # The critic works the problem out and marks each paragraph until the first wrong one.
        *review, box = target.split("\n")
        assert box == f"\\boxed{{{label}}}"
        assert [line[-1] for line in review] == (["+"] * len(steps) if label < 0 else ["+"] * label + ["-"])
        assert [line[:-2] for line in review] == solution_steps(Chain.from_problem(problem))[: len(review)]
    tokenizer = critic_tokenizer()
    for tag in TAG_TOKENS:
        assert len(tokenizer(tag, add_special_tokens=False)["input_ids"]) == 1


def test_critic_directory_names_its_template_and_training_stream(critic_dir):
    out, summary = critic_dir
    info = json.loads((out / "prmkit_critic.json").read_text())
    assert info["template"] == CRITIC_TEMPLATE and info["problem_stream"] == "critic-0"
    assert set(summary["held_out"]) >= {"first_error_accuracy", "f1", "unparsable"}
    budget = info["max_new_tokens"]
    assert 10 < budget < 200
    critic = GenerationConfig(model=str(out))
    assert critic_spec(JudgeConfig(critic)) == CriticSpec(CRITIC_TEMPLATE, budget, "critic-0")
    short = SamplingConfig(n=1, max_new_tokens=5, temperature=0.0)
    assert critic_spec(JudgeConfig(critic, short, template="processbench")) == CriticSpec(
        CRITIQUE_TEMPLATE, 5, "critic-0"
    )
    assert critic_spec(JudgeConfig(GenerationConfig(model="some-llm"))) == CriticSpec(CRITIQUE_TEMPLATE, 1024)


def test_critic_judges_through_the_transformers_backend(tmp_path, critic_dir):
    out, _ = critic_dir
    pairs = make_pairs(4, stream="critic-judged", mistake_rate=0.5)
    cfg = JudgeConfig(GenerationConfig(model=str(out)), progress=False)
    assert annotate_judge(cfg, pairs, tmp_path / "judge.jsonl")["written"] == 4
    for verdict in read_annotations(tmp_path / "judge.jsonl"):
        assert len(verdict.outputs) == 1
        assert (verdict.labels is None) == (verdict.votes == [None])


def test_the_critic_never_labels_its_training_problems(tmp_path, critic_dir):
    out, _ = critic_dir
    seen = make_pairs(2, stream=problem_stream(0))
    with pytest.raises(DataError, match="training stream 'critic-0'"):
        annotate_judge(JudgeConfig(GenerationConfig(model=str(out)), progress=False), seen, tmp_path / "judge.jsonl")
    # The training stream shares no problem id with the streams that make problems to label.
    trained = {p.id for p in make_problems(SMALL, 500, problem_stream(0))}
    for stream in (0, 1, "eval-0", "lab", "train-0", "critic-eval-0"):
        assert trained.isdisjoint(p.id for p in make_problems(SMALL, 500, stream))
