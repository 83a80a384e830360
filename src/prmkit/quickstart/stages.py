"""The quickstart's stages. Each takes the config, the run directory and its own stage folder, writes
its outputs there (``metrics.json`` where the report should show it) and returns a short summary.

Problem streams stay apart: the policy trains on ``train-{seed}``, the critic on ``critic-{seed}``,
the annotated solutions come from ``annotate-{seed}`` and every evaluation uses ``eval-{seed}``, drawn
from the world's held-out split, so no evaluation problem repeats a training problem's arithmetic (the
problems stage counts any that do).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prmkit.artifacts import write_metrics
from prmkit.data.jsonl import read_records, write_jsonl
from prmkit.data.records import Problem
from prmkit.errors import PrmkitError
from prmkit.generation.base import GenerationConfig, SamplingConfig
from prmkit.quickstart.config import QuickstartConfig

if TYPE_CHECKING:
    from prmkit.annotate.critic_config import CriticTrainConfig
    from prmkit.train.policy_config import PolicyTrainConfig

PROBLEMS = "problems"
POLICY = "policy"
VERIFIER = "verifier"


def problems_file(run: Path, split: str) -> Path:
    return run / PROBLEMS / f"{split}.jsonl"


def make_problems(cfg: QuickstartConfig, out: Path) -> dict[str, Any]:
    """Held-out evaluation problems and the (disjoint) problems whose samples get annotated, with the
    number of held-out problems whose content a training problem repeats (``overlap``)."""
    if cfg.synthetic:
        from prmkit.synthetic.world import make_problems as synth

        held_out = synth(cfg.policy.world, cfg.problems, seed=f"eval-{cfg.seed}", split="held-out")
        annotate = synth(cfg.policy.world, cfg.annotate_problems, seed=f"annotate-{cfg.seed}")
        seen = synthetic_training_content(cfg, annotate)
    else:
        from prmkit.data.formats import load_dataset_records

        records = load_dataset_records(cfg.data, limit=cfg.problems + cfg.annotate_problems)
        loaded = [r for r in records if isinstance(r, Problem)]
        held_out, annotate = loaded[: cfg.problems], loaded[cfg.problems :]
        seen = {content(p) for p in annotate}
    overlap = sum(content(p) in seen for p in held_out)
    write_jsonl(out / "eval.jsonl", held_out)
    write_jsonl(out / "annotate.jsonl", annotate)
    return {"eval": len(held_out), "annotate": len(annotate), "overlap": overlap}


def content(problem: Problem) -> str:
    """What makes two problems the same: a synthetic problem's chain, else its question's words."""
    from prmkit.synthetic.chain import Chain
    from prmkit.synthetic.world import chain_key

    if "start" in problem.metadata:
        return chain_key(Chain.from_problem(problem))
    return " ".join(problem.question.lower().split())


def synthetic_training_content(cfg: QuickstartConfig, annotate: list[Problem]) -> set[str]:
    """The content of every problem the run trains on: the annotated problems and the streams of the
    policy and verifier it trains (every step's batch); the critic trains on the same split."""
    from prmkit.synthetic.world import make_problems as synth

    seen = {content(p) for p in annotate}
    trained = {"policy": cfg.policy, "verifier": verifier_config(cfg)}
    for name in trained.keys() - cfg.skipped_stages():
        model = trained[name]
        seen |= {content(p) for p in synth(model.world, model.steps * model.batch_size, f"train-{model.seed}")}
    return seen


def train_policy(policy: PolicyTrainConfig, out: Path) -> dict[str, Any]:
    """A tiny Llama trained from scratch on the synthetic world: the policy, or the verifier backbone."""
    from prmkit.train.policy import train_policy as train

    result = train(policy, out)
    return {"seconds": result.seconds, "final_loss": result.losses[-1], "parameters": result.num_parameters}


def policy_backend(cfg: QuickstartConfig, run: Path) -> GenerationConfig:
    """The policy's backend: the tiny policy just trained, or the configured real model."""
    if cfg.generation.model or cfg.generation.base_url:
        return cfg.generation
    return dataclasses.replace(cfg.generation, backend="transformers", model=str(run / POLICY), batch_size=64)


def policy_sampling(cfg: QuickstartConfig, run: Path, n: int, temperature: float | None = None) -> SamplingConfig:
    """``n`` samples per prompt from the policy at the run's temperature (or ``temperature``), seed and budget."""
    temperature = cfg.temperature if temperature is None else temperature
    return SamplingConfig(n=n, max_new_tokens=token_budget(cfg, run), temperature=temperature, seed=cfg.seed)


def token_budget(cfg: QuickstartConfig, run: Path) -> int:
    """Tokens per sample: the configured budget, else the synthetic world's."""
    if cfg.max_new_tokens:
        return cfg.max_new_tokens
    if not cfg.synthetic:
        return 384
    from transformers import AutoTokenizer

    from prmkit.train.policy import max_new_tokens

    return max_new_tokens(cfg.policy.world, AutoTokenizer.from_pretrained(run / POLICY))


def sample(cfg: QuickstartConfig, run: Path, out: Path) -> dict[str, Any]:
    """Greedy answers to the held-out problems and ``annotate_n`` samples per annotation problem."""
    from prmkit.generation.sample import GenerateConfig, generate_solutions

    gen = policy_backend(cfg, run)
    greedy = GenerateConfig(gen, policy_sampling(cfg, run, 1, 0.0), prompt_template=cfg.prompt_template)
    generate_solutions(greedy, problems_file(run, "eval"), out / "greedy.jsonl")
    annotate = dataclasses.replace(greedy, sampling=policy_sampling(cfg, run, cfg.annotate_n))
    generate_solutions(annotate, problems_file(run, "annotate"), out / "annotate.jsonl")
    return {"greedy": cfg.problems, "annotate": cfg.annotate_problems * cfg.annotate_n}


def grade(cfg: QuickstartConfig, run: Path, out: Path) -> dict[str, Any]:
    """Answer grades (math-verify) and, on the synthetic world, the exact process truth."""
    from prmkit.quickstart.grades import grade_file

    summary = {}
    for name, split in (("greedy", "eval"), ("annotate", "annotate")):
        rows, summary[name] = grade_file(
            read_records(problems_file(run, split), Problem), run / "samples" / f"{name}.jsonl"
        )
        write_jsonl(out / f"{name}.jsonl", rows)
    write_metrics(out, {"title": "Policy samples", "summary": summary})
    return summary


def train_verifier(cfg: QuickstartConfig, out: Path) -> dict[str, Any]:
    """The PRM's backbone (synthetic mode): the policy's world and model, learned with no injected
    mistakes, so that it knows the arithmetic better than the policy does; ``verifier/metrics.json``
    says so in the report."""
    verifier = verifier_config(cfg)
    summary = {**train_policy(verifier, out), "steps": verifier.steps, "mistake_rate": verifier.mistake_rate}
    note = (
        "The PRM's backbone: a tiny Llama like the policy, trained on the same world with no injected "
        "mistakes. A real PRM starts from a stronger model than the policy in the same way; the PRM "
        "training must add to what its untrained step likelihood already ranks (the best-of-N stage "
        "shows both)."
    )
    write_metrics(out, {"title": "Verifier backbone", "notes": [note], "summary": summary})
    return summary


def verifier_config(cfg: QuickstartConfig) -> PolicyTrainConfig:
    """The verifier backbone's settings: its own fields, the policy's world and the run's seed."""
    return dataclasses.replace(cfg.verifier, world=cfg.policy.world, seed=cfg.seed)


def critic_config(cfg: QuickstartConfig) -> CriticTrainConfig:
    """The critic's training settings: its own fields, the policy's world and the run's seed."""
    return dataclasses.replace(cfg.critic, world=cfg.policy.world, seed=cfg.seed)


def train_critic(critic: CriticTrainConfig, out: Path) -> dict[str, Any]:
    """The synthetic judge stand-in, trained on its own problem stream. It takes only its own settings
    (no server URLs or keys), since it is pickled to run in a background process."""
    from prmkit.annotate.critic_model import train_critic as train

    summary = train(critic, out)
    return {"seconds": summary["seconds"], "held_out": summary["held_out"]}


def annotate(cfg: QuickstartConfig, run: Path, out: Path) -> dict[str, Any]:
    """Monte Carlo labels for every step, judge verdicts, consensus, and (synthetic) the label-quality lab."""
    from prmkit.annotate.consensus import consensus
    from prmkit.annotate.io import Judgement, read_annotations, read_labeled, read_pairs
    from prmkit.annotate.judge import JudgeConfig, annotate_judge
    from prmkit.annotate.mc import MCConfig, annotate_mc

    pairs = read_pairs(run / "samples" / "annotate.jsonl", problems_file(run, "annotate"))
    gen = policy_backend(cfg, run)
    mc = MCConfig(
        gen, policy_sampling(cfg, run, cfg.rollouts), strategy="all", prompt_template=cfg.prompt_template,
    )  # fmt: skip
    mc_summary = annotate_mc(mc, pairs, out / "mc.jsonl")
    critic = dataclasses.replace(gen, model=str(run / "critic")) if cfg.synthetic else gen
    judging = SamplingConfig(n=1, max_new_tokens=cfg.judge_max_new_tokens, temperature=0.0, seed=cfg.seed)
    judge = JudgeConfig(critic, judging)
    judge_summary = annotate_judge(judge, pairs, out / "judge.jsonl")
    verdicts = [r for r in read_annotations(out / "judge.jsonl") if isinstance(r, Judgement)]
    kept, stats = consensus(read_labeled(out / "mc.jsonl"), verdicts)
    write_jsonl(out / "consensus.jsonl", kept)
    summary = {
        "rollouts_per_solution": mc_summary["rollouts_per_solution"],
        "judge_unparsable": judge_summary["unparsable"],
        "consensus_retention": stats["retention"],
    }
    if cfg.synthetic:
        summary.update(label_lab(out, verdicts))
    return summary


def label_lab(out: Path, verdicts: list[Any]) -> dict[str, Any]:
    """The label-quality lab against the exact truth; writes ``labels/metrics.json`` and figures."""
    from prmkit.annotate.io import read_labeled
    from prmkit.annotate.report import label_quality, write_report

    metrics = label_quality(read_labeled(out / "mc.jsonl"), verdicts)
    write_report(metrics, out.parent / "labels")
    methods = metrics["data"]["methods"]
    return {
        f"{name} first-error accuracy": methods[name]["first_error_acc"]
        for name in ("MC-HE", "judge", "consensus")
    }


def prm_examples(cfg: QuickstartConfig, run: Path) -> list[Any]:
    from prmkit.annotate.io import read_labeled

    name = "consensus.jsonl" if cfg.prm_labels == "consensus" else "mc.jsonl"
    return read_labeled(run / "annotate" / name)


def prm_backbone(cfg: QuickstartConfig, run: Path) -> str:
    """The configured backbone ('policy': the policy's model), else the verifier model when one was
    trained, else the policy's own model."""
    if cfg.prm_backbone and cfg.prm_backbone != "policy":
        return cfg.prm_backbone
    if not cfg.prm_backbone and (run / VERIFIER / "model.safetensors").is_file():
        return str(run / VERIFIER)
    return policy_model(cfg, run)


def policy_model(cfg: QuickstartConfig, run: Path) -> str:
    """The policy's weights: the tiny policy, else the served GGUF file, else the ``generation`` model."""
    if (run / POLICY).is_dir():
        return str(run / POLICY)
    if cfg.serve_gguf:
        from prmkit.generation.base import smollm2_gguf_path

        return str(smollm2_gguf_path()) if cfg.serve_gguf == "smollm2" else cfg.serve_gguf
    return cfg.generation.model


def train_prm(cfg: QuickstartConfig, run: Path, out: Path, objective: str = "prm") -> dict[str, Any]:
    """A PRM on the annotated labels, with the verifier (or ``prm_backbone``) as its backbone; with
    ``objective`` orm, the ORM baseline: the same backbone, head, recipe and solutions, trained on
    final-answer correctness alone."""
    from prmkit.train.prm import train_prm as train
    from prmkit.train.prm_config import PRMTrainConfig

    backbone = prm_backbone(cfg, run)
    prm = PRMTrainConfig(
        model=backbone, output_dir=str(out / "model"), objective=objective,  # type: ignore[arg-type]
        labels="soft" if cfg.prm_labels == "mc-soft" and objective == "prm" else "hard", max_steps=cfg.prm_steps,
        lr=cfg.prm_lr, batch_size=16, eval_steps=0, save_steps=max(cfg.prm_steps // 3, 1), seed=cfg.seed,
        head=cfg.prm_head, freeze_backbone=cfg.prm_freeze_backbone,
    )  # fmt: skip
    examples = prm_examples(cfg, run)
    if not examples:
        raise PrmkitError(
            f"no {cfg.prm_labels} labels to train the PRM on (consensus kept nothing?); try --prm-labels mc"
        )
    result = train(examples, prm)
    recipe = {"backbone": Path(backbone).name, "head": prm.head, "backbone_trained": not prm.freeze_backbone,
              "lm_weight": prm.lm_weight}  # fmt: skip
    summary = {
        "labels": cfg.prm_labels if objective == "prm" else "final-answer correctness",
        "train_solutions": result.train_examples, **recipe, **result.metrics,
    }  # fmt: skip
    note = (
        "Held-out metrics score the PRM against held-out annotation labels, not the truth (see ProcessBench)."
        if objective == "prm"
        else "The ORM baseline: the PRM's backbone, head, recipe and solutions, with one label per solution."
    )
    title = "PRM training" if objective == "prm" else "ORM training"
    write_metrics(out, {"title": title, "notes": [note], "summary": summary})
    return summary


def best_of_n(cfg: QuickstartConfig, run: Path) -> dict[str, Any]:
    """The BoN harness (and its bias diagnostics) on the held-out problems; writes ``bon/`` and
    ``diagnostics/``. Beside the PRM verify the ORM and (synthetic mode) the untrained step likelihood
    of the PRM's own backbone: what training must add to."""
    import json

    from prmkit.evaluate.bon import run_bon_eval
    from prmkit.evaluate.config import BonEvalConfig

    bon = BonEvalConfig(
        run_dir=str(run), problems=str(problems_file(run, "eval")), limit=None, generation=policy_backend(cfg, run),
        sampling=policy_sampling(cfg, run, cfg.n), prm=str(run / "prm" / "model"), seed=cfg.seed,
        orm=str(run / "orm" / "model") if (run / "orm" / "model").is_dir() else "",
        prompt_template=cfg.prompt_template, likelihood=prm_backbone(cfg, run) if cfg.synthetic else "",
    )  # fmt: skip
    metrics = run_bon_eval(bon)
    methods = metrics["data"]["methods"]
    summary = {name: curve["accuracy"][-1] for name, curve in methods.items()}
    diagnostics = run / "diagnostics" / "metrics.json"
    if diagnostics.is_file():
        found = json.loads(diagnostics.read_text(encoding="utf-8"))["summary"]
        shown = ("ranking_auroc_min", "ranking_auroc_likelihood", "ranking_auroc_orm", "min_on_last_all")
        summary.update({k: v for k, v in found.items() if k in shown})
    return summary


def process_bench(cfg: QuickstartConfig, run: Path) -> dict[str, Any]:
    """ProcessBench-style F1 of the PRM at threshold 0.5: on the synthetic candidates' true labels, else
    on ProcessBench's gsm8k subset (``processbench_limit`` of its solutions, half of them correct)."""
    from prmkit.evaluate.config import ProcessBenchConfig
    from prmkit.evaluate.processbench import run_processbench

    labeled = run / "bon" / "labeled.jsonl"
    data = str(labeled) if labeled.is_file() else "processbench"
    pb = ProcessBenchConfig(
        run_dir=str(run), data=data, prm=str(run / "prm" / "model"), threshold=0.5,
        subsets=["gsm8k"],  # ignored for a labelled file, which uses all its sources
        limit=None if labeled.is_file() or not cfg.processbench_limit else cfg.processbench_limit,
    )  # fmt: skip
    return run_processbench(pb)["summary"]


def write_report(run: Path) -> Path:
    from prmkit.evaluate.report import write_report as write

    return write(run, title=f"prmkit quickstart: {run.name}")


def reinforce(cfg: QuickstartConfig, run: Path, out: Path) -> dict[str, Any]:
    """A short step-by-step PPO (Math-Shepherd) with the PRM's step scores as rewards; greedy accuracy
    on the held-out problems before and after. Writes ``rl/metrics.json`` and the training curves."""
    from prmkit.rl.config import PPOConfig
    from prmkit.rl.ppo import train_ppo

    ppo = PPOConfig(
        policy=policy_model(cfg, run), output_dir=str(out),
        problems="" if cfg.synthetic else str(problems_file(run, "annotate")), mode="step",
        prm=str(run / "prm" / "model"), steps=cfg.rl_steps, batch_size=cfg.rl_batch_size, lr=cfg.rl_lr,
        sampling=policy_sampling(cfg, run, 2), prompt_template=cfg.prompt_template,
        eval_problems=str(problems_file(run, "eval")), seed=cfg.seed, checkpoint_every=max(cfg.rl_steps // 3, 1),
    )  # fmt: skip
    result = train_ppo(ppo)
    before, after = result.evals[0], result.evals[-1]
    return {
        "steps": len(result.records),
        "accuracy_before": before["accuracy"],
        "accuracy_after": after["accuracy"],
    }
