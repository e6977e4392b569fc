"""``abc-tokens``: ABC as a musician reads it, one token per musical symbol, in the folk-rnn manner.

A note with its accidental, octave and length (``^f3/2``) is one token; so is a rest, a bar line or
repeat with the spaces beside it (``|:``, `` | ``, ``:|2``), a tuplet (``(3``), a broken rhythm (``>``),
a chord symbol (``"Am"``), a decoration (``!trill!``), a grace group (``{gag}``) and a header line the
corpus repeats, with its newline (``M:6/8``, ``L:1/8``, ``K:Gmaj``, ``R:jig``, ``O:Ireland``). A folk
tune is 1.65 characters a token (193 tokens against 317 characters; ``docs/representations.md``), so
a model reads 1.65 times the music for the same work and spends its capacity on music, not spelling.

**Exact by construction.** Every single character of the corpus (and all of printable ASCII) is a token
too, and the tokenizer only ever cuts the text, so ``decode(encode(text)) == text`` for any text whose
characters are known. A musical symbol the vocabulary lacks (a rare note length, a one-off chord name)
is spelled from smaller tokens: the pitch and its length, else its characters. A header line the corpus
does not repeat (most titles) is its field (``T:``) and then its characters: a title is words, not the
music the model should spend its vocabulary on, and a title the model spells is judged like any text.

**Constrained sampling** walks the grammar through a token's characters (a token is allowed when every
character in it is), which the single characters always make possible: the grammar's way to an end is
spelled from them, so a model can always finish in time.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Any

import numpy as np

from tunesmith.errors import TextRefused
from tunesmith.representations.base import TokenRepresentation, register

SPECIALS = ("<start>", "<end>")
MIN_COUNT = 10  # a symbol or header line seen fewer times in the corpus is spelled from smaller tokens
MAX_SYMBOLS = 4000  # the most multi-character tokens a vocabulary keeps (the folk corpus has about 700)
MAX_TOKEN_CHARS = 64  # a longer "symbol" is text, not a symbol (a long annotation), and is spelled
MAX_VOCAB = 65534  # ids must fit in uint16
BASE_CHARS = sorted(set(string.printable) - set("\x0b\x0c\r"))  # what any tune may spell with

_PITCH = r"(?:\^\^|__|[\^_=])?[A-Ga-g][,']*"
_LENGTH = r"[0-9]*/*[0-9]*"
# One musical symbol of the body, in the order tried. Groups: the pitch of a note, and its length.
_SYMBOL = re.compile(
    "|".join(
        [
            rf"(?P<pitch>{_PITCH})(?P<length>{_LENGTH})",  # a note
            rf"[zxZ]{_LENGTH}",  # a rest, an invisible rest, whole bars of rest
            r"\[[KLMPQRIV]:[^\]\n]*\]",  # an inline field
            # bar lines, repeats and endings, with a space either side: " | " is one token, not three
            r" ?(?::*\|+\]?:*(?:\[?[0-9](?:[,-][0-9])*)?|\[\|\]?|:+\|*|\[[0-9](?:[,-][0-9])*) ?",
            r"\((?:[2-9])(?::[0-9]?){0,2}",  # a tuplet
            r'"[^"\n]*"',  # a chord symbol or an annotation
            r"![^!\n]*!|\+[^+\n]*\+",  # a long decoration
            r"\{[^}\n]*\}",  # a grace group
            rf"\]{_LENGTH}",  # a chord's closing bracket and its length
            r">+|<+",  # a broken rhythm
        ]
    )
)
_HEADER_LINE = re.compile(r"([A-Za-z]):([^\n]*)(\n|$)")


def _header_end(text: str) -> int:
    """Where the body begins: just after the first ``K:`` line of the header (0: no header)."""
    pos = 0
    while pos < len(text):
        match = _HEADER_LINE.match(text, pos)
        if match is None:
            return 0 if pos == 0 else pos
        pos = match.end()
        if match.group(1) == "K":
            return pos
    return pos


def _pieces(text: str) -> list[tuple[str, str]]:
    """The text cut into ``(kind, piece)``: ``line`` for a header line with its newline, ``note`` for a note,
    ``symbol`` for another musical symbol, ``char`` for a character. Joined, they are ``text``."""
    out: list[tuple[str, str]] = []
    end = _header_end(text)
    pos = 0
    while pos < end:
        match = _HEADER_LINE.match(text, pos)
        assert match is not None
        out.append(("line", match.group(0)))
        pos = match.end()
    while pos < len(text):
        match = _SYMBOL.match(text, pos)
        if match is None or match.end() == pos:
            out.append(("char", text[pos]))
            pos += 1
            continue
        piece = match.group(0)
        out.append(("note" if match.group("pitch") else "symbol", piece))
        pos = match.end()
    return out


@register
class AbcTokens(TokenRepresentation):
    name = "abc-tokens"
    medium = "abc"
    unit = "token"
    reads_text = True
    start_id = 0
    end_id = 1

    def __init__(self, tokens: list[str]):
        if len(set(tokens)) != len(tokens) or any(not t or len(t) > MAX_TOKEN_CHARS for t in tokens):
            raise ValueError(f"tokens must be distinct strings of 1 to {MAX_TOKEN_CHARS} characters")
        if len(tokens) + len(SPECIALS) > MAX_VOCAB:
            raise ValueError(f"at most {MAX_VOCAB - len(SPECIALS)} tokens")
        self.tokens = list(tokens)
        self._ids = {t: i + len(SPECIALS) for i, t in enumerate(self.tokens)}
        self._table = np.array(list(SPECIALS) + self.tokens, dtype=object)
        self.chars = sorted(t for t in self.tokens if len(t) == 1)  # what the grammar walks and spells with

    @classmethod
    def fit(cls, items: list[str]) -> AbcTokens:
        """Every character seen (and printable ASCII), and each header line and musical symbol seen at least
        ``MIN_COUNT`` times (the ``MAX_SYMBOLS`` commonest), ordered by kind and then by text."""
        chars, symbols = set(BASE_CHARS), Counter()
        for text in items:
            chars.update(text)
            for kind, piece in _pieces(text):
                if kind != "char":
                    symbols[piece] += 1
                if kind == "line":  # a line too rare to be a token is spelled after its field's "T:"
                    symbols[piece[:2]] += 1
            for note in _notes(text):  # a pitch and a length alone spell a note of a rare length
                symbols.update((note.group("pitch"), note.group("length")))
        symbols = Counter({s: n for s, n in symbols.items() if 1 < len(s) <= MAX_TOKEN_CHARS and n >= MIN_COUNT})
        kept = [s for s, _ in symbols.most_common(MAX_SYMBOLS)]
        return cls(sorted(chars) + sorted(kept))

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.tokens)

    def split(self, text: str) -> list[str]:
        """``text`` as this vocabulary's tokens; a symbol it lacks is spelled from its pitch and length, else
        from its characters. Raises KeyError with the first unknown character."""
        out: list[str] = []
        for kind, piece in _pieces(text):
            if piece in self._ids:
                out.append(piece)
            elif kind == "line" and piece[:2] in self._ids:
                out += [piece[:2], *piece[2:]]
            elif kind == "note" and (m := _SYMBOL.match(piece)) and m.group("pitch") in self._ids:
                out.append(m.group("pitch"))
                length = m.group("length")
                out += [length] if length in self._ids else list(length)
            else:
                out += list(piece)
        return out

    def missing(self, item: str) -> list[str]:
        return list(dict.fromkeys(c for c in item if c not in self._ids))

    def ids(self, text: str, what: str = "text") -> np.ndarray:
        """Token ids of ``text`` (no markers); an unknown character is an error with its position."""
        if unknown := self.missing(text):
            pos = text.index(unknown[0])
            raise TextRefused(
                f"{what}: character {text[pos]!r} at position {pos} is not in this model's vocabulary",
                pos=pos,
                char=text[pos],
                unknown=True,
            )
        return np.array([self._ids[t] for t in self.split(text)], dtype=np.int64)

    def encode(self, item: str) -> np.ndarray:
        body = self.ids(item)
        out = np.empty(body.size + 2, dtype=self.dtype)
        out[0], out[-1] = self.start_id, self.end_id
        out[1:-1] = body
        return out

    def decode(self, array: np.ndarray) -> str:
        """Text between the first <start> (if any) and the first <end> (if any)."""
        ids = np.asarray(array, dtype=np.int64)
        if ids.size and ids[0] == self.start_id:
            ids = ids[1:]
        ends = np.flatnonzero(ids == self.end_id)
        if ends.size:
            ids = ids[: ends[0]]
        return "".join(self._table[ids[ids >= len(SPECIALS)]])

    def char_counts(self) -> np.ndarray:
        return np.array([1] * len(SPECIALS) + [len(t) for t in self.tokens], dtype=np.int64)

    def token_text(self, token_id: int) -> str:
        """What one id writes ('' for the markers)."""
        return "" if token_id < len(SPECIALS) else self.tokens[token_id - len(SPECIALS)]

    def state(self) -> dict[str, Any]:
        return {"specials": list(SPECIALS), "tokens": self.tokens}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AbcTokens:
        if state.get("specials", list(SPECIALS)) != list(SPECIALS):
            raise ValueError(f"specials must be {list(SPECIALS)}")
        tokens = state["tokens"]
        if not isinstance(tokens, list) or len(tokens) > MAX_VOCAB or not all(isinstance(t, str) for t in tokens):
            raise ValueError(f"tokens must be a list of at most {MAX_VOCAB} strings")
        return cls(list(tokens))


def _notes(text: str) -> list[re.Match[str]]:
    """The notes of a tune's body, as matches with their ``pitch`` and ``length``."""
    pos, out = _header_end(text), []
    while pos < len(text):
        match = _SYMBOL.match(text, pos)
        if match is None or match.end() == pos:
            pos += 1
            continue
        if match.group("pitch"):
            out.append(match)
        pos = match.end()
    return out
