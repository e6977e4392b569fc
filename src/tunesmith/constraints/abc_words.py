"""The finite word lists and the note-length arithmetic the ABC grammar is built from.

Lengths are counted in *ticks*, a quarter of ``L:``: every length the grammar lets a note have is
a whole number of them, so bars add up exactly with integers.
"""

from __future__ import annotations

from fractions import Fraction

from tunesmith.abc_text import default_unit, key_fifths, parse_meter

WAY_OUT = 64  # the longest way out of any state, in characters: MARGIN of tunesmith.constraints


class Trie:
    """Prefixes of a finite set of words: what may follow, and the cheapest way to finish.

    ``cost`` prices a whole word (its length by default); ``shortest[prefix]`` is the next character
    towards the cheapest word with that prefix and ``best[prefix]`` that word's cost."""

    def __init__(self, words: list[str], cost: dict[str, int] | None = None):
        self.words = frozenset(words)
        self.price = {w: len(w) if cost is None else cost[w] for w in self.words}
        follow: dict[str, set[str]] = {}
        longer: dict[str, tuple[int, str]] = {}  # the cheapest longer word's price and next character
        best: dict[str, int] = {}  # the cheapest word with this prefix, itself included
        for word, price in self.price.items():
            for i in range(len(word) + 1):
                prefix = word[:i]
                if price < best.get(prefix, price + 1):
                    best[prefix] = price
                if i == len(word):
                    break
                follow.setdefault(prefix, set()).add(word[i])
                was = longer.get(prefix)
                if was is None or price < was[0] or (price == was[0] and word[i] < was[1]):
                    longer[prefix] = (price, word[i])
        self.best = best
        self.follow = {k: "".join(sorted(v)) for k, v in follow.items()}
        self.shortest = {k: c for k, (_, c) in longer.items()}

    def ends(self, prefix: str) -> bool:
        """Is ``prefix`` a word, and no longer word with it as a beginning cheaper?"""
        return prefix in self.words and self.price[prefix] <= self.best[prefix]


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
    words = ["C", "C|", "none"]
    for den in (1, 2, 4, 8, 16):
        words += [f"{n}/{den}" for n in range(1, 13) if Fraction(1, 8) <= Fraction(n, den) <= 4]
    return words


_TONICS = ["C", "C#", "Db", "D", "Eb", "E", "F", "F#", "Gb", "G", "Ab", "A", "Bb", "B"]
_MODES = ["", "m", "min", "maj", "dor", "mix", "lyd", "phr", "loc", "aeo", "ion"]
_MODE_NAMES = ["minor", "major", "dorian", "mixolydian", "lydian", "phrygian", "locrian", "aeolian", "ionian"]


def key_words(wide: bool = False) -> list[str]:
    """Key spellings abc2midi reads (at most seven sharps or flats: it warns beyond). ``wide`` adds what
    transcribers write beside the short forms ("E Minor", "Dmix", "A dorian"), for a corpus that uses them."""
    modes = _MODES + ["Dor", "Mix"] + [" Minor", " Major", " Dorian", " Mixolydian"]
    if wide:
        modes += ["Min", "Maj", "Lyd", "Phr", "Loc", "Aeo", "Ion", "Minor", "Major"]
        modes += [f"{gap}{name}" for name in _MODE_NAMES for gap in ("", " ") for name in (name, name.title())]
        modes += [" " + m for m in _MODES[1:] + ["Dor", "Mix", "Min", "Maj"]]
    words = {t + m for t in _TONICS for m in modes}
    return sorted(w for w in words if abs(key_fifths(w)) <= 7)


UNIT_WORDS = ["1/1", "1/2", "1/4", "1/8", "1/16", "1/32"]
TEMPO_WORDS = [f"{beat}={bpm}" for beat in ("1/4", "1/2", "3/8", "1/8", "3/4") for bpm in range(40, 221)]

# Chord symbols abc2midi knows (store.c, addchordname): any other name is an error, and so is "min" or "maj".
CHORD_NAMES = ["", "m", "7", "m7", "m7b5", "maj7", "M7", "6", "m6", "aug", "+", "aug7", "dim", "dim7", "9", "m9"]
CHORD_NAMES += ["maj9", "M9", "11", "dim9", "sus", "sus4", "sus2", "sus9", "7sus2", "7sus4", "7sus9", "5"]

# abc2midi's accompaniment (store.c, setbeat): per meter, the bar in equal slots, 'z' silent. A tune with chord
# symbols whose last bar ends inside a sounding slot fails ("Sustained notes beyond end of track").
GCHORD_PATTERNS = {(2, 2): "fzczfzcz", (4, 4): "fzczfzcz", (2, 4): "fzcz", (6, 4): "fzczfzczfzcz"}
GCHORD_PATTERNS |= {(3, 8): "fzczcz", (5, 8): "fzbcz", (5, 4): "fzbcz", (7, 8): "fzbczcz", (7, 4): "fzbczcz"}
GCHORD_PATTERNS |= {(3, 4): "fzczcz", (6, 8): "fzcfzc", (9, 8): "fzcfzcfzc", (12, 8): "fzcfzcfzcfzc"}


def gchord_pattern(meter: str) -> str:
    """abc2midi's accompaniment for ``meter`` ('' where it plays none)."""
    if meter in ("C", "C|"):
        return GCHORD_PATTERNS[(4, 4) if meter == "C" else (2, 2)]
    num, _, den = meter.partition("/")
    return GCHORD_PATTERNS.get((int(num), int(den)), "") if num.isdigit() and den.isdigit() else ""


def chord_ends_safely(pattern: str, bar: int, at: int) -> bool:
    """May a tune with chord symbols end ``at`` ticks into a bar of ``bar`` ticks? Not inside a sounding slot."""
    if not pattern or bar <= 0:
        return True
    slot, rest = divmod(at * len(pattern), bar)
    return rest == 0 or pattern[slot % len(pattern)] == "z"


def missing_chars(vocab: set[str]) -> str:
    """Characters :meth:`AbcGrammar.finish` may need that ``vocab`` lacks (none for any real ABC corpus)."""
    need = set("\n :|CKM/123456789")
    for opener, closers in (("[", "]E"), ("{", "}"), ("(", ")3"), ('"', '"')):
        need |= set(closers) if opener in vocab else set()
    return "".join(sorted(need - vocab))


def bar_ticks(meter: str, unit: str | None) -> int | None:
    """Ticks in a bar of ``meter`` with unit ``unit`` (None: the default), or None if not whole; 0 for free
    meter (``none``), whose bars have no length."""
    length = parse_meter(meter)
    u = Fraction(1, int(unit.split("/")[1])) if unit else default_unit(length)
    if length is None:
        return 0
    count = 4 * length / u
    return int(count) if count.denominator == 1 and count <= 1024 else None
