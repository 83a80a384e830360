"""Bad input is refused in one line that names the file, line and field, with no traceback and no
silent wrong result. Each row: the files to write, the command, and the expected one-line error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from prmkit.cli.main import app
from prmkit.generation import smollm2_gguf_path
from prmkit.score import tiny

PROBLEM = {"id": "p1", "question": "Ann has 3 pens and gets 4 more. How many?", "answer": "7"}
SOLUTION = {"id": "s1", "problem_id": "p1", "steps": ["3 + 4 = 7", "The answer is \\boxed{7}."]}
LABELS = {"solution_id": "s1", "num_steps": 2, "first_error": -1, "hard": [1, 1], "source": "mc"}
LABELLED = {"problem": PROBLEM, "solution": SOLUTION, "labels": LABELS}


with smollm2_gguf_path().open("rb") as _gguf:
    GGUF_HEAD = _gguf.read(200_000)  # a real GGUF's header and the start of its tensor table


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


# (case, files, command with {name} placeholders for the files, expected error text)
CASES = [
    ("temperature nan", {"s.jsonl": jsonl(SOLUTION), "p.jsonl": jsonl(PROBLEM)},
     "annotate mc {s.jsonl} -p {p.jsonl} -o {out} --generation.backend synthetic-solver --sampling.temperature nan",
     "temperature: Input should be a finite number (got nan)"),
    ("temperature inf in generate", {"p.jsonl": jsonl(PROBLEM)},
     "generate {p.jsonl} -o {out} --generation.backend synthetic-solver --sampling.temperature inf",
     "temperature: Input should be a finite number (got inf)"),
    ("YAML n: true", {"s.jsonl": jsonl(SOLUTION), "p.jsonl": jsonl(PROBLEM), "c.yaml": "sampling: {n: true}\n"},
     "annotate mc {s.jsonl} -p {p.jsonl} -o {out} --generation.backend synthetic-solver --config {c.yaml}",
     "c.yaml.sampling.n: expected a number, got True"),
    ("YAML lr as a string", {"d.jsonl": jsonl(LABELLED), "c.yaml": "lr: fast\n"},
     "train prm --data {d.jsonl} --model x --config {c.yaml}", "c.yaml.lr: expected a number, got 'fast'"),
    ("learning rate nan", {"d.jsonl": jsonl(LABELLED)}, "train prm --data {d.jsonl} --model x --lr nan",
     "lr: Input should be a finite number (got nan)"),
    ("duplicate problem ids in annotate mc", {"s.jsonl": jsonl(SOLUTION), "p.jsonl": jsonl(PROBLEM, {**PROBLEM, "answer": "8"})},
     "annotate mc {s.jsonl} -p {p.jsonl} -o {out} --generation.backend synthetic-solver",
     "p.jsonl:2: field 'id': duplicate problem id 'p1' (first on line 1)"),
    ("duplicate solution ids in grade", {"s.jsonl": jsonl(SOLUTION, SOLUTION), "p.jsonl": jsonl(PROBLEM)},
     "grade {s.jsonl} --problems {p.jsonl} --output {out}",
     "s.jsonl:2: field 'id': duplicate solution id 's1' (first on line 1)"),
    ("duplicate solution ids in train prm", {"d.jsonl": jsonl(LABELLED, LABELLED)},
     "train prm --data {d.jsonl} --model x", "d.jsonl:2: field 'id': duplicate labelled solution id 's1' (first on line 1)"),
    ("duplicate solution ids in validate", {"d.jsonl": jsonl(SOLUTION, SOLUTION)},
     "data validate {d.jsonl}", "d.jsonl:2: field 'id': duplicate solution id 's1' (first on line 1)"),
    ("hard label as a string", {"d.jsonl": jsonl({**LABELLED, "labels": {**LABELS, "hard": ["1", 1]}})},
     "train prm --data {d.jsonl} --model x", "d.jsonl:1: field 'labels.hard.0': Input should be a valid integer"),
    ("soft label nan", {"d.jsonl": jsonl(LABELLED).replace('"source"', '"soft": [NaN, 1.0], "source"')},
     "train prm --data {d.jsonl} --model x", "d.jsonl:1: field 'labels.soft.0': Input should be a finite number"),
    ("hard label true", {"d.jsonl": jsonl({**LABELLED, "labels": {**LABELS, "hard": [True, 1]}})},
     "data validate {d.jsonl}", "d.jsonl:1: field 'labels.hard.0': Input should be a valid integer"),
    ("generate into its own problems file", {"p.jsonl": jsonl(PROBLEM)},
     "generate {p.jsonl} -o {p.jsonl} --generation.backend synthetic-solver", "p.jsonl is also an input"),
    ("annotate mc into its own input", {"s.jsonl": jsonl(SOLUTION), "p.jsonl": jsonl(PROBLEM)},
     "annotate mc {s.jsonl} -p {p.jsonl} -o {s.jsonl} --generation.backend synthetic-solver", "s.jsonl is also an input"),
    ("grade into its problems file", {"s.jsonl": jsonl(SOLUTION), "p.jsonl": jsonl(PROBLEM)},
     "grade {s.jsonl} --problems {p.jsonl} --output {p.jsonl}", "p.jsonl is also an input"),
    ("quickstart run directory that is a file", {"r": "not a directory\n"},
     "quickstart --run-dir {r}", "is a file, not a directory"),
    ("JSON nested too deeply", {"d.jsonl": "[" * 100000 + "]" * 100000 + "\n"},
     "data validate {d.jsonl}", "d.jsonl:1: JSON nested too deeply to be a record"),
    ("negative learning rate", {"d.jsonl": jsonl(LABELLED)}, "train prm --data {d.jsonl} --model x --lr -1",
     "need lr > 0"),
    ("zero save steps", {"d.jsonl": jsonl(LABELLED)}, "train prm --data {d.jsonl} --model x --save-steps 0",
     "save_steps, save_total_limit and logging_steps must be at least 1"),
    ("negative max steps", {"d.jsonl": jsonl(LABELLED)}, "train prm --data {d.jsonl} --model x --max-steps -5",
     "max_steps >= -1"),
    ("score max length 1", {"d.jsonl": jsonl(LABELLED)}, "score --prm {prm} --input {d.jsonl} --max-length 1 --output {out}",
     "max_length must be at least 2 tokens"),
    ("score on cuda without a GPU", {"d.jsonl": jsonl(LABELLED)},
     "score --prm {prm} --input {d.jsonl} --device cuda --output {out}", "torch sees no CUDA device here"),
    ("serve on port 70000", {}, "serve --prm {prm} --port 70000", "port must lie in 0..65535, got 70000"),
    ("a solution of 100,000 steps in annotate mc", {"s.jsonl": jsonl({**SOLUTION, "steps": ["1 + 1 = 2"] * 100_000}), "p.jsonl": jsonl(PROBLEM)},
     "annotate mc {s.jsonl} -p {p.jsonl} -o {out} --generation.backend synthetic-solver", "has 100000 steps; MC annotation labels at most 256"),
    ("grade output that is a directory", {"s.jsonl": jsonl(SOLUTION), "p.jsonl": jsonl(PROBLEM)},
     "grade {s.jsonl} --problems {p.jsonl} --output {dir}", "is a directory; name the file to write"),
    ("empty problems file in generate", {"p.jsonl": ""}, "generate {p.jsonl} -o {out} --generation.backend synthetic-solver",
     "p.jsonl: no Problem records in the file"),
    ("empty solutions file in annotate mc", {"s.jsonl": "\n", "p.jsonl": jsonl(PROBLEM)},
     "annotate mc {s.jsonl} -p {p.jsonl} -o {out} --generation.backend synthetic-solver", "s.jsonl: no solutions in the file"),
    ("empty gold answer in annotate mc", {"s.jsonl": jsonl(SOLUTION), "p.jsonl": jsonl({**PROBLEM, "answer": ""})},
     "annotate mc {s.jsonl} -p {p.jsonl} -o {out} --generation.backend synthetic-solver", "has no gold answer"),
    *(
        (f"unreadable gold answer {gold!r} in annotate mc", {"s.jsonl": jsonl(SOLUTION), "p.jsonl": jsonl({**PROBLEM, "answer": gold})},
         "annotate mc {s.jsonl} -p {p.jsonl} -o {out} --generation.backend synthetic-solver", "a gold answer math-verify cannot read")
        for gold in ("\\frac{1}{", "?")
    ),
    ("unknown field in a problem", {"p.jsonl": jsonl({**PROBLEM, "answr": "7"})},
     "generate {p.jsonl} -o {out} --generation.backend synthetic-solver", "p.jsonl:1: field 'answr': unknown field (typo?)"),
    ("missing problems file", {}, "generate {missing} -o {out} --generation.backend synthetic-solver", "file not found"),
    ("malformed JSON in solutions", {"s.jsonl": jsonl(SOLUTION) + "{oops\n", "p.jsonl": jsonl(PROBLEM)},
     "grade {s.jsonl} --problems {p.jsonl} --output {out}", "s.jsonl:2: malformed JSON"),
    ("file not UTF-8", {"p.jsonl": b"\xff\n"}, "data validate {p.jsonl}", "not UTF-8"),
    ("no steps", {"d.jsonl": jsonl({**SOLUTION, "steps": []})}, "data validate {d.jsonl}",
     "field 'steps': List should have at least 1 item"),
    ("a blank step", {"d.jsonl": jsonl({**SOLUTION, "steps": ["3 + 4 = 7", "  "]})}, "data validate {d.jsonl}",
     "field 'steps': step 1 is empty"),
    ("first error out of range", {"d.jsonl": jsonl({**LABELLED, "labels": {**LABELS, "first_error": 5, "hard": None}})},
     "data validate {d.jsonl}", "first_error 5 is out of range for 2 steps"),
    ("labels for another number of steps", {"d.jsonl": jsonl({**LABELLED, "labels": {**LABELS, "num_steps": 3, "hard": None}})},
     "data validate {d.jsonl}", "labels.num_steps 3 != 2 solution steps"),
    ("hard label 2", {"d.jsonl": jsonl({**LABELLED, "labels": {**LABELS, "hard": [1, 2]}})},
     "data validate {d.jsonl}", "hard labels must be 0 or 1"),
    ("labels of another solution", {"d.jsonl": jsonl({**LABELLED, "labels": {**LABELS, "solution_id": "s9"}})},
     "data validate {d.jsonl}", "labels.solution_id 's9' != solution.id 's1'"),
    ("solution of an unknown problem", {"s.jsonl": jsonl({**SOLUTION, "problem_id": "p9"}), "p.jsonl": jsonl(PROBLEM)},
     "annotate mc {s.jsonl} -p {p.jsonl} -o {out} --generation.backend synthetic-solver", "unknown problem 'p9'"),
    ("unknown backend", {"p.jsonl": jsonl(PROBLEM)}, "generate {p.jsonl} -o {out} --generation.backend nope",
     "unknown generation backend 'nope'"),
    ("zero samples", {"p.jsonl": jsonl(PROBLEM)}, "generate {p.jsonl} -o {out} --generation.backend synthetic-solver --sampling.n 0",
     "n and max_new_tokens must be >= 1"),
    ("top_p 0", {"p.jsonl": jsonl(PROBLEM)}, "generate {p.jsonl} -o {out} --generation.backend synthetic-solver --sampling.top-p 0",
     "0 < top_p <= 1"),
    ("zero rollouts", {"s.jsonl": jsonl(SOLUTION), "p.jsonl": jsonl(PROBLEM)},
     "annotate mc {s.jsonl} -p {p.jsonl} -o {out} --generation.backend synthetic-solver --sampling.n 0", "must be >= 1"),
    ("unknown aggregation in score", {"d.jsonl": jsonl(LABELLED)},
     "score --prm {prm} --input {d.jsonl} --aggregation median --output {out}", "unknown aggregation 'median'"),
    ("unknown data format", {"d.jsonl": jsonl(PROBLEM)}, "data validate {d.jsonl} --format nope",
     "unknown dataset format 'nope'"),
    ("soft labels for an ORM", {"d.jsonl": jsonl(LABELLED)},
     "train prm --data {d.jsonl} --model x --objective orm --labels soft", "--labels soft does not apply"),
    ("held-out share 1.5", {"d.jsonl": jsonl(LABELLED)}, "train prm --data {d.jsonl} --model x --eval-fraction 1.5",
     "eval_fraction must lie in [0, 1)"),
    ("hard threshold 1.5", {"d.jsonl": jsonl(LABELLED)}, "train prm --data {d.jsonl} --model x --hard-threshold 1.5",
     "hard_threshold must lie in [0, 1)"),
    ("no backbone", {"d.jsonl": jsonl(LABELLED)}, "train prm --data {d.jsonl}", "no backbone given"),
    ("a backbone that is not there", {"d.jsonl": jsonl(LABELLED)}, "train prm --data {d.jsonl} --model {missing}",
     "not found: prmkit loads local model folders and .gguf files, never from the hub"),
    *(
        (f"a GGUF file cut at {size} bytes as {what}", {"d.jsonl": jsonl(LABELLED), "p.jsonl": jsonl(PROBLEM), "m.gguf": GGUF_HEAD[:size]},
         command, "m.gguf: not a readable GGUF file")
        for size in (24, 200_000)
        for what, command in (
            ("a backbone", "train prm --data {d.jsonl} --model {m.gguf}"),
            ("a policy", "generate {p.jsonl} -o {out} --generation.backend transformers --generation.model {m.gguf}"),
        )
    ),
    ("missing PRM folder", {"d.jsonl": jsonl(LABELLED)}, "score --prm {missing} --input {d.jsonl} --output {out}",
     "PRM folder not found"),
    ("unknown quickstart label source", {}, "quickstart --run-dir {dir} --prm-labels gold",
     "prm_labels must be consensus, mc or mc-soft"),
    ("unknown quickstart PRM head", {}, "quickstart --run-dir {dir} --prm-head mlp", "prm_head must be likelihood or linear"),
    ("invalid YAML", {"c.yaml": "n: [1,\n"}, "generate {c.yaml} -o {out} --config {c.yaml}", "invalid YAML"),
    ("YAML that is a list", {"c.yaml": "- 1\n"}, "generate {c.yaml} -o {out} --config {c.yaml}",
     "the top level must be a mapping"),
    ("data validate of an empty file", {"e.jsonl": ""}, "data validate {e.jsonl}",
     "e.jsonl: no records: the file is empty or holds only blank lines"),
    ("data validate of blank lines", {"e.jsonl": "\n  \n\n"}, "data validate {e.jsonl}",
     "e.jsonl: no records: the file is empty or holds only blank lines"),
    ("grade of an empty file", {"e.jsonl": "", "p.jsonl": jsonl(PROBLEM)}, "grade {e.jsonl} --problems {p.jsonl} --output {out}",
     "e.jsonl: no solutions: the file is empty or holds only blank lines"),
    ("report of a folder with no stage", {}, "report {dir}", "no stage here has written metrics"),
    ("a lone surrogate in a step", {"d.jsonl": jsonl({**LABELLED, "solution": {**SOLUTION, "steps": ["3 + 4 = 7\ud800"]}})},
     "score --prm {prm} --input {d.jsonl} --output {out}", "d.jsonl:1: a lone UTF-16 surrogate (\\ud800) in a string"),
    ("a lone surrogate in data validate", {"d.jsonl": jsonl({**LABELLED, "solution": {**SOLUTION, "steps": ["3 + 4 = 7\ud800"]}})},
     "data validate {d.jsonl}", "d.jsonl:1: a lone UTF-16 surrogate (\\ud800) in a string"),
    ("generate into an existing text file", {"p.jsonl": jsonl(PROBLEM), "notes.txt": "my notes\nmore notes"},
     "generate {p.jsonl} -o {notes.txt} --generation.backend synthetic-solver",
     "notes.txt:2: its last line is not a record: the file exists and is not an output of this command"),
    ("generate into an existing problem file", {"p.jsonl": jsonl(PROBLEM), "q.jsonl": jsonl(PROBLEM)},
     "generate {p.jsonl} -o {q.jsonl} --generation.backend synthetic-solver",
     "q.jsonl:1: field 'problem_id': missing: the file exists and is not an output of this command"),
    ("annotate mc into an existing problem file", {"s.jsonl": jsonl(SOLUTION), "p.jsonl": jsonl(PROBLEM), "q.jsonl": jsonl(PROBLEM)},
     "annotate mc {s.jsonl} -p {p.jsonl} -o {q.jsonl} --generation.backend synthetic-solver",
     "q.jsonl:1: it is not a record of this output: the file exists and is not an output of this command"),
    ("score onto its own input", {"d.jsonl": jsonl(LABELLED)}, "score --prm {prm} --input {d.jsonl} --output {d.jsonl}",
     "d.jsonl is also an input"),
    ("annotate export onto its own input", {"d.jsonl": jsonl(LABELLED)}, "annotate export {d.jsonl} -o {d.jsonl}",
     "d.jsonl is also an input"),
    ("annotate relabel onto its own input", {"d.jsonl": jsonl(LABELLED)}, "annotate relabel {d.jsonl} -o {d.jsonl}",
     "d.jsonl is also an input"),
    ("annotate consensus onto its MC input", {"d.jsonl": jsonl(LABELLED), "j.jsonl": ""},
     "annotate consensus --mc {d.jsonl} --judge {j.jsonl} -o {d.jsonl}", "d.jsonl is also an input"),
    ("data convert onto its own input", {"d.jsonl": jsonl(LABELLED)}, "data convert {d.jsonl} {d.jsonl} --from jsonl",
     "d.jsonl is also an input"),
    ("generate into a folder that is a file", {"p.jsonl": jsonl(PROBLEM)},
     "generate {p.jsonl} -o {p.jsonl}/out.jsonl --generation.backend synthetic-solver",
     "p.jsonl is a file, not a folder)"),
    ("a YAML key given twice", {"p.jsonl": jsonl(PROBLEM), "c.yaml": "seed: 1\nsampling: {n: 2}\nseed: 3\n"},
     "generate {p.jsonl} -o {out} --config {c.yaml}", "c.yaml:3: invalid YAML: 'seed' is given twice (first on line 1)"),
    ("a YAML config that is not UTF-8", {"p.jsonl": jsonl(PROBLEM), "c.yaml": b"seed: 1\n# caf\xe9\n"},
     "generate {p.jsonl} -o {out} --config {c.yaml}", "c.yaml:2: not UTF-8 text (byte 0xe9)"),
    ("unknown config key", {"p.jsonl": jsonl(PROBLEM), "c.yaml": "temprature: 0.5\n"},
     "generate {p.jsonl} -o {out} --config {c.yaml}", "unknown key(s) temprature"),
    ("unknown reward", {"p.jsonl": jsonl(PROBLEM)}, "rl grpo --policy x --output-dir {dir} --problems {p.jsonl} --reward nope",
     "unknown reward 'nope'"),
    ("serve without a PRM", {}, "serve", "no PRM given: pass --prm DIR"),
    ("quickstart with no candidates", {}, "quickstart --run-dir {dir} --n 0", "n must be at least 1, got 0"),
    ("no tokens to generate", {"p.jsonl": jsonl(PROBLEM)},
     "generate {p.jsonl} -o {out} --generation.backend synthetic-solver --sampling.max-new-tokens 0", "max_new_tokens=0"),
    ("a 2,000,000-character step in score", {"d.jsonl": jsonl({**LABELLED, "solution": {**SOLUTION, "steps": ["1" * 2_000_000]}, "labels": None})},
     "score --prm {prm} --input {d.jsonl} --output {out}",
     "d.jsonl:1: field 'solution.steps': solution s1 has 2,000,041 characters; a PRM scores at most 1,000,000"),
    ("score of a solution whose problem is not given", {"s.jsonl": jsonl(SOLUTION)},
     "score --prm {prm} --input {s.jsonl} --output {out}", "s.jsonl:1: field 'problem_id': no problem 'p1' (pass --problems FILE)"),
    ("module:attr backend without opting in", {"p.jsonl": jsonl(PROBLEM)},
     "generate {p.jsonl} -o {out} --generation.backend os:system",
     "generation backend 'os:system' is a module:attr path to code outside prmkit"),
]  # fmt: skip


@pytest.fixture(scope="module")
def prm(tmp_path_factory) -> Path:
    return tiny.make_prmkit_prm(tmp_path_factory.mktemp("prm") / "prm")


@pytest.mark.parametrize(("case", "files", "command", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_in_one_line(tmp_path, monkeypatch, prm, case, files, command, expected):
    if "cuda" in case and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.delenv("PRMKIT_ALLOW_IMPORTS", raising=False)
    paths = {name: tmp_path / name for name in files}
    for name, text in files.items():
        paths[name].write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    out = tmp_path / "out.jsonl"
    (tmp_path / "dir").mkdir()
    places = {"out": out, "prm": prm, "dir": tmp_path / "dir", "missing": tmp_path / "missing.jsonl"}
    for name, path in {**paths, **places}.items():
        command = command.replace("{" + name + "}", str(path))
    args = command.split()
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    summary = 1 if args[:2] == ["data", "validate"] else 0  # validate may add "N records, M bad"
    assert 1 <= len(lines) <= 1 + summary and expected in lines[0], result.output
    assert not out.exists() or out.read_text() == "", "a refused run wrote output"
    assert not list(tmp_path.glob("*.tmp")), "a temporary file was left behind"
    written = {name: text if isinstance(text, bytes) else text.encode("utf-8") for name, text in files.items()}
    assert all(paths[name].read_bytes() == data for name, data in written.items()), "an input changed"


CONTRACT_EDITS = [
    ("max_length 1", {"step_format.max_length": 1}, "step_format: max_length must be at least 2 tokens, got 1"),
    ("a number for the format", {"format": 5}, "prmkit_prm.json.format: Input should be a valid string (got 5)"),
    ("an empty separator", {"step_format.separator": ""}, "step_format: separator is empty"),
    ("positive label 5", {"positive_label": 5}, "a PRM head has 2 labels, the positive one 0 or 1"),
    ("three labels", {"num_labels": 3}, "got num_labels 3, positive_label 1"),
    ("add_bos as a word", {"step_format.add_bos": "no"}, "step_format.add_bos: expected true or false, got 'no'"),
    ("invalid UTF-8", b'{"format": "caf\xe9"}', "not a valid prmkit_prm.json: 'utf-8' codec can't decode byte 0xe9"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "edit", "expected"), CONTRACT_EDITS, ids=[c[0] for c in CONTRACT_EDITS])
def test_a_tampered_prm_contract_is_refused_in_one_line(tmp_path, prm, case, edit, expected):
    folder = tmp_path / "prm"
    shutil.copytree(prm, folder)
    contract = folder / "prmkit_prm.json"
    if isinstance(edit, bytes):
        contract.write_bytes(edit)
    else:
        data = json.loads(contract.read_text())
        for key, value in edit.items():
            *parents, leaf = key.split(".")
            node = data
            for part in parents:
                node = node[part]
            node[leaf] = value
        contract.write_text(json.dumps(data))
    (tmp_path / "d.jsonl").write_text(jsonl(LABELLED))
    args = ["score", "--prm", str(folder), "--input", str(tmp_path / "d.jsonl"), "--output", str(tmp_path / "out.jsonl")]
    result = CliRunner().invoke(app, args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert len(lines) == 1 and expected in lines[0] and "prmkit_prm.json" in lines[0], result.output
    assert not (tmp_path / "out.jsonl").exists()


def test_a_hard_link_to_the_input_is_refused_as_the_input(tmp_path):
    problems = tmp_path / "p.jsonl"
    problems.write_text(jsonl(PROBLEM))
    (tmp_path / "link.jsonl").hardlink_to(problems)
    args = ["generate", str(problems), "-o", str(tmp_path / "link.jsonl"), "--generation.backend", "synthetic-solver"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "link.jsonl is also an input" in result.output, result.output
    assert problems.read_text() == jsonl(PROBLEM)
