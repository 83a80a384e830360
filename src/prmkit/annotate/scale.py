"""Annotation spread over a Ray cluster (Monte Carlo labelling uses it with ``--ray``).

Solutions are cut into chunks of ``ray_chunk``, and each chunk is one Ray task (one CPU) that labels
it with the given ``label(cfg, backend, pairs)`` stream; at most ``ray_workers`` run at once. A Ray
worker process builds its backend from the config once and keeps it for the chunks it labels next (a
local model), or they all talk to one OpenAI-compatible server (``backend: openai``, shared
``base_url``).

A chunk whose node is lost (a killed worker, a machine gone) is run again on a node still there, up to
``RETRIES`` times. Every rollout's seed comes from stable ids, so a rerun chunk gives the labels the
first run would have. Chunks come back in input order and only the driver writes (through the
AppendLog), so the output has no solution twice and none missing, and resuming works as in a local
run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prmkit.data.records import LabeledSolution
from prmkit.errors import PrmkitError

LabelFn = Callable[[Any, Any, Sequence[LabeledSolution]], Iterable[LabeledSolution]]
RETRIES = 5  # reruns of a chunk whose worker or node died (errors in the labelling itself are not retried)

_backends: dict[str, Any] = {}  # in each Ray worker process: the backend built for each generation config


def label_chunk(cfg: Any, label: LabelFn, pairs: list[LabeledSolution]) -> list[LabeledSolution]:
    """One chunk's labels, with this process's backend for ``cfg.generation`` (built on first use)."""
    key = repr(cfg.generation)
    if key not in _backends:
        from prmkit.generation.base import load_backend

        _backends[key] = load_backend(cfg.generation)
    return list(label(cfg, _backends[key], pairs))


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise PrmkitError("--ray needs Ray: pip install 'prmkit[ray]'") from None
    return ray


def ray_stream(label: LabelFn, cfg: Any, pairs: Sequence[LabeledSolution]) -> Iterator[LabeledSolution]:
    """Label ``pairs`` with ``label`` in Ray tasks (``cfg``: its settings, with ``ray_*`` fields);
    yield the records in input order."""
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=cfg.ray_address or None, include_dashboard=False, log_to_driver=False)
    chunks = [list(pairs[k : k + cfg.ray_chunk]) for k in range(0, len(pairs), cfg.ray_chunk)]
    workers = cfg.ray_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    task = ray.remote(num_cpus=1, max_retries=RETRIES)(label_chunk)
    settings = ray.put(cfg)
    running: deque[Any] = deque()
    queued = iter(chunks)
    try:
        while True:
            for chunk in queued:
                running.append(task.remote(settings, label, chunk))
                if len(running) >= workers:
                    break
            if not running:
                return
            try:
                records = ray.get(running.popleft())
            except ray.exceptions.RayTaskError:  # the labelling failed: the error (a PrmkitError too) says why
                raise
            except ray.exceptions.RayError as exc:  # still lost after the reruns
                raise PrmkitError(f"Ray lost a chunk of solutions {RETRIES + 1} times; last: {exc}") from None
            yield from records
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
