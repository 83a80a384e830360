"""``prmkit eval processbench``: the ProcessBench metric for a PRM, an LLM critic, or a predictions file.

Data: the four official subsets from ``shared/data/processbench`` (``data: processbench``), or any
prmkit JSONL of labelled solutions (e.g. synthetic solutions with exact truth), whose subsets are the
problems' ``source``. Modes, by what the config names:

- ``prm``: every step is scored in one pass; a step is predicted wrong when its score is below the
  threshold. With no fixed ``threshold`` it follows ProcessBench: a PRM with a two-class head (prmkit's
  own, Qwen, Math-Shepherd) is read by its predicted class, 0.5; a scalar head (value head, a single
  logit) gets the threshold with the best F1 on ``threshold_subset`` (gsm8k), applied unchanged to
  every subset, and that subset's figure is marked in-sample. ``tune_threshold`` tunes for any head.
  The report lists each subset's own best threshold as an upper bound.
- ``critic``: an LLM (the ``generation`` block) judges each solution with the critique prompt
  (``critic.py``), ``sampling.n`` answers per solution, majority vote (answers are stored, resumably,
  in ``critic.jsonl``).
- ``predictions``: a JSONL file of ``{"id": ..., "prediction": int | null}`` made by another tool.

Output in ``<run_dir>/processbench/``: ``metrics.json``, ``table.md``, ``predictions.jsonl`` (the
input format of ``predictions`` mode), ``f1.png``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress

from prmkit import artifacts
from prmkit.config import save_config
from prmkit.data.jsonl import AppendLog, UniqueIds, iter_jsonl, write_jsonl
from prmkit.errors import ConfigError, DataError
from prmkit.evaluate import plots
from prmkit.evaluate.config import ProcessBenchConfig
from prmkit.evaluate.critic import critique
from prmkit.generation.base import without_api_key
from prmkit.metrics.processbench import Prediction, best_threshold, first_below, headline, subset_metrics

STAGE = "processbench"


@dataclass(frozen=True)
class Example:
    id: str
    subset: str
    question: str
    steps: list[str]
    label: int


def load_examples(cfg: ProcessBenchConfig) -> list[Example]:
    """The labelled solutions to evaluate, with their subset."""
    from prmkit.data.formats import load_dataset_records
    from prmkit.data.records import LabeledSolution

    def example(rec: LabeledSolution, id_: str, subset: str) -> Example:
        assert rec.labels is not None
        return Example(id_, subset, rec.problem.question, rec.solution.steps, rec.labels.first_error)

    if cfg.data == "processbench":
        examples = [
            example(rec, rec.problem.metadata["source_id"], subset)  # type: ignore[arg-type]
            for subset in cfg.subsets
            for rec in load_dataset_records("processbench", split=subset)
        ]
    else:
        examples = []
        for rec in load_dataset_records("jsonl", path=cfg.data, kind="labeled"):
            if not isinstance(rec, LabeledSolution) or rec.labels is None:
                raise DataError("every record needs step labels", path=cfg.data, field="labels")
            examples.append(example(rec, rec.solution.id, rec.problem.source or "all"))
    if cfg.limit is None:
        return examples
    return [ex for group in by_subset(examples).values() for ex in balanced_prefix(group, cfg.limit)]


def balanced_prefix(examples: Sequence[Example], limit: int) -> list[Example]:
    """At most ``limit`` examples, in file order: the first erroneous and the first correct ones, half
    each where there are enough (ProcessBench's files list the erroneous solutions first, so a plain
    prefix would hold no correct solution and leave F1 undefined)."""
    wrong = [ex for ex in examples if ex.label >= 0]
    right = [ex for ex in examples if ex.label < 0]
    n_right = min(len(right), limit // 2)
    n_wrong = min(len(wrong), limit - n_right)
    n_right = min(len(right), limit - n_wrong)
    keep = {id(ex) for ex in [*wrong[:n_wrong], *right[:n_right]]}
    return [ex for ex in examples if id(ex) in keep]


def by_subset(examples: Sequence[Example]) -> dict[str, list[Example]]:
    groups: dict[str, list[Example]] = {}
    for ex in examples:
        groups.setdefault(ex.subset, []).append(ex)
    return groups


def evaluate(examples: Sequence[Example], predictions: dict[str, Prediction]) -> dict[str, Any]:
    """Per-subset metrics and the headline (simple mean of the subset F1s)."""
    per_subset = {
        name: subset_metrics([e.label for e in group], [predictions.get(e.id) for e in group])
        for name, group in by_subset(examples).items()
    }
    return {"subsets": per_subset, "average_f1": headline(per_subset)}


def read_predictions(path: str | Path, examples: Sequence[Example]) -> dict[str, Prediction]:
    """``{"id", "prediction"}`` rows, one per example: the index of the first wrong step, -1 for none,
    or null (unparsable). Unknown ids, repeated ids and indices outside the solution are refused."""
    steps = {e.id: len(e.steps) for e in examples}
    out: dict[str, Prediction] = {}
    ids = UniqueIds(path)
    for line, obj in iter_jsonl(path):
        if not isinstance(obj, dict) or "id" not in obj or "prediction" not in obj:
            raise DataError('expected {"id": ..., "prediction": int or null}', path=path, line=line)
        sid, pred = str(obj["id"]), obj["prediction"]
        ids.add(f"prediction for {sid!r}", line)
        if sid not in steps:
            raise DataError(f"no solution {sid!r} in the data", path=path, line=line, field="id")
        if pred is not None and (isinstance(pred, bool) or not isinstance(pred, int)):
            raise DataError(
                f"prediction must be an integer or null, got {pred!r}", path=path, line=line, field="prediction"
            )
        if pred is not None and not -1 <= pred < steps[sid]:
            raise DataError(
                f"prediction {pred} is not a step of {sid!r} (-1 for no error, else 0..{steps[sid] - 1})",
                path=path, line=line, field="prediction",
            )  # fmt: skip
        out[sid] = pred
    missing = [e.id for e in examples if e.id not in out]
    if missing:
        raise DataError(
            f"no prediction for {len(missing)} of {len(examples)} solutions (first: {missing[0]!r})",
            path=path,
        )
    return out


def prm_scores(cfg: ProcessBenchConfig, examples: Sequence[Example]) -> tuple[list[list[float]], bool]:
    """Every step's score, and whether the PRM's scores are a two-class head's probability."""
    from prmkit.score import PRMConfig, load_prm

    prm = load_prm(
        PRMConfig(
            prm=cfg.prm, format=cfg.prm_format, batch_size=cfg.prm_batch_size, device=cfg.prm_device, served=cfg.served
        )
    )
    scores: list[list[float]] = []
    with Progress(transient=True) as progress:
        task = progress.add_task("scoring steps", total=len(examples))
        for start in range(0, len(examples), 64):
            chunk = examples[start : start + 64]
            scores.extend(prm.score([e.question for e in chunk], [e.steps for e in chunk]))
            progress.advance(task, len(chunk))
    return scores, prm.predicts_class


