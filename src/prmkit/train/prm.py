"""PRM and ORM training: a causal-LM backbone with a head read only at the step ends the step-encoding
contract places (``prmkit.data.encoding``). The default recipe is the step-likelihood head
(``prmkit.score.adapters.likelihood``: the backbone's own log-probability of the step, calibrated, plus
a linear term) with the backbone trained, and a language-model loss on the steps labelled right
(``prm_trainer``); ``head: linear`` is a 2-logit token-classification head, the public PRMs' format.

One loss covers both label kinds: the cross-entropy between the head's softmax and the target
distribution ``[1 - y, y]``. For hard labels (y in {0, 1}) that is the usual cross-entropy; for soft
labels it equals binary cross-entropy of ``sigmoid(logit_1 - logit_0)`` against the MC probability y.
So a soft-trained PRM loads and scores exactly like a hard-trained one: P(correct) =
``softmax(logits, -1)[..., 1]`` (the likelihood head's one logit is placed as ``[0, logit]``).
``loss: mse`` instead fits that probability to y by squared error, as Lessons trained its soft-label
PRMs (with a scalar head there; the same head here).

The output folder is a standard Hugging Face model (``AutoModelForCausalLM`` with ``prm_head.*``
weights, or ``AutoModelForTokenClassification``), with the tokenizer, ``prmkit_prm.json`` (the step
contract), a model card (README.md), the resolved config, the final metrics, and ``checkpoints/`` for
resuming.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from prmkit.config import refuse_changed_settings, save_config, to_dict
from prmkit.data.records import LabeledSolution
from prmkit.errors import ConfigError, PrmkitError
from prmkit.grading.batch import final_correctness
from prmkit.locks import ExclusiveLock
from prmkit.score.adapters.likelihood import StepLikelihoodHead, separator_tokens
from prmkit.score.contract import PRMContract
from prmkit.score.prm import quiet_transformers
from prmkit.train.prm_card import write_model_card
from prmkit.train.prm_config import PRMTrainConfig
from prmkit.train.prm_data import IGNORE, build_dataset, split_by_problem, step_collator


def step_loss(
    logits: torch.Tensor, labels: torch.Tensor, num_items_in_batch: Any = None, kind: str = "cross-entropy"
) -> torch.Tensor:
    """Cross-entropy against ``[1 - y, y]`` (or the squared error of P(correct) against y, ``kind
    mse``) at labelled positions (see the module docstring).

    Summed and divided by ``num_items_in_batch`` (labelled steps in the whole accumulated batch) when
    the Trainer gives it, else averaged over this batch's labelled steps.
    """
    mask = labels != IGNORE
    if kind == "none":
        return logits.sum() * 0.0
    target = labels[mask].float()
    log_p = F.log_softmax(logits[mask].float(), dim=-1)
    if kind == "mse":
        loss = ((log_p[:, 1].exp() - target) ** 2).sum()
    else:
        loss = -(target * log_p[:, 1] + (1.0 - target) * log_p[:, 0]).sum()
    denom = num_items_in_batch if num_items_in_batch is not None else mask.sum().clamp(min=1)
    return loss / denom


def trainer_loss(kind: str) -> Callable[..., torch.Tensor]:
    """The Trainer's ``compute_loss_func`` for one loss kind."""

    def compute(outputs: Any, labels: torch.Tensor, num_items_in_batch: Any = None) -> torch.Tensor:
        return step_loss(outputs["logits"], labels.to(outputs["logits"].device), num_items_in_batch, kind)

    return compute


def _precision_flags(cfg: PRMTrainConfig, use_cuda: bool) -> dict[str, bool]:
    precision = cfg.precision
    if precision == "auto":
        precision = ("bfloat16" if torch.cuda.is_bf16_supported() else "float16") if use_cuda else "float32"
    if precision != "float32" and not use_cuda:
        raise ConfigError(f"precision {precision} needs a GPU; use float32 on cpu")
    return {"bf16": precision == "bfloat16", "fp16": precision == "float16"}


