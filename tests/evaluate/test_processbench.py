"""The ProcessBench metric on hand-built cases, the real data in predictions mode, PRM and critic modes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from prmkit.cli.main import app
from prmkit.data.jsonl import write_jsonl
from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels
from prmkit.errors import DataError
from prmkit.evaluate.critic import CriticVerdict, critique_prompt, parse_critique
from prmkit.evaluate.processbench import (
    ProcessBenchConfig,
    balanced_prefix,
    evaluate,
    load_examples,
    read_predictions,
    run_processbench,
)
from prmkit.generation import GenerationConfig
from prmkit.generation.base import SamplingConfig
from prmkit.metrics.processbench import (
    best_threshold,
    candidate_thresholds,
    f1_by_threshold,
    first_below,
    headline,
    subset_metrics,
    vote,
)

# (labels, predictions, acc_error, acc_correct, f1) with the arithmetic in the comment
CASES = [
    ([-1, -1, 2, 0], [-1, 1, 2, 1], 1 / 2, 1 / 2, 1 / 2),  # error: 2 hit, 0 missed; correct: 1 of 2
    (
        [1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
        [1, 1, 1, 0, -1] + [-1] * 9 + [3],
        3 / 5,
        9 / 10,
        0.72,
    ),  # 2*.6*.9/1.5
    ([0, 3, -1], [-1, -1, -1], 0.0, 1.0, 0.0),  # always "no error": F1 0
    ([0, 3, -1], [0, 3, 2], 1.0, 0.0, 0.0),  # never "no error": F1 0
    ([2, -1], [None, None], 0.0, 0.0, 0.0),  # unparsable answers are wrong in both groups (F1 0, not NaN)
    ([2, 2, -1, -1], [2, 1, -1, -1], 1 / 2, 1.0, 2 / 3),  # a late or early index is a miss: exact match only
]


@pytest.mark.parametrize(("labels", "preds", "acc_error", "acc_correct", "f1"), CASES)
def test_subset_metric_on_hand_built_cases(labels, preds, acc_error, acc_correct, f1):
    m = subset_metrics(labels, preds)
    assert (m["acc_error"], m["acc_correct"], m["f1"]) == pytest.approx((acc_error, acc_correct, f1))
    assert m["n_error"] + m["n_correct"] == len(labels)


def test_headline_is_the_simple_mean_of_subset_f1s_not_weighted():
    small = subset_metrics([0, -1], [0, -1])  # F1 1.0 on 2 samples
    large = subset_metrics([0] * 50 + [-1] * 50, [1] * 50 + [-1] * 50)  # F1 0.0 on 100 samples
    assert headline({"a": small, "b": large}) == pytest.approx(0.5)  # weighted would give 2/102
    # the paper's Qwen2.5-Math-PRM-7B row: (82.4 + 77.6 + 67.5 + 66.3) / 4 = 73.45
    assert headline({k: {"f1": v} for k, v in zip("abcd", (0.824, 0.776, 0.675, 0.663))}) == pytest.approx(
        0.7345
    )


def test_threshold_predictions_and_choice():
    assert first_below([0.9, 0.4, 0.8], 0.5) == 1
    assert first_below([0.9, 0.6], 0.5) == -1
    assert first_below([0.9, math.nan, 0.1], 0.5) == 1  # an unscored step is never silently correct
    scores = [[0.9, 0.2, 0.9], [0.95, 0.9], [0.3, 0.9], [0.8, 0.7]]
    labels = [1, -1, 0, -1]
    # any threshold in (0.3, 0.7] flags steps 1 and 0 of the erroneous ones and nothing else: F1 1
    t, f1 = best_threshold(scores, labels)
    assert 0.3 < t <= 0.7 and f1 == pytest.approx(1.0)
    thresholds = candidate_thresholds(scores)
    loop = [subset_metrics(labels, [first_below(s, float(th)) for s in scores])["f1"] for th in thresholds]
    assert f1_by_threshold(scores, labels, thresholds) == pytest.approx(np.array(loop))


@pytest.mark.parametrize(
    ("text", "num_steps", "expected"),
    [
        ("Paragraph 1 is wrong. \\boxed{1}", 3, 1),
        ("All fine, so \\boxed{-1}.", 3, -1),
        ("First I thought \\boxed{0}, but in fact \\boxed{2}", 3, 2),  # the last box is the answer
        ("\\boxed{ 2 }", 3, 2),
        ("The earliest error is in paragraph 2.", 3, None),  # no box: unparsable, not -1
        ("\\boxed{3}", 3, None),  # out of range for 3 steps
        ("\\boxed{-2}", 3, None),
        ("\\boxed{two}", 3, None),
        ("\\boxed{}", 3, None),
    ],
)
def test_parse_critique(text, num_steps, expected):
    assert parse_critique(text, num_steps) == expected


def test_critique_prompt_tags_paragraphs_from_zero():
    prompt = critique_prompt("What is 1+1?", ["1+1=3", "So \\boxed{3}."])
    assert "<paragraph_0>\n1+1=3\n</paragraph_0>\n\n<paragraph_1>\nSo \\boxed{3}.\n</paragraph_1>" in prompt
    assert "indexed from 0" in prompt and prompt.rstrip().endswith("in \\boxed{}.")
    assert "[Math Problem]\n\nWhat is 1+1?" in prompt


def test_vote_follows_processbench_majority_with_ties_to_the_first_answer():
    assert vote([2, 2, 1, None]) == 2
    assert vote([2, 1]) == 2 and vote([1, 2]) == 1  # Counter.most_common: first seen wins a tie
    assert vote([-1, 3], num_steps=5) == -1 and vote([3, -1], num_steps=5) == 3
    assert vote([-1, -1, 0]) == -1
    assert vote([None, None]) is None
    assert vote(["two", "two", 1]) is None  # boxed text votes too, and a non-index winner is unparsable
    assert vote([7, 7, 1], num_steps=5) is None  # so does an index out of range


def test_critic_verdict_votes_on_the_boxed_answers():
    outputs = ["\\boxed{1}", "no box", "\\boxed{0}", "\\boxed{ 0 }", "\\boxed{1}"]
    verdict = CriticVerdict.from_outputs(outputs, num_steps=3)
    assert verdict.parsed == [1, None, 0, 0, 1] and verdict.prediction == 1  # 2-2 tie: 1 came first


@pytest.fixture(scope="module")
def official():
    return load_examples(ProcessBenchConfig(predictions="unused"))


def test_official_data_counts(official):
    counts = {s: [0, 0] for s in ("gsm8k", "math", "olympiadbench", "omnimath")}
    for e in official:
        counts[e.subset][e.label == -1] += 1
    assert counts == {
        "gsm8k": [207, 193],
        "math": [594, 406],
        "olympiadbench": [661, 339],
        "omnimath": [759, 241],
    }


def test_a_limit_keeps_the_first_erroneous_and_correct_solutions_half_and_half(official):
    limited = load_examples(ProcessBenchConfig(predictions="unused", subsets=["gsm8k", "math"], limit=9))
    for subset in ("gsm8k", "math"):
        got = [e for e in limited if e.subset == subset]
        full = [e for e in official if e.subset == subset]
        wrong = [e.id for e in full if e.label >= 0][:5]
        right = [e.id for e in full if e.label == -1][:4]
        assert [e.id for e in got] == [e.id for e in full if e.id in {*wrong, *right}]  # file order
    assert balanced_prefix(official[:3], 10) == official[:3]  # fewer than the limit: all of them
    only_wrong = [e for e in official if e.label >= 0][:6]
    assert balanced_prefix(only_wrong, 4) == only_wrong[:4]  # one kind only: it fills the limit


def test_predictions_mode_on_the_official_data(tmp_path, official):
    path = tmp_path / "pred.jsonl"
    write_jsonl(path, [{"id": e.id, "prediction": e.label} for e in official])
    result = CliRunner().invoke(
        app, ["eval", "processbench", "--predictions", str(path), "--run-dir", str(tmp_path / "run")]
    )
    assert result.exit_code == 0, result.output
    assert (
        json.loads((tmp_path / "run" / "processbench" / "metrics.json").read_text())["summary"]["average_f1"]
        == 1.0
    )

    # The label on even ids of erroneous samples, one step late on odd ids; -1 on correct ones.
    def guess(e):
        return -1 if e.label == -1 else e.label + int(e.id.rsplit("-", 1)[1]) % 2

    data = evaluate(official, {e.id: guess(e) for e in official})
    for subset, m in data["subsets"].items():
        errs = [e for e in official if e.subset == subset and e.label != -1]
        acc = sum(int(e.id.rsplit("-", 1)[1]) % 2 == 0 for e in errs) / len(errs)
        assert m["acc_error"] == pytest.approx(acc) and m["acc_correct"] == 1.0
        assert m["f1"] == pytest.approx(2 * acc / (acc + 1))
    assert data["average_f1"] == pytest.approx(np.mean([m["f1"] for m in data["subsets"].values()]))


def test_predictions_must_cover_every_solution_and_be_integers(tmp_path, official):
    path = tmp_path / "p.jsonl"
    write_jsonl(path, [{"id": e.id, "prediction": -1} for e in official[1:]])
    with pytest.raises(DataError, match="no prediction for 1 of 3400"):
        read_predictions(path, official)
    write_jsonl(path, [{"id": official[0].id, "prediction": "2"}])
    with pytest.raises(DataError, match="prediction must be an integer or null"):
        read_predictions(path, official)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"prediction": 999}], "prediction 999 is not a step of"),
        ([{"prediction": -7}], "prediction -7 is not a step of"),
        ([{"prediction": 0}, {"prediction": -1}], r"p.jsonl:2: field 'id': duplicate prediction for"),
        ([{"id": "gsm8k-nope", "prediction": 0}], "no solution 'gsm8k-nope' in the data"),
    ],
)
def test_predictions_name_real_steps_of_real_solutions_once(tmp_path, official, rows, message):
    path = tmp_path / "p.jsonl"
    write_jsonl(path, [{"id": official[0].id, **row} for row in rows])
    with pytest.raises(DataError, match=message):
        read_predictions(path, official)


def _labelled_file(path, per_subset=6):
    """Synthetic-style labelled solutions in two subsets (sources), with first errors spread over steps."""
    rows = []
    for source in ("gsm8k", "math"):
        for i in range(per_subset):
            pid = f"{source}-{i}"
            steps = [f"Step {k + 1}: {i} + {k} = {i + k}" for k in range(3)] + [
                f"The answer is \\boxed{{{i + 2}}}."
            ]
            first = (i % 5) - 1  # -1, 0, 1, 2, 3
            rows.append(LabeledSolution(
                problem=Problem(id=pid, question=f"Add 0, 1 and 2 to {i}.", answer=str(i + 3), source=source),
                solution=Solution(id=f"{pid}/sol", problem_id=pid, steps=steps),
                labels=StepLabels.from_first_error(f"{pid}/sol", 4, first, source="truth"),
            ))  # fmt: skip
    write_jsonl(path, rows)
    return path


def test_prm_mode_reads_a_two_class_head_by_its_predicted_class(tmp_path):
    from prmkit.score.tiny import make_prmkit_prm

    data = _labelled_file(tmp_path / "pb.jsonl")
    prm = make_prmkit_prm(tmp_path / "prm")
    metrics = run_processbench(ProcessBenchConfig(prm=str(prm), data=str(data), run_dir=str(tmp_path / "run")))
    folder = tmp_path / "run" / "processbench"
    scores = [json.loads(line) for line in (folder / "scores.jsonl").read_text().splitlines()]
    assert metrics["summary"]["threshold"] == 0.5 and any("predicted class" in n for n in metrics["notes"])
    preds = {
        p["id"]: p["prediction"]
        for p in map(json.loads, (folder / "predictions.jsonl").read_text().splitlines())
    }
    assert all(preds[s["id"]] == first_below(s["step_scores"], 0.5) for s in scores)
    assert "in-sample" not in (folder / "table.md").read_text()
    fixed = run_processbench(
        ProcessBenchConfig(prm=str(prm), data=str(data), threshold=0.25, run_dir=str(tmp_path / "r2"))
    )
    assert fixed["summary"]["threshold"] == 0.25 and any("fixed threshold" in n for n in fixed["notes"])
    assert {"ProcessBench (prm mode)"} <= {t["title"] for t in fixed["tables"]}
    assert (folder / "f1.png").stat().st_size > 0 and "| average (simple mean of F1)" in (
        folder / "table.md"
    ).read_text()


@pytest.mark.parametrize("head", ["value-head", "tuned two-class"])
def test_prm_mode_tunes_a_scalar_head_on_gsm8k_and_marks_it_in_sample(tmp_path, head):
    from prmkit.score.tiny import make_prmkit_prm, make_value_head

    data = _labelled_file(tmp_path / "pb.jsonl")
    if head == "value-head":
        prm, tune = make_value_head(tmp_path / "prm"), False
    else:
        prm, tune = make_prmkit_prm(tmp_path / "prm"), True
    cfg = ProcessBenchConfig(prm=str(prm), data=str(data), run_dir=str(tmp_path / "run"), tune_threshold=tune)
    metrics = run_processbench(cfg)
    folder = tmp_path / "run" / "processbench"
    scores = [json.loads(line) for line in (folder / "scores.jsonl").read_text().splitlines()]
    gsm = [s for s in scores if s["subset"] == "gsm8k"]
    t, f1 = best_threshold([s["step_scores"] for s in gsm], [s["label"] for s in gsm])
    assert metrics["summary"]["threshold"] == pytest.approx(t)
    assert metrics["data"]["subsets"]["gsm8k"]["f1"] == pytest.approx(f1)
    assert any("chosen on gsm8k" in note and "in-sample" in note for note in metrics["notes"])
    assert "gsm8k (in-sample: threshold tuned here)" in (folder / "table.md").read_text()
    preds = {
        p["id"]: p["prediction"]
        for p in map(json.loads, (folder / "predictions.jsonl").read_text().splitlines())
    }
    assert all(preds[s["id"]] == first_below(s["step_scores"], t) for s in scores)


def test_critic_mode_records_unparsable_answers_never_minus_one(tmp_path):
    from prmkit.generation.tiny import save_tiny_llama

    model = save_tiny_llama(tmp_path / "critic")
    data = _labelled_file(tmp_path / "pb.jsonl", per_subset=2)
    cfg = ProcessBenchConfig(
        data=str(data),
        generation=GenerationConfig(model=str(model), device="cpu"),
        sampling=SamplingConfig(n=2, max_new_tokens=8),
        run_dir=str(tmp_path / "run"),
    )
    metrics = run_processbench(cfg)
    lines = [
        json.loads(x) for x in (tmp_path / "run" / "processbench" / "critic.jsonl").read_text().splitlines()
    ]
    assert len(lines) == 4 and all(len(x["outputs"]) == 2 for x in lines)
    assert all(x["prediction"] is None and x["unparsable"] == 2 for x in lines)  # random text has no \boxed{}
    assert sum(m["unparsable"] for m in metrics["data"]["subsets"].values()) == 4
    assert all(m["acc_correct"] == 0.0 for m in metrics["data"]["subsets"].values())  # None is not -1


def test_a_threshold_cannot_be_chosen_on_one_kind_of_solution():
    from prmkit.metrics.processbench import best_threshold

    threshold, f1 = best_threshold([[0.9, 0.2], [0.8, 0.1]], [1, 1])  # erroneous solutions only
    assert threshold == 0.5 and math.isnan(f1)  # never a fake -1


def test_the_likelihood_verifier_gets_a_tuned_threshold(tmp_path):
    from prmkit.generation.tiny import save_tiny_llama

    data = _labelled_file(tmp_path / "pb.jsonl", per_subset=5)
    policy = save_tiny_llama(tmp_path / "policy")
    cfg = ProcessBenchConfig(prm=str(policy), prm_format="likelihood", data=str(data), run_dir=str(tmp_path / "run"))
    metrics = run_processbench(cfg)
    assert any("chosen on gsm8k" in note for note in metrics["notes"])  # step probabilities are no classes


def test_the_critic_settings_default_to_processbench_and_one_mode_is_required():
    assert ProcessBenchConfig(predictions="p").sampling == SamplingConfig(
        n=8, max_new_tokens=4096, temperature=1.0, top_p=0.9, seed=0
    )
    with pytest.raises(ValueError, match=r"exactly one of --prm, --generation.model/--generation.base-url"):
        ProcessBenchConfig()
    with pytest.raises(ValueError, match=r"got \['prm', 'generation.model/base_url'\]"):
        ProcessBenchConfig(prm="prm", generation=GenerationConfig(model="critic"))
    assert ProcessBenchConfig(generation=GenerationConfig(base_url="http://x/v1")).mode == "critic"


OLD_CRITIC = {"critic_samples": 3, "critic_temperature": 0.5, "critic_top_p": 0.8, "critic_max_new_tokens": 64,
              "critic_seed": 2}  # fmt: skip
NEW_SAMPLING = SamplingConfig(n=3, temperature=0.5, top_p=0.8, max_new_tokens=64, seed=2)


def test_old_critic_names_in_yaml_warn_and_land_in_generation_and_sampling(tmp_path):
    from prmkit.config import RenamedSetting, load_config

    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump({"critic": {"backend": "openai", "model": "judge"}, **OLD_CRITIC}))
    with pytest.warns(RenamedSetting) as caught:
        cfg = load_config(ProcessBenchConfig, path)
    assert (cfg.mode, cfg.generation.backend, cfg.generation.model) == ("critic", "openai", "judge")
    assert cfg.sampling == NEW_SAMPLING
    messages = {str(w.message).split(";")[0] for w in caught}
    assert {f"{path}: 'critic' is now 'generation'", f"{path}: 'critic_samples' is now 'sampling.n'"} <= messages


def test_old_critic_flags_warn_and_land_in_generation_and_sampling(config_from_flags):
    flags = ["--critic.model", "judge", "--critic.base-url", "http://x/v1", "--critic-samples", "3",
             "--critic-temperature", "0.5", "--critic-top-p", "0.8", "--critic-max-new-tokens", "64",
             "--critic-seed", "2"]  # fmt: skip
    cfg, messages = config_from_flags("prmkit.evaluate.processbench.run_processbench", ["eval", "processbench", *flags])
    assert (cfg.mode, cfg.generation.model, cfg.generation.base_url) == ("critic", "judge", "http://x/v1")
    assert cfg.sampling == NEW_SAMPLING
    assert {"ProcessBenchConfig: 'critic' is now 'generation'", "ProcessBenchConfig: 'critic_samples' is now 'sampling.n'"} <= messages
