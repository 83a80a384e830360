"""A small byte-level BPE tokenizer for the arithmetic world, built locally (no downloads).

Text is first split into pieces: a word or one symbol, each with at most one leading space and, when
a digit follows, one trailing space (``" pens"``, ``" has "``, ``" = "``, ``"\\boxed"``); a single
digit (never with a space, so ``"4"`` is the same token wherever it stands in a number); or a run of
whitespace (``"\n\n"``). Every piece the world writes is one token, and any other text still
round-trips through byte-level fallback: ``decode(encode(text)) == text`` for every string.
"""

from __future__ import annotations

import re

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from prmkit.synthetic.render import lexicon_texts

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"
PIECE_PATTERN = r" ?(?:\\?[A-Za-z]+|[^\sA-Za-z0-9])(?: (?=[0-9]))?|[0-9]| (?=[0-9])|\s+"
MAX_VOCAB = 4096  # a cap far above what the lexicon needs: training stops when every piece is one token


def _corpus() -> list[str]:
    """The world's phrases, each also with a leading space (as it stands inside a question)."""
    texts = list(lexicon_texts())
    return texts + [" " + t for t in texts]


def lexicon_pieces() -> list[str]:
    """Every piece the world writes, sorted."""
    return sorted({piece for text in _corpus() for piece in re.findall(PIECE_PATTERN, text)})


def build_tokenizer() -> PreTrainedTokenizerFast:
    """The world's tokenizer: deterministic, with BOS added in front of every encoded text."""
    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PIECE_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=MAX_VOCAB,
        min_frequency=1,
        special_tokens=[PAD, BOS, EOS, UNK],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, tok.token_to_id(BOS))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )
