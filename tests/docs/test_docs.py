"""Every example in ``docs/*.md`` runs, so the user guide cannot drift from the code.

How a page runs (one test per page, in a fresh temporary directory that is also on ``sys.path``):

- ```` ```python ```` blocks run in document order in one namespace, in this process (one torch thread,
  as everywhere in the suite). Their ``assert`` lines are the checks.
- ```` ```console ```` blocks: every line that starts with ``$ `` is a bash command (a line ending in
  ``\\`` continues on the next), run in the page's directory with this interpreter's ``bin/`` (the
  venv's ``prmkit``) first on ``PATH``; it must exit 0. The other lines are the output the reader is
  shown: each non-blank one must appear in the command's stdout + stderr (whitespace collapsed);
  a ``...`` line stands for output left out.
- Python blocks see the same ``PATH``, so a block that starts ``prmkit`` (a server) gets the venv's.
- Python and console blocks interleave in document order: a command sees the files earlier blocks
  wrote and the environment variables they set in ``os.environ`` (restored after the page).
- A block whose info string has ``file=NAME`` is written to ``NAME`` in the page's directory (a
  module a command imports, a YAML config) instead of being run.
- A block whose info string contains ``no-run`` is not run (GPU, vLLM, paper-scale and 10-minute
  commands). Every ``prmkit`` command of every console block, run or not, is still checked against
  the CLI itself (in-process, cheap): the sub-command and each ``--flag`` must exist and the number of
  positional arguments must fit, so no page documents a flag that is not there.
- Relative links between pages, and to files of the repository, must resolve.

Shared state between pages: none. A page that needs a model builds a tiny one in its own blocks.
Each page prints its wall and CPU seconds (``-s`` shows them); CPU time is the load-independent cost.
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from typer.main import get_command

from prmkit.cli.main import full_app
from prmkit.paths import shared_data_dir

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md"))
FENCE = re.compile(r"^```(\S*)[ \t]*(.*)$")
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


@dataclass
class Block:
    lang: str
    info: str
    code: str
    line: int  # 1-based line of the opening fence

    @property
    def runs(self) -> bool:
        return "no-run" not in self.info.split()

    @property
    def file(self) -> str | None:
        """``file=NAME`` in the info string: the block is the content of NAME, written, not run."""
        names = [word.split("=", 1)[1] for word in self.info.split() if word.startswith("file=")]
        return names[0] if names else None


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order."""
    out: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        assert i < len(lines), f"{page.name}:{start + 1}: unclosed code block"
        out.append(Block(m.group(1), m.group(2), "\n".join(body) + "\n", start + 1))
        i += 1
    return out


@dataclass
class Command:
    text: str
    expected: list[str]  # output lines shown under it


def commands(block: Block) -> list[Command]:
    """The ``$ `` commands of a console block with the output lines shown under each."""
    out: list[Command] = []
    pending: list[str] | None = None  # continuation lines of the current command
    for raw in block.code.splitlines():
        if pending is not None:
            pending.append(raw.strip())
            if not raw.rstrip().endswith("\\"):
                out[-1].text = " ".join(part.rstrip("\\").strip() for part in pending)
                pending = None
            continue
        if raw.startswith("$ "):
            out.append(Command(raw[2:], []))
            if raw.rstrip().endswith("\\"):
                pending = [raw[2:]]
        elif out and raw.strip() and raw.strip() != "...":
            out[-1].expected.append(raw)
    return out


def squash(text: str) -> str:
    return " ".join(text.split())


# --- flags are checked against the typer app itself -------------------------------------------

ROOT = get_command(full_app())  # every command registered, with its options


def check_prmkit_line(text: str, where: str) -> None:
    """Every ``prmkit ...`` invocation in ``text`` names a real sub-command, real options, and as many
    positional arguments as the command takes (a list option is repeated: ``--x a --x b``)."""
    try:
        tokens = shlex.split(text, comments=True)
    except ValueError as exc:
        raise AssertionError(f"{where}: cannot parse {text!r}: {exc}") from None
    for start, token in enumerate(tokens):
        if Path(token).name != "prmkit":
            continue
        cmd = ROOT  # typer vendors its own click: groups are told apart by their sub-commands
        rest = tokens[start + 1 :]
        while hasattr(cmd, "commands") and rest and not rest[0].startswith("-"):
            assert rest[0] in cmd.commands, f"{where}: no command {rest[0]!r} in {text!r}"
            cmd, rest = cmd.commands[rest[0]], rest[1:]
        options = {opt: p for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}
        arguments = [p for p in cmd.params if p.param_type_name == "argument"]
        positional, i = 0, 0
        while i < len(rest) and rest[i] not in ("|", "||", "&&", ";", ">", "2>&1"):
            arg = rest[i]
            if arg.startswith("-") and arg != "-":
                flag = arg.split("=", 1)[0]
                name = " ".join(tokens[start : start + 3])
                assert flag in options, f"{where}: {name} has no option {flag}"
                takes_value = not (
                    getattr(options[flag], "is_flag", False) or flag in options[flag].secondary_opts
                )
                i += 2 if takes_value and "=" not in arg else 1
            else:
                positional, i = positional + 1, i + 1
        required = sum(1 for p in arguments if p.required)
        assert required <= positional <= len(arguments), (
            f"{where}: {positional} positional arguments for {' '.join(tokens[start : start + 3])} "
            f"(takes {required}..{len(arguments)}) in {text!r}"
        )


