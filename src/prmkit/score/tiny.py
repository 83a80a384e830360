"""Tiny, randomly initialised PRMs in every supported format, built locally (no hub), for tests and
benchmarks. Each ``make_*`` function writes a folder with exactly the files, tokens, heads and config
fields of its public convention, so an adapter that reads the wrong position or the wrong tensor fails.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from prmkit.data.encoding import StepFormat
from prmkit.generation import tiny as generation_tiny
from prmkit.generation.tiny import special_ids
from prmkit.score.adapters.qwen import STEP_TOKEN, ProcessRewardHead
from prmkit.score.contract import PRMContract

PAD, BOS, EOS = "<pad>", "<s>", "</s>"
CHAT_TOKENS = ("<|im_start|>", "<|im_end|>", STEP_TOKEN)
CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
NAMES = ("Mia", "Tom", "Ana", "Leo", "Zoe", "Sam")
ITEMS = ("pens", "apples", "coins", "cards", "books")


def sample_problem(rng: random.Random, num_steps: int | None = None) -> tuple[str, list[str]]:
    """A short word problem and a step-by-step solution (correct or not: these models are random)."""
    name, items = rng.choice(NAMES), rng.choice(ITEMS)
    value = rng.randint(2, 60)
    question = f"{name} has {value} {items}."
    steps = []
    for k in range(num_steps if num_steps is not None else rng.randint(2, 5)):
        b = rng.randint(2, 30)
        op = rng.choice("+-")
        question += f" Then {name} {'gets' if op == '+' else 'gives away'} {b}."
        new = value + b if op == "+" else value - b
        steps.append(f"Step {k + 1}: {value} {op} {b} = {new + rng.choice([0, 0, 0, 1, -2])}")
        value = new
    steps.append(f"The answer is \\boxed{{{value}}}.")
    return question + f" How many {items} does {name} have?", steps


def longest_request(prm: Any, max_tokens: int) -> dict[str, Any]:
    """A ``/score`` request body of one solution with as many tokens as ``max_tokens`` allows, as
    ``prm`` encodes it: the costliest request a server with that token budget accepts."""
    question, step = "Ann has 5 apples. How many apples does she have?", "Step: 12 + 30 = 42, so " * 12
    steps = [step] * 400
    while len(prm.encode(question, steps, cut=False)) > max_tokens:
        steps.pop()
    return {"problem": question, "steps": steps}


def corpus(n: int = 300, seed: int = 0) -> list[str]:
    """Training text for the tiny tokenizers: problems, steps, step tags and the chat prompt."""
    rng = random.Random(seed)
    texts = [
        "Please reason step by step, and put your final answer within \\boxed{}.",
        "system user assistant",
    ]
    for _ in range(n):
        question, steps = sample_problem(rng)
        texts.append(f"{question} " + " ки\n".join(steps) + " ки")
        texts.append(" ".join(f"{s} {rng.choice('+-')}" for s in steps))
        texts.append("\n\n".join(steps))
    return texts


def byte_level_tokenizer(
    vocab_size: int = 400, bos: bool = True, texts: list[str] | None = None
) -> PreTrainedTokenizerFast:
    """A GPT-2/Qwen-style byte-level BPE; with ``bos`` it adds ``<s>`` in front of encoded text."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = [PAD, BOS, EOS, *CHAT_TOKENS]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts or corpus(), trainer=trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{BOS} $A", special_tokens=[(BOS, tok.token_to_id(BOS))]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS if bos else None,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=list(CHAT_TOKENS),
        chat_template=CHATML_TEMPLATE,
        clean_up_tokenization_spaces=False,
    )


def metaspace_tokenizer(vocab_size: int = 600, texts: list[str] | None = None) -> PreTrainedTokenizerFast:
    """A SentencePiece-style BPE (``▁`` marks spaces; only spaces split words, so ``ки\\nStep`` can merge)."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[PAD, BOS, EOS, "<unk>"], show_progress=False
    )
    tok.train_from_iterator(texts or corpus(), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", special_tokens=[(BOS, tok.token_to_id(BOS))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token="<unk>"
    )


def llama_config(tokenizer: Any, hidden: int = 32, layers: int = 2, heads: int = 4, **kw: Any) -> Any:
    """A tiny Llama's config for ``tokenizer`` (MLP twice the hidden size); ``kw`` go to ``LlamaConfig``."""
    return generation_tiny.llama_config(len(tokenizer), hidden, layers, heads, 2 * hidden, special_ids(tokenizer), **kw)


