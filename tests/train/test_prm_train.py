"""PRM/ORM training end to end on a tiny backbone: hard and soft labels learn what they should, the
output is a standard Hugging Face folder, checkpoints resume, LoRA merges, and the CLI works."""

from __future__ import annotations

import json
import random

import pytest
import torch
from prm_cases import paired_rule_data, rule_data
from safetensors import safe_open
from transformers import AutoModelForTokenClassification, LlamaForCausalLM
from typer.testing import CliRunner

from prmkit.cli.options import new_app
from prmkit.config import RenamedSetting, load_config
from prmkit.data.jsonl import write_jsonl
from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels
from prmkit.errors import ConfigError
from prmkit.grading.batch import final_correctness
from prmkit.metrics.steps import ranking_auroc, solution_step_metrics
from prmkit.score import CONTRACT_FILE, PRMContract, load_prm, tiny
from prmkit.train.prm import _precision_flags, init_prm, train_prm
from prmkit.train.prm_config import PRMTrainConfig


def _cfg(backbone, tmp_path, name, **kw) -> PRMTrainConfig:
    base = {
        "model": backbone,
        "output_dir": str(tmp_path / name),
        "batch_size": 16,
        "lr": 3e-3,
        "eval_steps": 0,
        "save_steps": 1000,
        "logging_steps": 1000,
        "drop_after_error": False,  # rule_data labels every step on its own
        "head": "linear",  # the token-classification head, unless a test asks for the default recipe
        "lm_weight": 0.0,
    }
    return PRMTrainConfig(**{**base, **kw})


def test_the_default_recipe_learns_what_its_labels_say(backbone, tmp_path):
    """``train prm``'s defaults (the likelihood head, the backbone trained with the LM loss on the
    steps labelled right) learn the rule from hard labels: subtraction steps are read as wrong."""
    defaults = PRMTrainConfig()
    assert (defaults.head, defaults.freeze_backbone, defaults.lm_weight) == ("likelihood", False, 0.1)
    train, test = rule_data(600, "train"), rule_data(60, "test")
    # 200 steps: at 100 the rule was half learnt, and 1 data order in 5 missed the bound (either sampler)
    cfg = _cfg(backbone, tmp_path, "default", max_steps=200, head=defaults.head, lm_weight=defaults.lm_weight)
    scores, minus, plus = _by_kind(load_prm(train_prm(train, cfg).output_dir), test)
    assert minus < 0.5 < plus  # on average each kind on its side of the decision
    assert solution_step_metrics(scores, [e.labels.hard for e in test])["step_f1"] > 0.95


def _by_kind(prm, examples):
    scores = prm.score([e.problem for e in examples], [e.solution for e in examples])
    minus = [s for e, row in zip(examples, scores) for step, s in zip(e.solution.steps, row) if " - " in step]
    plus = [
        s for e, row in zip(examples, scores) for step, s in zip(e.solution.steps, row) if " - " not in step
    ]
    return scores, sum(minus) / len(minus), sum(plus) / len(plus)


def test_hard_and_soft_training_learn_what_their_labels_say(backbone, tmp_path):
    train, test = rule_data(600, "train"), rule_data(60, "test")
    truth = [e.labels.hard for e in test]
    untrained = load_prm(init_prm(_cfg(backbone, tmp_path, "untrained")).output_dir)
    base_f1 = solution_step_metrics(_by_kind(untrained, test)[0], truth)["step_f1"]

    hard = train_prm(train, _cfg(backbone, tmp_path, "hard", max_steps=100, eval_steps=50), test[:20])
    assert "eval_step_f1" in hard.metrics and "eval_ranking_auroc" in hard.metrics  # measured in training
    scores, minus, plus = _by_kind(load_prm(hard.output_dir), test)
    assert solution_step_metrics(scores, truth)["step_f1"] > max(0.95, base_f1)
    assert minus < 0.05 and plus > 0.95  # hard labels: confident

    soft = train_prm(train, _cfg(backbone, tmp_path, "soft", labels="soft", max_steps=100), test[:20])
    scores, minus, plus = _by_kind(load_prm(soft.output_dir), test)
    assert minus == pytest.approx(0.1, abs=0.05) and plus == pytest.approx(
        0.9, abs=0.05
    )  # calibrated, not cast
    assert solution_step_metrics(scores, truth)["step_f1"] > 0.95
    assert PRMContract.load(soft.output_dir).labels == "soft"


