"""``abc-char``: ABC text as characters, one tune per sequence between <start> and <end>.

This is the encoding of seed 002 and folk-rnn's ancestors. Ids 0 and 1 are the markers;
the characters follow in code-point order, so a corpus of ordinary ABC fits in one byte
per character (seed 000 ran out of memory with one-hot matrices instead).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tunesmith.errors import TextRefused
from tunesmith.representations.base import TokenRepresentation, register

SPECIALS = ("<start>", "<end>")
MAX_CHARS = 65534  # ids must fit in uint16


@register
class AbcChar(TokenRepresentation):
    name = "abc-char"
    medium = "abc"
    unit = "char"
    reads_text = True
    start_id = 0
    end_id = 1

    def __init__(self, chars: list[str]):
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("chars must be distinct single characters")
        self.chars = list(chars)
        self._ids = {c: i + len(SPECIALS) for i, c in enumerate(self.chars)}
        codes = np.array([ord(c) for c in self.chars], dtype=np.int64)
        self._lut = np.full(int(codes.max(initial=0)) + 1, -1, dtype=np.int64)
        self._lut[codes] = np.arange(len(SPECIALS), len(SPECIALS) + len(codes))
        self._table = np.array(list(SPECIALS) + self.chars, dtype=object)

    @classmethod
    def fit(cls, items: list[str]) -> AbcChar:
        return cls(sorted(set().union(*map(set, items))) if items else [])

    @property
    def tokens(self) -> list[str]:
        """What ids 2, 3… write: one character each."""
        return self.chars

    def char_counts(self) -> np.ndarray:
        return np.ones(self.vocab_size, dtype=np.int64)

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.chars)

    def ids(self, text: str, what: str = "text") -> np.ndarray:
        """Character ids of ``text`` (no markers); unknown characters are an error with a position."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        ok = codes < len(self._lut)
        out = np.full(codes.shape, -1, dtype=np.int64)
        out[ok] = self._lut[codes[ok]]
        bad = np.flatnonzero(out < 0)
        if bad.size:
            pos = int(bad[0])
            raise TextRefused(
                f"{what}: character {text[pos]!r} at position {pos} is not in this model's vocabulary",
                pos=pos,
                char=text[pos],
                unknown=True,
            )
        return out

    def missing(self, item: str) -> list[str]:
        return list(dict.fromkeys(c for c in item if c not in self._ids))

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

    def state(self) -> dict[str, Any]:
        return {"specials": list(SPECIALS), "chars": self.chars}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AbcChar:
        if state.get("specials", list(SPECIALS)) != list(SPECIALS):
            raise ValueError(f"specials must be {list(SPECIALS)}")
        if not isinstance(state["chars"], list) or len(state["chars"]) > MAX_CHARS:
            raise ValueError(f"chars must be a list of at most {MAX_CHARS} characters")
        return cls(list(state["chars"]))
