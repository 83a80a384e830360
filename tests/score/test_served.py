"""A PRM served by a real `prmkit serve` subprocess, used wherever a PRM folder is: the same scores."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prmkit.cli.main import app
from prmkit.data.jsonl import write_jsonl
from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels
from prmkit.errors import ConfigError, PrmkitError
from prmkit.score import PRMConfig, load_prm, tiny
from prmkit.score.config import ServeConfig, ServedPRMConfig
from prmkit.score.served import ServedPRM, request_chunks

QUESTIONS = ["Mia has 3 pens. She buys 2 more.", "Tom has 9 cards. He loses 4.", "What is 6 * 7?"]
SOLUTIONS = [
    ["Step 1: 3 + 2 = 5", "The answer is \\boxed{5}."],
    ["Step 1: 9 - 4 = 5", "Step 2: 5 + 0 = 5", "Step 3: 5 * 1 = 5", "So \\boxed{5}"],
    ["6 * 7 = 42", "The answer is \\boxed{42}."],
    ["6 * 7 = 41"],
]
PROBLEM_OF = [0, 1, 2, 2]


@pytest.fixture(scope="module")
def prm_dir(tmp_path_factory):
    return tiny.make_prmkit_prm(tmp_path_factory.mktemp("prm") / "prm")


@pytest.fixture
def served(prm_dir, prmkit_server, monkeypatch):
    """A `prmkit serve` subprocess of ``prm_dir`` with small request limits, and its token in the env."""
    server = prmkit_server(prm_dir, "--max-solutions", "2", "--max-steps", "4")
    monkeypatch.setenv("PRMKIT_SERVER_TOKEN", server.token)
    return server


def test_request_chunks_keep_order_under_both_limits():
    assert request_chunks([2, 4, 2, 1], 2, 4) == [[0], [1], [2, 3]]
    assert request_chunks([1, 1, 1], 2, 10) == [[0, 1], [2]]
    assert request_chunks([9], 2, 4) == [[0]]  # too long for a request: alone, for the server to refuse
    assert request_chunks([], 2, 4) == []


def test_a_served_prm_scores_as_its_folder_does(served, prm_dir):
    local = load_prm(prm_dir)
    remote = load_prm(PRMConfig(prm=served.url, batch_size=2, served=ServedPRMConfig(max_steps=4, concurrency=3)))
    assert isinstance(remote, ServedPRM) and remote.format == local.format == "prmkit"
    assert remote.predicts_class is local.predicts_class is True
    questions = [QUESTIONS[i] for i in PROBLEM_OF]
    got, want = remote.score_counted(questions, SOLUTIONS), local.score_counted(questions, SOLUTIONS)
    for a, b in zip(got.scores, want.scores):
        assert a == pytest.approx(b, abs=1e-5)
    assert got.tokens == want.tokens  # what the server's model read, solution by solution
    assert got.passes == 3  # requests: [0], [1] (4 steps), [2, 3]
    problems = [Problem(id=f"p{i}", question=q, answer="5") for i, q in enumerate(QUESTIONS)]
    typed = [Solution(id=f"s{k}", problem_id=f"p{i}", steps=s) for k, (i, s) in enumerate(zip(PROBLEM_OF, SOLUTIONS))]
    assert remote.score([problems[i] for i in PROBLEM_OF], typed) == got.scores


def test_prmkit_score_with_a_url_writes_what_the_folder_writes(served, prm_dir, tmp_path):
    problems = [Problem(id=f"p{i}", question=q, answer="5") for i, q in enumerate(QUESTIONS)]
    pairs = [
        LabeledSolution(problem=problems[i], solution=Solution(id=f"s{k}", problem_id=f"p{i}", steps=s))
        for k, (i, s) in enumerate(zip(PROBLEM_OF, SOLUTIONS))
    ]
    write_jsonl(tmp_path / "in.jsonl", pairs)
    rows = {}
    for name, prm in (("local", str(prm_dir)), ("served", served.url)):
        out = tmp_path / f"{name}.jsonl"
        args = ["score", "--prm", prm, "--input", str(tmp_path / "in.jsonl"), "--output", str(out)]
        result = CliRunner().invoke(app, [*args, "--batch-size", "2", "--served.max-steps", "4"])
        assert result.exit_code == 0, result.output
        rows[name] = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["solution_id"] for r in rows["served"]] == [r["solution_id"] for r in rows["local"]] == ["s0", "s1", "s2", "s3"]
    for a, b in zip(rows["served"], rows["local"]):
        assert a["step_scores"] == pytest.approx(b["step_scores"], abs=1e-5)
        assert a["score"] == pytest.approx(b["score"], abs=1e-5)


def test_processbench_and_the_rl_reward_read_a_served_prm(served, prm_dir, tmp_path):
    from prmkit.evaluate.config import ProcessBenchConfig
    from prmkit.evaluate.processbench import run_processbench
    from prmkit.rl.rewards import REWARDS

    data = tmp_path / "pb.jsonl"
    problems = [Problem(id=f"p{i}", question=q, answer="5") for i, q in enumerate(QUESTIONS)]
    write_jsonl(data, [
        LabeledSolution(
            problem=problems[i],
            solution=Solution(id=f"s{k}", problem_id=f"p{i}", steps=steps),
            labels=StepLabels.from_first_error(f"s{k}", len(steps), k % 2 - 1, source="truth"),
        )
        for k, (i, steps) in enumerate(zip(PROBLEM_OF, SOLUTIONS))
    ])  # fmt: skip
    metrics = {
        name: run_processbench(ProcessBenchConfig(prm=prm, data=str(data), run_dir=str(tmp_path / name)))
        for name, prm in (("local", str(prm_dir)), ("served", served.url))
    }
    assert metrics["served"]["summary"] == pytest.approx(metrics["local"]["summary"], abs=1e-6)
    completions = ["\n\n".join(s) for s in SOLUTIONS]
    columns = {"completions": completions, "question": [QUESTIONS[i] for i in PROBLEM_OF]}
    local, remote = REWARDS.get("prm")(prm=str(prm_dir)), REWARDS.get("prm")(prm=served.url)
    assert remote.step_scores(**columns) == [pytest.approx(r, abs=1e-5) for r in local.step_scores(**columns)]


def test_beam_search_with_a_served_prm_picks_what_full_prefix_scoring_picks(served, prm_dir):
    from prmkit.search import SearchConfig, search
    from search.scripted import QUESTION, ScriptedBackend

    problem = Problem(id="p0", question=QUESTION, answer="12")
    cfg = SearchConfig(method="beam", beam_width=2, expansions=3, aggregation="min", incremental=False)
    local = search([problem], cfg, ScriptedBackend(problem), load_prm(prm_dir))[0]
    served_cfg, remote_prm = SearchConfig(method="beam", beam_width=2, expansions=3, aggregation="min"), load_prm(served.url)
    with pytest.warns(UserWarning, match="the PRM is served"):
        remote = search([problem], served_cfg, ScriptedBackend(problem), remote_prm)[0]
    assert remote.solution.steps == local.solution.steps
    assert remote.score == pytest.approx(local.score, abs=1e-5)
    assert remote.stats["prm_tokens"] == local.stats["prm_tokens"]


class Misaligned(BaseHTTPRequestHandler):
    """A server that drops the last step score of every solution."""

    def do_GET(self) -> None:
        self._answer({"status": "ok", "format": "prmkit", "predicts_class": True})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        results = [{"step_scores": [0.5] * (len(i["steps"]) - 1), "score": 0.5, "tokens": 1} for i in body["items"]]
        self._answer({"aggregation": "min", "results": results})

    def _answer(self, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def test_a_server_answering_fewer_step_scores_is_an_error_not_a_shift():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Misaligned)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        prm = load_prm(f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(PrmkitError, match="solution 0 has 2 steps but the server answered"):
            prm.score([QUESTIONS[0]], [SOLUTIONS[0]])
    finally:
        server.shutdown()


def test_an_unreachable_server_and_a_served_prm_to_serve_are_refused(tmp_path):
    with pytest.raises(PrmkitError, match="cannot reach the PRM server"):
        load_prm("http://127.0.0.1:9")  # the discard port: nothing listens there
    from prmkit.score.server import serve

    with pytest.raises(ConfigError, match="prmkit serve loads a PRM folder"):
        serve(ServeConfig(prm="http://127.0.0.1:8000"))
    assert not Path(tmp_path / "x").exists()


def test_a_request_over_the_servers_token_budget_is_split_until_it_fits(prm_dir, prmkit_server, monkeypatch):
    local = load_prm(prm_dir)
    questions = [QUESTIONS[i] for i in PROBLEM_OF]
    want = local.score_counted(questions, SOLUTIONS)
    server = prmkit_server(prm_dir, "--max-request-tokens", str(max(want.tokens)))  # one solution per request
    monkeypatch.setenv("PRMKIT_SERVER_TOKEN", server.token)
    got = load_prm(server.url).score_counted(questions, SOLUTIONS)
    assert got.scores == [pytest.approx(row, abs=1e-5) for row in want.scores]
    assert want.tokens == [44, 59, 32, 20]  # so the one planned request was halved: [0], [1], [2, 3]
    assert got.passes == 3


def test_eval_bon_with_a_served_prm_stores_the_folders_scores(served, prm_dir, tmp_path):
    import yaml

    from prmkit.evaluate.candidates import ProblemCandidates
    from prmkit.generation.tiny import save_tiny_llama
    from prmkit.weights import weights_fingerprint

    policy = save_tiny_llama(tmp_path / "policy")
    args = ["eval", "bon", "--generation.model", str(policy), "--generation.device", "cpu", "--sampling.n", "3",
            "--limit", "2", "--sampling.max-new-tokens", "12", "--repeats", "5", "--bootstrap", "20"]  # fmt: skip
    for name, prm in (("local", str(prm_dir)), ("served", served.url)):
        result = CliRunner().invoke(app, [*args, "--run-dir", str(tmp_path / name), "--prm", prm])
        assert result.exit_code == 0, result.output
    stored = {
        name: [ProblemCandidates.model_validate_json(x) for x in (tmp_path / name / "bon" / "candidates.jsonl").read_text().splitlines()]
        for name in ("local", "served")
    }
    identity = yaml.safe_load((tmp_path / "served" / "bon" / "sampling.yaml").read_text())
    assert identity["weights"]["prm"] == weights_fingerprint(str(prm_dir))  # a new model behind the URL is caught
    for a, b in zip(stored["served"], stored["local"]):
        assert [c.solution.steps for c in a.candidates] == [c.solution.steps for c in b.candidates]
        for ca, cb in zip(a.candidates, b.candidates):
            assert ca.scores["prm"] == pytest.approx(cb.scores["prm"], abs=1e-5)


def test_a_served_prm_reports_the_fingerprint_of_the_weights_it_serves(served, prm_dir, prmkit_server, tmp_path):
    from prmkit.score.served import model_fingerprint
    from prmkit.weights import weights_fingerprint

    assert model_fingerprint(served.url) == weights_fingerprint(str(prm_dir)) is not None
    other = prmkit_server(tiny.make_prmkit_prm(tmp_path / "other", seed=1))
    assert model_fingerprint(other.url) not in (None, model_fingerprint(served.url))
    assert model_fingerprint(str(tmp_path / "missing")) is None
