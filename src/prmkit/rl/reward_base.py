"""What every reward shares: TRL's reward-function type, the ``REWARDS`` registry and the ``Reward``
base class (see ``prmkit.rl.rewards`` for the contract and the built-ins)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from prmkit.registry import Registry

RewardFn = Callable[..., list[float | None]]
REWARDS: Registry[Callable[..., RewardFn]] = Registry("reward")


def completion_text(completion: Any) -> str:
    """A completion (or prompt) as text: TRL passes strings, or message lists for chat data, whose
    last message's content is the text."""
    if isinstance(completion, str):
        return completion
    return str(completion[-1]["content"]) if completion else ""


class Reward:
    """Base of the built-in rewards: instances are callables whose ``__name__`` is ``name``."""

    name: ClassVar[str]

    def __init__(self) -> None:
        self.__name__ = self.name

    def __repr__(self) -> str:
        return f"<reward {self.name}>"
