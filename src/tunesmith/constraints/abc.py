"""An incremental ABC grammar: which characters may come next, and how to finish from here.

The grammar covers the ABC that real corpora use and that abc2midi reads with no error, with bar lengths
checked as the tune is written, so that what ``--constrain`` masks with can only be a tune the validity
check (:mod:`tunesmith.metrics.validity`) calls valid against the model's corpus profile.

**Header** (the model never writes ``X:``; :func:`tunesmith.pipeline.sample.tune_text` adds it): the fields
and values the corpus uses, each on at most as many lines as the corpus gives it; see
:mod:`tunesmith.constraints.abc_header`. ``M:`` (required) comes before ``K:``, which ends the header.

**Body**, element by element, at most one space between them, no blank lines, no comments or inline fields;
a line may end with ``\\`` (it goes on on the next one). The elements (:mod:`tunesmith.constraints.abc_notes`):

- notes ``[^ ^^ _ __ =]letter[octave][length]`` from ``C,`` to ``b''``; rests ``z``; chords of 2 to 4 notes
  ``[ceg]2`` or ``[c2e2g2]`` (one length for all). Before a note, in this order: a chord symbol (``"Am"``,
  ``"D7"``, ``"G/B"``: a root, a name abc2midi knows, a bass; a space may follow), a slur ``(`` (two open at
  most, one inside the other), grace notes ``{gag}`` (1 to 4, no longer than ``/4``) and up to two decorations
  ``~ . T u v H``. Annotations ``"^Segno"`` ``">"`` (text abc2midi ignores) may stand between elements;
  fingering ``"4"`` may not;
- lengths ``2``, ``3/2``, ``/``, ``//``, ``/4``, ``n/``: multiples of a quarter of ``L:``;
- triplets ``(3`` of three notes of the same written length; broken rhythm ``A>B`` / ``A<B`` between two
  elements of the same written length and the same length-changing decorations (abc2midi insists); ties
  ``A2-A`` between notes of the same letter and octave (the second without an accidental), across spaces,
  ``|``, line ends, slurs and chord symbols;
- what abc2midi refuses is out, each rule where it applies: a decoration before grace notes or a slur, ``~``
  after grace notes or on a tied note, ``~``/``T`` on a chord, a tie after ``.``, a chord symbol in free meter;
- bar lines ``|`` ``||`` ``|]`` ``|:`` ``:|`` ``::`` and endings ``|1`` ``|[1`` ``[1`` ``:|2`` ``:|[2``, or
  ``:|`` and then ``[2`` or ``|2``.

**Bars** follow :mod:`tunesmith.constraints.abc_body`: counted exactly in ticks (a triplet counts twice its
written length, a broken pair twice its written length); a bar is full, a pickup, or the short last bar of a
section (``||`` ``:|`` ``|]``…: any bar with music may end one, as the validity check allows). In free meter
(``M:none``) bars have no length.

**The end**: the tune may end (``<end>`` after a newline) when nothing is open, it has the corpus's floor of
bars and notes (``profile.min_bars``/``min_notes``, at most :data:`FLOOR_NOTES`/:data:`FLOOR_BARS`: the way
out must stay short), and, once a chord symbol was written, abc2midi's accompaniment is silent where the
music stops. abc2midi plays chords in equal slots of the bar (``fzcz`` in 2/4: bass, rest, chord, rest) and
fails ("Sustained notes beyond end of track") when the music stops inside a sounding slot: the short final
bars of the grammar's old docstring. So the last bar is full, or it ends in a silent slot after a full bar (a
short bar shifts the slots of the next one: abc2midi's slot timer runs on past its bar line).

**Finishing**: :meth:`AbcGrammar.finish` names one character that moves any state towards an end (the
cheapest meter and key, then a note ``C`` at a time up to the floor of notes, a bar line once the notes left go
one to a bar, short bars closed with ``||`` up to the floor of bars, what is open closed, a newline). No way
out is longer than :data:`~tunesmith.constraints.abc_words.WAY_OUT` characters (values that would make it
longer are refused in the header, meters whose bars are too short for the floor in time too), so a sampler
can forbid any character after which the tune could no longer end in time.

States are plain tuples (hashable, cheap); a caller memoises them.
"""