def prm_predictions(
    cfg: ProcessBenchConfig,
    examples: Sequence[Example],
    scores: Sequence[list[float]],
    predicts_class: bool = True,
) -> tuple[dict[str, Prediction], dict[str, Any]]:
    """Threshold predictions, the threshold's provenance, and each subset's own best threshold."""
    notes: dict[str, Any] = {}
    threshold = cfg.threshold
    groups = by_subset(examples)
    score_of = {e.id: s for e, s in zip(examples, scores)}
    if threshold is None and predicts_class and not cfg.tune_threshold:
        threshold = 0.5
        notes["threshold_note"] = "threshold 0.5: the two-class head's predicted class, as ProcessBench reads such PRMs"
    elif threshold is None:
        calibration = groups.get(cfg.threshold_subset)
        if not calibration:
            raise ConfigError(
                f"no {cfg.threshold_subset!r} subset to choose the threshold on; add it or pass --threshold"
            )
        threshold, f1 = best_threshold([score_of[e.id] for e in calibration], [e.label for e in calibration])
        notes["threshold_note"] = (
            f"threshold {threshold:.4f} chosen on {cfg.threshold_subset} (best F1 there, {100 * f1:.1f}) and applied to every subset; the {cfg.threshold_subset} figure is in-sample"
        )
        notes["in_sample"] = cfg.threshold_subset
    else:
        notes["threshold_note"] = f"fixed threshold {threshold:.4f}"
    notes["threshold"] = threshold
    notes["oracle"] = {
        name: dict(
            zip(("threshold", "f1"), best_threshold([score_of[e.id] for e in g], [e.label for e in g]))
        )
        for name, g in groups.items()
    }
    return {e.id: first_below(score_of[e.id], threshold) for e in examples}, notes


