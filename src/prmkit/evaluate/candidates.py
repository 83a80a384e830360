"""The BoN harness's sample store: N_max candidates per problem, sampled once, with grades, answer
clusters, step scores and (on the synthetic world) exact step truth.

One JSONL line per problem (``ProblemCandidates``), appended through ``AppendLog`` as each chunk of
problems is finished, so a killed run resumes where it stopped. The fields that decide what a
candidate is (problems, backend, sampling, verifiers) are saved beside the store; resuming with other
values is refused rather than mixing two experiments in one file. Model paths are not enough: a model
retrained into the same folder would reuse stale samples and scores, so the store also records a
fingerprint of each model's weights (``prmkit.score.served.model_fingerprint``: a local folder's, or
the one a served PRM's server reports).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field
from rich.progress import Progress

from prmkit.config import _rename, flatten
from prmkit.data.jsonl import AppendLog
from prmkit.data.records import LabeledSolution, Problem, Record, Solution, StepLabels
from prmkit.errors import ConfigError

IDENTITY_FILE = "sampling.yaml"


class Candidate(Record):
    """One sampled solution with everything the analysis needs."""

    solution: Solution
    prediction: str | None
    correct: bool
    status: str
    cluster: int = Field(ge=-1, description="answer cluster among the problem's samples (-1: no answer)")
    scores: dict[str, list[float | None]] = Field(default_factory=dict, description="verifier -> step scores")
    truth: StepLabels | None = None


class ProblemCandidates(Record):
    problem: Problem
    candidates: list[Candidate]
    greedy: Candidate | None = None


def has_truth(problem: Problem) -> bool:
    """True for synthetic problems, whose exact structure lets the checker label every step."""
    return "start" in problem.metadata and "ops" in problem.metadata


def labelled(records: Sequence[ProblemCandidates]) -> list[LabeledSolution]:
    """Every sampled candidate with its exact step truth (for ``prmkit eval processbench --data``)."""
    return [
        LabeledSolution(problem=r.problem, solution=c.solution, labels=c.truth)
        for r in records
        for c in r.candidates
        if c.truth is not None
    ]


def step_scores(candidate: Candidate, verifier: str) -> list[float]:
    """A candidate's step scores from one verifier, NaN where a step was not scored."""
    return [math.nan if s is None else s for s in candidate.scores.get(verifier, [])]


def check_identity(folder: Path, identity: dict[str, Any], config_cls: type | None = None) -> None:
    """Refuse to resume a store made with different sampling settings (nested ones compared by dotted
    name); save them on first use. Settings saved under old names of ``config_cls`` (its ``RENAMED``)
    are read as the new ones, with a ``RenamedSetting`` warning."""
    path = folder / IDENTITY_FILE
    if path.exists():
        saved = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if config_cls is not None:
            saved = _renamed_identity(config_cls, saved, str(path))
        saved, now = flatten(saved), flatten(identity)
        changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
        if changed:
            details = "; ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed)
            raise ConfigError(
                f"{path}: the stored candidates were sampled with other settings ({details}); use a new run_dir"
            )
        return
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(identity, sort_keys=False), encoding="utf-8")


