"""Notes, rests, chords and what may come before them: the elements half of the ABC grammar.

An element is written as its prefixes (a chord symbol, a slur, grace notes, decorations; see :data:`PRE0`), then
a note, rest or chord ``[..]``, then its octave marks and length (state ``N``, which :meth:`NoteGrammar._commit`
completes against the bar). Triplets (``U``) and broken pairs (``W``) hold the written length their later
notes must repeat. What abc2midi refuses is left out, each rule where it applies.
"""

from __future__ import annotations

import re

from tunesmith.constraints.abc_body import Bar
from tunesmith.constraints.abc_words import least_ticks, ticks

DECORATIONS = "~.TuvH"  # H: abc2midi lengthens a fermata, but only warns; the bars are as written
LETTERS = "CDEFGABcdefgab"
ACCIDENTALS = "^_="
ANNOTATIONS = "^_<>@"  # what an annotation begins with; abc2midi ignores it
ANNOTATION_MAX = 30
LENGTH_PREFIX = re.compile(r"(?:[1-9][0-9]{0,2})?(?:/(?:[24]|/)?)?")
GRACE_LENGTHS = ("/", "//", "/2", "/4")  # abc2midi takes grace notes' time from the note they grace: keep it short
FREE = ("free",)  # a note's mode: free, ("tup", left, length) in a triplet, ("brk", length, marks) after > or <
# Before a note: a chord symbol (1), "(" (1 just written, 2 a slur), grace notes, decorations, a space after them.
PRE0 = (0, 0, False, "", False)


def case(letter: str) -> str:
    """Notes are remembered only as far as the grammar needs: their octave ('C' low, 'c' high)."""
    return "C" if letter.isupper() else "c"


def fixed(mode: tuple) -> str | None:
    """The written length a triplet's later notes or a broken pair's second element must repeat (None: free)."""
    return mode[2] if mode[0] == "tup" else mode[1] if mode[0] == "brk" else None


def marks(deco: str) -> str:
    """The decorations that change a note's length to abc2midi: "." (shorter), "H" (longer), and with "." the
    ornaments "~" and "T". A broken pair's elements must carry the same (else "Notes not equal durations")."""
    found = set(deco) & set(".H")
    return "".join(sorted(found | (set(deco) & set("~T") if "." in deco else set())))


def octave_ok(pitch: str, c: str) -> bool:
    if c == ",":
        return pitch[0].isupper() and "," not in pitch
    return pitch[0].islower() and pitch.count("'") < 2


