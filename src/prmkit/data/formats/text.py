"""Text helpers shared by the problem-set formats: reference solutions split into steps, and gold
answers normalised to the plain strings math-verify parses."""

from __future__ import annotations

import re
from itertools import pairwise

# Math and figures are never split inside. An escaped dollar (\$) is plain text, so it comes first.
_PROTECTED = re.compile(
    r"\\\$"
    r"|(?P<display>\$\$.*?\$\$|\\\[.*?\\\]|\\begin\{(?P<env>[a-zA-Z]+\*?)\}.*?\\end\{(?P=env)\}|\[asy\].*?\[/asy\])"
    r"|(?P<inline>\\\(.*?\\\)|\$(?:\\.|[^$\\])+\$)",
    re.DOTALL,
)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][)\"']))\s+(?=[A-Z])")
_ABBREVIATIONS = ("e.g.", "i.e.", "Mr.", "Mrs.", "Ms.", "Dr.", "vs.", "St.", "etc.")
_CLOSERS = re.compile(r"(\$\$|\$|\\\]|\\\)|\\end\{[^}]*\}|\[/asy\])$")


def _ends_sentence(math: str, display: bool) -> bool:
    """A display block ends a sentence before a capitalised word; inline math when it ends in . ! ?"""
    return display or _CLOSERS.sub("", math).rstrip()[-1:] in (".", "!", "?")


def split_reference(text: str) -> list[str]:
    """Split a reference solution into steps: paragraphs, then sentences, never inside math.

    A step ends at a blank line, or at ``.``/``!``/``?`` (maybe closed by ``)`` or a quote) followed by
    whitespace and a capital letter
    (outside ``$...$``, ``\\[...\\]``, ``$$...$$``, ``\\begin{env}...\\end{env}`` and ``[asy]``
    figures). A math block that ends a sentence (``$x = 3.$  Then``, ``\\[x = 3.\\]Then``) ends the
    step too. Common abbreviations (``e.g.``, ``Mr.``) do not.
    """
    cuts: list[int] = []
    plain_start = 0
    prev_math: tuple[str, bool] | None = None
    for m in [*_PROTECTED.finditer(text), None]:
        end = len(text) if m is None else m.start()
        plain = text[plain_start:end]
        if prev_math is not None and _ends_sentence(*prev_math):
            opener = r"\s*(?=[A-Z])" if prev_math[1] else r"\s+(?=[A-Z])"
            if re.match(opener, plain):
                cuts.append(plain_start)
        cuts += [plain_start + p.start() for p in _PARAGRAPH.finditer(plain)]
        for s in _SENTENCE_END.finditer(plain):
            if not text[: plain_start + s.start()].endswith(_ABBREVIATIONS):
                cuts.append(plain_start + s.start())
        if m is None:
            break
        prev_math = (m.group(0), m.group("display") is not None) if m.group(0) != "\\$" else None
        plain_start = m.end()
    bounds = [0, *sorted(set(cuts)), len(text)]
    return [s for s in (text[a:b].strip() for a, b in pairwise(bounds)) if s]


def strip_dollars(answer: str) -> str:
    """``$2n$`` -> ``2n``: drop one pair of enclosing dollars (not ``$a$,$b$``)."""
    answer = answer.strip()
    if len(answer) >= 2 and answer[0] == answer[-1] == "$" and "$" not in answer[1:-1]:
        return answer[1:-1].strip()
    return answer


def number_text(value: float | str) -> str:
    """A numeric answer as the shortest exact text: 27.0 -> "27", "025" -> "25", 0.5 -> "0.5"."""
    if isinstance(value, str):
        value = value.strip()
        return str(int(value)) if re.fullmatch(r"[+-]?\d+", value) else value
    return str(int(value)) if float(value).is_integer() else repr(float(value))
