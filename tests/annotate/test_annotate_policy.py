"""Monte Carlo with a real (briefly trained) tiny policy as the completer, through the transformers backend."""

from __future__ import annotations

import random

import pytest
from transformers import AutoTokenizer

from prmkit.annotate.mc import MCConfig, label_stream
from prmkit.data.records import LabeledSolution, Solution
from prmkit.generation import load_backend
from prmkit.generation.base import GenerationConfig, SamplingConfig
from prmkit.synthetic.chain import Chain
from prmkit.synthetic.mistakes import inject_mistake
from prmkit.synthetic.render import solution_steps
from prmkit.synthetic.world import WorldConfig, make_problems
from prmkit.train.policy import PolicyTrainConfig, max_new_tokens, train_policy

SMALL = WorldConfig(min_ops=1, max_ops=3, max_operand=9, max_value=99, max_factor=5)


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    cfg = PolicyTrainConfig(
        world=SMALL, steps=40, batch_size=16, warmup_steps=5, hidden_size=64, intermediate_size=128
    )
    out = tmp_path_factory.mktemp("policy")
    train_policy(cfg, out, progress=False)
    return out


def test_policy_rollouts_give_consistent_labels_in_both_strategies(policy):
    rng = random.Random(0)
    pairs = []
    for p in make_problems(SMALL, 6, "policy-mc"):
        chain = Chain.from_problem(p)
        steps = inject_mistake(chain, rng).steps if rng.random() < 0.5 else solution_steps(chain)
        pairs.append(
            LabeledSolution(problem=p, solution=Solution(id=f"{p.id}-s0", problem_id=p.id, steps=steps))
        )
    budget = max_new_tokens(SMALL, AutoTokenizer.from_pretrained(policy))
    common = {
        "generation": GenerationConfig(backend="transformers", model=str(policy)),
        "sampling": SamplingConfig(n=4, max_new_tokens=budget, temperature=1.0),
        "progress": False,
    }
    backend = load_backend(MCConfig(**common).generation)
    full = list(label_stream(MCConfig(**common), backend, pairs))
    search = list(
        label_stream(MCConfig(**common, strategy="first-error", rollouts_per_call=4), backend, pairs)
    )
    for a, b in zip(full, search):
        for labels in (a.labels, b.labels):
            counts, drawn = labels.metadata["counts"], labels.metadata["drawn"]
            soft = labels.soft or [None] * labels.num_steps  # the search measures SE only where it drew all
            assert (labels.soft is None) == any(d < 4 for d in drawn[:-1])
            for c, d, s, h in zip(counts, drawn, soft, labels.hard):
                if d == 4:
                    assert 0 <= c <= 4 and s in (c / 4, None) and h == int(c > 0)
            assert labels.metadata["rollouts"] == sum(drawn)
            assert labels.metadata["tokens"] > 0 or labels.metadata["rollouts"] == 0
        # Same seeds per (solution, prefix, sample): the search saw the rollouts "all" saw.
        for ca, cb, db in zip(
            a.labels.metadata["counts"], b.labels.metadata["counts"], b.labels.metadata["drawn"]
        ):
            assert db == 0 or (ca == cb if db == 4 else cb >= 1 and ca >= cb)
        # Where "all" is monotone, the search finds the same first error.
        if a.labels.metadata["monotone"]:
            assert b.labels.first_error == a.labels.first_error
    assert any(0 < s < 1 for r in full for s in r.labels.soft) or any(
        r.labels.hard != [1] * r.labels.num_steps for r in full
    )
