"""Evaluation: the best-of-N harness with confidence intervals, ProcessBench (PRM, critic or
predictions), BoN-bias diagnostics and the HTML report of a run directory.

Modules: ``bon`` (``run_bon_eval``), ``processbench`` (``run_processbench``), ``diagnostics``,
``report`` (``write_report(run_dir)`` gathers whatever is present), ``critic`` (the critique prompt and
its parser); their settings in ``config``. Stages write ``<run_dir>/<stage>/metrics.json`` plus PNG
figures (``prmkit.artifacts`` documents the convention). Nothing heavy is imported here.
"""
