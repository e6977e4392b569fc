"""Where the body of a tune is, and what its bar lines and its end may do: the bars half of the ABC grammar.

A :class:`Bar` is everything the grammar remembers between two elements of the music. Bar lengths are
counted exactly in ticks (:mod:`tunesmith.constraints.abc_words`); what the validity check counts (bars and
notes, to the corpus's floor) is counted too, capped at the floor so states stay few.

The bar rules are the validity check's: a bar is full, or it is short as the first bar of a section (a
pickup: the tune's first bar, or one of at most half a bar) or as the last bar of a part that has had a full
bar (closed by ``||`` ``|]`` ``|:`` ``:|`` ``::`` or by the end of the tune). abc2midi's rules on repeats hold
too: ``|:`` needs its ``:|``, ``|1`` its ``:|2``; after a ``:|``, another ``:|`` is fine (abc2midi assumes
its ``|:``), but ``::`` and endings need their ``|:`` (abc2midi counts its passes on and loses the endings); a
second ending is not closed by ``:|`` (abc2midi then cannot close the next one's).
"""

from __future__ import annotations

from typing import NamedTuple

from tunesmith.constraints.abc_words import chord_ends_safely

BAR_TOKENS = ("|", "||", "|]", "|:", "|1", "|[1", ":|", ":|2", ":|[2", "::", "|2", "|[2", "[2", "[1")
BAR_PREFIXES = {t[:i] for t in BAR_TOKENS for i in range(1, len(t) + 1)}
# Section kinds: how the current section began. abc2midi lets a :: or an ending go back to the start or a ||
# only until the first :|; after it, they need their |: (so || after :| stays CLOSED).
START, DOUBLE, OPEN, CLOSED = range(4)
SECOND = 3  # ending: a first ending's ":|" was written apart from its "2" ("[1 abc :| [2 def"), which comes next
FREE_ROOM = 1 << 20  # room in a bar of free meter (M:none), which has no length


class Bar(NamedTuple):
    """Where the body is: meter ``E`` ticks a bar (0: free meter), ``D`` so far (free meter: 1 once it has music)."""

    E: int
    D: int
    first: bool  # no bar line yet in this section
    sect: int  # START, DOUBLE (after || or |]), OPEN (after |: or ::), CLOSED (after :|)
    ending: int  # 0, or inside a first (1) or second (2) ending, or waiting for the second (SECOND)
    slur: int  # slurs open (at most two, one inside the other)
    has_note: bool  # a note or chord has sounded (not only rests)
    tie: str  # the pitch a tie waits for ("A,", "c'"), or ""
    gch: bool  # a chord symbol was written: abc2midi plays an accompaniment from then on
    notes: int  # notes so far (chords' and grace notes' too), up to the floor
    bars: int  # bars closed with music in them, up to the floor
    last_ok: bool  # the tune could end after the last closed bar with the accompaniment silent (see _stops)
    pattern: str  # abc2midi's accompaniment for this meter ("" for none)
    steady: bool  # the last closed bar was full, so this one's accompaniment keeps its slots
    held: int  # ticks fermatas add to this bar (abc2midi plays a note under H twice as long), up to a bar
    part_full: bool = False  # a full bar has closed in this part (since the last || |] |: ::)
    opened: bool = False  # a bar with music has closed in this tune
    last_short: bool = False  # the last closed bar was a short one that may not end the tune (a long pickup)

    @property
    def room(self) -> int:
        return self.E - self.D if self.E else FREE_ROOM

    @property
    def full(self) -> bool:
        return self.D == self.E if self.E else self.D > 0