class NoteGrammar:
    """The element states: ``P`` after prefixes, ``Q`` in quotes, ``G``/``C`` in grace notes or a chord, ``A`` after
    an accidental, ``U``/``W`` a triplet's or broken pair's next element, ``N`` a note being written."""

    def _element(self, x: Bar, c: str, pre: tuple, ctx: tuple | None, line: bool = False) -> tuple | None:
        """The start of a note, rest or chord after the prefixes ``pre`` (see :data:`PRE0`); ``ctx``: the
        triplet or broken pair it belongs to, or None."""
        csym, slur, grace, deco, sp = pre
        if c == " ":  # once, after a chord symbol, a slur or grace notes: '"G" A', '( cd)', '{B} A2'
            return None if sp or deco or not (csym or slur or grace) else ("P", x, (csym, slur, grace, deco, True), ctx)
        if c == '"':  # an annotation among the prefixes, not after a decoration: '(">"DEF)'
            return ("Q", x, "", ctx, pre) if ctx is None and not deco and self._opens else None
        if c == "(":  # not after a decoration: abc2midi drops it or fails
            if slur or deco or (x.slur >= 2 and (ctx is not None or x.room < 2)):
                return None  # two slurs at most, one inside the other; then "(" can only begin a triplet
            return ("P", x, (csym, 1, grace, deco, sp), ctx)
        if c == "{":
            no_roll = ctx and ctx[0] == "brk" and "~" in ctx[2]  # the roll it must take would lose them
            return None if grace or deco or x.tie or no_roll else ("G", x, 0, "", pre, ctx)
        if c in DECORATIONS:
            if len(deco) >= 2 or c in deco or (c == "~" and (grace or x.tie)):  # abc2midi: rolls lose grace and ties
                return None
            if c == "H" and ctx and ctx[0] == "tup":
                return None  # a held triplet note lasts a third of a written one longer: no whole ticks
            if ctx and ctx[0] == "brk" and not self._pair_decoration(deco, c, csym, ctx[2]):
                return None
            return ("P", x, (csym, slur, grace, deco + c, sp), ctx)
        flags = marks(deco)
        if ctx and ctx[0] == "brk" and c not in "([{" and (flags != ctx[2] or (flags and c == "z")):
            return None
        mode = ctx or FREE
        if c in ACCIDENTALS:
            return None if x.tie else ("A", x, c, mode, flags)
        if c in LETTERS:
            if x.tie and c != x.tie[0]:
                return None
            return ("N", self._note(x), c, "", mode, line and pre == PRE0, flags)
        if c == "z":
            ok = not (grace or x.tie or (ctx and ctx[0] == "tup"))
            return ("N", x, "z", "", mode, line and pre == PRE0, flags) if ok else None
        if c == "[" and not (grace or ctx or x.tie or set(deco) & set("~T")):
            return ("C", x, 0, "", flags, None)
        return None

    @staticmethod
    def _pair_decoration(deco: str, c: str, csym: int, want: str) -> bool:
        """May a broken pair's second element take decoration ``c`` after ``deco``? In the end its :func:`marks`
        must be the first element's, ``want`` (abc2midi: else the pair's lengths differ), in two decorations."""
        if (c in ".H" or ("." in want and c in "~T")) and c not in want:
            return False
        if csym and c in "~H":  # abc2midi: after a chord symbol the lengths differ too
            return False
        return len(deco) + 1 + len(set(want) - set(deco + c)) <= 2

    def _prefix(self, state: tuple, c: str) -> tuple | None:
        _, x, pre, ctx = state
        csym, slur, grace, deco, sp = pre
        if slur == 1:  # just after "(": a triplet, or a slur over what follows
            if c == "3" and ctx is None and not deco:  # ".(3" is no triplet to abc2midi
                return ("U", x, 3, None, grace) if x.room >= 2 else None
            if x.slur >= 2:
                return None
            x = x._replace(slur=x.slur + 1)
            if c == "(":  # a slur over a triplet or another slur: "((3abc)", "((AB)c)"
                ok = x.slur < 2 or (ctx is None and x.room >= 2)
                return ("P", x, (csym, 1, grace, deco, sp), ctx) if ok else None
            pre = (csym, 2, grace, deco, sp)
        return self._element(x, c, pre, ctx)

    def _quoted(self, state: tuple, c: str) -> tuple | None:
        """A chord symbol (``text`` a root, a name, a bass) or an annotation (text beginning ``^_<>@``)."""
        _, x, text, ctx, pre = state
        if not text:
            if c in "ABCDEFG" and self._chord_ok(x, ctx, pre):
                return ("Q", x, c, ctx, pre)
            return ("Q", x, c, ctx, pre) if c in ANNOTATIONS and ctx is None else None
        if text[0] in ANNOTATIONS:
            if c == '"':
                return ("B", x, False) if pre is None else ("P", x, pre, ctx)
            if c not in self._annotation or len(text) >= ANNOTATION_MAX or (c == " " and text[-1] == " "):
                return None
            return ("Q", x, text + c, ctx, pre)
        if c == '"':
            return ("P", x._replace(gch=True), (1, 0, False, "", False), ctx) if self._chord_done(text) else None
        return ("Q", x, text + c, ctx, pre) if self._chord_begun(text + c) else None

    @staticmethod
    def _chord_ok(x: Bar, ctx: tuple | None, pre: tuple | None) -> bool:
        """May a chord symbol begin here: before a note (not among its prefixes) that fits, not in free meter?"""
        return pre is None and x.E > 0 and (x.room > 0 or ctx is not None)

    def _chord_parts(self, text: str) -> tuple[str, str, str]:
        """A chord symbol's name, ``/`` or not, and bass, after its root and accidental."""
        rest = text[2:] if text[1:2] in ("#", "b") else text[1:]
        return rest.partition("/")

    def _chord_begun(self, text: str) -> bool:
        name, slash, bass = self._chord_parts(text)
        if not slash:
            return name in self.chords.best
        return name in self.chords.words and (bass == "" or bass[0] in "ABCDEFG") and bass[1:] in ("", "#", "b")

    def _chord_done(self, text: str) -> bool:
        name, slash, bass = self._chord_parts(text)
        return self._chord_begun(text) and name in self.chords.words and (not slash or bass != "")

    def _inner(self, state: tuple, c: str) -> tuple | None:
        """Inside a chord ``[..]`` (2 to 4 notes, then its length after ``]``, or the same length on each note
        inside, ``[c2e2]``) or grace notes ``{..}`` (1 to 4, with lengths or without, then what they grace).
        ``note``: the one being written: '' (none yet), an accidental, or a letter, octave marks, a length."""
        chord = state[0] == "C"
        x, count, note = state[1], state[2], state[3]
        pending = note != "" and note[0] in ACCIDENTALS
        head = note.rstrip("0123456789/")
        length = note[len(head) :]
        if chord and note and not pending and (c == "]" or c in ACCIDENTALS or c in LETTERS):
            if state[5] is not None and length != state[5]:
                return None  # every note of a chord has the first one's length
            if length and ticks(length) > x.room:
                return None
            state = (*state[:5], length)
        if c == ("]" if chord else "}"):
            if count < (2 if chord else 1) or pending:
                return None
            if not chord:
                return ("P", x, (*state[4][:2], True, "", state[4][4]), state[5])
            inner = state[5] or ""
            return (
                ("N", x, "]" + inner, "", FREE, False, state[4] + "s")
                if inner
                else ("N", x, "]", "", FREE, False, state[4])
            )
        if c in ACCIDENTALS:
            if note in ("^", "_") and c == note:
                return (*state[:3], note + c, *state[4:])
            return (state[0], x, count + 1, c, *state[4:]) if not pending and count < 4 else None
        if c in LETTERS:
            if pending:
                return (state[0], self._note(x), count, case(c), *state[4:])
            return (state[0], self._note(x), count + 1, case(c), *state[4:]) if count < 4 else None
        if c in ",'" and not length and note[:1].isalpha() and octave_ok(note, c):
            return (*state[:3], note + c, *state[4:])
        if note[:1].isalpha() and (c.isdigit() or c == "/"):
            longer = length + c
            if not LENGTH_PREFIX.fullmatch(longer) or (not chord and longer not in GRACE_LENGTHS):
                return None
            if (
                chord
                and (not state[5] or not state[5].startswith(longer))
                and (state[5] is not None or least_ticks(longer) > x.room)
            ):
                return None  # the first note's length must fit the bar, the others repeat it
            return (*state[:3], note + c, *state[4:])
        return None

    def _accidental(self, state: tuple, c: str) -> tuple | None:
        _, x, acc, mode, flags = state
        if acc in ("^", "_") and c == acc:
            return ("A", x, acc + c, mode, flags)
        return ("N", self._note(x), c, "", mode, False, flags) if c in LETTERS else None

    def _member(self, state: tuple, c: str) -> tuple | None:
        """A triplet's next note (``U``: ``left`` to go, ``length`` once the first is written) or the second
        element of a broken pair (``W``), which must repeat the first one's written length."""
        x, ctx = state[1], ("tup", state[2], state[3]) if state[0] == "U" else ("brk", *state[2:4])
        pre = (0, 0, True, "", False) if state[0] == "U" and state[4] else PRE0  # grace notes before "(3"
        if c == ")":  # a slur may close between them: "(Gc>)c"
            return (state[0], x._replace(slur=x.slur - 1), *state[2:]) if x.slur else None
        if c == " ":  # once, after the broken rhythm's sign: "A> B"
            return (*state[:4], True) if state[0] == "W" and not state[4] else None
        if c == '"':  # a chord symbol (there is no "H" after one: abc2midi's pair lengths then differ)
            ok = pre == PRE0 and x.E and not (ctx[0] == "brk" and set(ctx[2]) & set("~H"))
            return ("Q", x, "", ctx, None) if ok else None
        return self._element(x, c, pre, ctx)

    # -- a note being written ---------------------------------------------------------------------------------

    def _commit(self, x: Bar, pitch: str, length: str, mode: tuple, held: bool = False) -> tuple | None:
        """The state after a note, rest or chord of ``length`` is complete (``held``: under a fermata, which
        abc2midi plays twice as long); None if it does not fit."""
        key = (x, pitch if x.tie or pitch[0] not in LETTERS else case(pitch) + pitch[1:], length, mode, held)
        if key not in self._commits:
            self._commits[key] = self._commit_new(*key)
        return self._commits[key]

    def _commit_new(self, x: Bar, pitch: str, length: str, mode: tuple, held: bool) -> tuple | None:
        v = ticks(pitch[1:]) if pitch[0] == "]" and len(pitch) > 1 else ticks(length)  # "]2": [c2e2]
        if x.tie:
            if pitch != x.tie:
                return None
            x = x._replace(tie="")
        sounding = x.has_note or pitch != "z"
        if mode[0] == "tup":
            _, left, first = mode
            if first is None:
                if 2 * v > x.room:
                    return None
                x = x._replace(D=x.D + 2 * v if x.E else 1, has_note=True)
            elif length != first:
                return None
            return ("U", x, left - 1, first or length, False) if left > 1 else ("B", x, False)
        if (mode[0] == "brk" and length != mode[1]) or v > x.room:
            return None
        held_for = min(x.E, x.held + v) if held else x.held
        return ("B", x._replace(D=x.D + v if x.E else 1, has_note=sounding, held=held_for), False)

    def _writing(self, state: tuple, c: str) -> tuple | None:
        _, x, pitch, length, mode, line_letter, flags = state
        if c == ")" and x.slur and self._commit(x, pitch, length, mode, "H" in flags):  # then perhaps "(G2B)>G"
            sealed = flags if "s" in flags else flags + "s"
            return ("N", x._replace(slur=x.slur - 1), pitch, length, mode, False, sealed)
        if "s" in flags and c in "0123456789/,'":
            return None
        if c in ",'":
            if length or pitch[0] not in LETTERS or not octave_ok(pitch, c):
                return None
            if x.tie and not x.tie.startswith(pitch + c):
                return None
            return ("N", x, pitch + c, length, mode, False, flags)
        if c.isdigit() or c == "/":
            longer = length + c
            if not LENGTH_PREFIX.fullmatch(longer) or (x.tie and pitch != x.tie):
                return None
            if fixed(mode) is not None:
                return ("N", x, pitch, longer, mode, False, flags) if fixed(mode).startswith(longer) else None
            factor = 2 if mode[0] == "tup" else 1
            return ("N", x, pitch, longer, mode, False, flags) if least_ticks(longer) * factor <= x.room else None
        after = self._commit(x, pitch, length, mode, "H" in flags)
        if after is None:
            return None
        if c in "<>":
            y = after[1]
            marked = flags.replace("s", "")  # a decorated chord or rest cannot be matched by the second element
            ok = mode is FREE and after[0] == "B" and ticks(length) <= y.room and not (marked and pitch[0] in "]z")
            ok = ok and not (pitch[0] == "]" and pitch[1:])  # not after "[c2e2]": its written length is inside
            return ("W", y, length, flags.replace("s", ""), False) if ok else None
        if c == "-":
            ok = pitch[0] in LETTERS and "." not in flags and after[0] == "B"
            return ("B", after[1]._replace(tie=pitch), False) if ok else None
        if c == ":" and line_letter and not length:
            return None  # "A:" at the start of a line reads as a header field
        return self.step(after, c)