from __future__ import annotations

from tunesmith.constraints.abc_body import BAR_PREFIXES, BAR_TOKENS, SECOND, START, Bar, BarGrammar
from tunesmith.constraints.abc_header import HeaderGrammar
from tunesmith.constraints.abc_notes import (
    ACCIDENTALS,
    ANNOTATIONS,
    DECORATIONS,
    LETTERS,
    PRE0,
    NoteGrammar,
    case,
    fixed,
)
from tunesmith.constraints.abc_words import (
    CHORD_NAMES,
    WAY_OUT,
    Trie,
    bar_ticks,
    gchord_pattern,
    length_for,
    ticks,
)
from tunesmith.metrics.abc_corpus import GENERIC, CorpusProfile

# The way out of the body's first state, at most: what a tune writes later may lengthen it (a first ending,
# two slurs, a chord symbol begun, a triplet's or chord's repeated lengths, a last bar filled for the
# accompaniment), by less than BODY_SLACK (13 is the most an adversarial search found), and K: comes before it.
BODY_SLACK = 20
BODY_WAY_OUT = WAY_OUT - BODY_SLACK
# The most of the corpus's floor of notes and bars the way out can write in BODY_WAY_OUT characters (a note is
# a character, a bar line one or two: 32 notes in 8 bars of 4/4 take 42): a corpus with a higher floor gets
# tunes at least this long (the folk corpus's floor is 19 notes in 4 bars).
FLOOR_NOTES, FLOOR_BARS = 32, 8
_NOTE_STARTS = ("CDEFGAB", "cdefgab", "^", "_", "=")  # letters of one case act alike
END = ""  # what finish() names when the tune may end here
_CHORD_CLASSES = ('"', *sorted(set("#b/ABCDEFG" + "".join(CHORD_NAMES))))