def test_output_folder_is_standard_and_checkpoints_resume(backbone, tmp_path):
    train = rule_data(40, "train")
    cfg = _cfg(
        backbone, tmp_path, "orm", objective="orm", max_steps=4, save_steps=2, batch_size=4, eval_fraction=0.2
    )
    first = train_prm(train, cfg)
    assert first.resumed_from is None and first.eval_examples > 0
    folder = first.output_dir
    assert {
        "model.safetensors",
        "config.json",
        CONTRACT_FILE,
        "README.md",
        "train_config.yaml",
        "metrics.json",
    } <= {p.name for p in folder.iterdir()}
    model = AutoModelForTokenClassification.from_pretrained(folder)  # no prmkit needed
    assert model.config.num_labels == 2 and model.config.id2label[1] == "correct"
    assert next(model.parameters()).dtype == torch.float32  # fp32 on CPU
    contract = json.loads((folder / CONTRACT_FILE).read_text())
    assert contract["objective"] == "orm" and contract["step_format"]["separator"] == "\n\n"
    assert "softmax" in contract["score"]
    card = (folder / "README.md").read_text()
    assert "step_f1" in card
    recipe = card.split("## Use it without prmkit")[1].split("```python")[1].split("```")[0]
    scope: dict = {}
    exec(recipe, scope)  # noqa: S102  (the card's own recipe, run without prmkit, gives prmkit's scores)
    want = load_prm(folder).score([scope["question"]], [scope["steps"]])[0]
    assert scope["probs"].tolist() == pytest.approx(want, abs=1e-5)

    cfg.max_steps = 6
    second = train_prm(train, cfg)
    assert second.resumed_from is not None and second.resumed_from.endswith("checkpoint-4")
    state = json.loads((folder / "checkpoints" / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6


@pytest.mark.parametrize("head", ["linear", "likelihood"])
def test_lora_is_merged_into_a_plain_model(backbone, tmp_path, head):
    """LoRA trains adapters plus the whole head and merges them: the saved folder has no adapter
    weights, the head is trained, and the merged model scores as the trained one did."""
    result = train_prm(
        rule_data(32, "train"),
        _cfg(backbone, tmp_path, "lora", lora=True, lora_r=4, max_steps=3, batch_size=8, eval_fraction=0.0,
             head=head, lm_weight=1.0),
    )  # fmt: skip
    with safe_open(str(result.output_dir / "model.safetensors"), framework="pt") as fh:
        keys = list(fh.keys())
        assert not any("lora" in k for k in keys)
        if head == "linear":
            assert "score.weight" in keys
        else:
            assert fh.get_tensor("prm_head.linear.weight").abs().sum() > 0  # the head trained through LoRA
    assert len(load_prm(result.output_dir).score(["q"], [["a", "b"]])[0]) == 2


def test_half_precision_needs_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("has a GPU")
    assert _precision_flags(PRMTrainConfig(), use_cuda=False) == {"bf16": False, "fp16": False}
    with pytest.raises(ConfigError, match="precision bfloat16 needs a GPU"):
        _precision_flags(PRMTrainConfig(precision="bfloat16"), use_cuda=False)


def test_precision_is_spelled_as_torch_dtypes_and_the_old_names_warn():
    assert _precision_flags(PRMTrainConfig(precision="float32"), use_cuda=False) == {"bf16": False, "fp16": False}
    assert _precision_flags(PRMTrainConfig(precision="float16"), use_cuda=True) == {"bf16": False, "fp16": True}
    for old, new in (("bf16", "bfloat16"), ("fp16", "float16"), ("fp32", "float32")):
        with pytest.warns(RenamedSetting, match=f"precision '{old}' is now '{new}'; the old name works until"):
            assert load_config(PRMTrainConfig, overrides={"precision": old}).precision == new
    with pytest.raises(ConfigError, match="precision must be one of auto, float32, bfloat16, float16, got 'half'"):
        load_config(PRMTrainConfig, overrides={"precision": "half"})


def test_cli_trains_prm_and_orm(backbone, tmp_path):
    from prmkit.cli import train_prm as train_cli

    app, train_app = new_app("prmkit"), new_app("train")
    train_cli.register(train_app)
    app.add_typer(train_app, name="train")
    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, rule_data(24, "cli"))
    runner = CliRunner()
    common = [
        "--data",
        str(data),
        "--model",
        backbone,
        "--max-steps",
        "2",
        "--batch-size",
        "4",
        "--eval-fraction",
        "0.25",
    ]
    for command in ("prm", "orm"):
        result = runner.invoke(app, ["train", command, *common, "--output-dir", str(tmp_path / command)])
        assert result.exit_code == 0, result.output
        assert PRMContract.load(tmp_path / command).objective == command
    result = runner.invoke(app, ["train", "prm", *common, "--labels", "soft", "--objective", "orm"])
    assert result.exit_code == 2 and "does not apply" in result.output


def test_trains_from_public_formats(backbone, tmp_path, data_dir):
    """Math-Shepherd's released format (the shared sample) and TRL stepwise files go straight in."""
    from prmkit.data.formats import write_records
    from prmkit.train.prm_data import load_labelled

    shepherd = load_labelled(
        str(data_dir / "math_shepherd_sample" / "samples_math-shepherd.jsonl"), "math-shepherd"
    )
    assert len(shepherd) == 7
    result = train_prm(shepherd, _cfg(backbone, tmp_path, "ms", max_steps=1, batch_size=4, eval_fraction=0.3))
    assert result.train_examples + result.eval_examples == 7

    trl = tmp_path / "stepwise.jsonl"
    write_records(rule_data(12, "trl"), trl, "trl-stepwise")
    stepwise = load_labelled(str(trl), "trl-stepwise")
    assert [e.labels.soft for e in stepwise] == [e.labels.soft for e in rule_data(12, "trl")]  # floats kept
    soft = train_prm(stepwise, _cfg(backbone, tmp_path, "trl", labels="soft", max_steps=1, batch_size=4))
    assert soft.train_examples > 0


def test_the_held_out_ranking_auroc_pairs_each_solution_with_its_own_problem(backbone, tmp_path):
    held = paired_rule_data(40, "paired")
    cfg = _cfg(backbone, tmp_path, "rank", max_steps=5, batch_size=4)  # several held-out batches
    result = train_prm(rule_data(40, "train"), cfg, held)
    prm = load_prm(result.output_dir, device="cpu")
    least = [min(row) for row in prm.score([r.problem for r in held], [r.solution for r in held])]
    expected = ranking_auroc([r.problem.id for r in held], final_correctness(held), least)
    assert result.metrics["eval_ranking_auroc"] == pytest.approx(expected, abs=1e-6)


def test_zero_steps_saves_and_evaluates_the_untrained_baseline(backbone, tmp_path):
    train, test = rule_data(20, "train"), rule_data(10, "test")
    zero = train_prm(train, _cfg(backbone, tmp_path, "zero", max_steps=0), test)
    assert "eval_step_f1" in zero.metrics and "eval_step_auroc" in zero.metrics
    fresh = init_prm(_cfg(backbone, tmp_path, "fresh")).output_dir
    with safe_open(str(zero.output_dir / "model.safetensors"), "pt") as a, safe_open(
        str(fresh / "model.safetensors"), "pt"
    ) as b:
        assert set(a.keys()) == set(b.keys())
        assert all(torch.equal(a.get_tensor(k), b.get_tensor(k)) for k in a.keys())  # noqa: SIM118


def test_an_untrained_likelihood_head_is_calibrated(backbone, tmp_path):
    """``--head likelihood --max-steps 0`` (the untrained baseline) fits the head's scale and bias to
    the training targets: its probabilities straddle 0.5 the way the labels do, rather than reading
    every step as wrong (raw summed log-probabilities, far below 0)."""
    train, test = rule_data(200, "train"), rule_data(40, "test")
    zero = train_prm(train, _cfg(backbone, tmp_path, "zero", head="likelihood", max_steps=0), test)
    with safe_open(str(zero.output_dir / "model.safetensors"), "pt") as fh:
        scale, bias = fh.get_tensor("prm_head.scale").item(), fh.get_tensor("prm_head.linear.bias").item()
    assert (scale, bias) != (1.0, 0.0)
    scores = [s for row in load_prm(zero.output_dir).score([e.problem for e in test], [e.solution for e in test]) for s in row]
    right = sum(v for e in train for v in e.labels.hard) / sum(len(e.labels.hard) for e in train)
    assert sum(scores) / len(scores) == pytest.approx(right, abs=0.1)  # calibrated to the share of right steps


def sibling_data(n: int, seed: str) -> list[LabeledSolution]:
    """Per problem two solutions that agree up to step k and part there: an addition (MC value 0.9)
    against a subtraction (0.1), the rule the tiny backbone can learn."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        question, steps = tiny.sample_problem(rng, num_steps=3)
        k = rng.randrange(3)
        good, bad = f"Step {k + 1}: {i} + 7 = {i + 7}", f"Step {k + 1}: {i} - 7 = {i - 7}"
        for tag, step, value in (("good", good, 0.9), ("bad", bad, 0.1)):
            sid, pid = f"{seed}-{i}/{tag}", f"{seed}-{i}"
            labels = StepLabels(solution_id=sid, num_steps=k + 1, first_error=-1, hard=[1] * (k + 1),
                                soft=[0.95] * k + [value], source="mc")  # fmt: skip
            out.append(LabeledSolution(
                problem=Problem(id=pid, question=question, answer="0"),
                solution=Solution(id=sid, problem_id=pid, steps=[*steps[:k], step]),
                labels=labels,
            ))  # fmt: skip
    return out


def test_the_sibling_ranking_loss_alone_learns_to_rank_siblings(backbone, tmp_path):
    test = sibling_data(40, "test")

    def ranked(prm_dir) -> float:
        scores = load_prm(prm_dir).score([e.problem for e in test], [e.solution for e in test])
        return sum(good[-1] > bad[-1] for good, bad in zip(scores[::2], scores[1::2])) / (len(test) // 2)

    untrained = ranked(init_prm(_cfg(backbone, tmp_path, "untrained")).output_dir)
    cfg = _cfg(backbone, tmp_path, "pairs", loss="none", pairwise_weight=1.0, max_steps=60, eval_fraction=0.0)
    result = train_prm(sibling_data(300, "train"), cfg)
    assert ranked(result.output_dir) > max(0.9, untrained)
    with pytest.raises(ValueError, match="pairwise_weight"):
        _cfg(backbone, tmp_path, "x", loss="none")


@pytest.mark.parametrize("head", ["linear", "likelihood"])
def test_the_lm_loss_is_the_causal_lm_s_own_loss_on_the_steps_labelled_right(backbone, tmp_path, head):
    """The added term is the backbone's own causal-LM loss with every token masked out except those of
    the steps labelled right (rule_data: a subtraction step is wrong), summed and divided by the
    labelled steps, for both heads."""
    from transformers import TrainingArguments

    from prmkit.data.encoding import encode_steps
    from prmkit.score.adapters.likelihood import separator_tokens
    from prmkit.train.prm import load_backbone, output_embeddings, trainer_loss
    from prmkit.train.prm_data import build_dataset, step_collator
    from prmkit.train.prm_trainer import PRMTrainer

    cfg = _cfg(backbone, tmp_path, "aux", lm_weight=1.0, head=head)
    model, tokenizer = load_backbone(cfg)
    examples = rule_data(4, "aux")
    assert any(0 in e.labels.hard for e in examples) and any(1 in e.labels.hard for e in examples)
    data = build_dataset(examples, tokenizer, cfg.step_format, drop_after_error=False)
    batch = step_collator(tokenizer.pad_token_id, step_positions=True)([data[i] for i in range(4)])
    args = TrainingArguments(output_dir=str(tmp_path / "args"), use_cpu=True, report_to=[])
    separator = separator_tokens(tokenizer, cfg.step_format) if head == "likelihood" else None
    embeddings = output_embeddings(model, backbone) if head == "linear" else None

    def loss(lm_weight: float) -> float:
        trainer = PRMTrainer(lm_weight=lm_weight, lm_output=embeddings, separator=separator, model=model,
                             args=args, compute_loss_func=trainer_loss("cross-entropy"))  # fmt: skip
        return trainer.compute_loss(model, dict(batch)).item()

    # The expected mask, built by hand from the encoding: a right step's tokens, separator included.
    labels = torch.full_like(batch["input_ids"], -100)
    for row, example in enumerate(examples):
        enc = encode_steps(tokenizer, example.problem.question, example.solution.steps, cfg.step_format)
        for start, end, hard in zip(enc.step_starts, enc.step_ends, example.labels.hard):
            if hard:
                labels[row, start : end + 1] = batch["input_ids"][row, start : end + 1]
    model.train()
    with torch.no_grad():
        added = loss(1.0) - loss(0.0)
        lm = LlamaForCausalLM.from_pretrained(backbone)
        mean = lm(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels).loss.item()
    # -log P of the right steps' tokens, per labelled step (the step loss's own denominator)
    total = mean * (labels[:, 1:] != -100).sum().item()
    assert added == pytest.approx(total / (batch["labels"] != -100).sum().item(), rel=1e-4)


def test_the_orm_lm_loss_covers_outcome_correct_solutions_only():
    """An ORM's LM loss trains on every step of a solution whose final answer is right (its one
    target, on the last step), and on nothing of a wrong one."""
    from prmkit.data.encoding import StepBatch
    from prmkit.train.prm_trainer import right_step_tokens

    ids = torch.zeros(2, 9, dtype=torch.long)
    batch = StepBatch(ids, torch.ones_like(ids), torch.tensor([[3, 6], [4, -1]]), None, torch.tensor([[1, 4], [2, -1]]))
    labels = torch.full((2, 9), -100.0)
    labels[0, 6], labels[1, 4] = 1.0, 0.0  # the first solution's answer is right, the second's wrong
    assert right_step_tokens(batch, labels, "orm").int().tolist() == [[0, 1, 1, 1, 1, 1, 1, 0, 0], [0] * 9]
    labels[0, 3] = 0.0  # as a PRM: step 0 of the first solution labelled wrong, step 1 right
    assert right_step_tokens(batch, labels, "prm").int().tolist() == [[0, 0, 0, 0, 1, 1, 1, 0, 0], [0] * 9]


def test_likelihood_head_learns_and_a_frozen_backbone_stays_as_loaded(backbone, tmp_path):
    """The step-likelihood head learns the rule like the linear head; with the backbone frozen only
    prm_head.* changes, and the card's recipe (no prmkit) gives prmkit's scores."""
    from safetensors.torch import load_file

    train, test = rule_data(600, "train"), rule_data(60, "test")
    full = train_prm(train, _cfg(backbone, tmp_path, "full", head="likelihood", max_steps=200), test[:20])
    _, minus, plus = _by_kind(load_prm(full.output_dir), test)
    assert minus < 0.1 and plus > 0.9
    assert PRMContract.load(full.output_dir).format == "prmkit-likelihood"

    frozen = train_prm(
        train, _cfg(backbone, tmp_path, "frozen", head="likelihood", freeze_backbone=True, max_steps=20), test[:20]
    )
    before = load_file(f"{backbone}/model.safetensors")
    after = load_file(str(frozen.output_dir / "model.safetensors"))
    assert {k for k in after if k.startswith("prm_head.")} == {"prm_head.linear.weight", "prm_head.linear.bias", "prm_head.scale"}
    assert all(torch.equal(after[k], v) for k, v in before.items())
    assert not torch.all(after["prm_head.linear.weight"] == 0)  # the head trained

    card = (frozen.output_dir / "README.md").read_text()
    assert "pipeline_tag: text-generation" in card
    recipe = card.split("## Use it without prmkit")[1].split("```python")[1].split("```")[0]
    scope: dict = {}
    exec(recipe, scope)  # noqa: S102  (the card's own recipe, run without prmkit, gives prmkit's scores)
    want = load_prm(frozen.output_dir).score([scope["question"]], [scope["steps"]])[0]
    assert scope["probs"].tolist() == pytest.approx(want, abs=1e-5)