class Collector:
    """Samples, grades, clusters and scores candidates for chunks of problems."""

    def __init__(self, cfg: Any) -> None:
        from prmkit.generation.base import load_backend
        from prmkit.score import PRMConfig, load_prm

        self.cfg = cfg
        self.backend = load_backend(cfg.generation)
        self.verifiers = {
            name: load_prm(
                PRMConfig(
                    prm=path,
                    format="likelihood" if name == "likelihood" else "auto",
                    batch_size=cfg.prm_batch_size,
                    device=cfg.prm_device,
                    served=cfg.served,
                )
            )
            for name, path in cfg.verifier_folders().items()
        }

    def close(self) -> None:
        self.backend.close()

    def chunk(self, problems: Sequence[Problem]) -> list[ProblemCandidates]:
        from prmkit.generation.sample import sample_solutions
        from prmkit.grading import grade_solutions
        from prmkit.search.vote import answer_cluster_groups
        from prmkit.synthetic.checker import truth_labels

        cfg = self.cfg
        n_max = cfg.sampling.n
        model = {"backend": cfg.generation.backend, "model": cfg.generation.model}

        def sample(n: int, temperature: float, greedy: bool = False) -> list[list[Solution]]:
            sampling = dataclasses.replace(cfg.sampling, n=n, temperature=temperature)
            info = {**model, "temperature": temperature}
            return sample_solutions(self.backend, problems, sampling, cfg.prompt_template, cfg.step_style, info, greedy)

        solutions = sample(n_max, cfg.sampling.temperature)
        if cfg.greedy:
            solutions = [sols + answer for sols, answer in zip(solutions, sample(1, 0.0, greedy=True))]
        sizes = [len(sols) for sols in solutions]
        flat = [s for sols in solutions for s in sols]
        flat_problems = [p for p, n in zip(problems, sizes) for _ in range(n)]
        grades = _split(grade_solutions(problems, flat, timeout=cfg.grade_timeout), sizes)
        scores = {name: _split(prm.score(flat_problems, flat), sizes) for name, prm in self.verifiers.items()}
        clusters = answer_cluster_groups([[g.prediction for g in gs[:n_max]] for gs in grades])
        out = []
        for i, (problem, sols) in enumerate(zip(problems, solutions)):
            cands = [
                Candidate(
                    solution=sol,
                    prediction=g.prediction,
                    correct=g.correct,
                    status=g.status,
                    cluster=clusters[i][k] if k < n_max else -1,  # the greedy answer does not vote
                    scores={
                        name: [None if math.isnan(x) else x for x in rows[i][k]]
                        for name, rows in scores.items()
                    },
                    truth=truth_labels(problem, sol) if has_truth(problem) else None,
                )
                for k, (sol, g) in enumerate(zip(sols, grades[i]))
            ]
            greedy_candidate = cands.pop() if cfg.greedy else None
            out.append(ProblemCandidates(problem=problem, candidates=cands, greedy=greedy_candidate))
        return out


def _renamed_identity(config_cls: type, saved: dict[str, Any], where: str) -> dict[str, Any]:
    """A saved identity with old setting names moved to their new places (a store sampled before
    ``sampling`` was a block: its ``sampling.stop`` was always empty)."""
    data = _rename(config_cls, saved, where)
    if data is not saved and isinstance(data.get("sampling"), dict):
        data["sampling"].setdefault("stop", [])
    return data


def _split(flat: Sequence[Any], sizes: Sequence[int]) -> list[list[Any]]:
    """``flat`` cut into consecutive pieces of the given sizes."""
    out, start = [], 0
    for n in sizes:
        out.append(list(flat[start : start + n]))
        start += n
    return out


def collect_candidates(
    cfg: Any, problems: Sequence[Problem], folder: Path, identity: dict[str, Any]
) -> list[ProblemCandidates]:
    """The stored candidates of every problem, sampling those not stored yet (resumable)."""
    check_identity(folder, identity, type(cfg))
    with AppendLog(folder / "candidates.jsonl", key=lambda obj: obj["problem"]["id"]) as log:
        todo = [p for p in problems if p.id not in log]
        if todo:
            collector = Collector(cfg)
            try:
                with Progress(transient=True) as progress:
                    task = progress.add_task("sampling, grading, scoring", total=len(todo))
                    for start in range(0, len(todo), cfg.chunk_size):
                        chunk = todo[start : start + cfg.chunk_size]
                        for record in collector.chunk(chunk):
                            log.append(record)
                        progress.advance(task, len(chunk))
            finally:
                collector.close()
        done = log.done
    return [ProblemCandidates.model_validate(done[p.id]) for p in problems]
