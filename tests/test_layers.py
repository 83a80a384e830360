"""Imports flow one way: data -> grading -> generation -> synthetic -> score -> train -> search ->
evaluate -> annotate -> rl -> quickstart -> cli, over a base of shared modules (``config``, ``errors``,
``devices``, ``artifacts``, ``metrics``, ...) that import no stage. No module imports a later stage,
and no two modules import each other, even through imports inside functions."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
STAGES = ["data", "grading", "generation", "synthetic", "score", "train", "search", "evaluate", "annotate", "rl",
          "quickstart", "cli"]  # fmt: skip


def modules(root: Path = SRC) -> dict[str, Path]:
    out = {}
    for path in sorted((root / "prmkit").rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every prmkit import in the file, function-level ones included."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("prmkit"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("prmkit"):
            yield node.lineno, node.module  # type: ignore[misc]
            yield from ((node.lineno, f"{node.module}.{a.name}") for a in node.names)


def layer(module: str) -> int:
    """0 for the shared base, else 1 + the stage's place in ``STAGES``."""
    parts = module.split(".")
    return STAGES.index(parts[1]) + 1 if len(parts) > 1 and parts[1] in STAGES else 0


def dependencies(mods: dict[str, Path]) -> dict[str, dict[str, int]]:
    """module -> {imported module: first line}; a module importing its own package's __init__ (or a
    name from it) does not count."""

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, int]] = {}
    for name, path in mods.items():
        edges: dict[str, int] = {}
        for line, target in imported(path):
            dep = resolve(target)
            if dep and dep != name and not name.startswith(f"{dep}."):
                edges.setdefault(dep, line)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def wrong_way(graph: dict[str, dict[str, int]], mods: dict[str, Path]) -> list[str]:
    return [
        f"{mods[src].name}:{line}: {src} imports {dep}"
        for src, edges in graph.items()
        for dep, line in edges.items()
        if layer(dep) > layer(src)
    ]


def test_no_module_imports_a_later_stage():
    mods = modules()
    assert wrong_way(dependencies(mods), mods) == []


def test_no_import_cycles():
    assert cycles(dependencies(modules())) == []


@pytest.mark.parametrize(
    ("files", "broken"),
    [
        ({"data/a.py": "def f():\n    from prmkit.grading.b import g\n", "grading/b.py": ""}, "wrong way"),
        ({"score/a.py": "import prmkit.score.b\n", "score/b.py": "from prmkit.score.a import x\n"}, "cycle"),
        ({"config.py": "from prmkit.cli import main\n", "cli/__init__.py": ""}, "wrong way"),
    ],
)
def test_the_checks_catch_what_they_mean(tmp_path, files, broken):
    for rel, text in files.items():
        path = tmp_path / "prmkit" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    mods = modules(tmp_path)
    graph = dependencies(mods)
    assert (wrong_way(graph, mods) if broken == "wrong way" else cycles(graph))
