"""``prmkit score``: step scores for every solution in a file, written as JSONL.

Input: any file ``prmkit.data.formats`` reads into solutions with their problems (prmkit JSONL of
``LabeledSolution`` records by default; ``Solution`` records need ``--problems``). Output, one line
per solution: ``solution_id``, ``problem_id``, ``step_scores`` (null where a step did not fit the
model), ``score`` (aggregated) and ``aggregation``. When the input carries step labels, the step-level
F1 against them is returned too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.progress import Progress

from prmkit.data.jsonl import write_jsonl
from prmkit.data.records import LabeledSolution, Problem, Record, Solution
from prmkit.errors import ConfigError, DataError, PrmkitError
from prmkit.locks import refuse_same_file
from prmkit.score.aggregate import aggregate, nan_to_none
from prmkit.score.config import ScoreConfig
from prmkit.score.load import load_prm
from prmkit.score.prm import PRM, questions_and_steps


def pair_with_problems(
    records: Sequence[Record], problems: Sequence[Problem] = (), path: str | None = None
) -> list[LabeledSolution]:
    """Every solution in ``records`` (read from ``path``) with its problem (inline, or looked up in
    ``problems`` by id), each one checked to be scorable."""
    by_id = {p.id: p for p in problems}
    out = []
    for index, rec in enumerate(records, start=1):
        if isinstance(rec, LabeledSolution):
            example = rec
        elif isinstance(rec, Solution):
            if rec.problem_id not in by_id:
                raise DataError(
                    f"no problem {rec.problem_id!r} (pass --problems FILE)", path=path, line=index, field="problem_id"
                )
            example = LabeledSolution(problem=by_id[rec.problem_id], solution=rec)
        else:
            continue
        try:
            questions_and_steps([example.problem], [example.solution])
        except (PrmkitError, ValueError) as exc:
            raise DataError(str(exc), path=path, line=index, field="solution.steps") from None
        out.append(example)
    if not out:
        raise DataError("no solutions to score in the input", path=path)
    return out


def score_solutions(
    prm: PRM, examples: Sequence[LabeledSolution], chunk_size: int = 256
) -> list[list[float]]:
    """``prm.score`` over all examples, in chunks, with a progress bar."""
    scores: list[list[float]] = []
    with Progress(transient=True) as progress:
        task = progress.add_task("scoring", total=len(examples))
        for start in range(0, len(examples), chunk_size):
            chunk = examples[start : start + chunk_size]
            scores.extend(prm.score([e.problem for e in chunk], [e.solution for e in chunk]))
            progress.advance(task, len(chunk))
    return scores


def score_rows(
    examples: Sequence[LabeledSolution], scores: Sequence[list[float]], aggregation: str
) -> list[dict[str, Any]]:
    return [
        {
            "solution_id": e.solution.id,
            "problem_id": e.problem.id,
            "step_scores": [nan_to_none(s) for s in row],
            "score": nan_to_none(aggregate(row, aggregation)),
            "aggregation": aggregation,
        }
        for e, row in zip(examples, scores)
    ]


def score_file(cfg: ScoreConfig) -> dict[str, Any]:
    """Score ``cfg.input`` into ``cfg.output``; return a summary (with step F1 when labels exist)."""
    from prmkit.data.formats import load_dataset_records
    from prmkit.data.jsonl import read_records
    from prmkit.metrics.steps import solution_step_metrics

    if not cfg.input:
        raise ConfigError("no input given: pass --input FILE")
    refuse_same_file(cfg.output, cfg.input, cfg.problems)
    problems = read_records(cfg.problems, Problem) if cfg.problems else []
    examples = pair_with_problems(load_dataset_records(cfg.input_format, path=cfg.input), problems, cfg.input)
    prm = load_prm(cfg)
    scores = score_solutions(prm, examples, cfg.chunk_size)
    written = write_jsonl(cfg.output, score_rows(examples, scores, cfg.aggregation))
    summary: dict[str, Any] = {"solutions": written, "output": cfg.output, "format": prm.format}
    labelled = [(row, e.labels.hard_targets()) for row, e in zip(scores, examples) if e.labels is not None]
    if labelled:
        summary.update(solution_step_metrics([r for r, _ in labelled], [t for _, t in labelled]))
    return summary
