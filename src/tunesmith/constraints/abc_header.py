"""The header half of the ABC grammar: the fields a corpus uses, with the values it gives them.

With a corpus profile (:mod:`tunesmith.metrics.abc_corpus`), a header line is a field the corpus uses, on
no more lines than the corpus gives it: text fields (``T C O A B D F G H N S W Z``) hold words, one line of at
most the corpus's longest value; ``M:`` and ``K:`` take any spelling whose normal form the corpus uses;
``L:``, ``Q:`` and ``I:`` take values the corpus gives them; ``R:`` takes words of the corpus's ``R:`` values.
Without a profile the fields are :data:`~tunesmith.metrics.abc_corpus.GENERIC`'s and the values come from the
word lists of :mod:`tunesmith.constraints.abc_words`.

A text value is words, as :func:`~tunesmith.metrics.abc_corpus.music_in_text` asks, checked as it is typed:
no ``|``, no quote that would close a chord symbol (``"Am"``), no symbol that makes a string of symbols, no
character that makes the word a run of notes; it neither begins nor ends with a space (values are stripped).

Every value is priced with the rest of the way out (the key, a meter if none is given yet, and the body's
floor of bars and notes), so no way out is longer than :data:`~tunesmith.constraints.abc_words.WAY_OUT`: a
value that does not fit is refused (an ``R:`` word, an ``I:`` value, a meter whose bars are too short).
"""

from __future__ import annotations

import re

from tunesmith.abc_text import normal_key, normal_meter, parse_unit
from tunesmith.constraints.abc_words import (
    TEMPO_WORDS,
    UNIT_WORDS,
    WAY_OUT,
    Trie,
    bar_ticks,
    key_words,
    meter_words,
)
from tunesmith.metrics.abc_corpus import CHORD_SYMBOL, GENERIC, SYMBOLS, CorpusProfile, music_word

TEXT_FIELDS = "ABCDFGHNOSTWZ"  # words; N: too (notes), though validity lets it cite bars
VALUE_FIELDS = "MLQKI"  # one value from a list
HORNPIPE = ("hornpipe", "Hornpipe")  # abc2midi swings an R: that begins so, and fails unless in 2/4 or 4/4
HORNPIPE_METERS = ("2/4", "4/4", "C")
STRIP = ".,;:!?()'\"-"  # what music_in_text strips from a word's ends
_NOTE_WORD = frozenset("ABCDEFGabcdefgz^_=,'/0123456789" + STRIP)
_CHORD_PREFIX = re.compile(
    r"[A-G](?:[#b]?(?:m|min|maj|dim|aug|sus|add|M|\+|-|o|\d)*(?:mi|ma|d|di|a|au|ad|s|su|/(?:[A-G][#b]?)?)?)?"
)
_CHORD_CHARS = frozenset("ABCDEFG#b/mindjaugsMo+-0123456789")
_TEMPO = re.compile(r'(?:"[^"%\\]*" ?)?(?:[1-9]\d?/[1-9]\d?=)?[1-9]\d{1,2}(?: ?"[^"%\\]*")?')


def _text_char(c: str) -> bool:
    return c not in "\\%|" and ord(c) >= 0x20 and c != "\x7f"


def _usable_value(name: str, value: str) -> bool:
    """A listed value the grammar may write: one that reads as what its field holds (an ``I:`` may hold bar
    lines: Jack Campin's books note the printed repeats so, "I::: ||")."""
    if not value or not all(_text_char(c) or (c == "|" and name == "I") for c in value) or value != value.strip():
        return False
    if name == "L":
        try:
            return parse_unit(value).numerator == 1
        except ValueError:
            return False
    return bool(_TEMPO.fullmatch(value)) if name == "Q" else True


def _rhythm_word(word: str) -> bool:
    """A word of an R: value the grammar may write in any order: text, not notes or a chord symbol, not a bar
    line; its symbols are counted as it is written (at most two a value: never a string of symbols)."""
    ok = word and word[0] != ":" and all(_text_char(c) and not c.isspace() for c in word)
    ok = ok and sum(c in SYMBOLS for c in word) <= 2
    return bool(ok) and not music_word(word) and not CHORD_SYMBOL.search(word)


