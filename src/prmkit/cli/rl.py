"""``prmkit rl grpo`` and ``prmkit rl ppo``: train a policy with GRPO, outcome PPO or step-by-step PPO."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Annotated, Any

import typer

from prmkit.cli.options import config_command, new_app
from prmkit.rl.config import GRPOConfig, PPOConfig

rl_app = new_app("Reinforcement learning: GRPO, outcome PPO, step-by-step PPO with a PRM (resumable).")


def _reward_option() -> inspect.Parameter:
    return inspect.Parameter(
        "reward",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            list[str] | None,
            typer.Option(
                "--reward",
                "-r",
                help="a reward as name[:weight][,key=value...] (repeat for several); replaces the config's rewards",
            ),
        ],
    )


def _with_rewards(cfg: Any, reward: list[str] | None) -> Any:
    from prmkit.rl.config import parse_reward

    return dataclasses.replace(cfg, rewards=[parse_reward(r) for r in reward]) if reward else cfg


def _summary(result: Any) -> None:
    last = result.records[-10:]
    parts = []
    for key in ("reward/total", "accuracy", "kl", "length"):
        values = [r[key] for r in last if r.get(key) is not None and r[key] == r[key]]
        if values:
            parts.append(f"{key} {sum(values) / len(values):.3f}")
    typer.echo(
        f"trained {len(result.records)} steps (last 10: {', '.join(parts)}); policy in {result.policy_dir}; "
        f"log, metrics.json and curves.png in {result.output_dir}"
    )


@config_command(
    rl_app, "grpo", GRPOConfig,
    "GRPO with group-normalised advantages (Dr. GRPO optional), clipped objective and k3 KL to the initial policy.",
    extra=[_reward_option()],
)  # fmt: skip
def grpo(cfg: GRPOConfig, reward: list[str] | None) -> None:
    from prmkit.rl.grpo import train_grpo

    _summary(train_grpo(_with_rewards(cfg, reward)))


@config_command(
    rl_app, "ppo", PPOConfig,
    "PPO with a value head and GAE: --mode outcome (reward at the end) or --mode step --prm DIR (Math-Shepherd).",
    extra=[_reward_option()],
)  # fmt: skip
def ppo(cfg: PPOConfig, reward: list[str] | None) -> None:
    from prmkit.rl.ppo import train_ppo

    _summary(train_ppo(_with_rewards(cfg, reward)))


def register(app: typer.Typer) -> None:
    app.add_typer(rl_app, name="rl")
