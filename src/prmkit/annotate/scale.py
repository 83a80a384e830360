"""Annotation spread over a Ray cluster (Monte Carlo labelling uses it with ``--ray``).

Solutions are cut into chunks of ``ray_chunk``; a pool of ``ray_workers`` actors (one CPU each) labels
them with the given ``label(cfg, backend, pairs)`` stream. Each actor builds its own backend from the
config (a local model), or they all talk to one OpenAI-compatible server (``backend: openai``, shared
``base_url``). Chunks come back in input order, and only the driver writes (through the AppendLog), so
resuming works as in a local run and the labels are identical: every rollout's seed comes from stable
ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prmkit.data.records import LabeledSolution
from prmkit.errors import PrmkitError

LabelFn = Callable[[Any, Any, Sequence[LabeledSolution]], Iterable[LabeledSolution]]


class LabelWorker:
    """A Ray actor holding one backend."""

    def __init__(self, cfg: Any, label: LabelFn) -> None:
        from prmkit.generation.base import load_backend

        self.cfg, self.label_fn = cfg, label
        self.backend = load_backend(cfg.generation)

    def label(self, pairs: list[LabeledSolution]) -> list[LabeledSolution]:
        return list(self.label_fn(self.cfg, self.backend, pairs))


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise PrmkitError("--ray needs Ray: pip install 'prmkit[ray]'") from None
    return ray


def ray_stream(label: LabelFn, cfg: Any, pairs: Sequence[LabeledSolution]) -> Iterator[LabeledSolution]:
    """Label ``pairs`` with ``label`` on Ray actors (``cfg``: its settings, with ``ray_*`` fields);
    yield the records in input order."""
    ray = _ray()
    from ray.util import ActorPool

    started = not ray.is_initialized()
    if started:
        ray.init(address=cfg.ray_address or None, include_dashboard=False, log_to_driver=False)
    chunks = [list(pairs[k : k + cfg.ray_chunk]) for k in range(0, len(pairs), cfg.ray_chunk)]
    workers = cfg.ray_workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    actor = ray.remote(num_cpus=1)(LabelWorker)
    actors = [actor.remote(cfg, label) for _ in range(min(workers, len(chunks)))]
    try:
        for records in ActorPool(actors).map(lambda a, chunk: a.label.remote(chunk), chunks):
            yield from records
    finally:
        for a in actors:
            ray.kill(a)
        if started:
            ray.shutdown()