def critic_predictions(
    cfg: ProcessBenchConfig, examples: Sequence[Example], folder: Path
) -> dict[str, Prediction]:
    """Critic votes per example (resumable: answers are appended to ``critic.jsonl``)."""
    from prmkit.generation.base import load_backend, stable_seed

    with AppendLog(folder / "critic.jsonl") as log:
        todo = [e for e in examples if e.id not in log]
        if todo:
            sampling = cfg.sampling
            with load_backend(cfg.generation) as backend, Progress(transient=True) as progress:
                task = progress.add_task("critic", total=len(todo))
                for start in range(0, len(todo), 8):
                    chunk = todo[start : start + 8]
                    verdicts = critique(
                        backend,
                        [(e.question, e.steps) for e in chunk],
                        sampling.n,
                        sampling.max_new_tokens,
                        sampling.temperature,
                        sampling.top_p,
                        [None if sampling.seed is None else stable_seed(sampling.seed, e.id) for e in chunk],
                        stop=sampling.stop,
                    )
                    for e, v in zip(chunk, verdicts):
                        log.append(
                            {
                                "id": e.id,
                                "subset": e.subset,
                                "label": e.label,
                                **dataclasses.asdict(v),
                                "unparsable": v.unparsable,
                            }
                        )
                    progress.advance(task, len(chunk))
        return {e.id: log.done[e.id]["prediction"] for e in examples}


def write_outputs(
    folder: Path, cfg: ProcessBenchConfig, result: dict[str, Any], extra: dict[str, Any]
) -> dict[str, Any]:
    subsets = result["subsets"]
    rows = [
        [
            f"{name} (in-sample: threshold tuned here)" if extra.get("in_sample") == name else name,
            artifacts.pct(m["acc_error"]),
            artifacts.pct(m["acc_correct"]),
            artifacts.pct(m["f1"]),
            m["n_error"],
            m["n_correct"],
            m["unparsable"],
        ]
        for name, m in subsets.items()
    ]
    rows.append(["average (simple mean of F1)", "", "", artifacts.pct(result["average_f1"]), "", "", ""])
    note = "F1 = harmonic mean of the accuracy on erroneous samples (exact first-error index) and on correct samples (predicted -1)."
    tables = [
        artifacts.table(
            f"ProcessBench ({cfg.mode} mode)",
            ["subset", "error acc", "correct acc", "F1", "#error", "#correct", "#unparsable"],
            rows,
            note,
        )
    ]
    notes = [
        f"Data: {cfg.data}; mode: {cfg.mode}"
        + (f" (limit {cfg.limit} per subset: not the official metric)" if cfg.limit else "")
        + "."
    ]
    if "threshold_note" in extra:
        notes.append(extra["threshold_note"] + ".")
        oracle = [
            [name, f"{o['threshold']:.4f}", artifacts.pct(o["f1"])] for name, o in extra["oracle"].items()
        ]
        tables.append(
            artifacts.table(
                "Per-subset best threshold (upper bound, not a fair result)",
                ["subset", "threshold", "F1"],
                oracle,
            )
        )
    plots.bars(
        list(subsets),
        {
            "error acc": [m["acc_error"] for m in subsets.values()],
            "correct acc": [m["acc_correct"] for m in subsets.values()],
            "F1": [m["f1"] for m in subsets.values()],
        },
        folder / "f1.png",
        f"ProcessBench ({cfg.mode}): average F1 {artifacts.pct(result['average_f1'])}",
    )
    (folder / "table.md").write_text("".join(artifacts.markdown(t) + "\n" for t in tables), encoding="utf-8")
    metrics = {
        "title": "ProcessBench",
        "notes": notes,
        "summary": {
            "average_f1": result["average_f1"],
            "mode": cfg.mode,
            **({"threshold": extra["threshold"]} if "threshold" in extra else {}),
        },
        "tables": tables,
        "data": {**result, **extra},
    }
    artifacts.write_metrics(folder, metrics)
    return metrics


def run_processbench(cfg: ProcessBenchConfig) -> dict[str, Any]:
    """Evaluate in the configured mode and write every output; returns the metrics."""
    folder = artifacts.stage_dir(cfg.run_dir, STAGE)
    save_config(without_api_key(cfg), folder / "config.yaml")
    examples = load_examples(cfg)
    if not examples:
        raise ConfigError(f"no solutions to evaluate in {cfg.data!r}")
    extra: dict[str, Any] = {}
    if cfg.mode == "predictions":
        predictions = read_predictions(cfg.predictions, examples)
    elif cfg.mode == "prm":
        scores, predicts_class = prm_scores(cfg, examples)
        predictions, extra = prm_predictions(cfg, examples, scores, predicts_class)
        write_jsonl(
            folder / "scores.jsonl",
            [
                {
                    "id": e.id,
                    "subset": e.subset,
                    "label": e.label,
                    "step_scores": [None if math.isnan(x) else x for x in s],
                }
                for e, s in zip(examples, scores)
            ],
        )
    else:
        predictions = critic_predictions(cfg, examples, folder)
    write_jsonl(
        folder / "predictions.jsonl", [{"id": e.id, "prediction": predictions[e.id]} for e in examples]
    )
    return write_outputs(folder, cfg, evaluate(examples, predictions), extra)