class HeaderGrammar:
    """The header states: ``H`` a line start, ``F`` after a field letter, ``T`` a text value, ``V`` a value from a
    list, ``Y`` an ``R:`` of words. ``head`` is ``(meter, unit, lines per field, hornpipe)``."""

    def _setup_header(self, vocab: set[str], profile: CorpusProfile | None) -> None:
        rules = (profile or GENERIC).fields
        values = profile.values if profile is not None else {}
        known = TEXT_FIELDS + VALUE_FIELDS + "R"
        self.rules = {k: (r.max_lines, r.max_length) for k, r in rules.items() if k in known and k in vocab}
        for name in "MK":  # the grammar cannot do without them
            self.rules.setdefault(name, (1, 40))
        for name in "MLQK":
            self.rules[name] = (1, self.rules[name][1]) if name in self.rules else (0, 0)
        usable = lambda words: sorted({w for w in words if set(w) <= vocab})  # noqa: E731
        listed = {k: usable(v for v in values.get(k, ()) if _usable_value(k, v)) for k in "LQI"}
        if "I" not in values:
            self.rules.pop("I", None)
        self.units = listed["L"] if "L" in values else usable(UNIT_WORDS)
        self.tempos = listed["Q"] if "Q" in values else usable(TEMPO_WORDS)
        self.infos = listed["I"]
        self.r_words: list[str] | None = None  # None: R: is text, and may not begin with "hornpipe"
        if "R" in values:
            self.r_words = usable(w for w in values["R"] if _rhythm_word(w))
        meters = usable(meter_words() + [m for m in (profile.meters if profile else ()) if re.fullmatch(r"\d+/\d+", m)])
        keys = usable(key_words(wide=profile is not None))
        if profile is not None and not profile.generic:
            meters = [m for m in meters if normal_meter(m) in profile.meters]
            keys = [k for k in keys if normal_key(k) in profile.keys]
        self.meters = [m for m in meters if len(m) <= self.rules["M"][1]]
        self.keys = [k for k in keys if len(k) <= self.rules["K"][1]]
        self.order = "".join(sorted(self.rules))
        self._tries: dict[tuple, Trie] = {}
        self._rests: dict[tuple, int | None] = {}
        self._allowed: dict[tuple, str] = {}
        self.key_cost = 3 + min((len(k) for k in self.keys), default=WAY_OUT)
        self.start = ("H", (None, None, (0,) * len(self.order), False))

    # -- pricing: the rest of the way out after a header line -----------------------------------------------

    def _meter_choices(self, unit: str | None, horn: bool) -> dict[str, int]:
        """Meters that may come with ``unit`` (and an R: hornpipe), each priced as its line plus the body's floor."""
        out = {}
        for m in self.meters:
            if (horn and normal_meter(m) not in HORNPIPE_METERS) or bar_ticks(m, unit) is None:
                continue
            body = self._body_cost(m, unit)
            if body is not None:
                out[m] = len(m) + 3 + body
        return out

    def _rest(self, meter: str | None, unit: str | None, horn: bool) -> int | None:
        """Characters from a header line start to the end when ``meter``/``unit`` are as given (None: too many)."""
        key = (meter, unit, horn)
        if key not in self._rests:
            if meter is None:
                body = min(self._meter_choices(unit, horn).values(), default=None)
            else:
                body = self._body_cost(meter, unit)
            cost = None if body is None else body + self.key_cost
            self._rests[key] = cost if cost is not None and cost <= WAY_OUT else None
        return self._rests[key]

    def _trie(self, name: str, head: tuple, symbols: int = 2) -> Trie:
        """The values ``name`` may take in ``head``: what fits the field and leaves a way out in time. ``Y1`` and
        ``Y`` are the first and later words of an R: (with at most ``symbols`` symbols)."""
        meter, unit, _, horn = head
        rest = self._rest(meter, unit, horn)  # what a value's line leaves of the way out: tries share it
        if name == "M":
            key: tuple = (name, unit, horn)
        elif name == "L":
            key = (name, meter, horn)
        elif name == "K":
            key = (name, self._body_cost(meter, unit) if meter is not None else None)
        elif name == "Y1" and not horn:
            key = (name, rest, self._rest(meter, unit, True) if self._header_horn_ok(head) else None, symbols)
        else:
            key = (name, rest, symbols)
        trie = self._tries.get(key)
        if trie is not None:
            return trie
        cost: dict[str, int] = {}
        if name == "M":
            cost = {m: c for m, c in self._meter_choices(unit, horn).items() if c + self.key_cost <= WAY_OUT}
        elif name == "K":
            body = self._body_cost(meter, unit) if meter is not None else None
            cost = {k: len(k) for k in self.keys if body is not None and len(k) + 3 + body <= WAY_OUT}
        elif name == "L":
            for u in self.units:
                rest = self._rest(meter, u, horn) if meter is None or bar_ticks(meter, u) is not None else None
                if rest is not None and len(u) + 3 + rest <= WAY_OUT:
                    cost[u] = len(u) + rest
        elif name in ("Q", "I", "Y", "Y1"):
            words = {"Q": self.tempos, "I": self.infos}.get(name, self.r_words or [])
            if name in ("Y", "Y1"):
                words = [w for w in words if sum(ch in SYMBOLS for ch in w) <= symbols]
            horn_rest = rest  # a first word "hornpipe…" needs a meter that allows it, and prices the rest so
            if name == "Y1" and not horn:
                horn_rest = self._rest(meter, unit, True) if self._header_horn_ok(head) else None
            for w in words:
                after = horn_rest if name == "Y1" and w.startswith(HORNPIPE) else rest
                if after is not None and len(w) + 3 + after <= WAY_OUT:
                    cost[w] = len(w)
        limit = self.rules.get("R" if name in ("Y", "Y1") else name, (0, WAY_OUT))[1]
        trie = self._tries[key] = Trie([w for w in cost if len(w) <= limit], cost)
        return trie

    # -- steps ------------------------------------------------------------------------------------------------

    def _fields_open(self, head: tuple) -> str:
        """Field letters that may begin a line in ``head``."""
        key = head
        if key not in self._allowed:
            meter, unit, counts, horn = head
            rest = self._rest(meter, unit, horn)
            out = []
            for name, count in zip(self.order, counts, strict=True):
                if count >= self.rules[name][0] or rest is None:
                    continue
                if name in "MLQKI":
                    if (name == "K") != (meter is not None) and name in "MK" or not self._trie(name, head).words:
                        continue
                elif name == "R" and self.r_words is not None:
                    if not self._trie("Y1", head).words:
                        continue
                elif rest + 3 > WAY_OUT:
                    continue
                out.append(name)
            self._allowed[key] = "".join(out)
        return self._allowed[key]

    def _header(self, state: tuple, c: str) -> tuple | None:
        return ("F", state[1], c) if c in self._fields_open(state[1]) else None

    def _field(self, state: tuple, c: str) -> tuple | None:
        _, head, name = state
        if c != ":":
            return None
        if name in VALUE_FIELDS:
            return ("V", head, name, "")
        if name == "R" and self.r_words is not None:
            return ("Y", head, 0, "", True, 0)
        return ("T", head, name, 0, 0, "", "", 0 if name == "R" else -1)

    def _next_head(self, head: tuple, name: str, value: str | None = None, horn: bool = False) -> tuple:
        meter, unit, counts, was_horn = head
        i = self.order.index(name)
        counts = counts[:i] + (counts[i] + 1,) + counts[i + 1 :]
        meter = value if name == "M" else meter
        unit = value if name == "L" else unit
        return ("H", (meter, unit, counts, was_horn or horn))

    def _text(self, state: tuple, c: str) -> tuple | None:
        """A word field. ``n`` characters, ``s`` symbols, ``word``: the word being typed while it could still be a
        run of notes (None once it cannot), ``cand``: text after a quote while it could be a chord name (None: no
        open candidate); ``horn``: letters of "hornpipe" an R: began with (-1: not R)."""
        _, head, name, n, s, word, cand, horn = state
        longest = self.rules[name][1]
        if c == "\n":
            return self._next_head(head, name) if n == 0 or word != "" else None
        if n >= longest or not _text_char(c) or (n == 0 and (c == ":" or c.isspace())):
            return None
        if c.isspace():  # words part at any space, as str.split() parts them ("\x85" too)
            return ("T", head, name, n + 1, s, "", None, -1) if n + 2 <= longest else None
        if c in SYMBOLS:
            if s + 1 >= 3 and s + 1 >= 0.15 * (n + 1):
                return None
            s += 1
        if word is not None:
            word = word + c if c in _NOTE_WORD else None
            if word is not None and music_word(word):
                return None
        if c == '"':
            if cand is not None and CHORD_SYMBOL.fullmatch(f'"{cand}"'):
                return None
            cand = ""
        elif cand is not None:
            cand = cand + c if c in _CHORD_CHARS and _CHORD_PREFIX.fullmatch(cand + c) else None
        if horn >= 0:
            horn = horn + 1 if c == HORNPIPE[0][horn] or (horn == 0 and c == "H") else -1
            if horn == len(HORNPIPE[0]):
                return None
        return ("T", head, name, n + 1, s, word, cand, horn)

    def _value(self, state: tuple, c: str) -> tuple | None:
        _, head, name, prefix = state
        trie = self._trie(name, head)
        if c != "\n":
            return ("V", head, name, prefix + c) if c in trie.follow.get(prefix, "") else None
        if prefix not in trie.words:
            return None
        if name == "K":
            return self._body_start(head[0], head[1])
        return self._next_head(head, name, prefix)

    def _rhythm(self, state: tuple, c: str) -> tuple | None:
        """R: as words of the corpus's R: values: ``n`` characters before the word being typed, ``prefix``,
        ``symbols`` in the words before (at most two); the first word has its own list (one that begins
        "hornpipe" only where the meter may allow it)."""
        _, head, n, prefix, first, symbols = state
        trie, longest = self._trie("Y1" if first else "Y", head, 2 - symbols), self.rules["R"][1]
        if c in " \n":
            if prefix not in trie.words and not (c == "\n" and first and not prefix):  # "R:" alone is a value too
                return None
            horn = first and prefix.startswith(HORNPIPE)
            if c == "\n":
                return self._next_head(head, "R", horn=horn)
            head = head[:3] + (head[3] or horn,)
            n, symbols = n + len(prefix) + 1, symbols + sum(ch in SYMBOLS for ch in prefix)
            shortest = min(map(len, self._trie("Y", head, 2 - symbols).words), default=longest + 1)
            return ("Y", head, n, "", False, symbols) if n + shortest <= longest else None
        if c not in trie.follow.get(prefix, "") or n + trie.best[prefix + c] > longest:
            return None
        return ("Y", head, n, prefix + c, first, symbols)

    def _header_horn_ok(self, head: tuple) -> bool:
        meter, unit, _, _ = head
        if meter is not None:
            return normal_meter(meter) in HORNPIPE_METERS
        return self._rest(None, unit, True) is not None

    # -- the way out ------------------------------------------------------------------------------------------

    def _finish_header(self, state: tuple) -> str:
        kind = state[0]
        if kind == "H":
            return "K" if state[1][0] is not None else "M"
        if kind == "F":
            return ":"
        if kind == "T":
            return "\n" if state[3] == 0 or state[5] != "" else "K"
        if kind == "Y":
            _, head, _, prefix, first, symbols = state
            trie = self._trie("Y1" if first else "Y", head, 2 - symbols)
        else:
            _, head, name, prefix = state
            trie = self._trie(name, head)
        return "\n" if trie.ends(prefix) else trie.shortest[prefix]

    def _header_key(self, state: tuple) -> tuple | None:
        kind, head = state[0], state[1]
        if kind == "H":
            return ("H", self._fields_open(head))
        if kind == "F":
            return ("F",)
        if kind == "T":
            _, _, name, n, s, word, cand, horn = state
            longest = self.rules[name][1]
            symbol_ok = not (s + 1 >= 3 and s + 1 >= 0.15 * (n + 1))
            return ("T", n == 0, n < longest, n + 2 <= longest, symbol_ok, word, cand, horn)
        if kind == "V":
            return ("V", id(self._trie(state[2], head)), state[3])
        _, _, n, prefix, first, symbols = state
        return ("Y", id(self._trie("Y1" if first else "Y", head, 2 - symbols)), n, prefix)

    def _header_classes(self, state: tuple) -> tuple[str, ...]:
        kind = state[0]
        if kind == "H":
            return tuple(self.order)
        if kind == "F":
            return (":",)
        if kind == "T":
            return self._text_classes
        if kind == "Y":
            trie = self._trie("Y1" if state[4] else "Y", state[1], 2 - state[5])
            return (" ", "\n", *trie.follow.get(state[3], ""))
        return (*self._trie(state[2], state[1]).follow.get(state[3], ""), "\n")

    def _make_text_classes(self, vocab: set[str]) -> None:
        """Characters of a text value that act alike: plain ones, and symbols that are nothing else."""
        special = _NOTE_WORD | _CHORD_CHARS | {"\n", '"', ":"} | {c for c in vocab if c.isspace()}
        text = sorted(c for c in vocab if _text_char(c) or c == "\n")
        plain = "".join(c for c in text if c not in special and c not in SYMBOLS)
        symbols = "".join(c for c in text if c not in special and c in SYMBOLS)
        self._text_classes = tuple(g for g in (plain, symbols, *[c for c in text if c in special]) if g)
