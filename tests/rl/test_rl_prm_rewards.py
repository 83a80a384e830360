"""PRM rewards: aggregated and per-step scores from a local PRM and from `prmkit serve` over HTTP."""

from __future__ import annotations

import math
import socket
import threading
import time

import httpx
import pytest

from prmkit.data.encoding import StepFormat
from prmkit.data.steps import split_steps
from prmkit.errors import ConfigError
from prmkit.rl.prm_rewards import PRMHTTPReward, step_spans
from prmkit.rl.rewards import REWARDS
from prmkit.score import load_prm, tiny

QUESTIONS = [
    "Mia has 3 pens. She buys 2 more. How many pens does Mia have now?",
    "Tom has 9 cards. He loses 4.",
]
COMPLETIONS = [
    "Step 1: 3 + 2 = 5\n\nThe answer is \\boxed{5}.",
    "  Step 1: 9 - 4 = 5\n \nStep 2: 5 + 0 = 5\n\n\n\nSo \\boxed{5}\n",
    "",  # no step at all
]


@pytest.fixture(scope="module")
def prm_dir(tmp_path_factory):
    return tiny.make_prmkit_prm(tmp_path_factory.mktemp("prm") / "prm")


@pytest.fixture(scope="module")
def columns():
    questions = [QUESTIONS[0], QUESTIONS[1], QUESTIONS[1]]
    return {
        "prompts": [q + "\n\n" for q in questions],
        "completions": COMPLETIONS,
        "question": questions,
        "answer": ["5"] * 3,
    }


@pytest.mark.parametrize(
    "text",
    [
        *COMPLETIONS,
        "no separator at all",
        "a\n\n\n\nb \n\t\n c",
        "\n\nlead\n\nStep\n\ntrail\n\n",
        "same\n\nsame\n\nsame",
    ],
)
@pytest.mark.parametrize("style", ["paragraph", "newline", "step"])
def test_step_spans_cut_out_exactly_the_split_steps(text, style):
    assert [text[a:b] for a, b in step_spans(text, style)] == split_steps(text, style)


def test_prm_reward_aggregates_the_prm_step_scores(prm_dir, columns):
    offline = load_prm(prm_dir).score(QUESTIONS, [split_steps(COMPLETIONS[0]), split_steps(COMPLETIONS[1])])
    reward = REWARDS.get("prm")(prm=str(prm_dir), aggregation="product")
    assert reward.__name__ == "prm"
    steps = reward.step_scores(**columns)
    assert [len(row) for row in steps] == [2, 3, 0]  # one score per step; the empty completion has none
    assert steps[:2] == [pytest.approx(row, abs=1e-6) for row in offline]
    assert reward(**columns) == pytest.approx([math.prod(offline[0]), math.prod(offline[1]), 0.0], abs=1e-6)
    assert [len(reward.step_spans(c)) for c in COMPLETIONS] == [2, 3, 0]


def test_prm_reward_falls_back_to_the_prompt_and_skips_unscored_steps(prm_dir, columns):
    without_question = {k: v for k, v in columns.items() if k != "question"}
    reward = REWARDS.get("prm")(prm=str(prm_dir))
    # each prompt is its question + "\n\n"
    assert reward(**without_question) == pytest.approx(reward(**columns), abs=1e-6)
    short = REWARDS.get("prm")(prm=str(prm_dir), max_length=8)  # the question alone fills 8 tokens
    assert short(**columns)[:2] == [None, None]
    with pytest.raises(ConfigError, match="aggregation"):
        REWARDS.get("prm")(prm=str(prm_dir), aggregation="median")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(prm_dir):
    """`prmkit serve`'s app on a real uvicorn socket on 127.0.0.1, with a token."""
    uvicorn = pytest.importorskip("uvicorn")  # the `server` extra

    from prmkit.score.config import ServeConfig
    from prmkit.score.server import create_app

    cfg = ServeConfig(prm=str(prm_dir), token="t0ken-of-sixteen-chars", max_solutions=2)
    port = _free_port()
    uv = uvicorn.Server(
        uvicorn.Config(create_app(load_prm(cfg), cfg), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    yield url
    uv.should_exit = True
    thread.join(10)


def test_prm_http_reward_matches_the_local_prm(server, prm_dir, columns):
    local = REWARDS.get("prm")(prm=str(prm_dir), aggregation="min")
    # batch_size 1 and max_steps 2 force several requests, under the server's limit of 2 solutions
    remote = REWARDS.get("prm_http")(url=server, token="t0ken-of-sixteen-chars", batch_size=1, max_steps=2)
    assert remote.__name__ == "prm_http"
    remote_steps, local_steps = remote.step_scores(**columns), local.step_scores(**columns)
    assert [len(r) for r in remote_steps] == [2, 3, 0]
    for got, want in zip(remote_steps, local_steps):
        assert got == pytest.approx(want, abs=1e-5)
    assert remote(**columns) == pytest.approx(local(**columns), abs=1e-5)


def test_prm_http_reward_reports_refusals(server, monkeypatch):
    monkeypatch.delenv("PRMKIT_SERVER_TOKEN", raising=False)
    with pytest.raises(Exception, match="401"):
        PRMHTTPReward(url=server, retries=0)(completions=["Step 1"], question=["q"])
    monkeypatch.setenv("PRMKIT_SERVER_TOKEN", "t0ken-of-sixteen-chars")  # the token `prmkit serve` reads
    assert PRMHTTPReward(url=server)(completions=["Step 1"], question=["q"])[0] is not None
    with pytest.raises(ConfigError, match="url"):
        PRMHTTPReward()


def test_step_format_separator_does_not_change_the_spans(tmp_path):
    # the PRM's own separator is an encoding detail: steps still come from the completion's paragraphs
    folder = tiny.make_prmkit_prm(tmp_path / "prm", step_format=StepFormat(separator=" ки\n"))
    reward = REWARDS.get("prm")(prm=str(folder))
    # "Step 1: 3 + 2 = 5" is 17 characters, then 2 of separator and 24 of answer
    assert reward.step_spans(COMPLETIONS[0]) == [(0, 17), (19, 43)]


def test_verl_adapter_scores_with_the_served_prm(server, prm_dir, columns):
    from prmkit.rl.verl import compute_score_batch

    scores = compute_score_batch(
        data_sources=["s"] * 2, solution_strs=COMPLETIONS[:2], ground_truths=["5", "5"],
        extra_infos=[{"question": q} for q in QUESTIONS], rewards=f"prm_http,url={server},token=t0ken-of-sixteen-chars;correctness:0",
    )  # fmt: skip
    local = REWARDS.get("prm")(prm=str(prm_dir))(**{k: v[:2] for k, v in columns.items()})
    assert [s["prm_http"] for s in scores] == pytest.approx(local, abs=1e-5)
    assert [s["score"] for s in scores] == pytest.approx(local, abs=1e-5)
    assert [s["correctness"] for s in scores] == [1.0, 1.0]
