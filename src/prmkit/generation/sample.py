"""Sampling n solutions per problem with any backend: ``sample_solutions`` (every command that samples
candidates uses it), and resumably into a file (``generate_solutions``, the library behind
``prmkit generate``).

Solutions go to an append-only JSONL log (``AppendLog``) as they are made, with ids
``{problem_id}-s{k}`` (``solution_id``). A killed run, restarted with the same command, skips the problems that are done
and regenerates the rest. Sample ``k`` of a problem uses seed ``stable_seed(seed, problem_id) + k``,
which does not depend on the batch it lands in, so the resumed output matches an uninterrupted run
wherever the backend honours seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from prmkit.config import moved_into, refuse_changed_settings, save_config
from prmkit.data.jsonl import AppendLog, read_records
from prmkit.data.prompts import DEFAULT_PROMPT, render_prompt, solution_from_text
from prmkit.data.records import Problem, Solution
from prmkit.data.steps import StepStyle
from prmkit.generation.base import (
    EXECUTION_FIELDS,
    GenerationBackend,
    GenerationConfig,
    SamplingConfig,
    load_backend,
    sample_seed,
    stable_seed,
    without_api_key,
)
from prmkit.locks import refuse_same_file
from prmkit.progress import progress_bar


@dataclass
class GenerateConfig:
    """``prmkit generate``: the backend, the sampling and how solutions are written."""

    RENAMED: ClassVar[dict[str, str]] = {
        **moved_into("generation", GenerationConfig),
        **moved_into("sampling", SamplingConfig),
    }

    generation: GenerationConfig = field(
        default_factory=GenerationConfig, metadata={"help": "the backend and model that sample"}
    )
    sampling: SamplingConfig = field(default_factory=SamplingConfig, metadata={"help": "how solutions are sampled"})
    prompt_template: str = field(
        default=DEFAULT_PROMPT,
        metadata={"help": "prompt format; {question} is replaced by the problem's question"},
    )
    step_style: StepStyle = field(
        default="paragraph", metadata={"help": "how generated text is split into steps"}
    )
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})


def read_problems(path: Path) -> list[Problem]:
    """Problem records, refusing duplicate ids (they would collide in the output)."""
    return read_records(path, Problem)


def solution_id(problem: Problem, k: int | None) -> str:
    """Sample ``k`` of a problem, ``{problem_id}-s{k}``; its greedy answer (``k`` None), ``{problem_id}-greedy``."""
    return f"{problem.id}-greedy" if k is None else f"{problem.id}-s{k}"


def sample_solutions(
    backend: GenerationBackend,
    problems: Sequence[Problem],
    sampling: SamplingConfig,
    prompt_template: str,
    step_style: StepStyle,
    info: dict[str, Any],
    greedy: bool = False,
) -> list[list[Solution]]:
    """Sample each problem's solutions as ``sampling`` says: sample ``k`` has id ``solution_id(problem, k)``
    and seed ``stable_seed(sampling.seed, problem_id) + k`` (whatever batch it lands in); ``greedy``
    marks a single temperature-0 answer. ``Solution.generator`` holds ``info`` plus the sample's seed,
    token count and finish reason."""
    seeds = [None if sampling.seed is None else stable_seed(sampling.seed, p.id) for p in problems]
    prompts = [render_prompt(p, prompt_template) for p in problems]
    results = backend.generate(prompts, **sampling.sampling_kwargs(), seed=seeds)
    out = []
    for problem, base, completions in zip(problems, seeds, results):
        solutions = []
        for k, c in enumerate(completions):
            sample = {"seed": sample_seed(base, k), "num_tokens": c.num_tokens, "finish_reason": c.finish_reason}
            sid = solution_id(problem, None if greedy else k)
            solutions.append(solution_from_text(problem, c.text, sid, step_style, {**info, **sample}))
        out.append(solutions)
    return out


def generator_info(cfg: GenerateConfig) -> dict[str, Any]:
    """What ``prmkit generate`` records in ``Solution.generator`` (with each sample's seed)."""
    gen, sampling = cfg.generation, cfg.sampling
    info = {"backend": gen.backend, "model": gen.model, "temperature": sampling.temperature, "top_p": sampling.top_p}
    if gen.gguf_file:
        info["gguf_file"] = gen.gguf_file
    return info


def generate_solutions(cfg: GenerateConfig, problems_path: Path, output: Path) -> tuple[int, int]:
    """Append the missing solutions to ``output``; return (solutions written, problems skipped as done)."""
    refuse_same_file(output, problems_path)
    problems = read_problems(problems_path)
    config_path = output.with_suffix(".config.yaml")
    written = 0
    with AppendLog(output, model=Solution) as log:
        if log.done:
            refuse_changed_settings(cfg, config_path, EXECUTION_FIELDS)
        save_config(without_api_key(cfg), config_path)
        gen, sampling = cfg.generation, cfg.sampling
        todo = [p for p in problems if any(solution_id(p, k) not in log for k in range(sampling.n))]
        if not todo:
            return 0, len(problems)
        # Enough problems per call to fill a batch (or the request pool); each call ends in a write.
        per_call = max(1, max(gen.batch_size, gen.max_concurrency) // sampling.n)
        with load_backend(gen) as backend, progress_bar("generating", len(todo), cfg.progress) as advance:
            info = generator_info(cfg)
            for start in range(0, len(todo), per_call):
                chunk = todo[start : start + per_call]
                sampled = sample_solutions(backend, chunk, sampling, cfg.prompt_template, cfg.step_style, info)
                for solution in (s for solutions in sampled for s in solutions):
                    if solution.id not in log:
                        log.append(solution)
                        written += 1
                advance(steps=len(chunk))
    return written, len(problems) - len(todo)
