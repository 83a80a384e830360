"""PRMs served on vLLM's pooling API: the client encodes as the folder's format requires and reads the
step vectors back in order. The server is a real `prmkit serve` subprocess answering /pooling as vLLM's
STEP pooling does (vLLM itself needs a GPU)."""

from __future__ import annotations

import shutil

import httpx
import pytest

from prmkit.data.encoding import EncodedSteps, StepFormat
from prmkit.errors import ConfigError, PrmkitError
from prmkit.generation.tiny import save_tiny_llama
from prmkit.score import PRMConfig, load_prm, tiny
from prmkit.score.config import ServedPRMConfig
from prmkit.score.pooled import PooledPRM, step_scores

QUESTIONS = ["Mia has 3 pens. She buys 2 more.", "Tom has 9 cards. He loses 4.", "What is 6 * 7?"]
SOLUTIONS = [
    ["Step 1: 3 + 2 = 5", "The answer is \\boxed{5}."],
    ["Step 1: 9 - 4 = 5", "Step 2: 5 + 0 = 5", "Step 3: 5 * 1 = 5", "So \\boxed{5}"],
    ["6 * 7 = 42"],
]


def tokenizer_only(folder, to):
    """The PRM folder without its weights: what a client beside a vLLM server holds."""
    shutil.copytree(folder, to, ignore=shutil.ignore_patterns("*.safetensors"))
    return to


def client(server, folder, **served):
    cfg = PRMConfig(prm=server.url, batch_size=2, served=ServedPRMConfig(api="vllm", tokenizer=str(folder), **served))
    return load_prm(cfg)


@pytest.mark.parametrize("make", ["qwen-prm", "math-shepherd", "prmkit"])
def test_a_pooled_prm_scores_as_its_folder_does(make, tmp_path, prmkit_server, monkeypatch):
    folder = {
        "qwen-prm": lambda: tiny.make_qwen_prm(tmp_path / "prm", tiny.byte_level_tokenizer(bos=False)),
        "math-shepherd": lambda: tiny.make_math_shepherd(tmp_path / "prm"),
        # a step tag no question holds: the separator's last token differs from the question's
        "prmkit": lambda: tiny.make_prmkit_prm(tmp_path / "prm", step_format=StepFormat(separator=" ;", question_separator="\n")),
    }[make]()
    server = prmkit_server(folder)
    monkeypatch.setenv("PRMKIT_SERVER_TOKEN", server.token)
    remote = client(server, tokenizer_only(folder, tmp_path / "tokenizer"))
    assert isinstance(remote, PooledPRM) and remote.format == make and remote.model == str(folder)
    questions = [QUESTIONS[0], QUESTIONS[1], QUESTIONS[2]]
    got, want = remote.score_counted(questions, SOLUTIONS), load_prm(folder).score_counted(questions, SOLUTIONS)
    for a, b in zip(got.scores, want.scores):
        assert a == pytest.approx(b, abs=1e-5)
    assert got.tokens == want.tokens and got.passes == 2  # 3 solutions, 2 per request


def test_a_step_tag_inside_the_question_is_an_error_not_a_shifted_score(tmp_path, prmkit_server, monkeypatch):
    folder = tiny.make_qwen_prm(tmp_path / "prm", tiny.byte_level_tokenizer(bos=False))
    server = prmkit_server(folder)
    monkeypatch.setenv("PRMKIT_SERVER_TOKEN", server.token)
    remote = client(server, folder)
    with pytest.raises(PrmkitError, match=r"solution 0: 2 steps .* answered 3 vectors"):
        remote.score(["What is <extra_0> 2 + 3?"], [SOLUTIONS[0]])


def test_step_scores_read_per_step_or_per_token_vectors():
    enc = EncodedSteps(input_ids=[5, 6, 7, 8, 9], step_ends=[2, 4], num_steps=2)
    assert step_scores([[0.2, 0.8], [0.6, 0.4]], enc, 1, "here") == pytest.approx([0.8, 0.4])
    per_token = [[0.5, 0.5], [0.5, 0.5], [0.1, 0.9], [0.5, 0.5], [0.7, 0.3]]
    assert step_scores(per_token, enc, 1, "here") == pytest.approx([0.9, 0.3])
    assert step_scores([[2.0, 6.0], [1.0, 1.0]], enc, 0, "here") == pytest.approx([0.25, 0.5])  # normalised
    assert step_scores([[0.7], 0.2], enc, 1, "here") == pytest.approx([0.7, 0.2])  # one value: P itself
    with pytest.raises(PrmkitError, match="here: 2 steps .5 tokens. went out but the server answered 3 vectors"):
        step_scores([[0.1, 0.9]] * 3, enc, 1, "here")
    with pytest.raises(PrmkitError, match="not a vector of numbers"):
        step_scores([["a", "b"], [0.1, 0.9]], enc, 1, "here")