def load_backbone(cfg: PRMTrainConfig) -> tuple[Any, Any]:
    """The backbone with a fresh head (``cfg.head``), and its tokenizer (with a padding token)."""
    from transformers import AutoModelForCausalLM, AutoModelForTokenClassification, AutoTokenizer

    from prmkit.generation.base import resolve_model_path
    from prmkit.generation.hf import as_plain_weights

    if not cfg.model:
        raise ConfigError("no backbone given: pass --model DIR (a causal-LM folder or .gguf file)")
    folder, gguf_file = resolve_model_path(cfg.model, None)
    gguf = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        with quiet_transformers():  # the new head's "missing keys" report is expected, not news
            tokenizer = AutoTokenizer.from_pretrained(folder, **gguf)
            if cfg.head == "likelihood":
                model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, trust_remote_code=False, **gguf)
            else:
                model = AutoModelForTokenClassification.from_pretrained(
                    folder, num_labels=2, id2label={0: "incorrect", 1: "correct"}, label2id={"incorrect": 0, "correct": 1},
                    dtype=torch.float32, trust_remote_code=False, **gguf,
                )  # fmt: skip
    except (OSError, ValueError) as exc:
        raise PrmkitError(
            f"cannot load backbone {cfg.model!r}: {(str(exc).strip().splitlines() or [''])[0]}"
        ) from None
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise PrmkitError(f"the tokenizer of {cfg.model!r} has neither a padding nor an EOS token")
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    model = as_plain_weights(model)
    if cfg.freeze_backbone:  # everything but the head: the causal LM's own output layer included
        (model if cfg.head == "likelihood" else getattr(model, model.base_model_prefix)).requires_grad_(False)
    if cfg.head == "likelihood":
        model.prm_head = StepLikelihoodHead(model.config.hidden_size)
    return model, tokenizer


def output_embeddings(model: Any, backbone: str) -> torch.Tensor:
    """The backbone's LM output matrix (vocab, hidden): the input embeddings when tied (trained with
    the rest), else the causal LM's ``lm_head.weight`` read from the folder (kept fixed)."""
    if getattr(model.config, "tie_word_embeddings", False):
        return model.get_input_embeddings().weight
    from prmkit.generation.base import resolve_model_path
    from prmkit.score.prm import read_tensors

    folder, _ = resolve_model_path(backbone, None)
    return read_tensors(Path(folder), "lm_head.")["weight"].float()


def _with_lora(model: Any, cfg: PRMTrainConfig) -> Any:
    try:
        from peft import LoraConfig, TaskType, get_peft_model
    except ImportError:
        raise PrmkitError("--lora needs peft: pip install peft") from None
    targets: Any = (
        cfg.lora_target_modules[0] if cfg.lora_target_modules == ["all-linear"] else cfg.lora_target_modules
    )
    head, task = ("prm_head", TaskType.CAUSAL_LM) if cfg.head == "likelihood" else ("score", TaskType.TOKEN_CLS)
    lora = LoraConfig(
        task_type=task, r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
        target_modules=targets, exclude_modules=[head], modules_to_save=[head],  # the new head trains fully
    )  # fmt: skip
    return get_peft_model(model, lora)


# Settings a resumed run may change: how long it trains and how it logs and saves, not what it learns.
RESUMABLE_FIELDS = ("epochs", "max_steps", "eval_steps", "save_steps", "save_total_limit", "logging_steps", "resume")


def last_complete_checkpoint(folder: Path) -> str | None:
    """The newest checkpoint the Trainer finished writing: its ``trainer_state.json``, written last,
    parses. Newer ones a kill left half-written are removed, so training resumes from the state a
    finished step left, exactly as an uninterrupted run would have it."""
    if not folder.is_dir():
        return None
    numbered = [p for p in folder.glob("checkpoint-*") if p.name.rpartition("-")[2].isdigit()]
    for candidate in sorted(numbered, key=lambda p: int(p.name.rpartition("-")[2]), reverse=True):
        try:
            json.loads((candidate / "trainer_state.json").read_text(encoding="utf-8"))
            return str(candidate)
        except (OSError, ValueError):
            shutil.rmtree(candidate)
    return None


@dataclass
class TrainResult:
    output_dir: Path
    metrics: dict[str, float]
    train_examples: int
    eval_examples: int
    resumed_from: str | None = None  # the checkpoint training continued from
    main_process: bool = True  # False in the other processes of a torchrun / accelerate launch