def _seeded(seed: int) -> None:
    torch.manual_seed(seed)


def make_prmkit_prm(
    folder: str | Path,
    tokenizer: Any | None = None,
    step_format: StepFormat | None = None,
    seed: int = 0,
    **config: Any,
) -> Path:
    """prmkit's own format: LlamaForTokenClassification (2 labels) + prmkit_prm.json."""
    from transformers import LlamaForTokenClassification

    folder = Path(folder)
    tokenizer = tokenizer or byte_level_tokenizer()
    _seeded(seed)
    model = LlamaForTokenClassification(llama_config(tokenizer, num_labels=2, **config))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    PRMContract(step_format=step_format or StepFormat()).save(folder)
    return folder


def make_trl_prm(folder: str | Path, tokenizer: Any | None = None, seed: int = 0) -> Path:
    """A TRL PRMTrainer output: a token-classification model and no prmkit_prm.json."""
    from transformers import LlamaForTokenClassification

    folder = Path(folder)
    tokenizer = tokenizer or byte_level_tokenizer()
    _seeded(seed)
    LlamaForTokenClassification(llama_config(tokenizer, num_labels=2)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def make_math_shepherd(folder: str | Path, tokenizer: Any | None = None, seed: int = 0) -> Path:
    """The Math-Shepherd format: a plain causal LM whose tokenizer knows ``ки``, ``+`` and ``-``."""
    from transformers import LlamaForCausalLM

    folder = Path(folder)
    tokenizer = tokenizer or byte_level_tokenizer()
    _seeded(seed)
    LlamaForCausalLM(llama_config(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def make_qwen_prm(folder: str | Path, tokenizer: Any | None = None, seed: int = 0) -> Path:
    """The Qwen2.5-Math-PRM format: Qwen2 backbone weights ``model.*``, head ``score.0/score.2``,
    architecture ``Qwen2ForProcessRewardModel`` with an ``auto_map`` to modeling code (never run)."""
    from transformers import Qwen2Config, Qwen2Model

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = tokenizer or byte_level_tokenizer(bos=False)
    _seeded(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, num_labels=2,
        pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    backbone, head = Qwen2Model(config), ProcessRewardHead(config.hidden_size, 2)
    for p in head.parameters():
        torch.nn.init.normal_(p, std=0.2)
    tensors = {f"model.{k}": v for k, v in backbone.state_dict().items()}
    tensors.update({f"score.{k}": v for k, v in head.state_dict().items()})
    save_file(
        {k: v.contiguous() for k, v in tensors.items()},
        str(folder / "model.safetensors"),
        metadata={"format": "pt"},
    )
    config.architectures = ["Qwen2ForProcessRewardModel"]
    config.auto_map = {
        "AutoConfig": "configuration_qwen2_rm.Qwen2RMConfig",
        "AutoModel": "modeling_qwen2_rm.Qwen2ForProcessRewardModel",
    }
    config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def make_value_head(
    folder: str | Path, tokenizer: Any | None = None, seed: int = 0, summary: bool = True
) -> Path:
    """A causal LM with a scalar value head (``v_head.summary.*`` as TRL/Skywork save it)."""
    from transformers import LlamaForCausalLM

    folder = Path(folder)
    tokenizer = tokenizer or byte_level_tokenizer()
    _seeded(seed)
    model = LlamaForCausalLM(llama_config(tokenizer))
    model.save_pretrained(folder)
    head = torch.nn.Linear(model.config.hidden_size, 1)
    torch.nn.init.normal_(head.weight, std=0.5)
    prefix = "v_head.summary." if summary else "v_head."
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"{prefix}{k}": v.contiguous() for k, v in head.state_dict().items()})
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(folder)
    return folder


def make_sequence_classification(
    folder: str | Path, tokenizer: Any | None = None, seed: int = 0, num_labels: int = 1
) -> Path:
    """A LlamaForSequenceClassification reward model (one logit, or two classes)."""
    from transformers import LlamaForSequenceClassification

    folder = Path(folder)
    tokenizer = tokenizer or byte_level_tokenizer()
    _seeded(seed)
    LlamaForSequenceClassification(llama_config(tokenizer, num_labels=num_labels)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
