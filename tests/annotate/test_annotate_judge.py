"""The judge: parsing and voting cases, a real SmolLM2 behind llama.cpp, and server errors."""

from __future__ import annotations

import pytest
from annotate_cases import make_pairs

from prmkit.annotate.io import read_annotations
from prmkit.annotate.judge import JudgeConfig, annotate_judge, judgement
from prmkit.errors import ConfigError, PrmkitError
from prmkit.evaluate.critic import parse_critique
from prmkit.generation import LlamaCppServer, smollm2_gguf_path
from prmkit.generation.base import GenerationConfig, SamplingConfig
from prmkit.generation.llamacpp import free_port

PAIR = make_pairs(1, stream="judge-cases", mistake_rate=0.0)[0]  # 2 to 5 steps
N = len(PAIR.solution.steps)

CASES = [
    # (answers, expected first error or None for unparsable, reason fragment)
    (["\\boxed{1}"], 1, ""),
    (["Paragraph 0 is fine. The earliest error is in paragraph 1, so \\boxed{1}."], 1, ""),
    (["\\boxed{-1}"], -1, ""),  # an explicit -1 is a verdict
    (["\\boxed{\\text{0}}"], 0, ""),
    (["Paragraph 3 has \\boxed{0} but the final answer is \\boxed{1}"], 1, ""),  # the last box counts
    (["All paragraphs look correct."], None, "no \\boxed{} answer"),  # prose is not -1
    ([""], None, "no \\boxed{} answer"),
    ([f"\\boxed{{{N}}}"], None, f"index {N} outside -1..{N - 1}"),
    (["\\boxed{-2}"], None, f"index -2 outside -1..{N - 1}"),
    (["\\boxed{paragraph one}"], None, "is not a step index"),
    (["\\boxed{0}", "\\boxed{1}"], 0, ""),  # a tie goes to the answer given first (ProcessBench)
    (["\\boxed{-1}", "\\boxed{1}"], -1, ""),
    (["\\boxed{1}", "\\boxed{-1}"], 1, ""),
    (["\\boxed{1}", "\\boxed{1}", "\\boxed{0}"], 1, ""),
    (["no idea", "\\boxed{0}"], 0, ""),  # answers without a box do not vote
    (["no idea", f"\\boxed{{{N + 3}}}"], None, f"index {N + 3} outside -1..{N - 1}; no \\boxed{{}} answer"),
]


@pytest.mark.parametrize(("answers", "expected", "reason"), CASES)
def test_verdicts_vote_and_unparsable_answers_are_never_minus_one(answers, expected, reason):
    verdict = judgement(PAIR, answers, len(answers))
    assert verdict.outputs == answers
    assert verdict.votes == [parse_critique(a, N) for a in answers]
    if expected is None:
        assert verdict.labels is None and reason in verdict.unparsable
        assert verdict.labeled() is None
    else:
        assert verdict.unparsable is None
        labels = verdict.labels
        assert (labels.first_error, labels.source, labels.hard) == (expected, "judge", None)
        assert labels.metadata == {
            "votes": verdict.votes,
            "k": len(answers),
            "unparsable_votes": verdict.votes.count(None),
        }


def test_judge_config_rejects_greedy_votes_and_templates_without_steps():
    with pytest.raises(ConfigError, match="greedy critiques"):
        JudgeConfig(sampling=SamplingConfig(n=3, temperature=0.0))
    with pytest.raises(ConfigError, match="tagged_response"):
        JudgeConfig(template="Is this right? {problem}")


def test_smollm2_judge_over_llama_cpp_records_every_answer(tmp_path):
    # One solution: a fresh ~280-token prompt costs llama.cpp 5-15 s here; the second vote reuses its cache.
    pairs = make_pairs(1, stream="smol", mistake_rate=0.0)
    out = tmp_path / "judge.jsonl"
    with LlamaCppServer(smollm2_gguf_path(), n_threads=1, n_ctx=2048) as server:
        cfg = JudgeConfig(GenerationConfig(backend="openai", base_url=server.base_url, mode="chat"),
                          SamplingConfig(n=2, temperature=1.0, top_p=0.9, max_new_tokens=24), progress=False)  # fmt: skip
        summary = annotate_judge(cfg, pairs, out)
        assert summary["written"] == 1
        assert annotate_judge(cfg, pairs, out)["skipped"] == 1  # resumable: nothing asked again
    verdicts = read_annotations(out)
    assert [v.solution.id for v in verdicts] == [p.solution.id for p in pairs]
    for v in verdicts:
        n = len(v.solution.steps)
        assert len(v.outputs) == 2 and all(isinstance(t, str) for t in v.outputs)
        assert v.votes == [parse_critique(t, n) for t in v.outputs]
        if v.labels is None:
            assert v.unparsable and all(vote is None for vote in v.votes)
        else:
            assert v.labels.first_error in v.votes  # a label only ever comes from a parsed answer
    assert summary["unparsable"] == sum(v.labels is None for v in verdicts)


def test_unreachable_judge_server_is_one_clear_error(tmp_path):
    server = GenerationConfig(backend="openai", base_url=f"http://127.0.0.1:{free_port()}/v1", mode="chat", retries=0)
    cfg = JudgeConfig(server, progress=False)
    with pytest.raises(PrmkitError, match="failed after 1 attempts"):
        annotate_judge(cfg, make_pairs(1, stream="dead"), tmp_path / "judge.jsonl")
