"""An incremental ABC grammar: which characters may come next, and how to finish from here.

The grammar covers the subset of ABC that the folk corpus uses and that abc2midi reads with no
error, with bar lengths checked as the tune is written. It is what ``--constrain`` masks with.

**Header** (the model never writes ``X:``; :func:`tunesmith.pipeline.sample.tune_text` adds it):
lines ``F:value`` in any order; up to 12 text fields ``T C O A R N Z S B D H F W`` of printable
characters but ``\\`` and ``%``, not starting ``|`` or ``:``; ``M:`` (required, once) is
``C``, ``C|`` or ``n/d`` (n ≤ 12, d in 1, 2, 4, 8, 16, at most 4/1); ``L:`` (optional, once) ``1/1``
… ``1/32``; ``Q:`` (optional, once) ``1/4=N`` style with N 40 to 220; ``K:`` (after ``M:``) is a
tonic ``C`` … ``B`` with ``#``/``b`` and a mode (``m``, ``dor``, `` Minor`` …, at most seven sharps
or flats) and ends the header. An ``R:`` may not begin with ``hornpipe``: abc2midi then swings
every pair of notes and fails on pairs of unequal length.

**Body**, element by element with spaces between, no blank lines (not even one of spaces), no
comments or inline fields:

- notes ``[^ ^^ _ __ =]letter[octave][length]`` from ``C,`` to ``b''``; rests ``z``; chords of
  2 to 4 notes ``[ceg]`` with a length after ``]``; a note may carry, in this order, a slur
  ``(``, grace notes ``{gag}`` (1 to 4) or one decoration ``~ . T u v``; slurs close with ``)``
  and never nest. No chord symbols or annotations: in this corpus ``"4"`` is mostly fingering,
  which abc2midi reads as a bad chord, and real chords make it fail on short final bars;
- lengths ``2``, ``3/2``, ``/``, ``//``, ``/4``, ``n/``: multiples of a quarter of ``L:``;
- triplets ``(3`` of three plain notes of the same written length; broken rhythm ``A>B`` /
  ``A<B`` between two elements of the same written length (abc2midi insists); no ties (a tie
  needs the same pitch after it, which would make the grammar remember every pitch);
- bar lines ``|`` ``||`` ``|]`` ``|:`` ``:|`` ``::`` and endings ``|1`` ``|[1`` ``:|2`` ``:|[2``.

**Bars** are counted exactly in *ticks*, a quarter of ``L:`` (all lengths above are whole ticks,
so integer arithmetic is exact; a triplet counts twice its written length, a broken pair twice
its written length). A note is allowed only if it fits in the bar; ``|`` only when the bar is
full, empty (a line may begin with one), or a shorter first bar of a section (the pickup, ``P``);
a section end (``||`` ``|]`` ``:|`` ``::``) when the bar is full or is ``P`` short of full; ``|:``
needs its ``:|``, ``|1`` its ``:|2``. The tune may end (``<end>`` after a newline) when nothing is open and
the bar is empty, full, ``P`` short, or the only bar of its section.

**Finishing**: :meth:`AbcGrammar.finish` names one character that moves any state towards an
end (fill the bar with one note of the missing length, close what is open, newline). The
number of such steps is the cheapest way out this grammar knows, so a sampler can forbid any
character after which the tune could no longer end within ``--max-length``.

States are plain tuples (hashable, cheap); a caller memoises them.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from tunesmith.constraints.abc_words import (
    TEMPO_WORDS,
    UNIT_WORDS,
    Trie,
    bar_ticks,
    key_words,
    least_ticks,
    length_for,
    meter_words,
    ticks,
)

TEXT_FIELDS = "TCOARNZSBDHFW"
DECORATIONS = "~.Tuv"  # not H: abc2midi lengthens a fermata note, so its bar runs over
LETTERS = "CDEFGABcdefgab"
ACCIDENTALS = "^_="
HORNPIPE = "hornpipe"
MAX_TEXT_LINES = 12  # header text lines (99% of the corpus has fewer); more, and a model can wander
_NOTE_STARTS = ("CDEFGAB", "cdefgab", "^", "_", "=")  # letters of one case act alike
_CHORD_OR_1 = ("1", "2", *_NOTE_STARTS)
BAR_TOKENS = ("|", "||", "|]", "|:", "|1", "|[1", ":|", ":|2", ":|[2", "::")
_BAR_PREFIXES = {t[:i] for t in BAR_TOKENS for i in range(1, len(t) + 1)}
_LENGTH_PREFIX = re.compile(r"(?:[1-9][0-9]*)?(?:/(?:[24]|/)?)?")
END = ""  # what finish() names when the tune may end here

# Section kinds: how the current section began. abc2midi lets a :| go back to the start or a ||
# only until the first :|; after it, every repeat needs its |: (so || after :| stays CLOSED).
START, DOUBLE, OPEN, CLOSED, FINAL = range(5)
# Note modes: what the written length must satisfy.
FREE, DECO = ("free",), ("deco",)


class Bar(NamedTuple):
    """Where the body is, in ticks: meter ``E``, bar so far ``D``, pickup ``P`` of this section."""

    E: int
    D: int
    P: int
    first: bool  # no bar line yet in this section
    sect: int  # START, DOUBLE (after ||), OPEN (after |: or ::), CLOSED (after :|), FINAL (after |])
    ending: int  # 0, or inside a first (1) or second (2) ending
    slur: bool
    has_note: bool

    @property
    def room(self) -> int:
        return self.E - self.D

    def closes_section(self) -> bool:
        return self.D == self.E or (not self.first and self.P > 0 and self.D == self.E - self.P)

    def may_end(self) -> bool:
        return self.D == 0 or self.closes_section() or (self.first and self.D > 0)


def _case(letter: str) -> str:
    """Notes are remembered only as far as the grammar needs: their octave ('C' low, 'c' high)."""
    return "C" if letter.isupper() else "c"


class AbcGrammar:
    """Steps (``step``), ends (``accepting``) and a way out (``finish``) for ABC tunes."""

    def __init__(self, chars: list[str] | str):
        vocab = set(chars)
        usable = lambda words: [w for w in words if set(w) <= vocab]  # noqa: E731
        self.vocab = vocab
        self.text_chars = frozenset(c for c in vocab if c.isprintable() and c not in "\\%")
        self._text_group = "".join(sorted(self.text_chars - {"|", ":"}))
        self.meters = usable(meter_words())
        self.units = usable(UNIT_WORDS)
        self.tries = {"Q": Trie(usable(TEMPO_WORDS)), "K": Trie(usable(key_words()))}
        self._meter_tries: dict[str | None, Trie] = {}
        self._unit_tries: dict[str | None, Trie] = {}
        self._commits: dict[tuple, tuple | None] = {}
        self.start = ("H", (None, None, False, 0))  # header so far: meter, unit, tempo given, lines

    def _meter_trie(self, unit: str | None) -> Trie:
        if unit not in self._meter_tries:
            self._meter_tries[unit] = Trie([m for m in self.meters if bar_ticks(m, unit)])
        return self._meter_tries[unit]

    def _unit_trie(self, meter: str | None) -> Trie:
        if meter not in self._unit_tries:
            self._unit_tries[meter] = Trie([u for u in self.units if meter is None or bar_ticks(meter, u)])
        return self._unit_tries[meter]

    def _value_trie(self, field: str, head: tuple) -> Trie:
        meter, unit, _, _ = head
        if field == "M":
            return self._meter_trie(unit)
        if field == "L":
            return self._unit_trie(meter)
        return self.tries[field]

    def _header(self, state: tuple, c: str) -> tuple | None:
        head = state[1]
        meter, unit, tempo, lines = head
        ok = (
            (c in TEXT_FIELDS and lines < MAX_TEXT_LINES)
            or (c == "M" and meter is None)
            or (c == "L" and unit is None)
            or (c == "Q" and not tempo)
            or (c == "K" and meter is not None)
        )
        return ("F", head, c) if ok else None

    def _field(self, state: tuple, c: str) -> tuple | None:
        _, head, name = state
        if c != ":":
            return None
        if name in TEXT_FIELDS:
            return ("T", head, 0 if name == "R" else -1, False)
        return ("V", head, name, "") if self._value_trie(name, head).follow.get("") else None

    def _text(self, state: tuple, c: str) -> tuple | None:
        _, head, matched, begun = state  # matched: letters of "hornpipe" an R: began with (-1: not R)
        if c == "\n":
            return ("H", head[:3] + (head[3] + 1,))
        if c not in self.text_chars or (c in "|:" and not begun):
            return None  # "D:|" and "F::" look to abc2midi like repeat signs
        if matched < 0 or (matched == 0 and c == " "):  # abc2midi skips spaces before the rhythm name
            return ("T", head, matched, True)
        if c != HORNPIPE[matched] and not (matched == 0 and c == "H"):
            return ("T", head, -1, True)
        return ("T", head, matched + 1, True) if matched + 1 < len(HORNPIPE) else None

    def _value(self, state: tuple, c: str) -> tuple | None:
        _, head, name, prefix = state
        trie = self._value_trie(name, head)
        if c != "\n":
            return ("V", head, name, prefix + c) if c in trie.follow.get(prefix, "") else None
        if prefix not in trie.words:
            return None
        meter, unit, tempo, lines = head
        if name == "K":
            bar = bar_ticks(meter, unit)
            return ("B", Bar(bar, 0, 0, True, START, 0, False, False), True)
        if name == "M":
            return ("H", (prefix, unit, tempo, lines + 1))
        if name == "L":
            return ("H", (meter, prefix, tempo, lines + 1))
        return ("H", (meter, unit, True, lines + 1))

    def _boundary(self, state: tuple, c: str) -> tuple | None:
        _, x, ls = state  # ls: True at a line start, None after spaces there, else False
        if c == "\n":
            return None if ls is not False else ("B", x, True)
        if x.sect == FINAL:
            return None
        if c == " ":
            return ("B", x, False if ls is False else None)  # spaces alone do not make a line
        if c == ")":
            return ("B", x._replace(slur=False), False) if x.slur else None
        if c in "|:":
            ok = any(self._bar_effect(x, t) for t in BAR_TOKENS if t.startswith(c))
            return ("X", x, c) if ok else None
        if x.D >= x.E:
            return None  # the bar is full: only a bar line, space, newline or ) may come
        return self._element(x, c, 0, ls)

    def _element(self, x: Bar, c: str, stage: int, ls: bool = False) -> tuple | None:
        """The start of a note, rest or chord, after ``stage`` prefixes: 1 ``(``, 2 ``{grace}``, 3 ``~``.

        abc2midi stretches or splits decorated notes, so after a decoration or grace notes only a
        plain note may come, and a decorated note takes no broken rhythm (``DECO``).
        """
        if c == "(" and stage == 0:
            return ("P", x, 1) if not x.slur or x.room >= 2 else None
        if c == "{" and stage < 2:
            return ("G", x, 0, "")
        if c in DECORATIONS and stage < 2:
            return ("P", x, 3)
        mode = DECO if stage == 3 else FREE
        if c in ACCIDENTALS:
            return ("A", x, c, mode)
        if c in LETTERS:
            return ("N", x, _case(c), "", mode, ls is True and stage == 0)
        if c == "z" and stage < 2:
            return ("N", x, "z", "", FREE, ls is True and stage == 0)
        if c == "[" and stage < 2:
            return ("C", x, 0, "")
        return None

    def _prefix(self, state: tuple, c: str) -> tuple | None:
        _, x, stage = state
        if stage == 1:  # just after "(": a triplet, or a slur over what follows
            if c == "3":
                return ("U", x, 3, None) if x.room >= 2 else None
            return None if x.slur else self._element(x._replace(slur=True), c, 1)
        return self._element(x, c, stage)

    def _inner(self, state: tuple, c: str, close: str, least: int, most: int) -> tuple | None:
        """Inside a chord ``[..]`` or grace group ``{..}``: ``count`` plain notes begun, no lengths.

        ``note`` is the one being written: '' (none yet), an accidental, or a letter and octave marks.
        """
        kind, x, count, note = state
        pending = note != "" and note[0] in ACCIDENTALS
        if c == close:
            return (x, count) if count >= least and not pending else None
        if c in ACCIDENTALS:
            if note in ("^", "_") and c == note:
                return (kind, x, count, note + c)
            return (kind, x, count + 1, c) if not pending and count < most else None
        if c in LETTERS:
            if pending:
                return (kind, x, count, _case(c))
            return (kind, x, count + 1, _case(c)) if count < most else None
        if c in ",'" and note[:1].isalpha() and self._octave_ok(note, c):
            return (kind, x, count, note + c)
        return None

    def _group(self, state: tuple, c: str) -> tuple | None:
        """A chord (2 to 4 notes, then its length) or grace notes (1 to 4, then the note they grace)."""
        chord = state[0] == "C"
        out = self._inner(state, c, "]" if chord else "}", 2 if chord else 1, 4)
        if out is None or len(out) == 4:
            return out
        return ("N", out[0], "]", "", FREE, False) if chord else ("P", out[0], 2)

    @staticmethod
    def _octave_ok(pitch: str, c: str) -> bool:
        if c == ",":
            return pitch[0].isupper() and "," not in pitch
        return pitch[0].islower() and pitch.count("'") < 2

    def _accidental(self, state: tuple, c: str) -> tuple | None:
        _, x, acc, mode = state
        if acc in ("^", "_") and c == acc:
            return ("A", x, acc + c, mode)
        return ("N", x, _case(c), "", mode, False) if c in LETTERS else None

    def _member(self, state: tuple, c: str) -> tuple | None:
        """A triplet's next note (``U``: ``left`` to go, ``length`` once the first is written) or the
        second element of a broken pair (``W``), which must repeat the first one's written length."""
        if state[0] == "U":
            _, x, left, length = state
            mode = ("tup", left, length)
        else:
            _, x, length = state
            mode = ("brk", length)
        if c in ACCIDENTALS:
            return ("A", x, c, mode)
        if c == "z" and state[0] == "W":
            return ("N", x, "z", "", mode, False)
        return ("N", x, _case(c), "", mode, False) if c in LETTERS else None

    def _commit(self, x: Bar, pitch: str, length: str, mode: tuple) -> tuple | None:
        """The state after a note, rest or chord of ``length`` is complete; None if it does not fit."""
        key = (x, pitch, length, mode)
        if key not in self._commits:
            self._commits[key] = self._commit_new(x, pitch, length, mode)
        return self._commits[key]

    def _commit_new(self, x: Bar, pitch: str, length: str, mode: tuple) -> tuple | None:
        v = ticks(length)
        sounding = x.has_note or pitch != "z"
        if mode[0] == "tup":
            _, left, first = mode
            if first is None:
                if 2 * v > x.room:
                    return None
                x = Bar(x.E, x.D + 2 * v, x.P, x.first, x.sect, x.ending, x.slur, True)
            elif length != first:
                return None
            return ("U", x, left - 1, first or length) if left > 1 else ("B", x, False)
        if mode[0] == "brk" and length != mode[1]:
            return None
        if v > x.room:
            return None
        return ("B", Bar(x.E, x.D + v, x.P, x.first, x.sect, x.ending, x.slur, sounding), False)

    def _note(self, state: tuple, c: str) -> tuple | None:
        _, x, pitch, length, mode, line_letter = state
        if c in ",'":
            if length or pitch[0] not in LETTERS or not self._octave_ok(pitch, c):
                return None
            return ("N", x, pitch + c, length, mode, False)
        if c.isdigit() or c == "/":
            longer = length + c
            if not _LENGTH_PREFIX.fullmatch(longer):
                return None
            if mode[0] in ("brk", "tup") and mode[-1] is not None:
                return ("N", x, pitch, longer, mode, False) if mode[-1].startswith(longer) else None
            factor = 2 if mode[0] == "tup" else 1
            return ("N", x, pitch, longer, mode, False) if least_ticks(longer) * factor <= x.room else None
        after = self._commit(x, pitch, length, mode)
        if after is None:
            return None
        if c in "<>":
            y = after[1]
            return ("W", y, length) if mode is FREE and ticks(length) <= y.room else None
        if c == ":" and line_letter and not length:
            return None  # "A:" at the start of a line reads as a header field
        return self.step(after, c)

    def _bar_effect(self, x: Bar, token: str) -> Bar | None:
        """The bar state after ``token`` closes the current bar, or None if the bar rules forbid it."""
        full = x.D == x.E
        if token == "|" and x.D == 0:
            return x  # a bar line with nothing before it, as Essen's lines begin: "| F2F2G2 |"
        if token in ("|", "|1", "|[1"):
            if x.D == 0 or not (full or x.first) or (token != "|" and (x.ending != 0 or x.sect == CLOSED)):
                return None  # abc2midi wants a |: before an ending that follows a :|
            pickup = x.D if x.first and not full else x.P
            return Bar(x.E, 0, pickup, False, x.sect, 1 if token != "|" else x.ending, x.slur, x.has_note)
        if token == "|:" and x.D == 0:
            ok = x.first and x.sect in (START, DOUBLE, CLOSED) and x.ending == 0
            return x._replace(sect=OPEN) if ok else None
        if x.D == 0 or not x.closes_section():
            return None
        if token in ("||", "|]", "|:"):
            if x.sect == OPEN or x.ending == 1 or (token == "|]" and (x.slur or not x.has_note)):
                return None
            sect = {"||": CLOSED if x.sect == CLOSED else DOUBLE, "|]": FINAL, "|:": OPEN}[token]
            return Bar(x.E, 0, 0, True, sect, 0, x.slur, x.has_note)
        if x.ending == 2 or (x.sect == CLOSED and x.ending != 1):
            return None  # a :| needs a |: or a start of part to go back to
        if token in (":|2", ":|[2"):
            return x._replace(D=0, first=False, sect=CLOSED, ending=2) if x.ending == 1 else None
        if x.ending == 1:
            return None  # a first ending's :| leads into a second ending
        return Bar(x.E, 0, 0, True, OPEN if token == "::" else CLOSED, 0, x.slur, x.has_note)

    def _bar(self, state: tuple, c: str) -> tuple | None:
        _, x, token = state
        longer = token + c
        if longer in _BAR_PREFIXES:
            done = [t for t in BAR_TOKENS if t.startswith(longer)]
            if any(self._bar_effect(x, t) for t in done) or (c == "[" and self._bar_effect(x, token)):
                return ("X", x, longer)
            return None
        if token.endswith("["):  # "|[" then a chord, not an ending
            y = self._bar_effect(x, token[:-1])
            chord = y and self._boundary(("B", y, False), "[")
            return chord and self.step(chord, c)
        y = self._bar_effect(x, token) if token in BAR_TOKENS else None
        return self.step(("B", y, False), c) if y else None

    # State kinds (the first item of a state): H header line start, F after a field letter, T text,
    # V a value from a word list, B between elements, P after ( ~ or {grace}, G/C inside grace notes or a
    # chord, A after an accidental, U/W a triplet's next note or a broken pair's second element, N a note
    # being written (octave class, length so far, mode), X a bar line being written.
    _STEPS = {"H": _header, "F": _field, "T": _text, "V": _value, "B": _boundary, "P": _prefix}
    _STEPS |= {"G": _group, "C": _group, "A": _accidental, "U": _member, "W": _member, "N": _note, "X": _bar}

    def step(self, state: tuple, c: str) -> tuple | None:
        """The state after character ``c``, or None if ``c`` may not come next."""
        return self._STEPS[state[0]](self, state, c)

    def delegate(self, state: tuple) -> tuple[tuple | None, str] | None:
        """For a note or bar line being written: ``(after, own)``. Characters not in ``own`` act
        exactly as they would in ``after``, the state once it is complete (None: it may not end here).
        Lets a caller reuse ``after``'s work instead of trying every character again."""
        if state[0] == "N":
            _, x, pitch, length, mode, line_letter = state
            own = "0123456789/,'<>" + (":" if line_letter and not length else "")
            return self._commit(x, pitch, length, mode), own
        if state[0] == "X" and not state[2].endswith("["):
            _, x, token = state
            own = "".join(c for c in "|]:12[" if token + c in _BAR_PREFIXES)
            y = self._bar_effect(x, token) if token in BAR_TOKENS else None
            return (("B", y, False) if y else None), own
        return None

    def legality_key(self, state: tuple) -> tuple | None:
        """A key on which alone it depends which of :meth:`classes` are legal in ``state`` (None: on
        the whole state). Notes and the gaps between them are most states; many share a key."""
        kind, x = state[0], state[1]
        if kind == "N":
            return ("N", *state[2:], x.room)
        if kind == "B":
            bars = [any(self._bar_effect(x, t) for t in BAR_TOKENS if t.startswith(c)) for c in "|:"]
            return ("B", state[2], x.sect == FINAL, x.slur, x.D < x.E, x.room >= 2, *bars)
        if kind == "P":
            return ("P", state[2], x.slur, x.room >= 2)
        if kind in "ACGUWT":  # none of these looks at the bar (or, for T, the header so far)
            return (kind, *state[2:])
        if kind == "V":
            return ("V", *state[2:], x[0], x[1])  # x is the header so far: meter and unit pick the words
        if kind == "H":
            return ("H", x[0] is None, x[1] is None, x[2], x[3] < MAX_TEXT_LINES)
        return None

    def classes(self, state: tuple) -> tuple[str, ...]:
        """Groups of characters that lead to the same state; a character in no group is refused."""
        kind = state[0]
        if kind == "B":
            return ("\n", " ", ")", "|", ":", "z", "[", "(", "{", DECORATIONS, *_NOTE_STARTS)
        if kind == "N" or kind == "X":
            return tuple(self.delegate(state)[1]) if state[0] == "N" or not state[2].endswith("[") else _CHORD_OR_1
        if kind == "T":
            return (self._text_group, "|", ":", "\n") if state[2] < 0 else (*self._text_group, "|", ":", "\n")
        if kind == "H":
            return tuple(TEXT_FIELDS + "MLQK")
        if kind == "F":
            return (":",)
        if kind == "V":
            return (*self._value_trie(state[2], state[1]).follow.get(state[3], ""), "\n")
        return ("z", "[", "3", "{", DECORATIONS, ",", "'", "]", "}", *_NOTE_STARTS)

    @staticmethod
    def accepting(state: tuple) -> bool:
        """May the tune end (``<end>``) here?"""
        if state[0] != "B" or not state[2]:
            return False
        x = state[1]
        return x.has_note and x.sect != OPEN and x.ending != 1 and not x.slur and x.may_end()

    def finish(self, state: tuple) -> str:
        """One character on the way to an end (END if the tune may end here)."""
        kind = state[0]
        if kind == "H":
            return "K" if state[1][0] is not None else "M"
        if kind == "F":
            return ":"
        if kind == "T":
            return "\n"
        if kind == "V":
            _, head, name, prefix = state
            trie = self._value_trie(name, head)
            return "\n" if prefix in trie.words else trie.shortest[prefix]
        if kind == "B":
            return self._finish_boundary(state)
        if kind == "P" and state[2] == 1 and state[1].slur:
            return "3"  # inside a slur, "(" can only begin a triplet
        if kind in ("P", "A", "U", "W"):
            return "C"
        if kind in ("C", "G"):
            _, _, count, note = state
            if kind == "C" and count < 2:
                return "E" if count == 1 and note[:1].isalpha() else "C"
            return ("]" if kind == "C" else "}") if count and note[:1].isalpha() else "C"
        if kind == "N":
            return self._finish_note(state)
        return self._finish_bar(state)

    def _finish_boundary(self, state: tuple) -> str:
        _, x, ls = state
        if self.accepting(state):
            return END
        if x.sect == FINAL:
            return "\n"
        if x.slur:
            return ")"
        repeat_open = x.sect == OPEN or x.ending == 1
        if x.has_note and not repeat_open and x.may_end() and ls is False:
            return "\n"  # (a line of one space may not end: it would read as a blank line)
        if repeat_open and x.D > 0 and x.closes_section():
            return ":"
        if x.D < x.E:
            return "C"
        return "|"

    @staticmethod
    def _length_step(x: Bar, length: str, mode: tuple) -> str | None:
        """The next length character on the way out, or None to complete the note as it is."""
        if mode[0] in ("brk", "tup") and mode[-1] is not None:
            return mode[-1][len(length)] if length != mode[-1] else None
        factor = 2 if mode[0] == "tup" else 1
        want = x.room // factor
        if not x.first and x.P > 0 and x.E - x.P - x.D > 0 and factor == 1:
            want = x.E - x.P - x.D  # end the part where the pickup leaves off
        target = length_for(want)
        if target.startswith(length) and target != length:
            return target[len(length)]
        if ticks(length) * factor > x.room:
            return "4" if length.endswith("/") else "/"
        return None

    def _finish_note(self, state: tuple) -> str:
        _, x, pitch, length, mode, line_letter = state
        c = self._length_step(x, length, mode)
        if c is not None:
            return c
        c = self.finish(self._commit(x, pitch, length, mode))
        return " " if c == ":" and line_letter and not length else c  # "A:" would read as a field

    def finish_jump(self, state: tuple) -> tuple[int, tuple] | None:
        """A shortcut through :meth:`finish` for a note being written: ``(k, after)`` such that the
        way out from ``state`` is ``k`` characters longer than the way out from ``after``."""
        if state[0] != "N":
            return None
        _, x, pitch, length, mode, line_letter = state
        k = 0
        while (c := self._length_step(x, length, mode)) is not None:
            length, k = length + c, k + 1
        after = self._commit(x, pitch, length, mode)
        if k == 0 and line_letter and not length and self.finish(after) == ":":
            k = 1  # the space _finish_note puts first; a space changes no later step
        return k, after

    def _finish_bar(self, state: tuple) -> str:
        _, x, token = state
        valid = [t for t in BAR_TOKENS if t.startswith(token) and self._bar_effect(x, t)]
        if token not in valid:
            return min(valid, key=len)[len(token)] if valid else "C"  # "C": "|[" began a chord
        c = self.finish(("B", self._bar_effect(x, token), False))
        return " " if (token + c) in _BAR_PREFIXES else c