# --- running a page -------------------------------------------------------------------------------


def shell_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        OMP_NUM_THREADS="1",
        COLUMNS="200",  # rich wraps at the terminal width; a wide one keeps output lines whole
        PRMKIT_DATA_DIR=str(shared_data_dir()),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    return env


def run_command(cmd: Command, cwd: Path, where: str) -> None:
    proc = subprocess.run(
        ["bash", "-c", cmd.text],
        check=False,  # the exit code is asserted below, with the output
        cwd=cwd,
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{where}: `{cmd.text}` exited {proc.returncode}:\n{output[-3000:]}"
    flat = squash(output)
    for line in cmd.expected:
        assert squash(line) in flat, (
            f"{where}: `{cmd.text}` did not print {line.strip()!r}:\n{output[-3000:]}"
        )


def cpu_seconds() -> float:
    """CPU time of this process and its finished children: a load-independent cost measure."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    saved_env = dict(os.environ)
    os.environ["PATH"] = shell_env()["PATH"]  # Python blocks that start `prmkit` find the venv's
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    timings = []
    cpu_start, wall_start = cpu_seconds(), time.perf_counter()
    try:
        for block in blocks(page):
            where = f"{page.name}:{block.line}"
            if block.lang == "console":
                for cmd in commands(block):
                    check_prmkit_line(cmd.text, where)
            if not block.runs:
                continue
            start = time.perf_counter()
            if block.file is not None:
                (tmp_path / block.file).write_text(block.code, encoding="utf-8")
            elif block.lang == "python":
                exec(compile(block.code, where, "exec"), namespace)  # noqa: S102 - the docs are the test
            elif block.lang == "console":
                for cmd in commands(block):
                    run_command(cmd, tmp_path, where)
            timings.append((where, time.perf_counter() - start))
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
    slowest = sorted(timings, key=lambda t: -t[1])[:3]
    print(
        f"{page.name}: {time.perf_counter() - wall_start:.0f} s wall, {cpu_seconds() - cpu_start:.0f} s CPU "
        f"(this process and its commands); slowest blocks:",
        ", ".join(f"{w} {s:.1f}s" for w, s in slowest),
    )


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target, _anchor in LINK.findall(text):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_the_runner_reads_what_the_pages_mean() -> None:
    block = Block(
        "console", "", "$ prmkit data validate x \\\n    --kind problem\nx: 1 records, 0 bad\n...\n", 1
    )
    (cmd,) = commands(block)
    assert cmd.text == "prmkit data validate x --kind problem" and cmd.expected == ["x: 1 records, 0 bad"]
    check_prmkit_line("PYTHONPATH=. prmkit annotate mc s.jsonl -p p.jsonl -o m.jsonl --sampling.n 4", "t")
    with pytest.raises(AssertionError, match="no option --bogus"):
        check_prmkit_line("prmkit generate p.jsonl -o s.jsonl --bogus 1", "t")
    with pytest.raises(AssertionError, match="no command"):
        check_prmkit_line("prmkit annotate nope", "t")
    with pytest.raises(AssertionError, match="positional"):
        check_prmkit_line("prmkit eval bon --aggregations min last", "t")  # a list option is repeated
    check_prmkit_line("prmkit eval bon --aggregations min --aggregations last --no-greedy", "t")
    assert not Block("console", "no-run", "", 1).runs and Block("python", "", "", 1).runs


# --- provenance of numbers ----------------------------------------------------------------------

HISTORY = re.compile(r"\bissue[- ]?#?\d+|\bclosing notes?\b|\bsessions?\b", re.IGNORECASE)
# A measurement: a share, a ratio or a duration; a score (0.xx) where the paragraph names one.
MEASURED = re.compile(
    r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s?(%|×|x\b|ms\b|s\b|min\b|minutes?\b|seconds?\b|hours?\b)"
)
SCORE = re.compile(r"(?<![\w.])(0\.\d{2,})\b()")
SCORED = re.compile(r"\b(?:AUROC|ranking|F1)\b")
BARE = re.compile(r"(?<![\w.])(\d[\d,]*\.\d+)(?![\w.])")
UNITS = {"×": "x", "minute": "min", "minutes": "min", "second": "s", "seconds": "s", "hour": "h", "hours": "h"}
SOURCE = re.compile(r"(?:benchmarks|experiments)/[\w./-]+\.py|docs/results/[\w./-]+")
RESULTS = re.compile(r"(?<![\w/])(?:docs/)?results/[\w./-]+\.md")  # from the repository or from docs/
PAPER = re.compile(r"\b(?:paper|papers|ALGORITHMS\.md|Table \d+|Fig\. \d+)\b")
NOT_MEASURED = "<!-- not a measurement -->"
ALGORITHMS = shared_data_dir().parent / "papers" / "ALGORITHMS.md"


def paragraphs(text: str) -> list[str]:
    """The prose paragraphs of a page (code blocks left out)."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return [p for p in re.split(r"\n\s*\n", prose) if p.strip()]


def quantities(text: str, scores: bool) -> list[tuple[Decimal, str, str]]:
    """(value, unit, as written) of each measured-looking number in ``text``."""
    found = MEASURED.findall(text) + (SCORE.findall(text) if scores else [])
    return [(Decimal(v.replace(",", "")), UNITS.get(u, u), v) for v, u in found]


def measured(paragraph: str) -> list[tuple[Decimal, str, str]]:
    """The measured-looking numbers of a paragraph."""
    return [] if NOT_MEASURED in paragraph else quantities(paragraph, bool(SCORED.search(paragraph)))


def untraced(paragraph: str, repo: Path = REPO) -> list[str]:
    """The measured numbers of a paragraph that none of the results files it cites holds, as written or
    rounded from a finer value (nor the papers' ALGORITHMS.md, where the paragraph names a paper): a
    script alone is not a source."""
    numbers = measured(paragraph)
    if not numbers:
        return []
    files = [repo / "docs" / cited.removeprefix("docs/") for cited in RESULTS.findall(paragraph)]
    if PAPER.search(paragraph):
        files.append(ALGORITHMS)
    text = " ".join(f.read_text(encoding="utf-8") for f in files if f.is_file())
    known = {(v, u) for v, u, _ in quantities(text, scores=True)}
    bare = {Decimal(v.replace(",", "")) for v in BARE.findall(text)}  # table cells whose header names the unit
    known |= {(v, unit) for v in bare for unit in {*UNITS.values(), "%", "ms", ""}}

    def traced(value: Decimal, unit: str) -> bool:
        step = Decimal(1).scaleb(value.as_tuple().exponent)
        return any(u == unit and v.quantize(step, ROUND_HALF_UP) == value for v, u in known)

    return [f"{written}{unit}" for value, unit, written in numbers if not traced(value, unit)]


@pytest.mark.parametrize("page", [*PAGES, REPO / "README.md"], ids=[p.stem for p in [*PAGES, REPO / "README.md"]])
def test_every_number_is_in_the_results_file_it_cites(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert not HISTORY.findall(text), f"{page.name}: internal history {HISTORY.findall(text)}"
    for cited in SOURCE.findall(text):
        assert (REPO / cited.rstrip(".,)")).exists(), f"{page.name}: cites {cited}, which does not exist"
    for paragraph in paragraphs(text):
        missing = untraced(paragraph)
        assert not missing, f"{page.name}: {missing} not in the results it cites: {paragraph[:160]!r}"


def test_the_provenance_check_catches_what_it_means(tmp_path: Path) -> None:
    (tmp_path / "docs" / "results").mkdir(parents=True)
    (tmp_path / "docs" / "results" / "run.md").write_text("BoN 67.5%, ranking 0.945, 4 min 18 s, 1.65x\n")
    assert untraced("The policy reached 67.5% on held-out problems.", tmp_path) == ["67.5%"]
    assert untraced("The policy reached 67.5% in 4 min 18 s (docs/results/run.md).", tmp_path) == []
    assert untraced("About 68%, 1.7x, 0.95 in ranking, 18 seconds (docs/results/run.md).", tmp_path) == []
    assert untraced("The policy reached 68.5% (docs/results/run.md).", tmp_path) == ["68.5%"]
    assert untraced("A ranking AUROC of 0.947 (docs/results/run.md).", tmp_path) == ["0.947"]
    assert untraced("It took 41 ms (benchmarks/server.py).", tmp_path) == ["41ms"]  # a script is no source
    assert untraced("BoN 67.5% ([results/run.md](results/run.md)).", tmp_path) == []  # a link from docs/
    assert untraced("A learning rate of 0.001, 16 solutions.", tmp_path) == []  # settings
    assert untraced("A 20% slip rate. " + NOT_MEASURED, tmp_path) == []
    assert HISTORY.search("as the issue-6 run showed") and HISTORY.search("in the closing notes")
