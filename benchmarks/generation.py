"""Generation throughput: prmkit's batched transformers backend vs one-prompt-at-a-time ``generate``.

A tiny random Llama (hidden 128, 2 layers, char vocabulary) continues 64 prompts by 32 tokens on one
torch thread. Both sides decode greedily, so they must produce the same text; the script checks that
and reports tokens/s for each and their ratio. HF's own batched ``generate`` is timed as a reference.

    OMP_NUM_THREADS=1 python benchmarks/generation.py [--prompts 64] [--new-tokens 32] [--repeats 3]

Timings on a shared machine are noisy: each figure is the best of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

import torch

from prmkit.generation import GenerationConfig
from prmkit.generation.hf import TransformersBackend
from prmkit.generation.tiny import char_tokenizer, tiny_llama


def make_prompts(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    ops = ["+", "-", "*"]
    return [
        "Compute "
        + " ".join(f"{rng.randint(1, 99)} {rng.choice(ops)}" for _ in range(rng.randint(1, 6)))
        + " 1 ="
        for _ in range(count)
    ]


def best_time(fn: Callable[[], list[str]], repeats: int) -> tuple[float, list[str]]:
    best, texts = float("inf"), []
    for _ in range(repeats):
        start = time.perf_counter()
        texts = fn()
        best = min(best, time.perf_counter() - start)
    return best, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    tokenizer = char_tokenizer()
    model = tiny_llama(len(tokenizer), hidden=128, layers=2)
    # No EOS: every sequence runs the full length, so both sides do the same work.
    model.generation_config.eos_token_id = None
    backend = TransformersBackend(GenerationConfig(batch_size=args.prompts), model=model, tokenizer=tokenizer)
    backend.eos_token_ids = set()
    prompts = make_prompts(args.prompts)
    new = args.new_tokens
    total_tokens = len(prompts) * new

    def ours() -> list[str]:
        return [c[0].text for c in backend.generate(prompts, max_new_tokens=new, temperature=0)]

    def ours_sampled() -> list[str]:
        return [c[0].text for c in backend.generate(prompts, max_new_tokens=new, temperature=0.7, seed=0)]

    def naive() -> list[str]:
        texts = []
        for prompt in prompts:
            ids = tokenizer(prompt, return_tensors="pt")
            out = model.generate(
                **ids, max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0
            )
            texts.append(tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True))
        return texts

    def hf_batched() -> list[str]:
        tokenizer.padding_side = "left"
        ids = tokenizer(prompts, return_tensors="pt", padding=True)
        out = model.generate(**ids, max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0)
        return tokenizer.batch_decode(out[:, ids["input_ids"].shape[1] :], skip_special_tokens=True)

    with torch.inference_mode():
        ours(), naive()  # warm-up
        results = {
            "prmkit transformers backend, one batch, greedy": best_time(ours, args.repeats),
            "prmkit transformers backend, one batch, T=0.7": best_time(ours_sampled, args.repeats),
            "naive model.generate, one prompt at a time": best_time(naive, args.repeats),
            "reference: HF model.generate, one left-padded batch": best_time(hf_batched, args.repeats),
        }
    print(f"{len(prompts)} prompts x {new} new tokens, 1 torch thread, torch {torch.__version__}")
    for name, (seconds, _) in results.items():
        print(f"  {name:52s} {total_tokens / seconds:9.0f} tokens/s  ({seconds:.3f} s)")
    ours_s, ours_texts = results["prmkit transformers backend, one batch, greedy"]
    naive_s, naive_texts = results["naive model.generate, one prompt at a time"]
    same = sum(a == b for a, b in zip(ours_texts, naive_texts))
    print(f"  speed-up of the backend over naive: {naive_s / ours_s:.1f}x")
    print(f"  greedy outputs identical to naive generate: {same}/{len(prompts)}")


if __name__ == "__main__":
    main()