def test_a_pooled_client_refuses_what_vllm_cannot_serve(tmp_path):
    with pytest.raises(ConfigError, match="needs --served.tokenizer"):
        load_prm(PRMConfig(prm="http://127.0.0.1:9", served=ServedPRMConfig(api="vllm")))
    policy = save_tiny_llama(tmp_path / "policy")
    cfg = PRMConfig(prm="http://127.0.0.1:9", format="likelihood", served=ServedPRMConfig(api="vllm", tokenizer=str(policy)))
    with pytest.raises(ConfigError, match="format likelihood is not served by vLLM's pooling API"):
        load_prm(cfg)
    with pytest.raises(ValueError, match="unknown served api"):
        ServedPRMConfig(api="tgi")  # type: ignore[arg-type]


def test_the_pooling_route_refuses_another_model_and_formats_without_a_tag(tmp_path, prmkit_server):
    folder = tiny.make_qwen_prm(tmp_path / "prm", tiny.byte_level_tokenizer(bos=False))
    server = prmkit_server(folder)
    answer = httpx.post(f"{server.url}/pooling", json={"model": "other", "input": [[1, 2]]}, headers=server.headers)
    assert answer.status_code == 404 and "is not served here" in answer.json()["error"]
    text = httpx.post(f"{server.url}/pooling", json={"input": "no tag here"}, headers=server.headers).json()
    assert text["object"] == "list" and text["data"] == [{"index": 0, "object": "pooling", "data": []}]
    likelihood = prmkit_server(save_tiny_llama(tmp_path / "policy"), "--format", "likelihood")
    answer = httpx.post(f"{likelihood.url}/pooling", json={"input": [[1, 2]]}, headers=likelihood.headers)
    assert answer.status_code == 400 and "no step tag to pool at" in answer.json()["error"]


def test_score_processbench_and_the_rl_reward_read_a_pooled_prm(tmp_path, prmkit_server, monkeypatch):
    import json

    from typer.testing import CliRunner

    from prmkit.cli.main import app
    from prmkit.data.jsonl import write_jsonl
    from prmkit.data.records import LabeledSolution, Problem, Solution, StepLabels
    from prmkit.evaluate.config import ProcessBenchConfig
    from prmkit.evaluate.processbench import run_processbench
    from prmkit.rl.rewards import REWARDS

    folder = tiny.make_qwen_prm(tmp_path / "prm", tiny.byte_level_tokenizer(bos=False))
    server = prmkit_server(folder)
    monkeypatch.setenv("PRMKIT_SERVER_TOKEN", server.token)
    problems = [Problem(id=f"p{i}", question=q, answer="5") for i, q in enumerate(QUESTIONS)]
    write_jsonl(tmp_path / "pb.jsonl", [
        LabeledSolution(problem=problems[i], solution=Solution(id=f"s{i}", problem_id=f"p{i}", steps=steps),
                        labels=StepLabels.from_first_error(f"s{i}", len(steps), i % 2 - 1, source="truth"))
        for i, steps in enumerate(SOLUTIONS)
    ])  # fmt: skip
    vllm = ["--served.api", "vllm", "--served.tokenizer", str(folder)]
    rows = {}
    for name, prm, extra in (("local", str(folder), []), ("served", server.url, vllm)):
        out = tmp_path / f"{name}.jsonl"
        args = ["score", "--prm", prm, "--input", str(tmp_path / "pb.jsonl"), "--output", str(out), *extra]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        rows[name] = [json.loads(line)["step_scores"] for line in out.read_text().splitlines()]
    assert [pytest.approx(r, abs=1e-5) for r in rows["local"]] == rows["served"]
    served = ServedPRMConfig(api="vllm", tokenizer=str(folder))
    metrics = {
        name: run_processbench(ProcessBenchConfig(prm=prm, data=str(tmp_path / "pb.jsonl"), run_dir=str(tmp_path / name), served=served))
        for name, prm in (("local", str(folder)), ("served", server.url))
    }  # fmt: skip
    assert metrics["served"]["summary"] == pytest.approx(metrics["local"]["summary"], abs=1e-6)
    columns = {"completions": ["\n\n".join(s) for s in SOLUTIONS], "question": QUESTIONS}
    local = REWARDS.get("prm")(prm=str(folder))
    remote = REWARDS.get("prm_http")(url=server.url, api="vllm", tokenizer=str(folder))
    assert remote.step_scores(**columns) == [pytest.approx(r, abs=1e-5) for r in local.step_scores(**columns)]
