"""The HTML report: it gathers every stage of a run directory and renders in a real browser.

The browser test needs Chromium (CI: ``apt-get install -y chromium``); it is skipped without it.
"""

from __future__ import annotations

import json
import re

import pytest
from bon_records import store
from typer.testing import CliRunner

from chromium_probe import CHROMIUM, image_widths, screenshot
from prmkit.cli.main import app
from prmkit.evaluate import plots
from prmkit.evaluate.bon import curves, summarize, write_outputs
from prmkit.evaluate.config import BonEvalConfig
from prmkit.evaluate.diagnostics import run_diagnostics
from prmkit.evaluate.methods import CandidateArrays
from prmkit.evaluate.report import write_report

ROWS = [
    [
        (True, 0, [0.9, 0.9, 0.8], -1),
        (True, 0, [0.9, 0.8, 0.3], 1),
        (False, 1, [0.2, 0.9, 0.9], 0),
        (False, 2, [0.7, 0.6, 0.9], 2),
    ],
    [
        (True, 0, [0.95, 0.4, 0.9], 1),
        (False, 1, [0.9, 0.9, 0.85], 2),
        (True, 0, [0.6, 0.7, 0.8], -1),
        (False, -1, [0.5, 0.5, 0.5], 0),
    ],
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run with a BoN stage, diagnostics, a PRM training stage (a plain metrics object), an RL stage
    with only a figure, and a folder that is no stage."""
    run = tmp_path_factory.mktemp("run")
    records = store(ROWS, greedy=[True, False])
    cfg = BonEvalConfig(run_dir=str(run), aggregations=["min", "product"], repeats=50, bootstrap=100)
    result = curves(CandidateArrays.build(records, cfg.aggregations), cfg)
    (run / "bon").mkdir()
    write_outputs(run / "bon", summarize(result, cfg), result.ns, cfg, len(records))
    run_diagnostics(records, result, cfg)
    (run / "prm").mkdir()
    (run / "prm" / "metrics.json").write_text(
        json.dumps({"eval_step_f1": 0.8125, "eval_loss": 0.31, "train": {"steps": 400}})
    )
    (run / "rl").mkdir()
    plots.line(
        [0, 1, 2, 3],
        [0.2, 0.3, 0.45, 0.5],
        run / "rl" / "reward_curve.png",
        "mean reward",
        "update",
        "reward (%)",
    )
    (run / "checkpoints").mkdir()
    return run


def test_report_gathers_every_stage_in_order(run_dir):
    page = write_report(run_dir).read_text(encoding="utf-8")
    ids = re.findall(r'<section id="([^"]+)"', page)
    assert ids == ["prm", "bon", "diagnostics", "rl"]  # known stages in pipeline order; no empty folder
    assert '<td>eval_step_f1</td><td class="num">0.8125</td>' in page and "train.steps" in page
    assert "BoN-PRM (product)" in page and "Accuracy (%) against N" in page
    # accuracy_vs_n, bon_process_split, reward_curve
    assert page.count('<img src="data:image/png;base64,') == 3
    assert "<script" not in page  # a static page


def test_report_command(run_dir, tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", str(run_dir), "--output", str(out), "--title", "My run"])
    assert result.exit_code == 0, result.output
    assert "<title>My run</title>" in out.read_text()
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "run directory not found" in missing.output


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install -y chromium")
def test_report_renders_in_chromium_with_every_image_loaded(run_dir, tmp_path):
    page = write_report(run_dir)
    loaded = image_widths(page, tmp_path)
    assert len(loaded) == 3 and all(w > 100 for w in loaded), loaded  # every figure decoded, none broken
    assert screenshot(page, tmp_path / "report.png") > 50_000  # a rendered page with figures, not a blank one
