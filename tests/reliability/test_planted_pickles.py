"""A pickle planted in a train prm checkpoint never runs and never ends in a traceback: the resume is
refused in one line naming the checkpoint."""

from __future__ import annotations

import os
import pickle

from reliability_helpers import write_sums
from typer.testing import CliRunner

from prmkit.cli.main import app
from prmkit.generation.tiny import save_tiny_llama


class Planted:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_pickle_in_a_prm_checkpoint_is_refused_in_one_line(tmp_path):
    write_sums(tmp_path / "l.jsonl", 24)
    args = ["train", "prm", "--data", str(tmp_path / "l.jsonl"), "--model", str(save_tiny_llama(tmp_path / "bb")),
            "--output-dir", str(tmp_path / "out"), "--max-steps", "4", "--save-steps", "2", "--batch-size", "4",
            "--eval-steps", "0"]  # fmt: skip
    assert CliRunner().invoke(app, args).exit_code == 0
    marker = tmp_path / "ran"
    for name in ("rng_state.pth", "optimizer.pt"):
        with (tmp_path / "out" / "checkpoints" / "checkpoint-4" / name).open("wb") as fh:
            pickle.dump(Planted(marker), fh)
        result = CliRunner().invoke(app, args)
        assert result.exit_code != 0 and not marker.exists()
        assert "checkpoint-4: a checkpoint file (optimizer, scheduler or RNG state) holds a pickle" in result.output
        assert "Traceback" not in result.output
