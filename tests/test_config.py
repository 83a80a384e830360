"""YAML -> dataclass configs: defaults < file < overrides, unknown keys and bad types refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest
from typer.testing import CliRunner

from prmkit.cli.options import config_command, new_app
from prmkit.config import from_dict, load_config, save_config
from prmkit.errors import ConfigError
from prmkit.registry import Registry


@dataclass
class Optim:
    lr: float = field(default=1e-3, metadata={"help": "learning rate"})
    warmup: int = field(default=10, metadata={"help": "warm-up steps"})


@dataclass
class Job:
    name: str = field(default="run", metadata={"help": "run name"})
    n: int = field(default=8, metadata={"help": "completions per step"})
    strategy: Literal["all", "first-error"] = field(default="all", metadata={"help": "which steps to label"})
    tags: list[str] = field(default_factory=list, metadata={"help": "free tags"})
    resume: bool = field(default=True, metadata={"help": "resume a killed run"})
    optim: Optim = field(default_factory=Optim)

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError("n must be >= 1 (set --n to a positive number)")


def test_defaults_file_then_overrides(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text("n: 4\noptim:\n  lr: 0.01\n")
    cfg = load_config(Job, path, {"optim.warmup": 3, "strategy": "first-error"})
    assert (cfg.n, cfg.optim.lr, cfg.optim.warmup, cfg.strategy, cfg.name) == (4, 0.01, 3, "first-error", "run")
    out = tmp_path / "resolved.yaml"
    save_config(cfg, out)
    assert load_config(Job, out) == cfg


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("nn: 4\n", r"unknown key\(s\) nn; valid keys: name, n, strategy"),  # typo
        ("optim:\n  lrr: 1\n", r"\[?.*optim: unknown key\(s\) lrr"),  # nested typo
        ("n: four\n", r"\.n: expected a number, got 'four'"),  # wrong type
        ("strategy: some\n", r"\.strategy: Input should be 'all' or 'first-error'"),  # not a choice
        ("n: 0\n", r"n must be >= 1"),  # __post_init__ check
        ("- 1\n- 2\n", r"top level must be a mapping"),
        ("n: [1\n", r"job\.yaml:\d+: invalid YAML"),
    ],
)
def test_bad_configs_are_refused_with_a_clear_message(tmp_path, yaml_text, message):
    path = tmp_path / "job.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_config(Job, path)


def test_config_command_builds_flags_from_fields(tmp_path):
    app = new_app("test")
    seen = []

    @config_command(app, "job", Job, help="Run a job.")
    def _job(cfg: Job) -> None:
        seen.append(cfg)

    @app.command("other")
    def _other() -> None:  # a second command keeps typer in multi-command mode
        pass

    path = tmp_path / "job.yaml"
    path.write_text("n: 4\nname: from-file\n")
    runner = CliRunner()
    result = runner.invoke(app, ["job", "--config", str(path), "--n", "6", "--optim.lr", "0.5", "--no-resume", "--tags", "a", "--tags", "b"])
    assert result.exit_code == 0, result.output
    assert seen[-1] == Job(name="from-file", n=6, tags=["a", "b"], resume=False, optim=Optim(lr=0.5))
    help_text = runner.invoke(app, ["job", "--help"]).output
    assert "completions per step" in help_text and "--optim.warmup" in help_text
    bad = runner.invoke(app, ["job", "--n", "0"])
    assert bad.exit_code == 2 and "n must be >= 1" in bad.output and "Traceback" not in bad.output
    bad = runner.invoke(app, ["job", "--strategy", "nope"])
    assert bad.exit_code == 2 and "'all' or 'first-error'" in bad.output


def test_registry_refuses_rebinding_and_lists_known_names(monkeypatch):
    reg: Registry = Registry("aggregation")
    reg.register("min")(min)
    reg.register("min")(min)  # re-registering the same object is harmless
    with pytest.raises(ValueError, match="already registered"):
        reg.register("min")(max)
    assert reg.get("min") is min
    with pytest.raises(ConfigError, match="unknown aggregation 'mean'; known: min"):
        reg.get("mean")
    monkeypatch.delenv("PRMKIT_ALLOW_IMPORTS", raising=False)
    with pytest.raises(ConfigError, match="only when you opt in with PRMKIT_ALLOW_IMPORTS=1"):
        reg.get("os:system")  # a name from a config file never reaches code unasked
    monkeypatch.setenv("PRMKIT_ALLOW_IMPORTS", "1")
    assert reg.get("statistics:fmean").__name__ == "fmean"  # the dotted-path escape hatch, opted into
    with pytest.raises(ConfigError, match="cannot import"):
        reg.get("statistics:nope")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "finite number"),  # nan < 0 is false: it would pass every range check
        (float("inf"), "finite number"),
        (True, "expected a number, got True"),  # YAML `n: true`
        ("8", "expected a number, got '8'"),
    ],
)
def test_numbers_are_finite_and_never_coerced_from_bools_or_strings(value, message):
    from prmkit.annotate.mc import MCConfig

    with pytest.raises(ConfigError, match=message):
        from_dict(MCConfig, {"sampling": {"temperature" if isinstance(value, float) else "n": value}}, "run.yaml")


# --- renamed settings: the old name works for one release, with a warning naming both -------------


def test_an_old_setting_name_is_read_as_the_new_one_with_a_warning(tmp_path):
    from prmkit.config import RenamedSetting
    from prmkit.synthetic.config import MakeConfig

    yaml_file = tmp_path / "make.yaml"
    yaml_file.write_text("n: 7\nworld:\n  max_ops: 2\n")
    with pytest.warns(RenamedSetting, match=r"make.yaml: 'n' is now 'count'"):
        cfg = load_config(MakeConfig, yaml_file)
    assert cfg.count == 7 and cfg.world.max_ops == 2
    with pytest.warns(RenamedSetting):
        assert load_config(MakeConfig, None, {"n": 3}).count == 3


def test_an_old_flag_still_works_and_says_what_replaced_it(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "p.jsonl"
    cmd = [sys.executable, "-m", "prmkit.cli.main", "synthetic", "make", "--n", "3", "-o", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    assert len(out.read_text().splitlines()) == 3
    assert "warning: MakeConfig: 'n' is now 'count'" in done.stderr
    assert json.loads(out.read_text().splitlines()[0])["id"] == "synth-0-0"
    shown = subprocess.run([*cmd[:5], "--help"], capture_output=True, text=True, check=True).stdout
    assert "--count" in shown and "--n " not in shown  # the old flag is unlisted


def test_settings_that_moved_into_a_block_keep_working_from_yaml_and_flags(tmp_path):
    from typer.testing import CliRunner

    from prmkit.annotate.mc import MCConfig
    from prmkit.cli.main import app
    from prmkit.config import RenamedSetting
    from prmkit.quickstart.config import QuickstartConfig

    old = tmp_path / "mc.yaml"
    old.write_text("backend: synthetic-solver\nmodel: slip_rate=0.1\nn: 3\nsampling:\n  temperature: 0.5\n")
    with pytest.warns(RenamedSetting) as caught:
        cfg = load_config(MCConfig, old)
    assert "mc.yaml: 'n' is now 'sampling.n'" in " ".join(str(w.message) for w in caught)
    assert (cfg.generation.backend, cfg.generation.model) == ("synthetic-solver", "slip_rate=0.1")
    assert (cfg.sampling.n, cfg.sampling.temperature, cfg.sampling.max_new_tokens) == (3, 0.5, 512)
    assert load_config(MCConfig).sampling.n == 8  # a block starts from its command's defaults, not the class's
    # a renamed block, and its settings as flags
    with pytest.warns(RenamedSetting) as caught:
        quick = load_config(QuickstartConfig, None, {"generator.model": "m", "n_max": 8})
    assert "'generator' is now 'generation'" in " ".join(str(w.message) for w in caught)
    assert (quick.generation.model, quick.n) == ("m", 8)
    problems = tmp_path / "p.jsonl"
    CliRunner().invoke(app, ["synthetic", "make", "--count", "2", "-o", str(problems)])
    old_flags = ["--backend", "synthetic-solver", "--n", "2", "--no-progress"]
    with pytest.warns(RenamedSetting) as caught:
        result = CliRunner().invoke(app, ["generate", str(problems), "-o", str(tmp_path / "s.jsonl"), *old_flags])
    assert "'backend' is now 'generation.backend'" in " ".join(str(w.message) for w in caught)
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 4


def test_a_resume_names_each_changed_nested_setting_and_lets_free_ones_change(tmp_path):
    from prmkit.config import refuse_changed_settings

    saved = tmp_path / "run.config.yaml"
    save_config(Job(name="a", optim=Optim(lr=0.1, warmup=10)), saved)
    refuse_changed_settings(Job(name="a", optim=Optim(lr=0.1, warmup=20)), saved, {"optim.warmup"})
    with pytest.raises(ConfigError, match=r"other settings \(optim\.lr\)"):
        refuse_changed_settings(Job(name="a", optim=Optim(lr=0.2, warmup=20)), saved, {"optim.warmup"})
