"""Where training prompts come from: a seeded, reshuffled JSONL cycle or the synthetic `rl-` stream."""

from __future__ import annotations

import json

import pytest

from prmkit.data.jsonl import write_jsonl
from prmkit.errors import ConfigError
from prmkit.rl.problems import ProblemSource
from prmkit.synthetic.world import WorldConfig, make_problems


def test_a_jsonl_is_cycled_once_per_epoch_in_a_seeded_order(tmp_path):
    write_jsonl(tmp_path / "p.jsonl", make_problems(WorldConfig(), 5, seed=7))
    source = ProblemSource(str(tmp_path / "p.jsonl"), "unused", seed=1)
    ids = [p.id for step in range(1, 6) for p in source.batch(step, 2)]  # two epochs
    assert sorted(ids[:5]) == sorted(ids[5:10]) == [f"synth-7-{i}" for i in range(5)]
    assert ids[:5] != ids[5:10]  # reshuffled
    again = ProblemSource(str(tmp_path / "p.jsonl"), "unused", seed=1)
    assert [p.id for p in again.batch(3, 2)] == ids[4:6]  # a resumed run sees the same prompts


def test_the_synthetic_stream_uses_the_policy_world_and_its_own_ids(tmp_path):
    (tmp_path / "world.json").write_text(json.dumps(WorldConfig(max_ops=2).to_dict()))
    batch = ProblemSource("", str(tmp_path), seed=3).batch(2, 4)
    assert [p.id for p in batch] == [f"synth-rl-3-{i}" for i in range(4, 8)]
    assert all(len(p.metadata["ops"]) == 2 for p in batch)
    with pytest.raises(ConfigError, match="no training problems"):
        ProblemSource("", str(tmp_path / "nothing"), seed=0)
