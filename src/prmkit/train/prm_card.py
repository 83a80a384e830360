"""The model card (README.md) written beside every trained PRM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prmkit.score.contract import CONTRACT_FILE, PRMContract

CARD = """---
library_name: transformers
pipeline_tag: {pipeline_tag}
tags:
- prmkit
- process-reward-model
- {objective}
---

# {title}

A {what} trained with prmkit from `{model}`: {head_text}

- objective: `{objective}` ({objective_text})
- labels: `{labels}` ({labels_text})
- training data: {data}; {train_examples} training and {eval_examples} held-out solutions

## Held-out metrics

Erroneous steps are the positive class; a step is flagged when P(correct) < 0.5.

{metrics}

## Use it with prmkit

```python
from prmkit.score import load_prm

prm = load_prm("{folder}")
step_scores = prm.score(["What is 2 + 3?"], [["2 + 3 = 5", "The answer is \\\\boxed{{5}}."]])
```

## Use it without prmkit

The input follows the step contract in `{contract_file}`: BOS (when `add_bos`), the question rendered by
`prompt_template`, the question separator, then each step followed by the separator. Each piece is
tokenized on its own (`add_special_tokens=False`) and the ids are concatenated.

```python
import torch
from transformers import {auto_class}, AutoTokenizer

tok = AutoTokenizer.from_pretrained("{folder}")
model = {auto_class}.from_pretrained("{folder}")
question, steps, sep = "What is 2 + 3?", ["2 + 3 = 5", "The answer is 5."], {separator!r}
enc = lambda text: tok.encode(text, add_special_tokens=False)
ids = {bos} + enc({prompt!r}.format(question=question)) + enc({question_separator!r})
starts, ends = [], []
for step in steps:
    starts.append(len(ids))
    ids += enc(step) + enc(sep)
    ends.append(len(ids) - 1)
{read_probs}
```

## Training configuration

```yaml
{config}
```
"""

HEADS = {
    "linear": {
        "pipeline_tag": "token-classification",
        "auto_class": "AutoModelForTokenClassification",
        "head_text": "a causal-LM backbone with a\n2-logit token-classification head. P(step is correct) = "
        "`softmax(logits, -1)[..., 1]`, read at the last\ntoken of each step's separator.",
        "read_probs": "probs = model(torch.tensor([ids])).logits[0, ends].softmax(-1)[:, 1]",
    },
    "likelihood": {
        "pipeline_tag": "text-generation",
        "auto_class": "AutoModelForCausalLM",
        "head_text": "a causal LM with a step-likelihood\nhead (`prm_head.*` in `model.safetensors`). The logit "
        "of a step is `w . h + b + scale * log P(step | prefix)`,\nwith `h` the last hidden state at the "
        "last token of the step's separator and `log P(step | prefix)` the\nlog-probability of the step's "
        "own tokens (its separator left out); P(step is correct) = `sigmoid(logit)`.",
        "read_probs": """from safetensors.torch import load_file

head = {k[len("prm_head."):]: v for k, v in load_file("{folder}/model.safetensors").items() if k.startswith("prm_head.")}
out = model(torch.tensor([ids]), output_hidden_states=True)
logp = out.logits[0, :-1].log_softmax(-1).gather(-1, torch.tensor(ids[1:])[:, None])[:, 0]
n_sep = len(enc(sep))
loglik = torch.stack([logp[s - 1 : e - n_sep].sum() for s, e in zip(starts, ends)])
h = out.hidden_states[-1][0, ends]
probs = torch.sigmoid(h @ head["linear.weight"][0] + head["linear.bias"][0] + head["scale"] * loglik)""",
    },
}
METRICS = ("step_f1", "step_precision", "step_recall", "step_accuracy", "step_auroc", "steps", "loss")
OBJECTIVES = {
    "prm": "a label at the end of every step",
    "orm": "final-answer correctness at the last step only",
}
LABELS = {
    "hard": "0/1 step labels, cross-entropy",
    "soft": "Monte-Carlo probabilities, binary cross-entropy against the soft target",
}


def write_model_card(
    folder: Path,
    config: dict[str, Any],
    contract: PRMContract,
    metrics: dict[str, float],
    train_examples: int,
    eval_examples: int,
    has_bos: bool = True,
) -> Path:
    """Write README.md into ``folder``; ``has_bos`` says whether the tokenizer has a BOS token."""
    import yaml

    fmt = contract.step_format
    shown = {k: metrics[f"eval_{k}"] for k in METRICS if f"eval_{k}" in metrics}
    table = "\n".join(f"| {k} | {v:.4f} |" for k, v in shown.items())
    head = HEADS[config.get("head", "linear")]
    text = CARD.format(
        pipeline_tag=head["pipeline_tag"],
        head_text=head["head_text"],
        auto_class=head["auto_class"],
        read_probs=head["read_probs"].replace("{folder}", str(folder)),
        title=f"{'Outcome' if contract.objective == 'orm' else 'Process'} reward model",
        what="ORM baseline" if contract.objective == "orm" else "process reward model (PRM)",
        model=config.get("model", ""),
        objective=contract.objective,
        objective_text=OBJECTIVES[contract.objective],
        labels=contract.labels,
        labels_text=LABELS[contract.labels],
        data=f"`{config['data']}` ({config.get('data_format', 'jsonl')})"
        if config.get("data")
        else "records passed in Python",
        train_examples=train_examples,
        eval_examples=eval_examples,
        metrics=f"| metric | value |\n| --- | --- |\n{table}" if table else "(no held-out set)",
        folder=str(folder),
        contract_file=CONTRACT_FILE,
        separator=fmt.separator,
        bos="[tok.bos_token_id]" if fmt.add_bos and has_bos else "[]",
        prompt=fmt.prompt_template,
        question_separator=fmt.separator if fmt.question_separator is None else fmt.question_separator,
        config=yaml.safe_dump(config, sort_keys=False).strip(),
    )
    path = folder / "README.md"
    path.write_text(text, encoding="utf-8")
    return path
