"""One-pass PRM scoring against per-prefix rescoring and against a bare forward pass.

    python benchmarks/scoring.py                      # a random Llama PRM built locally
    python benchmarks/scoring.py --prm runs/prm       # any PRM folder prmkit can load

Prints, on the same solutions and model:

- one-pass: ``PRM.score`` (tokenization, length batching, one forward pass per batch, gather);
- per-prefix, unbatched: one forward pass per step prefix, batch size 1, reading the last position,
  as the peer evaluation scripts do (search-and-learn ``RLHFFlow._score_single``);
- per-prefix, batched: the same prefixes packed into prmkit's length batches;
- bare forward: the model's forward pass alone over the one-pass batches (pre-tokenized, pre-padded);
  the ratio one-pass / bare forward is the scoring overhead (1.0 is the limit).

Times are medians over ``--repeats`` runs after a warm-up, with one torch thread by default (see
ENVIRONMENT.md); other processes on the machine add noise.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable

import torch

from prmkit.data.encoding import EncodedSteps, collate, encode_steps
from prmkit.score import load_prm, tiny
from prmkit.score.prm import PRM, length_batches


def median_seconds(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall time of each function after one warm-up run of each; rounds interleave the functions
    so that load spikes hit all alike, and every method, the baselines included, is timed the same way."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def per_prefix_unbatched(prm: PRM, questions: list[str], solutions: list[list[str]]) -> list[list[float]]:
    """The peers' way: rebuild every prefix and run it alone."""
    out = []
    with torch.inference_mode():
        for question, steps in zip(questions, solutions):
            row = []
            for k in range(1, len(steps) + 1):
                enc = encode_steps(prm.tokenizer, question, steps[:k], prm.step_format)
                batch = prm.to_device(collate([enc], prm.pad_token_id))
                row.append(prm.step_probabilities(batch)[0, k - 1].item())
            out.append(row)
    return out


def per_prefix_batched(prm: PRM, questions: list[str], solutions: list[list[str]]) -> list[list[float]]:
    """Every prefix as its own sequence, packed into length batches (each read at its last step)."""
    flat, owners = [], []
    for i, (question, steps) in enumerate(zip(questions, solutions)):
        full = prm.encode(question, steps)
        for end in full.step_ends:
            flat.append(EncodedSteps(full.input_ids[: end + 1], [end], 1))
            owners.append(i)
    scores = prm.score_encoded(flat, [1] * len(flat))
    out: list[list[float]] = [[] for _ in solutions]
    for owner, (value,) in zip(owners, scores):
        out[owner].append(value)
    return out


def bare_forward(prm: PRM, questions: list[str], solutions: list[list[str]]) -> Callable[[], None]:
    """A closure that runs only the model over the one-pass batches, prepared beforehand."""
    encoded = [prm.encode(q, s) for q, s in zip(questions, solutions)]
    batches = []
    for rows in length_batches([len(e) for e in encoded], prm.cfg.batch_size, prm.cfg.max_tokens):
        batch = prm.to_device(collate([encoded[i] for i in rows], prm.pad_token_id))
        batches.append((batch.input_ids, batch.attention_mask))

    def run() -> None:
        with torch.inference_mode():
            for input_ids, mask in batches:
                prm.model(input_ids=input_ids, attention_mask=mask)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prm", help="PRM folder (default: a random Llama PRM built locally)")
    parser.add_argument("--hidden", type=int, default=256, help="width of the built PRM")
    parser.add_argument("--layers", type=int, default=4, help="layers of the built PRM")
    parser.add_argument("--solutions", type=int, default=128)
    parser.add_argument("--min-steps", type=int, default=4)
    parser.add_argument("--max-steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.prm or tiny.make_prmkit_prm(
            f"{tmp}/prm", hidden=args.hidden, layers=args.layers, heads=8
        )
        prm = load_prm(folder, batch_size=args.batch_size)
        rng = random.Random(0)
        data = [
            tiny.sample_problem(rng, rng.randint(args.min_steps, args.max_steps))
            for _ in range(args.solutions)
        ]
        questions, solutions = [q for q, _ in data], [s for _, s in data]
        num_steps = sum(len(s) for s in solutions)
        tokens = sum(len(prm.encode(q, s)) for q, s in zip(questions, solutions))
        params = sum(p.numel() for p in prm.model.parameters())
        print(f"PRM: {prm.format} ({params / 1e6:.1f}M parameters, {prm.device}, {args.threads} thread(s))")
        print(f"data: {args.solutions} solutions, {num_steps} steps, {tokens} tokens in one pass")

        one_pass = prm.score(questions, solutions)
        diff = max(
            abs(a - b)
            for x, y in zip(one_pass, per_prefix_batched(prm, questions, solutions))
            for a, b in zip(x, y)
        )
        print(f"one-pass vs per-prefix scores: max |difference| = {diff:.2e}")

        timings = median_seconds(
            {
                "one-pass (prmkit)": lambda: prm.score(questions, solutions),
                "bare forward pass": bare_forward(prm, questions, solutions),
                "per-prefix, batched": lambda: per_prefix_batched(prm, questions, solutions),
                "per-prefix, unbatched (peers)": lambda: per_prefix_unbatched(prm, questions, solutions),
            },
            args.repeats,
        )
        base = timings["one-pass (prmkit)"]
        print(f"{'method':32} {'seconds':>9} {'steps/s':>10} {'vs one-pass':>12}")
        for name, seconds in timings.items():
            print(f"{name:32} {seconds:9.3f} {num_steps / seconds:10.1f} {base / seconds:11.2f}x")
        ratio = timings["bare forward pass"] / base
        print(f"one-pass throughput / bare forward throughput = {ratio:.3f} (limit 1.0, target >= 0.9)")


if __name__ == "__main__":
    main()