class BarGrammar:
    """Bar lines, the end of a tune, and the way out of the body. Needs ``floor_notes`` and ``floor_bars``."""

    floor_notes: int
    floor_bars: int

    def _note(self, x: Bar) -> Bar:
        """``x`` with one more note counted."""
        return x if x.notes >= self.floor_notes else x._replace(notes=x.notes + 1)

    def _closed(self, x: Bar, new_part: bool = False, **changes: object) -> Bar:
        """``x`` after a bar line closes its bar (``changes``: the section's new kind and ending; ``new_part``: the
        bar line begins a part, so a short closing bar needs a full bar again)."""
        if not x.D:
            return x._replace(part_full=x.part_full and not new_part, **changes)  # type: ignore[arg-type]
        bars = min(self.floor_bars, x.bars + 1)
        steady = x.full and not x.held
        part_full = (x.part_full or x.full) and not new_part
        last_short = not x.full and not self._may_end_short(x)
        return x._replace(  # type: ignore[arg-type]
            D=0,
            bars=bars,
            last_ok=self._stops(x),
            steady=steady,
            held=0,
            part_full=part_full,
            opened=True,
            last_short=last_short,
            **changes,
        )

    @staticmethod
    def _pickup(x: Bar) -> bool:
        """Is the short bar ``x`` a pickup (validity's rule)? A section's first bar: the tune's, or one of at most
        half a bar."""
        return x.first and (not x.opened or 2 * x.D <= x.E)

    def _may_end_short(self, x: Bar) -> bool:
        """May the short bar ``x`` end its section? As a pickup, or as the closing bar of a part that has had a
        full bar."""
        return x.part_full or self._pickup(x)

    @staticmethod
    def _stops(x: Bar) -> bool:
        """Would abc2midi's accompaniment be silent if the music stopped here, at the end of this bar so far? A
        full bar always ends well. A short one ends well outside its meter's sounding slots, and only after a
        full bar: a short bar leaves abc2midi's slot timer running into the next one, shifting its slots. A
        fermata makes its bar longer than written by the note it holds."""
        return (x.full and not x.held) or (x.steady and chord_ends_safely(x.pattern, x.E, x.D + x.held))

    def _ends_well(self, x: Bar) -> bool:
        """Would the tune be whole if it ended here (floors, nothing open, an accompaniment that stops in time)?"""
        if x.slur or x.tie or not x.has_note or x.sect == OPEN or x.ending in (1, SECOND):
            return False
        if (not x.full and not self._may_end_short(x)) if x.D else x.last_short:
            return False
        if x.notes < self.floor_notes or x.bars + (x.D > 0) < self.floor_bars:
            return False
        return not x.gch or (self._stops(x) if x.D else x.last_ok)

    def _bar_effect(self, x: Bar, token: str, line: bool = False) -> Bar | None:
        """The bar state after ``token`` closes the current bar, or None if the bar rules forbid it. With nothing
        in the bar, only ``|`` may come, or at a line start any bar line (the one before ended the bar)."""
        if x.tie and token != "|":
            return None  # a tie crosses plain bar lines only
        if x.ending == SECOND or token in ("[2", "|2", "|[2"):  # (a second ending follows another bar than ours)
            return x._replace(ending=2, steady=False) if x.ending == SECOND and token in ("[2", "|2", "|[2") else None
        if token == "|" and x.D == 0:
            return x  # a bar line with nothing before it, as Essen's lines begin: "| F2F2G2 |"
        if x.D == 0 and not (line or (token == "|:" and x.first)):
            return None
        if token == "[1" and x.D:
            return None  # an ending's mark on its own, "[1", comes after a bar line
        if token in ("|", "|1", "|[1", "[1"):
            if not (x.full or x.D == 0 or self._pickup(x)):
                return None
            if token != "|" and (x.ending != 0 or x.sect == CLOSED):
                return None  # abc2midi wants a |: before an ending that follows a :| (it counts passes on)
            ending = 1 if token != "|" else x.ending
            return self._closed(x, first=x.first and x.D == 0, ending=ending)
        if x.D and not x.full and not self._may_end_short(x):
            return None  # from here on every bar line ends a section
        if token in ("||", "|]", "|:"):  # a bar with music may end a section (|] too: more may follow)
            if x.sect == OPEN or x.ending == 1:
                return None
            sect = OPEN if token == "|:" else CLOSED if x.sect == CLOSED else DOUBLE
            return self._closed(x, new_part=True, first=True, sect=sect, ending=0)
        if token == ":|" and x.ending == 0:  # after another :|, abc2midi assumes the |: (a warning)
            return self._closed(x, first=True, sect=CLOSED, ending=0)
        if token == ":|" and x.ending == 2:
            return None  # a second ending closed by :| leaves abc2midi unable to close the next one's
        if token == ":|":  # ends a first ending; its second begins apart: ":| [2"
            return self._closed(x, first=False, sect=CLOSED, ending=SECOND)
        if x.ending == 2 or (x.sect == CLOSED and x.ending != 1):
            return None  # a :: or an ending needs a |: or a start of part to go back to
        if token in (":|2", ":|[2"):
            y = self._closed(x, first=False, sect=CLOSED, ending=2) if x.ending == 1 and x.D else None
            return y and y._replace(steady=False)
        if x.ending == 1:
            return None  # a first ending's :| leads into a second ending
        return self._closed(x, new_part=token == "::", first=True, sect=OPEN if token == "::" else CLOSED, ending=0)

    def _bars_open(self, x: Bar, line: bool) -> tuple[bool, ...]:
        """May a bar line begin with ``|``, with ``:``, with ``[``?"""
        return tuple(any(self._bar_effect(x, t, line) for t in BAR_TOKENS if t.startswith(c)) for c in "|:[")

    def accepting(self, state: tuple) -> bool:
        """May the tune end (``<end>``) here?"""
        return state[0] == "B" and state[2] is True and self._ends_well(state[1])

    def _finish_boundary(self, state: tuple) -> str:
        """One character on the way out between elements (see :meth:`AbcGrammar.finish`)."""
        _, x, ls = state
        if self.accepting(state):
            return ""
        if ls == "\\":
            return "\n"
        if x.ending == SECOND:
            return "|"  # "|2": the second ending's mark
        if x.tie:
            return "|" if x.E and x.D >= x.E else x.tie[0]
        if x.slur:
            return ")"
        notes, bars = self.floor_notes - x.notes, self.floor_bars - x.bars - (x.D > 0)
        if notes > 0 or bars > 0:  # a note at a time, a bar line once the notes left go one to a bar
            full = x.E > 0 and x.full  # a bar of free meter ends where the way out likes
            if x.D and (full or (bars > 0 and notes <= bars)):
                if full or not x.E or self._pickup(x):
                    return "|"
                if self._may_end_short(x):
                    return self._short_close(x)
            return "C" if x.room > 0 else "|"
        if x.D and x.E and not x.full and not self._may_end_short(x):
            return "C"  # fill the bar first: it may not end its section short
        if x.sect == OPEN or x.ending == 1:
            return ":" if x.D else "C"
        if x.gch and not (self._stops(x) if x.D else x.last_ok):
            return "|" if x.E and x.D >= x.E else "C"
        if ls in (False, " "):
            return "\n"
        return "C" if x.room > 0 else "|"

    @staticmethod
    def _short_close(x: Bar) -> str:
        """How a short bar that is no pickup closes: as a section's end, ``||``, or the repeat's, ``:|`` / ``:|2``."""
        return ":" if x.sect == OPEN or x.ending == 1 else "|"

    def _length_target(self, x: Bar, factor: int) -> int:
        """Ticks the way out gives a note it completes: a unit where the bar has room and may end short (or has
        room for more notes wanted), else what fills the bar (a triplet: its room; free meter: a unit)."""
        if not x.E:
            return 4
        room = x.room // factor
        if room < 4 or factor > 1:
            return room
        if x.notes < self.floor_notes or x.bars + 1 < self.floor_bars:  # more to come; the bar may close short
            return 4 if self._may_end_short(x) else room
        ends = (not x.gch or self._stops(x._replace(D=x.D + 4))) and self._may_end_short(x._replace(D=x.D + 4))
        return 4 if ends else room  # the last bar may be short