class AbcGrammar(HeaderGrammar, NoteGrammar, BarGrammar):
    """Steps (``step``), ends (``accepting``) and a way out (``finish``) for ABC tunes, held to ``profile``
    (None: :data:`~tunesmith.metrics.abc_corpus.GENERIC` and the word lists)."""

    def __init__(self, chars: list[str] | str, profile: CorpusProfile | None = None):
        vocab = set(chars)
        self.vocab = vocab
        floors = profile or GENERIC
        self.floor_notes = max(1, min(floors.min_notes, FLOOR_NOTES))
        self.floor_bars = max(1, min(floors.min_bars, FLOOR_BARS))
        self.chords = Trie([n for n in CHORD_NAMES if set(n) <= vocab])
        self._annotation = "".join(sorted(c for c in vocab if c.isprintable() and c not in '"%\\;'))  # ";" splits one
        self._opens = "".join(c for c in ANNOTATIONS if c in vocab)  # what an annotation may begin with
        self._commits: dict[tuple, tuple | None] = {}
        self._costs: dict[tuple, int | None] = {}
        self._setup_header(vocab, profile)
        self._make_text_classes(vocab)
        if self._rest(None, None, False) is None:
            raise ValueError("no meter in the corpus profile leaves a way out of the body in time")

    # -- the body's start and its price, for the header -------------------------------------------------------

    def _body_start(self, meter: str | None, unit: str | None) -> tuple:
        assert meter is not None
        bar = Bar(bar_ticks(meter, unit) or 0, 0, True, START, 0, 0, False, "", False, 0, 0, True, "", True, 0)
        return ("B", bar._replace(pattern=gchord_pattern(meter)), True)

    def _body_cost(self, meter: str, unit: str | None) -> int | None:
        """Characters from the first line of the body to the end, or None if more than the way out allows."""
        if (meter, unit) not in self._costs:
            state, n = self._body_start(meter, unit), 0
            while n <= WAY_OUT:
                jump = self.finish_jump(state)
                if jump is None:
                    c = self.finish(state)
                    if c == END:
                        break
                    jump = (1, self.step(state, c))
                assert jump[1] is not None, f"the way out is broken at {state}"
                n, state = n + jump[0], jump[1]
            self._costs[(meter, unit)] = n if n <= BODY_WAY_OUT else None
        return self._costs[(meter, unit)]

    # -- between elements -------------------------------------------------------------------------------------

    def _boundary(self, state: tuple, c: str) -> tuple | None:
        """``ls``: True at a line start (``c`` after a ``\\`` line), ``lead`` after a space there, False after an
        element, ``" "`` after a space, ``\\`` after a backslash (only a newline may follow)."""
        _, x, ls = state
        if c == "\n":
            if ls == "\\":
                return ("B", x, "c")
            return ("B", x, True) if ls is False or ls == " " else None
        if ls == "\\":
            return None
        if c == " ":
            if ls is True or ls == "c":
                return ("B", x, "lead")
            return ("B", x, " ") if ls is False else None  # one space: spaces alone make no line
        if c in "`\\":
            return ("B", x, False if c == "`" else c) if ls is False or (c == "\\" and ls == " ") else None
        if c == ")":
            return ("B", x._replace(slur=x.slur - 1), False) if x.slur else None
        line = ls is True or ls in ("c", "lead")
        if c in "|:" or (c == "[" and (x.ending == SECOND or (line and self._bar_effect(x, "[1", line)))):
            return (
                ("X", x, c, line) if any(self._bar_effect(x, t, line) for t in BAR_TOKENS if t.startswith(c)) else None
            )
        if x.ending == SECOND:
            return None  # a second ending's mark comes first
        if c == '"':  # a chord symbol where a note fits, an annotation anywhere
            return ("Q", x, "", None, None) if (x.room > 0 and x.E) or self._opens else None
        if x.E and x.D >= x.E:
            return None  # the bar is full: only a bar line, space, newline or ) may come
        return self._element(x, c, PRE0, None, ls is True or ls == "c")

    def _bar(self, state: tuple, c: str) -> tuple | None:
        _, x, token, line = state
        longer = token + c
        if longer in BAR_PREFIXES:
            done = [t for t in BAR_TOKENS if t.startswith(longer)]
            chord = c == "[" and (y := self._bar_effect(x, token, line)) and self._element(y, "[", PRE0, None)
            if any(self._bar_effect(x, t, line) for t in done) or chord:
                return ("X", x, longer, line)
            return None
        if token.endswith("["):  # "|[" or "[" then a chord, not an ending
            y = self._bar_effect(x, token[:-1], line) if token != "[" else x
            chord = self._element(y, "[", PRE0, None) if y and y.ending != SECOND else None
            return self.step(chord, c) if chord else None
        y = self._bar_effect(x, token, line) if token in BAR_TOKENS else None
        return self.step(("B", y, False), c) if y else None

    # State kinds (the first item of a state): H header line start, F after a field letter, T text, V a value
    # from a list, Y an R: of words; B between elements, P after a note's prefixes, Q inside quotes, G/C inside
    # grace notes or a chord, A after an accidental, U/W a triplet's next note or a broken pair's second
    # element, N a note being written (pitch, length so far, mode, flags), X a bar line being written.
    _STEPS = {"H": HeaderGrammar._header, "F": HeaderGrammar._field, "T": HeaderGrammar._text}
    _STEPS |= {"V": HeaderGrammar._value, "Y": HeaderGrammar._rhythm, "B": _boundary, "P": NoteGrammar._prefix}
    _STEPS |= {"Q": NoteGrammar._quoted, "G": NoteGrammar._inner, "C": NoteGrammar._inner, "A": NoteGrammar._accidental}
    _STEPS |= {"U": NoteGrammar._member, "W": NoteGrammar._member, "N": NoteGrammar._writing, "X": _bar}

    def step(self, state: tuple, c: str) -> tuple | None:
        """The state after character ``c``, or None if ``c`` may not come next."""
        return self._STEPS[state[0]](self, state, c)

    def delegate(self, state: tuple) -> tuple[tuple | None, str] | None:
        """For a note or bar line being written: ``(after, own)``. Characters not in ``own`` act
        exactly as they would in ``after``, the state once it is complete (None: it may not end here).
        Lets a caller reuse ``after``'s work instead of trying every character again."""
        if state[0] == "N":
            _, x, pitch, length, mode, line_letter, flags = state
            own = "0123456789/,'<>-)" + (":" if line_letter and not length else "")
            return self._commit(x, pitch, length, mode, "H" in flags), own
        if state[0] == "X" and not state[2].endswith("["):
            _, x, token, line = state
            own = "".join(c for c in "|]:12[" if token + c in BAR_PREFIXES)
            y = self._bar_effect(x, token, line) if token in BAR_TOKENS else None
            return (("B", y, False) if y else None), own
        return None

    def legality_key(self, state: tuple) -> tuple | None:
        """A key on which alone it depends which of :meth:`classes` are legal in ``state`` (None: on
        the whole state). Notes and the gaps between them are most states; many share a key."""
        kind, x = state[0], state[1]
        if kind in "HFTVY":
            return self._header_key(state)
        if kind == "N":
            _, _, pitch, length, mode, line_letter, flags = state
            shape = pitch if x.tie or pitch[0] not in LETTERS else case(pitch) + pitch[1:]
            return ("N", shape, length, mode, line_letter, flags, x.room, x.tie, x.slur > 0)
        if kind == "B":
            line = state[2] is True or state[2] in ("c", "lead")
            key = (state[2], x.ending == SECOND, x.slur, x.tie, x.E > 0, x.room > 0, x.room >= 2)
            key += self._bars_open(x, line)
            return ("B", *key)
        if kind == "P":
            ctx = state[3] and (state[3][0], state[3][2] if state[3][0] == "brk" else "")
            return ("P", state[2], ctx, x.slur, x.tie, x.room >= 2)
        if kind == "Q":
            return ("Q", state[2], state[3] is None, self._chord_ok(x, state[3], state[4]))
        if kind in "UW":
            return (kind, x.slur, x.tie, x.E > 0, *state[3:])
        if kind == "C":
            return ("C", *state[2:4], state[5], x.room)
        if kind in "AG":
            return (kind, *state[2:4])
        return None

    def spelled(self, state: tuple) -> bool:
        """Inside a header line (after its first letter), quoted text or grace notes: what a tokenizer writes whole
        (one token for the whole line, string or group) or else character by character (``abc-tokens``)."""
        return state[0] in "FTVYQG"

    def walk_key(self, state: tuple) -> tuple:
        """``state`` with what only the end and the way out read set to one value (notes and bars counted towards
        the floor, the accompaniment's slots, fermatas, whether a note has sounded; in a header line's value, the
        count of lines each field has had): which strings of characters may follow, up to the end of the line
        in a header, depends on this key alone, so a caller may share that work between the states that have it."""
        if state[0] in "TVY":
            meter, unit, _, horn = state[1]
            return (state[0], (meter, unit, None, horn), *state[2:])
        return _plain(state)

    def classes(self, state: tuple) -> tuple[str, ...]:
        """Groups of characters that act alike (the same legality, the same way out after them); a character
        in no group is refused."""
        kind = state[0]
        if kind in "HFTVY":
            return self._header_classes(state)
        starts = _NOTE_STARTS if not state[1].tie else (*LETTERS, *ACCIDENTALS)
        if kind == "B":
            return ("\n", " ", ")", "|", ":", "z", "[", "(", "{", "~", DECORATIONS[1:], '"', "`", "\\", *starts)
        if kind in "UW":
            return ('"', ")", " ", "z", "(", "{", *DECORATIONS, *starts)
        if kind == "N" or kind == "X":
            return tuple(self.delegate(state)[1]) if state[0] == "N" or not state[2].endswith("[") else (*"12", *starts)
        if kind == "P":
            return ('"', " ", "z", "[", "3", "(", "{", *DECORATIONS, *starts)
        if kind == "Q":
            if not state[2]:
                return ("ABCDEFG", ANNOTATIONS)
            return ('"', " ", self._annotation.replace(" ", "")) if state[2][0] in ANNOTATIONS else _CHORD_CLASSES
        return ("]", "}", ",", "'", "/", *"0123456789", *starts)

    # -- the way out ------------------------------------------------------------------------------------------

    def finish(self, state: tuple) -> str:
        """One character on the way to an end (END if the tune may end here)."""
        kind = state[0]
        if kind in "HFTVY":
            return self._finish_header(state)
        if kind == "B":
            return self._finish_boundary(state)
        x = state[1]
        if kind == "P" and state[2][1] == 1 and x.slur >= 2:
            return "3"  # inside two slurs, "(" can only begin a triplet
        if kind in ("P", "U", "W"):
            ctx = state[3] if kind == "P" else ("brk", *state[2:4]) if kind == "W" else None
            deco = state[2][3] if kind == "P" else ""
            missing = [m for m in ctx[2] if m not in deco] if ctx and ctx[0] == "brk" else []
            if missing:
                return missing[0]  # the first element's "." or "H"
        if kind in ("P", "A", "U", "W"):
            return x.tie[0] if x.tie else "C"
        if kind == "Q":
            return self._finish_quoted(state)
        if kind in ("C", "G"):
            count, note = state[2], state[3]
            length = note[len(note.rstrip("0123456789/")) :]
            if kind == "C" and note[:1].isalpha() and state[5] is not None and length != state[5]:
                return state[5][len(length)]  # the first note's length again
            if kind == "C" and note[:1].isalpha() and length and ticks(length) > x.room:
                return "4" if length.endswith("/") else "/"
            if kind == "C" and count < 2:
                return "E" if count == 1 and note[:1].isalpha() else "C"
            return ("]" if kind == "C" else "}") if count and note[:1].isalpha() else "C"
        if kind == "N":
            return self._finish_note(state)
        return self._finish_bar(state)

    def _finish_quoted(self, state: tuple) -> str:
        text = state[2]
        if not text:
            return "C" if self._chord_ok(state[1], state[3], state[4]) else self._opens[0]
        if text[0] in ANNOTATIONS or self._chord_done(text):
            return '"'
        name, slash, _ = self._chord_parts(text)
        return "C" if slash else self.chords.shortest[name]

    def _length_step(self, x: Bar, length: str, mode: tuple) -> str | None:
        """The next length character on the way out, or None to complete the note as it is."""
        again = fixed(mode)
        if again is not None:
            return again[len(length)] if length != again else None
        factor = 2 if mode[0] == "tup" else 1
        target = length_for(self._length_target(x, factor))
        if target.startswith(length) and target != length:
            return target[len(length)]
        if ticks(length) * factor > x.room:
            return "4" if length.endswith("/") else "/"
        return None

    def _finish_note(self, state: tuple) -> str:
        _, x, pitch, length, mode, line_letter, flags = state
        if x.tie and pitch != x.tie:
            return x.tie[len(pitch)]  # the tied note's octave marks
        c = None if "s" in flags else self._length_step(x, length, mode)
        if c is not None:
            return c
        c = self.finish(self._commit(x, pitch, length, mode, "H" in flags))
        return " " if c == ":" and line_letter and not length else c  # "A:" would read as a field

    def finish_jump(self, state: tuple) -> tuple[int, tuple] | None:
        """A shortcut through :meth:`finish` for a note being written: ``(k, after)`` such that the
        way out from ``state`` is ``k`` characters longer than the way out from ``after`` (its length written in
        one step; a caller counts steps too, so a note with none to write is no jump)."""
        if state[0] != "N" or (state[1].tie and state[2] != state[1].tie):
            return None
        _, x, pitch, length, mode, line_letter, flags = state
        k = 0
        while "s" not in flags and (c := self._length_step(x, length, mode)) is not None:
            length, k = length + c, k + 1
        if k == 0:
            return None  # nothing to skip: the note's way out is the next state's, one step a character
        return k, self._commit(x, pitch, length, mode, "H" in flags)

    def _finish_bar(self, state: tuple) -> str:
        _, x, token, line = state
        valid = [t for t in BAR_TOKENS if t.startswith(token) and self._bar_effect(x, t, line)]
        longer = [t for t in valid if t != token]
        if token not in valid or (token == ":|" and x.ending == 1 and longer):  # ":|2" rather than ":| [2"
            return min(longer, key=len)[len(token)] if longer else "C"  # "C": "|[" began a chord
        c = self.finish(("B", self._bar_effect(x, token, line), False))
        return " " if (token + c) in BAR_PREFIXES else c


def _plain(value: object) -> object:
    """See :meth:`AbcGrammar.walk_key`: every :class:`Bar` inside ``value`` with its end-only fields cleared."""
    if isinstance(value, Bar):
        return value._replace(
            notes=0, bars=0, last_ok=False, steady=False, held=0, has_note=False, pattern="", last_short=False
        )
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value