def train_prm(
    examples: Sequence[LabeledSolution],
    cfg: PRMTrainConfig,
    eval_examples: Sequence[LabeledSolution] | None = None,
) -> TrainResult:
    """Train a PRM (or ORM, per ``cfg.objective``) and save it to ``cfg.output_dir``, which one run
    holds at a time (the first process of a distributed run takes the lock for all)."""
    try:
        if os.environ.get("RANK", "0") != "0":
            return _train_prm(examples, cfg, eval_examples)
        with ExclusiveLock(Path(cfg.output_dir) / "run"):
            return _train_prm(examples, cfg, eval_examples)
    except Exception as exc:  # safetensors reports a full disk as its own error type, not OSError
        if getattr(exc, "errno", None) != errno.ENOSPC and "No space left on device" not in str(exc):
            raise
        raise PrmkitError(
            f"{cfg.output_dir}: no space left on device while writing the model or a checkpoint; the complete "
            "checkpoints are kept: free space and run the same command to resume"
        ) from None


def _train_prm(
    examples: Sequence[LabeledSolution],
    cfg: PRMTrainConfig,
    eval_examples: Sequence[LabeledSolution] | None,
) -> TrainResult:
    from transformers import PrinterCallback, TrainingArguments, set_seed

    from prmkit.train.prm_metrics import held_out_metrics, probabilities_for_metrics
    from prmkit.train.prm_progress import RichProgress
    from prmkit.train.prm_trainer import PRMTrainer, calibrate_head

    set_seed(cfg.seed)
    if eval_examples is None:
        examples, eval_examples = split_by_problem(examples, cfg.eval_fraction, cfg.seed)
    model, tokenizer = load_backbone(cfg)
    fmt = cfg.step_format
    pairwise = cfg.pairwise_weight > 0
    train_set = build_dataset(
        examples, tokenizer, fmt, cfg.labels, cfg.objective, cfg.hard_threshold, cfg.drop_after_error,
        cfg.label_kind, cfg.progress_threshold, siblings=pairwise,
    )  # fmt: skip
    step_positions = cfg.head == "likelihood" or cfg.lm_weight > 0  # the head or the LM loss reads steps
    # Held-out data is scored against its stored hard labels on every step, as best-of-N reads a solution.
    eval_set = (
        build_dataset(eval_examples, tokenizer, fmt, "hard", "prm", drop_after_error=False)
        if eval_examples
        else None
    )
    if len(train_set) == 0:
        raise PrmkitError("no training example has a labelled step that fits max_length")
    likelihood_head = cfg.head == "likelihood"
    separator = separator_tokens(tokenizer, fmt)
    if likelihood_head:  # before LoRA wraps the head: its trainable copy starts calibrated
        calibrate_head(model, train_set, step_collator(tokenizer.pad_token_id, True), separator, cfg.batch_size)
    if cfg.lora:
        model = _with_lora(model, cfg)

    use_cuda = cfg.device != "cpu" and torch.cuda.is_available()
    if cfg.device == "cuda" and not use_cuda:
        raise ConfigError("device cuda was asked for, but torch sees no CUDA device")
    checkpoints = Path(cfg.output_dir) / "checkpoints"
    has_eval = eval_set is not None and len(eval_set) > 0
    final = final_correctness(eval_examples) if has_eval else []
    args = TrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_steps,
        lr_scheduler_type=cfg.scheduler,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        eval_strategy="steps" if has_eval and cfg.eval_steps > 0 else "no",
        eval_steps=cfg.eval_steps if cfg.eval_steps > 0 else None,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        logging_steps=cfg.logging_steps,
        train_sampling_strategy="group_by_length",
        activation_checkpointing=cfg.gradient_checkpointing,
        use_cpu=not use_cuda,
        seed=cfg.seed,
        data_seed=cfg.seed,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        disable_tqdm=True,
        report_to=[],
        **_precision_flags(cfg, use_cuda),
    )
    trainer = PRMTrainer(
        problems=[examples[i].problem.id for i in train_set.sources] if pairwise else None,
        pairwise_weight=cfg.pairwise_weight,
        lm_weight=cfg.lm_weight,
        lm_output=output_embeddings(model, cfg.model) if cfg.lm_weight > 0 and not likelihood_head else None,
        separator=separator if likelihood_head else None,
        objective=cfg.objective,
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_set if has_eval else None,
        data_collator=step_collator(tokenizer.pad_token_id, step_positions),
        compute_loss_func=trainer_loss(cfg.loss),
        compute_metrics=held_out_metrics(
            [eval_examples[i].problem.id for i in eval_set.sources],
            [final[i] for i in eval_set.sources],
        )
        if has_eval
        else None,
        preprocess_logits_for_metrics=probabilities_for_metrics,
        processing_class=tokenizer,
        callbacks=[RichProgress()],
    )
    trainer.remove_callback(PrinterCallback)
    # Under torchrun / accelerate launch every process runs this function; the first one alone
    # touches the output folder, and the others wait for it.
    with args.main_process_first(local=False, desc="checking the output folder"):
        last = last_complete_checkpoint(checkpoints) if cfg.resume else None  # the first removes torn ones
        if args.process_index == 0:
            if last is not None:
                refuse_changed_settings(cfg, Path(cfg.output_dir) / "train_config.yaml", RESUMABLE_FIELDS,
                                        "or pass --no-resume to start over")  # fmt: skip
            save_config(cfg, Path(cfg.output_dir) / "train_config.yaml")
    if cfg.max_steps != 0:
        try:
            trainer.train(resume_from_checkpoint=last)
        except pickle.UnpicklingError:  # torch.load(weights_only=True) refused it before anything ran
            raise PrmkitError(
                f"{last}: a checkpoint file (optimizer, scheduler or RNG state) holds a pickle that is not plain "
                "tensors, so it was not loaded; delete that checkpoint folder to resume from the one before, "
                "or pass --no-resume"
            ) from None
    # Evaluation gathers every process's share of the held-out set: the metrics cover all of it.
    metrics = {k: float(v) for k, v in trainer.evaluate().items()} if has_eval else {}

    final = trainer.model.merge_and_unload() if cfg.lora else trainer.model
    sizes = (len(train_set), len(eval_set) if eval_set is not None else 0)
    # Every process takes part in gathering the full weights (a collective under FSDP or DeepSpeed,
    # as in the Trainer's own save_model); the first one writes them.
    weights = trainer.accelerator.get_state_dict(final)
    if trainer.is_world_process_zero():
        result = save_prm(trainer.accelerator.unwrap_model(final), tokenizer, cfg, metrics, *sizes, weights)
    else:
        result = TrainResult(Path(cfg.output_dir), metrics, *sizes, main_process=False)
    trainer.accelerator.wait_for_everyone()
    result.resumed_from = last
    return result


