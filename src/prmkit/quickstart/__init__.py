"""The whole loop in one command, as resumable stages in one run directory.

problems -> policy (synthetic: a tiny Llama trained from scratch) -> samples -> grades -> verifier
(synthetic: the PRM's backbone, the world learned with no mistakes) -> critic (synthetic: the judge
stand-in) -> annotate (Monte Carlo, judge, consensus, label quality) -> prm -> orm (the baseline: the
PRM's backbone, head and solutions, trained on final answers) ->
bon (best-of-N with confidence intervals, bias diagnostics) -> processbench -> rl (step-by-step PPO
with the PRM) -> report.html. A finished stage is skipped when the run is started again, so an
interrupted quickstart resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from prmkit.config import save_config
from prmkit.errors import PrmkitError
from prmkit.locks import ExclusiveLock
from prmkit.pipeline import DONE, Run, new_or_unfinished_run
from prmkit.quickstart.config import QuickstartConfig

__all__ = ["QuickstartConfig", "run_quickstart"]

# Expected seconds per stage with the defaults on 2 idle cores (the time-left estimates start from these).
# The critic trains in the background beside the policy and the verifier, so its entry is the wait
# that is left after them (CRITIC_WAIT without a verifier); on one core it trains in turn (CRITIC_ALONE).
PLAN = {
    "problems": 1, "policy": 150, "samples": 5, "grades": 2, "verifier": 150, "critic": 0, "annotate": 70,
    "prm": 25, "orm": 25, "bon": 35, "processbench": 7, "rl": 20,
}  # fmt: skip
CRITIC_WAIT = 110
CRITIC_ALONE = 240
# The same for configs/gsm8k-smollm2.yaml (SmolLM2 served by llama.cpp on one thread, the PRM on CPU).
REAL_PLAN = {
    "problems": 1, "samples": 30, "grades": 2, "annotate": 75, "prm": 190, "orm": 190, "bon": 60,
    "processbench": 65, "rl": 175,
}  # fmt: skip


@contextlib.contextmanager
def served_policy(cfg: QuickstartConfig, console: Console) -> Iterator[QuickstartConfig]:
    """``cfg`` with its ``generation`` block pointed at a llama.cpp server started for ``serve_gguf`` (stopped on exit)."""
    if not cfg.serve_gguf:
        yield cfg
        return
    from prmkit.generation.base import smollm2_gguf_path
    from prmkit.generation.llamacpp import LlamaCppServer

    gguf = smollm2_gguf_path() if cfg.serve_gguf == "smollm2" else Path(cfg.serve_gguf)
    with LlamaCppServer(gguf, n_threads=cfg.serve_threads or None) as server:
        console.print(f"serving {gguf.name} with llama.cpp at {server.base_url}")
        gen = dataclasses.replace(cfg.generation, backend="openai", base_url=server.base_url, model=gguf.stem)
        yield dataclasses.replace(cfg, generation=gen)


def run_quickstart(cfg: QuickstartConfig, console: Console | None = None) -> Path:
    """Run (or resume) every stage; return the run directory."""
    console = console or Console()
    path = Path(cfg.run_dir) if cfg.run_dir else new_or_unfinished_run(cfg.runs_dir)
    plan = {k: v for k, v in (PLAN if cfg.synthetic else REAL_PLAN).items() if k not in cfg.skipped_stages()}
    if "critic" in plan and "verifier" not in plan:
        plan["critic"] = CRITIC_WAIT
    if path.exists() and not path.is_dir():
        raise PrmkitError(f"--run-dir {path} is a file, not a directory")
    with ExclusiveLock(path / "run"):  # one quickstart per run directory
        run = Run(path, console, plan)
        console.print(f"run directory: [bold]{path}[/bold]")
        save_config(cfg, path / "config.yaml")
        try:
            with served_policy(cfg, console) as live:
                run_stages(live, run, plan)
        finally:
            run.stop_background()
        from prmkit.quickstart import stages
        from prmkit.quickstart.summary import headline_table

        report = stages.write_report(path)  # always rewritten: cheap, and it shows every stage done so far
        headline_table(run.summaries, console)
        run.complete()
    console.print(f"report: [bold]{report}[/bold]")
    return path


def run_stages(cfg: QuickstartConfig, run: Run, plan: dict[str, float]) -> None:
    """Every stage up to the report, in order."""
    from prmkit.quickstart import stages  # the stages import torch: not needed to read the config

    path = run.path
    critic = functools.partial(stages.train_critic, stages.critic_config(cfg))
    if "critic" in plan and not run.start_in_background("critic", critic):  # it needs nothing before it
        run.plan["critic"] = CRITIC_ALONE if not (path / "critic" / DONE).exists() else 0
    run.stage("problems", lambda out: stages.make_problems(cfg, out))
    if "policy" in plan:
        run.stage("policy", lambda out: stages.train_policy(cfg.policy, out))
    run.stage("samples", lambda out: stages.sample(cfg, path, out))
    run.stage("grades", lambda out: stages.grade(cfg, path, out))
    if "verifier" in plan:
        run.stage("verifier", lambda out: stages.train_verifier(cfg, out))
    if "critic" in plan:
        run.stage("critic", critic)
    run.stage("annotate", lambda out: stages.annotate(cfg, path, out))
    run.stage("prm", lambda out: stages.train_prm(cfg, path, out))
    run.stage("orm", lambda out: stages.train_prm(cfg, path, out, objective="orm"))
    run.stage("bon", lambda out: stages.best_of_n(cfg, path))
    run.stage("processbench", lambda out: stages.process_bench(cfg, path))
    if "rl" in plan:
        run.stage("rl", lambda out: stages.reinforce(cfg, path, out))

