"""``prmkit_prm.json``: the small file beside a PRM that says how to read it without guessing.

It records the adapter format, the step-encoding contract (``StepFormat``), what the head's classes
mean and how the model was trained. The model itself stays a standard Hugging Face folder:
``AutoModelForTokenClassification.from_pretrained(dir)`` loads a prmkit PRM without prmkit, and
``softmax(logits, -1)[..., 1]`` read at each step's last separator token is P(step is correct).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prmkit.config import from_dict
from prmkit.data.encoding import StepFormat
from prmkit.errors import PrmkitError

CONTRACT_FILE = "prmkit_prm.json"
SCORE_RULES = {
    "prmkit": "P(step correct) = softmax(logits, -1)[..., positive_label] at the last token of each step's separator",
    "prmkit-likelihood": "P(step correct) = sigmoid(prm_head.linear(h) + prm_head.scale * log P(step | prefix)), "
    "h the last hidden state at the last token of the step's separator",
}


@dataclass
class PRMContract:
    """What a PRM folder promises; see the module docstring."""

    format: str = "prmkit"
    step_format: StepFormat = field(default_factory=StepFormat)
    objective: str = "prm"  # prm: a label at every step; orm: only the last step (final-answer correctness)
    labels: str = "hard"  # hard: cross-entropy on 0/1; soft: binary cross-entropy on MC probabilities
    num_labels: int = 2
    positive_label: int = 1
    options: dict[str, Any] = field(default_factory=dict)  # adapter-specific settings

    def __post_init__(self) -> None:
        if not self.format:
            raise ValueError("format is empty")
        if self.objective not in ("prm", "orm") or self.labels not in ("hard", "soft"):
            raise ValueError(f"objective must be prm or orm and labels hard or soft, got {self.objective!r}, {self.labels!r}")
        if self.num_labels != 2 or self.positive_label not in (0, 1):
            raise ValueError(
                f"a PRM head has 2 labels, the positive one 0 or 1; got num_labels {self.num_labels}, "
                f"positive_label {self.positive_label}"
            )

    def to_dict(self) -> dict[str, Any]:
        from prmkit import __version__

        data = asdict(self)
        data["step_format"] = self.step_format.to_dict()
        return {"prmkit_version": __version__, **data, "score": SCORE_RULES.get(self.format, "")}

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / CONTRACT_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> PRMContract | None:
        """The contract in ``folder``, or None when the folder has none."""
        path = Path(folder) / CONTRACT_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PrmkitError(f"{path}: not a valid {CONTRACT_FILE}: {exc}") from None
        if not isinstance(data, dict):
            raise PrmkitError(f"{path}: not a valid {CONTRACT_FILE}: expected an object, got {type(data).__name__}")
        data.pop("prmkit_version", None)
        data.pop("score", None)
        return from_dict(cls, data, str(path))
