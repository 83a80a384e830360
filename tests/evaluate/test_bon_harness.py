"""The BoN harness: curves from stored candidates, config knobs that matter, the CLI end to end."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import yaml
from bon_records import store
from typer.testing import CliRunner

from prmkit.cli.main import app
from prmkit.config import RenamedSetting, load_config
from prmkit.errors import ConfigError
from prmkit.evaluate.bon import curves, summarize
from prmkit.evaluate.candidates import IDENTITY_FILE, ProblemCandidates, check_identity
from prmkit.evaluate.config import BonEvalConfig
from prmkit.evaluate.methods import CandidateArrays
from prmkit.generation.base import SamplingConfig
from prmkit.score import load_prm
from prmkit.search import best_index
from prmkit.synthetic.checker import truth_labels

#   candidate: (correct, answer cluster, step scores)
# q0: the correct answer has one weak step but a confident end; two wrong answers agree
# q1: only the last candidate is right, and it is uniformly decent
ROWS = [
    [
        (True, 0, [0.9, 0.3, 0.95]),
        (False, 1, [0.6, 0.6, 0.6]),
        (False, 1, [0.5, 0.5, 0.2]),
        (False, 2, [0.4, 0.4, 0.4]),
    ],
    [
        (False, 0, [0.9, 0.3, 0.95]),
        (False, 0, [0.6, 0.5, 0.9]),
        (False, -1, [0.1, 0.1, 0.1]),
        (True, 1, [0.65, 0.65, 0.7]),
    ],
]


def _run(records, **kw):
    cfg = BonEvalConfig(repeats=200, bootstrap=200, **kw)
    result = curves(CandidateArrays.build(records, cfg.aggregations), cfg)
    return cfg, result, summarize(result, cfg)


def test_methods_and_their_values_at_full_n():
    _, result, summary = _run(store(ROWS, greedy=[True, False]), aggregations=["min", "last"])
    assert list(summary) == ["greedy", "majority", "weighted_min", "prm_min", "prm_last", "orm", "pass@n"]
    full = {m: c["accuracy"][-1] for m, c in summary.items()}  # N = 4 uses every candidate: no randomness
    # min: q0 -> s1 (0.6, wrong), q1 -> s3 (0.65, right); last: q0 -> s0 (0.95, right), q1 -> s0 (wrong)
    assert full["prm_min"] == 0.5 and full["prm_last"] == 0.5
    assert result.picks["prm_min"][-1][:, 0].tolist() == [1, 3]
    assert result.picks["prm_last"][-1][:, 0].tolist() == [0, 0]
    assert full["majority"] == 0.0  # q0: cluster 1 (two votes); q1: cluster 0 (two votes)
    # weighted (min): q0 cluster 1 (0.6 + 0.2) beats 0.3 and 0.4; q1 cluster 0 (0.3 + 0.5) beats 0.65
    assert full["weighted_min"] == 0.0
    # the ORM's last-step scores are the first column here: q0 -> s0 (right), q1 -> s0 (wrong)
    assert full["orm"] == 0.5
    assert full["pass@n"] == 1.0 and full["greedy"] == 0.5
    for m, c in summary.items():
        assert all(lo <= a <= hi for a, lo, hi in zip(c["accuracy"], c["ci_low"], c["ci_high"])), m
        if m != "greedy":  # the greedy answer is not one of the candidates
            assert all(a <= p + 1e-12 for a, p in zip(c["accuracy"], summary["pass@n"]["accuracy"])), m


def test_the_aggregation_knobs_change_the_curves():
    records = store(ROWS)
    _, _, a = _run(records, aggregations=["min"], weighted_aggregation="min")
    _, _, b = _run(records, aggregations=["last"], weighted_aggregation="last")
    assert "prm_min" in a and "prm_last" not in a and "prm_last" in b
    assert a["prm_min"]["accuracy"] != b["prm_last"]["accuracy"]
    assert a["weighted_min"]["accuracy"] != b["weighted_last"]["accuracy"]


def test_curves_are_seeded_and_bon_at_full_n_is_the_argmax():
    records = store(ROWS)
    _, r1, s1 = _run(records, seed=3)
    _, _, s2 = _run(records, seed=3)
    assert s1 == s2
    arrays = CandidateArrays.build(records, ["product"])
    assert [best_index(list(row)) for row in arrays.scores["product"]] == r1.picks["prm_product"][-1][
        :, 0
    ].tolist()


def test_cli_end_to_end_on_the_synthetic_world_and_resume(tmp_path):
    from prmkit.generation.tiny import save_tiny_llama
    from prmkit.score.tiny import make_prmkit_prm

    policy, prm = save_tiny_llama(tmp_path / "policy"), make_prmkit_prm(tmp_path / "prm")
    run = tmp_path / "run"

    def args(limit: int = 3, *extra: str) -> list[str]:
        return ["eval", "bon", "--run-dir", str(run), "--generation.model", str(policy), "--generation.device", "cpu",
                "--sampling.n", "4", "--limit", str(limit), "--sampling.max-new-tokens", "12", "--prm", str(prm), "--repeats", "10",
                "--bootstrap", "50", "--likelihood", "policy", *extra]  # fmt: skip

    result = CliRunner().invoke(app, args())
    assert result.exit_code == 0, result.output
    assert "| BoN-PRM (min) |" in result.output and "| BoN-likelihood (min) |" in result.output
    folder = run / "bon"
    lines = (folder / "candidates.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(len(json.loads(x)["candidates"]) == 4 for x in lines)
    first = json.loads(lines[0])
    assert first["candidates"][0]["truth"]["source"] == "truth" and first["greedy"]["solution"][
        "id"
    ].endswith("-greedy")
    assert len(first["candidates"][0]["scores"]["prm"]) == len(first["candidates"][0]["solution"]["steps"])
    # Scores stay with their candidate and problem (batched, length-sorted scoring is not misaligned):
    # each stored score equals scoring that candidate alone, and the truth is that candidate's own.
    alone = load_prm(prm, device="cpu")
    likelihood = load_prm(policy, format="likelihood", device="cpu")  # the policy's own step probabilities
    for record in (ProblemCandidates.model_validate_json(x) for x in lines):
        for c in record.candidates:
            assert c.solution.problem_id == record.problem.id
            assert c.scores["prm"] == pytest.approx(alone.score([record.problem], [c.solution])[0], abs=1e-5)
            own = likelihood.score([record.problem], [c.solution])[0]
            assert c.scores["likelihood"] == pytest.approx(own, rel=1e-4)
            assert c.truth == truth_labels(record.problem, c.solution)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["data"]["ns"] == [1, 2, 4] and (folder / "accuracy_vs_n.png").stat().st_size > 10_000
    diagnostics = json.loads((run / "diagnostics" / "metrics.json").read_text())["summary"]
    assert "ranking_auroc_likelihood" in diagnostics  # NaN (null) here: too few problems mix right and wrong
    labelled = folder / "labeled.jsonl"  # every candidate with its exact step truth: ProcessBench-style data
    assert len(labelled.read_text().splitlines()) == 12
    pb = [
        "eval",
        "processbench",
        "--data",
        str(labelled),
        "--prm",
        str(prm),
        "--threshold",
        "0.5",
        "--run-dir",
        str(run),
    ]
    assert CliRunner().invoke(app, pb).exit_code == 0
    assert list(json.loads((run / "processbench" / "metrics.json").read_text())["data"]["subsets"]) == [
        "synthetic"
    ]

    more = CliRunner().invoke(app, args(4))  # one more problem: only it is sampled
    assert more.exit_code == 0, more.output
    now = (folder / "candidates.jsonl").read_text().splitlines()
    assert now[:3] == lines and len(now) == 4
    changed = CliRunner().invoke(app, args(4, "--sampling.temperature", "1.0"))
    assert changed.exit_code == 2 and "sampled with other settings (sampling.temperature: 0.7 -> 1.0)" in changed.output
    make_prmkit_prm(prm, seed=1)  # another PRM in the same folder: its stored scores are stale
    retrained = CliRunner().invoke(app, args(4))
    assert retrained.exit_code == 2 and "sampled with other settings (weights.prm:" in retrained.output


@pytest.mark.parametrize("bad", [{"aggregations": ["median"]}, {"ci_level": 1.0}, {"repeats": 0}])
def test_bad_configs_are_refused(bad):
    with pytest.raises(ValueError):
        BonEvalConfig(**bad)


def test_bad_sampling_is_refused_by_name():
    with pytest.raises(ConfigError, match="n and max_new_tokens must be >= 1"):
        load_config(BonEvalConfig, overrides={"sampling.n": 0})
    # the candidates are stored and resumed: unseeded sampling could never be reproduced
    with pytest.raises(ConfigError, match="sampling.seed must be set"):
        load_config(BonEvalConfig, overrides={"sampling.seed": None})


def test_sampling_defaults_are_the_harness_own_and_yaml_overrides_them_partly(tmp_path):
    assert BonEvalConfig().sampling == SamplingConfig(n=16, max_new_tokens=256, temperature=0.7, top_p=1.0, seed=0)
    path = tmp_path / "bon.yaml"
    path.write_text("sampling:\n  n: 4\n  stop: ['Question:']\n")
    assert load_config(BonEvalConfig, path).sampling == SamplingConfig(
        n=4, max_new_tokens=256, temperature=0.7, top_p=1.0, stop=["Question:"], seed=0
    )


OLD_YAML = "n_max: 4\ntemperature: 0.9\ntop_p: 0.95\nmax_new_tokens: 32\nsample_seed: 7\n"
NEW_SAMPLING = SamplingConfig(n=4, temperature=0.9, top_p=0.95, max_new_tokens=32, seed=7)


def test_old_sampling_names_in_yaml_warn_and_land_in_the_sampling_block(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text(OLD_YAML)
    with pytest.warns(RenamedSetting) as caught:
        cfg = load_config(BonEvalConfig, path)
    assert cfg.sampling == NEW_SAMPLING
    messages = {str(w.message) for w in caught}
    assert f"{path}: 'n_max' is now 'sampling.n'; the old name works until the next release" in messages
    assert any("'sample_seed' is now 'sampling.seed'" in m for m in messages)


def test_old_sampling_flags_warn_and_land_in_the_sampling_block(config_from_flags):
    flags = ["--n-max", "4", "--temperature", "0.9", "--top-p", "0.95", "--max-new-tokens", "32", "--sample-seed", "7"]
    cfg, messages = config_from_flags("prmkit.evaluate.bon.run_bon_eval", ["eval", "bon", *flags])
    assert cfg.sampling == NEW_SAMPLING
    assert "BonEvalConfig: 'n_max' is now 'sampling.n'" in messages


def test_a_store_saved_under_the_old_names_resumes_with_a_warning(tmp_path):
    cfg = BonEvalConfig(sampling=NEW_SAMPLING, greedy=False)
    identity = cfg.identity()
    old = {k: v for k, v in identity.items() if k != "sampling"}
    old.update(n_max=4, temperature=0.9, top_p=0.95, max_new_tokens=32, sample_seed=7)  # the previous release
    (tmp_path / IDENTITY_FILE).write_text(yaml.safe_dump(old))
    with pytest.warns(RenamedSetting) as caught:
        check_identity(tmp_path, identity, BonEvalConfig)  # the same settings: no refusal
    assert any("'n_max' is now 'sampling.n'" in str(w.message) for w in caught)
    other = BonEvalConfig(sampling=dataclasses.replace(NEW_SAMPLING, seed=8), greedy=False).identity()
    with pytest.warns(RenamedSetting), pytest.raises(ConfigError, match=r"\(sampling.seed: 7 -> 8\)"):
        check_identity(tmp_path, other, BonEvalConfig)


def test_pass_at_n_grows_with_n():
    rows = [[(bool(np.random.default_rng(p).random() < 0.3), 0, [0.5]) for _ in range(8)] for p in range(20)]
    _, _, summary = _run(store(rows))
    acc = summary["pass@n"]["accuracy"]
    assert acc == sorted(acc)
