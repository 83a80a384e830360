"""Evaluation: the best-of-N harness with confidence intervals, ProcessBench (PRM, critic or
predictions), BoN-bias diagnostics and the HTML report of a run directory.

Stages write ``<run_dir>/<stage>/metrics.json`` plus PNG figures (``artifacts.py`` documents the
convention); ``write_report(run_dir)`` gathers whatever is present.
"""

from prmkit.evaluate.bon import BonEvalConfig, run_bon_eval
from prmkit.evaluate.critic import CRITIQUE_TEMPLATE, critique_prompt, parse_critique
from prmkit.evaluate.processbench import ProcessBenchConfig, run_processbench
from prmkit.evaluate.report import write_report
from prmkit.metrics.processbench import headline, subset_metrics, vote

__all__ = [
    "CRITIQUE_TEMPLATE",
    "BonEvalConfig",
    "ProcessBenchConfig",
    "critique_prompt",
    "headline",
    "parse_critique",
    "run_bon_eval",
    "run_processbench",
    "subset_metrics",
    "vote",
    "write_report",
]
