"""The RL loop every trainer shares: rollout -> rewards -> updates -> log -> checkpoint.

An ``Algorithm`` (GRPO, PPO) says how token statistics are computed, how a rollout becomes per-row
training targets (advantages, returns) and what the loss is; ``train`` does the rest:

1. draw the step's problems (``ProblemSource``) and sample ``sampling.n`` completions per prompt (the
   group), seeded from ``sampling.seed``, the step and the prompt's place, so a resumed run replays them;
2. score them with the weighted ``RewardSet`` (each reward logged on its own) and grade accuracy;
3. one no-grad forward of the frozen reference (when the algorithm has a KL term);
4. ``epochs`` x ``minibatches`` clipped updates; with one update per rollout, the forward pass that
   carries the gradient also provides the "old" log-probs and values (ratio exactly 1), so no pass
   is spent on them;
5. append the step's metrics to ``log.jsonl`` and checkpoint every ``checkpoint_every`` steps;
6. with ``eval_problems``, score greedy completions of held-out problems before the first step, every
   ``eval_every`` steps and after the last (``eval.jsonl``, see ``prmkit.rl.metrics``).

The policy stays in eval mode throughout (no dropout): rollouts and updates see the same network.

Logged keys (one JSON object per step in ``log.jsonl``): ``reward/total`` (mean weighted reward),
``reward/<name>`` (mean of each reward where it applied), ``reward_std``, ``accuracy`` (share of
completions whose extracted answer equals the gold one), ``length`` (mean completion tokens, EOS
included), ``truncated`` (share cut at ``sampling.max_new_tokens``), ``kl`` (mean per-token k3
estimate of KL(policy || reference) on the sampled tokens), ``entropy`` (mean per-token entropy of the
sampling distribution), ``loss``, ``clip_frac``, ``lr``, ``seconds`` (this step's rollout and updates), plus
each algorithm's own keys.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.progress import Progress

from prmkit.config import save_config
from prmkit.data.jsonl import AppendLog, read_records
from prmkit.data.prompts import render_prompt
from prmkit.data.records import Problem
from prmkit.devices import resolve_device
from prmkit.generation.base import GenerationConfig, stable_seed
from prmkit.generation.hf import TransformersBackend, load_model_and_tokenizer
from prmkit.locks import ExclusiveLock
from prmkit.progress import step_progress
from prmkit.rl.checkpoint import (
    CHECKPOINT,
    TrainState,
    check_same_run,
    load_checkpoint,
    save_checkpoint,
    trim_log,
)
from prmkit.rl.config import RLConfig
from prmkit.rl.metrics import answers_correct, evaluate_heldout, rollout_metrics
from prmkit.rl.optim import make_optimizer, make_scheduler
from prmkit.rl.problems import ProblemSource
from prmkit.rl.report import write_run_metrics
from prmkit.rl.rollout import Rollout, TokenBatch, autocast, flatten, pad_rows, token_stats
from prmkit.synthetic.world import WORLD_FILE

LOG_FILE = "log.jsonl"
EVAL_FILE = "eval.jsonl"
CONFIG_FILE = "config.yaml"
POLICY_DIR = "policy"
LENGTH_REWARDS = ("length", "format_length")
Tensors = dict[str, torch.Tensor]


class Algorithm(abc.ABC):
    """One RL method on top of the shared loop."""

    title = ""

    def __init__(self, cfg: RLConfig, policy: Any, tokenizer: Any) -> None:
        self.cfg, self.policy, self.tokenizer = cfg, policy, tokenizer

    def trains_on_outcome(self) -> bool:
        """Whether the outcome rewards enter the loss (else they are only logged)."""
        return True

    @property
    @abc.abstractmethod
    def uses_reference(self) -> bool:
        """Whether a frozen copy of the initial policy is needed (a KL term)."""

    def modules(self) -> dict[str, torch.nn.Module]:
        """Trainable modules besides the policy (saved in checkpoints)."""
        return {}

    def forward(self, model: Any, batch: TokenBatch, group_size: int = 1) -> Tensors:
        """Per-token ``logprobs`` and ``entropy`` (and whatever else the loss needs) under ``model``;
        ``group_size`` > 1 shares each prompt's forward pass within its group (see ``token_stats``)."""
        stats = token_stats(model, batch, self.cfg.sampling.temperature, group_size=group_size)
        return {"logprobs": stats.logprobs, "entropy": stats.entropy}

    @abc.abstractmethod
    def prepare(
        self, rollout: Rollout, old: Tensors, ref_logprobs: torch.Tensor | None
    ) -> tuple[Tensors, dict[str, float]]:
        """Per-row training targets (first dim N) from the pre-update statistics, and step metrics."""

    @abc.abstractmethod
    def loss(
        self, current: Tensors, data: Tensors, mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss of one minibatch, and its metrics."""

    def notes(self) -> list[str]:
        """Lines describing the method for the report."""
        return []


@dataclass
class RLResult:
    output_dir: Path
    policy_dir: Path
    records: list[dict[str, Any]]
    evals: list[dict[str, Any]]


class TrainingRun:
    """The state of one training run; ``train()`` drives it."""

    def __init__(self, cfg: RLConfig, algorithm: Callable[..., Algorithm], rewards: Any = None) -> None:
        self.cfg = cfg
        self.out = Path(cfg.output_dir)
        self.device = resolve_device(cfg.device)
        if rewards is None:  # a misspelled reward is named before the models load, not after
            from prmkit.rl.rewards import REWARDS

            for spec in cfg.rewards:
                REWARDS.get(spec.name)
        gen_cfg = GenerationConfig(model=cfg.policy, dtype="float32", chat_template=cfg.chat_template)
        self.policy, self.tokenizer = load_model_and_tokenizer(gen_cfg, self.device)
        torch.manual_seed(cfg.seed)
        self.algo = algorithm(cfg, self.policy, self.tokenizer)
        self.reference = None
        if self.algo.uses_reference:
            self.reference, _ = load_model_and_tokenizer(gen_cfg, self.device)
            self.reference.requires_grad_(False)
        self.source = ProblemSource(cfg.problems, cfg.policy, cfg.seed)
        rows = cfg.batch_size * cfg.sampling.n
        self.backend = TransformersBackend(
            GenerationConfig(
                model=cfg.policy, batch_size=rows, logprobs=False, chat_template=cfg.chat_template
            ),
            model=self.policy,
            tokenizer=self.tokenizer,
        )
        self.rewards = rewards if rewards is not None else _reward_set(cfg)
        params = [
            *self.policy.parameters(),
            *(p for m in self.algo.modules().values() for p in m.parameters()),
        ]
        optimizer = make_optimizer(params, cfg)
        scheduler = make_scheduler(optimizer, cfg)
        self.state = TrainState(self.policy, self.algo.modules(), optimizer, scheduler)
        self._prompt_ids: dict[str, list[int]] = {}
        self.heldout = read_records(cfg.eval_problems, Problem) if cfg.eval_problems else []

    # -- rollout ---------------------------------------------------------------------------------
    def rollout(self, step: int) -> Rollout:
        cfg, sampling = self.cfg, self.cfg.sampling
        problems = self.source.batch(step, cfg.batch_size)
        prompts = [render_prompt(p, cfg.prompt_template) for p in problems]
        assert sampling.seed is not None  # RLConfig refuses unseeded rollouts
        seeds = [stable_seed(sampling.seed, step, i) for i in range(len(prompts))]
        with autocast(self.device, cfg.precision):
            results = self.backend.generate(prompts, **sampling.sampling_kwargs(), seed=seeds)
        rows, completions = flatten(problems, results)
        row_prompts = [p for p in prompts for _ in range(sampling.n)]
        prompt_ids = [self._encode(p) for p in row_prompts]
        completion_ids = [list(c.token_ids or []) for c in completions]
        batch = pad_rows(prompt_ids, completion_ids, self.backend.pad_token_id, self.device)
        rollout = Rollout(
            problems=rows, prompts=row_prompts, completions=[c.text for c in completions],
            completion_ids=completion_ids, truncated=[c.finish_reason == "length" for c in completions],
            batch=batch, rewards=torch.empty(0), per_reward={}, correct=None,
        )  # fmt: skip
        out = self.rewards(**rollout.columns())
        rollout.per_reward = {name: list(values) for name, values in out.per_reward.items()}
        totals = [
            math.nan if all(v[i] is None for v in rollout.per_reward.values()) else float(out.total[i])
            for i in range(len(rows))
        ]
        rollout.rewards = torch.tensor(totals, dtype=torch.float32, device=self.device)
        graded = rollout.per_reward.get("correctness")
        if graded is not None and None not in graded:  # the same grading, already done: reuse it
            rollout.correct = [value == 1.0 for value in graded]
        else:
            rollout.correct = answers_correct(rollout.completions, rows)
        return rollout

    def _encode(self, prompt: str) -> list[int]:
        if prompt not in self._prompt_ids:
            self._prompt_ids[prompt] = self.backend.encode(prompt)
        return self._prompt_ids[prompt]

    # -- updates ---------------------------------------------------------------------------------
    def update(self, rollout: Rollout, step: int) -> dict[str, float]:
        cfg, algo, batch = self.cfg, self.algo, rollout.batch
        lr = self.state.scheduler.get_last_lr()[0]  # the rate of this step's first update
        share = cfg.sampling.n if cfg.share_prompt else 1
        ref = None
        if self.reference is not None:
            with torch.no_grad(), autocast(self.device, cfg.precision):
                ref = token_stats(
                    self.reference, batch, cfg.sampling.temperature, entropy=False, group_size=share
                ).logprobs
        single = cfg.updates_per_step == 1
        with torch.set_grad_enabled(single), autocast(self.device, cfg.precision):
            current = algo.forward(self.policy, batch, share)
        old = {k: v.detach() for k, v in current.items()}
        data, metrics = algo.prepare(rollout, old, ref)
        generator = torch.Generator().manual_seed(stable_seed(cfg.seed, step, "minibatches"))
        sums: dict[str, float] = {}
        for _ in range(cfg.epochs):
            order = torch.randperm(batch.input_ids.shape[0], generator=generator)
            for chunk in order.tensor_split(cfg.minibatches):
                if single:
                    loss, parts = algo.loss(current, data, batch.mask)
                else:
                    idx = chunk.to(self.device)
                    with autocast(self.device, cfg.precision):
                        cur = algo.forward(self.policy, batch.rows(idx))
                    loss, parts = algo.loss(cur, {k: v[idx] for k, v in data.items()}, batch.mask[idx])
                self._step(loss)
                for key, value in {"loss": loss.item(), **parts}.items():
                    sums[key] = sums.get(key, 0.0) + value / cfg.updates_per_step
        return {**metrics, **sums, "lr": lr}

    def _step(self, loss: torch.Tensor) -> None:
        opt = self.state.optimizer
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.max_grad_norm > 0:
            params = [p for group in opt.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.cfg.max_grad_norm)
        opt.step()
        self.state.scheduler.step()

    # -- bookkeeping -----------------------------------------------------------------------------
    def start(self) -> tuple[int, AppendLog, AppendLog | None]:
        """Resume from the checkpoint (or start over) and open the step and eval logs, cut back to it."""
        self.out.mkdir(parents=True, exist_ok=True)
        step = 0
        if self.cfg.resume and (self.out / CHECKPOINT).is_file():
            check_same_run(self.out / CONFIG_FILE, self.cfg)
            step = load_checkpoint(self.out, self.state)
        else:
            (self.out / CHECKPOINT).unlink(missing_ok=True)
        save_config(self.cfg, self.out / CONFIG_FILE)
        trim_log(self.out / LOG_FILE, step)
        trim_log(self.out / EVAL_FILE, step if step else -1)  # starting over: redo the step-0 evaluation
        evals = AppendLog(self.out / EVAL_FILE, key="step") if self.heldout else None
        return step, AppendLog(self.out / LOG_FILE, key="step"), evals

    def evaluate(self, step: int) -> dict[str, Any]:
        with autocast(self.device, self.cfg.precision):
            return evaluate_heldout(
                self.backend, self.heldout, self.cfg.prompt_template, self.cfg.sampling.max_new_tokens, step
            )

    def finish(self, records: list[dict[str, Any]], evals: list[dict[str, Any]]) -> Path:
        """Save the final policy (plain HF folder + tokenizer + world.json), value head, metrics, plot."""
        policy_dir = self.out / POLICY_DIR
        self.policy.save_pretrained(policy_dir)
        self.tokenizer.save_pretrained(policy_dir)
        world = Path(self.cfg.policy) / WORLD_FILE
        if world.is_file():
            shutil.copyfile(world, policy_dir / WORLD_FILE)
        for name, module in self.algo.modules().items():
            torch.save(module.state_dict(), self.out / f"{name}.pt")
        c = self.cfg
        reward_text = " + ".join(f"{s.weight:g} * {s.name}" for s in c.rewards) or "none"
        run = (
            f"{self.algo.title} on {c.policy}: {len(records)} steps of {c.batch_size} prompts x {c.sampling.n} "
            f"samples (temperature {c.sampling.temperature}, at most {c.sampling.max_new_tokens} tokens, seed "
            f"{c.sampling.seed}), lr {c.lr:g}, seed {c.seed}."
        )
        used = "" if self.algo.trains_on_outcome() else " (logged, not trained on)"
        outcome = f"Outcome rewards{used}: {reward_text}."
        notes = [run, outcome, *self.algo.notes()]
        if evals:
            notes.append(
                f"Held-out: greedy completions of the {len(self.heldout)} problems in {c.eval_problems}."
            )
        write_run_metrics(self.out, f"RL: {self.algo.title}", notes, records, evals)
        return policy_dir


def _reward_set(cfg: RLConfig) -> Any:
    """The weighted rewards of ``cfg``; length rewards without ``max_length`` get the rollout budget
    (Format-Length's L_max is the maximum response length)."""
    from prmkit.rl.rewards import RewardSet

    specs = [
        dataclasses.replace(s, options={"max_length": cfg.sampling.max_new_tokens, **s.options})
        if s.name in LENGTH_REWARDS and "max_length" not in s.options
        else s
        for s in cfg.rewards
    ]
    return RewardSet.from_specs(specs)


def _progress(enabled: bool, title: str) -> Progress:
    info = "reward {task.fields[reward]:.3f}  acc {task.fields[acc]:.2f}  kl {task.fields[kl]:.4f}"
    return step_progress(title, info, enabled)


def train(
    cfg: RLConfig, algorithm: Callable[..., Algorithm], rewards: Any = None, progress: bool = True
) -> RLResult:
    """Run (or resume) training as ``cfg`` says; ``rewards`` overrides ``cfg.rewards`` with any
    callable following the reward contract and returning a ``RewardOutput``-like object."""
    lock = ExclusiveLock(Path(cfg.output_dir) / "run")  # before anything reads, trims or loads
    lock.acquire()
    previous_threads = torch.get_num_threads()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    try:
        run = TrainingRun(cfg, algorithm, rewards)
        first, log, evals = run.start()
        with log, evals or contextlib.nullcontext(), _progress(progress, run.algo.title) as bar:
            if evals is not None and "0" not in evals:
                evals.append(run.evaluate(0))
            task = bar.add_task(
                "rl", total=cfg.steps, completed=first, reward=math.nan, acc=math.nan, kl=math.nan
            )
            for step in range(first + 1, cfg.steps + 1):
                start = time.perf_counter()
                rollout = run.rollout(step)
                record = {"step": step, **rollout_metrics(rollout), **run.update(rollout, step)}
                record["seconds"] = time.perf_counter() - start
                log.append(record)
                if evals is not None and (
                    step == cfg.steps or (cfg.eval_every and step % cfg.eval_every == 0)
                ):
                    evals.append(run.evaluate(step))
                if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                    save_checkpoint(run.out, step, run.state)
                bar.update(task, advance=1, reward=record["reward/total"], acc=record.get("accuracy", math.nan),
                           kl=record.get("kl", math.nan))  # fmt: skip
        records = _sorted(log)
        eval_records = _sorted(evals) if evals is not None else []
        policy_dir = run.finish(records, eval_records)
    finally:
        torch.set_num_threads(previous_threads)
        lock.release()
    return RLResult(output_dir=run.out, policy_dir=policy_dir, records=records, evals=eval_records)


def _sorted(log: AppendLog) -> list[dict[str, Any]]:
    return [log.done[k] for k in sorted(log.done, key=int)]
