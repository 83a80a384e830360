"""`prmkit rl grpo` and `prmkit rl ppo` end to end through the CLI, with the real rewards and a real PRM."""

from __future__ import annotations

import json

import pytest
import yaml
from rl_tiny import make_policy
from typer.testing import CliRunner

from prmkit.cli import rl
from prmkit.cli.options import new_app
from prmkit.config import RenamedSetting
from prmkit.score.tiny import make_prmkit_prm


@pytest.fixture(scope="module")
def app():
    app = new_app("test")
    rl.register(app)
    return app


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    return make_policy(tmp_path_factory.mktemp("cli") / "policy")


def _log(folder):
    return [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]


def test_grpo_from_a_yaml_recipe_with_flag_overrides(app, policy, tmp_path):
    recipe = tmp_path / "grpo.yaml"
    recipe.write_text(yaml.safe_dump({
        "policy": str(policy), "steps": 5, "batch_size": 2, "sampling": {"n": 2, "max_new_tokens": 12}, "lr": 1e-3,
        "rewards": [{"name": "format_length", "weight": 1.0, "options": {"variant": "code"}},
                    {"name": "correctness", "weight": 0.5}],
    }))  # fmt: skip
    out = tmp_path / "rl"
    result = CliRunner().invoke(
        app, ["rl", "grpo", "--config", str(recipe), "--output-dir", str(out), "--steps", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "trained 2 steps" in result.output
    records = _log(out)
    assert [r["step"] for r in records] == [1, 2]
    assert {"reward/format_length", "reward/correctness", "accuracy"} <= set(records[0])
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["rewards"][1] == {"name": "correctness", "weight": 0.5, "options": {}}
    # the recipe's sampling block over the command's defaults
    assert saved["sampling"] == {"n": 2, "max_new_tokens": 12, "temperature": 0.7, "top_p": 1.0, "stop": [], "seed": 0}


def test_step_ppo_with_a_prm_folder(app, policy, tmp_path):
    prm = make_prmkit_prm(tmp_path / "prm")
    out = tmp_path / "ppo"
    args = ["rl", "ppo", "--mode", "step", "--prm", str(prm), "--policy", str(policy), "--output-dir", str(out),
            "--steps", "2", "--batch-size", "2", "--sampling.max-new-tokens", "12", "--reward", "correctness",
            "--add-outcome"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    records = _log(out)
    assert records[0]["steps"] >= 1 and 0 <= records[0]["step_score"] <= 1
    assert (out / "value_head.pt").is_file() and (out / "policy" / "config.json").is_file()
    assert "step-by-step PPO" in json.loads((out / "metrics.json").read_text())["notes"][2]


def test_cli_errors_are_one_line(app, policy, tmp_path):
    result = CliRunner().invoke(
        app, ["rl", "ppo", "--mode", "step", "--policy", str(policy), "--output-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "mode step needs a PRM" in result.output
    result = CliRunner().invoke(
        app, ["rl", "grpo", "--policy", str(policy), "--output-dir", str(tmp_path), "--reward", "x:y:z,bad"]
    )
    assert result.exit_code == 2 and "key=value" in result.output


def test_old_sampling_flags_still_work_with_a_warning(app, policy, tmp_path):
    base = ["rl", "grpo", "--policy", str(policy), "--output-dir", str(tmp_path)]
    with pytest.warns(RenamedSetting, match="'group_size' is now 'sampling.n'"):
        result = CliRunner().invoke(app, [*base, "--group-size", "1"])
    assert result.exit_code == 2 and "sampling.n must be >= 2, got 1" in result.output  # read as sampling.n
    with pytest.warns(RenamedSetting, match="'temperature' is now 'sampling.temperature'"):
        result = CliRunner().invoke(app, [*base, "--temperature", "0"])
    assert result.exit_code == 2 and "sampling.temperature > 0" in result.output
    result = CliRunner().invoke(app, [*base, "--sampling.seed", "1", "--sampling.stop", "\n\n"])
    assert result.exit_code == 2 and "do not support stop strings" in result.output
