"""An output on a read-only file system (or under a file) is refused in one line naming the path, by
every command that writes (a real read-only tmpfs; skipped where this process may not mount one)."""

from __future__ import annotations

import pytest
from reliability_helpers import tmpfs, write_sums
from typer.testing import CliRunner

from prmkit.cli.main import app
from prmkit.data.jsonl import write_jsonl
from prmkit.synthetic.world import WorldConfig, make_problems

SOLVER = "--generation.backend synthetic-solver --generation.model slip_rate=0.2"
COMMANDS = {
    "generate": "generate {p} -o {out}/s.jsonl " + SOLVER,
    "search": "search --problems {p} --output {out}/x.jsonl --method majority " + SOLVER,
    "synthetic make": "synthetic make --count 3 -o {out}/p.jsonl",
    "annotate mc": "annotate mc {l} -p {p} -o {out}/m.jsonl --generation.backend synthetic-solver",
    "annotate export": "annotate export {l} -o {out}/e.jsonl",
    "data convert": "data convert {l} {out}/c.jsonl --from jsonl --to jsonl",
    "eval bon": "eval bon --problems {p} --run-dir {out}/bon --sampling.n 2 " + SOLVER,
    "train prm": "train prm --data {l} --model {l} --output-dir {out}/prm",
    "quickstart": "quickstart --run-dir {out}/q",
}


@pytest.fixture(scope="module")
def read_only(tmp_path_factory):
    with tmpfs(tmp_path_factory.mktemp("ro"), "ro,size=64k") as mount:
        yield mount


@pytest.mark.parametrize("name", list(COMMANDS))
@pytest.mark.parametrize("where", ["read-only", "under a file"])
def test_an_output_the_system_refuses_is_one_line_naming_it(name, where, read_only, tmp_path):
    write_jsonl(tmp_path / "p.jsonl", make_problems(WorldConfig(), 2, seed=1))
    write_sums(tmp_path / "l.jsonl", 2)
    (tmp_path / "file").write_text("not a folder\n")
    out = read_only if where == "read-only" else tmp_path / "file"
    args = COMMANDS[name].format(p=tmp_path / "p.jsonl", l=tmp_path / "l.jsonl", out=out).split()
    result = CliRunner().invoke(app, args)
    lines = [x for x in result.output.splitlines() if x.strip() and not x.startswith("warning:")]
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert len(lines) == 1 and lines[0].startswith(f"error: {out}"), result.output
    if where == "read-only":
        assert "Read-only file system" in lines[0]
    else:
        assert "a file, not a folder" in lines[0] or "Not a directory" in lines[0]