def save_prm(
    model: Any,
    tokenizer: Any,
    cfg: PRMTrainConfig,
    metrics: dict[str, float],
    train_examples: int = 0,
    eval_examples: int = 0,
    weights: dict[str, Any] | None = None,
) -> TrainResult:
    """Write a PRM folder: weights (safetensors), tokenizer, contract, config, metrics and model card.
    ``weights`` is the full state dict where the model holds only a shard of it (FSDP)."""
    out = Path(cfg.output_dir)
    model.save_pretrained(out, safe_serialization=True, state_dict=weights)
    tokenizer.save_pretrained(out)
    contract = PRMContract(
        format="prmkit-likelihood" if cfg.head == "likelihood" else "prmkit",
        step_format=cfg.step_format, objective=cfg.objective, labels=cfg.labels,
    )  # fmt: skip
    contract.save(out)
    save_config(cfg, out / "train_config.yaml")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    write_model_card(
        out,
        to_dict(cfg),
        contract,
        metrics,
        train_examples,
        eval_examples,
        tokenizer.bos_token_id is not None,
    )
    return TrainResult(out, metrics, train_examples, eval_examples)


def init_prm(cfg: PRMTrainConfig) -> TrainResult:
    """Save the backbone with its fresh, untrained head as a PRM: the baseline a trained PRM must beat."""
    from transformers import set_seed

    set_seed(cfg.seed)
    model, tokenizer = load_backbone(cfg)
    return save_prm(model, tokenizer, cfg, {})
