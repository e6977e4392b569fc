"""The finite word lists and the note-length arithmetic the ABC grammar is built from.

Lengths are counted in *ticks*, a quarter of ``L:``: every length the grammar lets a note have is
a whole number of them, so bars add up exactly with integers.
"""

from __future__ import annotations

from fractions import Fraction

from tunesmith.abc_text import default_unit, key_fifths, parse_meter


class Trie:
    """Prefixes of a finite set of words: what may follow, and the shortest way to finish."""

    def __init__(self, words: list[str]):
        self.words = frozenset(words)
        self.follow: dict[str, str] = {}
        self.shortest: dict[str, str] = {}
        for word in sorted(words, key=len, reverse=True):  # shorter words overwrite: shortest wins
            for i in range(len(word)):
                self.follow[word[:i]] = self.follow.get(word[:i], "") + word[i]
                self.shortest[word[:i]] = word[i]
        self.follow = {k: "".join(sorted(set(v))) for k, v in self.follow.items()}


def ticks(length: str) -> int:
    """A written length (a valid prefix) in ticks, a quarter of ``L:``: '' 4, '3/2' 6, '/' 2, '//' 1."""
    num, slash, den = length.partition("/")
    n = int(num) if num else 1
    if not slash:
        return 4 * n
    return n if den in ("4", "/") else 2 * n


def least_ticks(length: str) -> int:
    """The fewest ticks any completion of a length prefix can reach ('3' → '3/4' = 3)."""
    num, slash, den = length.partition("/")
    return ticks(length) if den else (int(num) if num else 1)


def length_for(count: int) -> str:
    """The shortest written length for ``count`` ticks."""
    if count % 4 == 0:
        return "" if count == 4 else str(count // 4)
    if count % 2 == 0:
        return "/" if count == 2 else f"{count // 2}/"
    return "//" if count == 1 else f"{count}/4"


def meter_words() -> list[str]:
    words = ["C", "C|"]
    for den in (1, 2, 4, 8, 16):
        words += [f"{n}/{den}" for n in range(1, 13) if Fraction(1, 8) <= Fraction(n, den) <= 4]
    return words


def key_words() -> list[str]:
    tonics = ["C", "C#", "Db", "D", "Eb", "E", "F", "F#", "Gb", "G", "Ab", "A", "Bb", "B"]
    modes = ["", "m", "min", "maj", "dor", "mix", "lyd", "phr", "loc", "Dor", "Mix"]
    modes += [" Minor", " Major", " Dorian", " Mixolydian"]
    return [t + m for t in tonics for m in modes if abs(key_fifths(t + m)) <= 7]  # abc2midi warns beyond


UNIT_WORDS = ["1/1", "1/2", "1/4", "1/8", "1/16", "1/32"]
TEMPO_WORDS = [f"{beat}={bpm}" for beat in ("1/4", "1/2", "3/8", "1/8", "3/4") for bpm in range(40, 221)]


def missing_chars(vocab: set[str]) -> str:
    """Characters :meth:`AbcGrammar.finish` may need that ``vocab`` lacks (none for any real ABC corpus)."""
    need = set("\n :|CKM/123456789")
    for opener, closers in (("[", "]E"), ("{", "}"), ("(", ")3")):
        need |= set(closers) if opener in vocab else set()
    return "".join(sorted(need - vocab))


def bar_ticks(meter: str, unit: str | None) -> int | None:
    """Ticks in a bar of ``meter`` with unit ``unit`` (None: the default), or None if not whole."""
    length = parse_meter(meter)
    assert length is not None
    u = Fraction(1, int(unit.split("/")[1])) if unit else default_unit(length)
    count = 4 * length / u
    return int(count) if count.denominator == 1 and count <= 1024 else None
