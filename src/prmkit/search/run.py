"""``prmkit search``: any verification method on a problem file, with a local or served PRM.

Problems go through the method ``chunk_size`` at a time. Each problem's record is appended to
``output`` as its chunk finishes (``prmkit.data.jsonl.AppendLog``: crash-safe, one writer, resumed by
problem id; the settings live beside it in ``OUTPUT.config.yaml`` and a resume with others is
refused): the chosen solution, its score, whether its answer matches the gold one (``status`` from
``prmkit.grading``), and what the problem cost: the tokens generated for it, its candidates, and
the PRM's forward passes and tokens for its chunk divided among the chunk's problems. The summary
(accuracy, tokens per problem) is printed and written to ``OUTPUT.summary.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prmkit.errors import ConfigError
from prmkit.generation.base import GenerationConfig
from prmkit.score.config import ServedPRMConfig
from prmkit.search.base import SearchConfig

EXECUTION_FIELDS = ("output", "chunk_size", "progress", "prm_batch_size", "prm_device", "served", "generation.api_key")


@dataclass
class SearchRunConfig(SearchConfig):
    """A verification method on a problem file (see the module docstring)."""

    problems: str = field(default="", metadata={"help": "problems file (JSONL of prmkit Problem records)"})
    output: str = field(default="", metadata={"help": "where each problem's chosen solution is appended (JSONL)"})
    generation: GenerationConfig = field(
        default_factory=GenerationConfig, metadata={"help": "the policy's generation backend"}
    )
    prm: str = field(
        default="", metadata={"help": "PRM folder, or the URL of a served PRM (not needed by majority)"}
    )
    prm_format: str = field(default="auto", metadata={"help": "the PRM's format (see prmkit score --format)"})
    prm_batch_size: int = field(default=16, metadata={"help": "sequences per PRM forward pass (served: per request)"})
    prm_device: str = field(default="auto", metadata={"help": "device of the PRM"})
    served: ServedPRMConfig = field(
        default_factory=ServedPRMConfig, metadata={"help": "how a PRM given as a URL is reached"}
    )
    limit: int | None = field(default=None, metadata={"help": "only the first N problems"})
    chunk_size: int = field(default=16, metadata={"help": "problems searched per round (each round is saved)"})
    grade_timeout: float = field(default=5.0, metadata={"help": "seconds per answer comparison"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {self.chunk_size}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be at least 1, got {self.limit}")


def chunk_records(results: list[Any], problems: list[Any], statuses: list[str]) -> list[dict[str, Any]]:
    """One record per problem of a chunk; the chunk's PRM cost is divided evenly among its problems."""
    shared = results[0].stats if results else {}
    per = 1 / max(len(results), 1)
    records = []
    for result, problem, status in zip(results, problems, statuses, strict=True):
        generated = result.stats.get("generated_tokens")
        own = sum(int(s.generator.get("num_tokens", 0)) for s in result.candidates)
        records.append({
            "problem_id": problem.id,
            "solution": None if result.solution is None else result.solution.model_dump(mode="json"),
            "score": None if math.isnan(result.score) else result.score,
            "status": status,
            "correct": status == "correct",
            "candidates": len(result.candidates),
            "generated_tokens": own if generated is None else generated * per,
            "prm_forward_passes": shared.get("prm_forward_passes", 0) * per,
            "prm_tokens": shared.get("prm_tokens", 0) * per,
        })  # fmt: skip
    return records


def run_search(cfg: SearchRunConfig, prm: Any = None) -> dict[str, Any]:
    """Search every problem not yet in ``cfg.output``; the summary of the whole file. ``prm``: a
    verifier already loaded (any object with ``PRM.score_counted``), in place of ``cfg.prm``."""
    from prmkit.config import refuse_changed_settings, save_config
    from prmkit.data.jsonl import AppendLog
    from prmkit.generation.base import load_backend, without_api_key
    from prmkit.generation.sample import read_problems
    from prmkit.grading import grade_batch_status
    from prmkit.locks import refuse_same_file
    from prmkit.progress import progress_bar
    from prmkit.score import PRMConfig, load_prm
    from prmkit.search.base import search

    if not cfg.problems or not cfg.output:
        raise ConfigError("prmkit search needs --problems FILE and --output FILE")
    output = Path(cfg.output)
    refuse_same_file(output, cfg.problems)
    problems = read_problems(Path(cfg.problems))[: cfg.limit]
    settings = output.with_suffix(".config.yaml")
    with AppendLog(output, key="problem_id") as log:
        if log.done:
            refuse_changed_settings(cfg, settings, EXECUTION_FIELDS)
        save_config(without_api_key(cfg), settings)
        todo = [p for p in problems if p.id not in log]
        if todo:
            if prm is None and cfg.prm:
                options = {"format": cfg.prm_format, "batch_size": cfg.prm_batch_size, "device": cfg.prm_device}
                prm = load_prm(PRMConfig(prm=cfg.prm, served=cfg.served, **options))
            bar = progress_bar("searching", len(todo), cfg.progress)
            with load_backend(cfg.generation) as backend, bar as advance:
                for start in range(0, len(todo), cfg.chunk_size):
                    chunk = todo[start : start + cfg.chunk_size]
                    results = search(chunk, cfg, backend, prm)  # type: ignore[arg-type]
                    answers = [r.solution.final_answer if r.solution else None for r in results]
                    statuses = grade_batch_status([(a, p.answer) for a, p in zip(answers, chunk)], cfg.grade_timeout)
                    for record in chunk_records(results, chunk, statuses):
                        log.append(record)
                    advance(steps=len(chunk))
        records = [log.done[p.id] for p in problems if p.id in log.done]
    summary = summarize(records, cfg)
    output.with_suffix(".summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def summarize(records: list[dict[str, Any]], cfg: SearchRunConfig) -> dict[str, Any]:
    """Accuracy and cost per problem over the output's records."""
    n = max(len(records), 1)
    return {
        "method": cfg.method,
        "problems": len(records),
        "accuracy": sum(r["correct"] for r in records) / n,
        "no_answer": sum(r["solution"] is None for r in records),
        "generated_tokens_per_problem": sum(r["generated_tokens"] for r in records) / n,
        "prm_tokens_per_problem": sum(r["prm_tokens"] for r in records) / n,
        "prm_forward_passes_per_problem": sum(r["prm_forward_passes"] for r in records) / n,
        "aggregation": cfg.aggregation,
    }
