"""Reading an ABC tune's header and walking its music once: bar lengths, notes and their pitches.

The parser behind :mod:`tunesmith.metrics.validity`, which turns what it counts into a verdict.

Note durations follow ABC 2.1: ``L:`` (default 1/16 below 3/4 time, else 1/8) times the written
length (``3/2``, ``/``, ``//``, ``2``…); broken rhythm ``>`` ``<`` (``>>`` …) moves time between two
neighbours; tuplets ``(3abc`` and ``(p:q:r`` scale the next ``r`` notes by ``q/p`` (default ``q`` as in
the standard); a chord ``[ceg]2`` lasts as long as its first note times the length after ``]``;
grace notes ``{..}`` take no time; decorations (``!trill!``, ``~.HLMOPSTuv``), chord symbols, ties,
slurs, spaces and ``%`` comments take none either. Inline ``[M:3/4]``/``[L:1/16]`` and ``M:``/``L:``
lines in the body change meter and unit from that point.

Pitches use the key signature, explicit accidentals, and accidentals carried to the end of the bar.

Each bar also keeps what sounds in it (its events: pitch, staff step and exact length of each note,
chord and rest) and the ending it starts, for :mod:`tunesmith.metrics.abc_shape`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

from tunesmith.abc_text import default_unit, parse_key, parse_meter, parse_unit

_FIELD = re.compile(r"^([A-Za-z]):(.*)$")
# Bar lines after which a new part begins: || |] |: and :: (a :| goes back; ":||" is a :| and a plain |)
_NEW_PART = re.compile(r"^(?:\|\||\|\]|\|:)|::")
_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}
_DEGREES = {"C": 0, "D": 1, "E": 2, "F": 3, "G": 4, "A": 5, "B": 6}
_ONE = Fraction(1)

# One token of a music line; tried in this order at each position.
_LENGTH = r"\d*/*\d*"
_TOKEN = re.compile(
    r"(?P<inline>\[[A-Za-z]:[^\]\n]*\])"
    r"|(?P<bar>\.?(?:\[\||:*\|[\]|]?:*|::+)(?P<num>[1-9](?:[,\-][1-9])*)?)"
    r"|(?P<ending>\[[1-9](?:[,\-][1-9])*)"
    r"|(?P<chord>\[(?P<inner>[^\]\[|\n]*)\](?P<clen>" + _LENGTH + r"))"
    r"|(?P<gchord>\"[^\"\n]*\"?)"
    r"|(?P<deco>![^!\n]*!|\+[^+\n]*\+|[~.HLMOPSTuv])"
    r"|(?P<grace>\{[^}\n]*\}?)"
    r"|(?P<tuplet>\((?P<p>[1-9])(?::(?P<q>[1-9]?))?(?::(?P<r>[1-9]?))?)"
    r"|(?P<note>(?P<acc>\^\^|\^|__|_|=)?(?P<letter>[A-Ga-g])(?P<oct>[,']*)(?P<len>" + _LENGTH + r"))"
    r"|(?P<rest>[zx](?P<rlen>" + _LENGTH + r"))"
    r"|(?P<mrest>[ZX](?P<count>\d*))"
    r"|(?P<broken>[<>]+)"
    r"|(?P<skip>[ \t`()\-y$*\\&])"
)
_NOTE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-g])([,']*)(" + _LENGTH + ")")


@lru_cache(maxsize=1024)
def length_of(text: str) -> Fraction:
    """A written note length in units of ``L:``: '' → 1, '3/2', '/', '//' → 1/4, '2'."""
    match = re.fullmatch(r"(\d*)(/*)(\d*)", text)
    if not match:
        raise ValueError(f"note length {text!r}")
    # A length of more than 9 digits (or 30 slashes) is no music; it is read as its first 9 digits, so a
    # hostile tune costs no giant integer and still gets a bar of the wrong length.
    num = int(match.group(1)[:9]) if match.group(1) else 1
    if not match.group(2):
        return Fraction(num)
    den = int(match.group(3)[:9]) if match.group(3) else 2 ** min(len(match.group(2)), 30)
    return Fraction(num, den or 1)


@dataclass
class Bar:
    """One bar as walked: its length in whole notes, and whether it may be short (a section's first or last)."""

    start: bool  # first bar of a section
    line: int
    length: Fraction = Fraction(0)  # complete once the bar is closed (its events' lengths join at the bar line)
    music: bool = False
    rests: int = 0  # bars a Z/Zn multi-measure rest fills
    end: bool = False  # last bar of a section
    meter: Fraction | None = None  # in force at its bar line
    # What sounds in it, in order: (MIDI pitch, staff step, length in whole notes) per note, chord (its
    # first note) or rest (pitch and step None). The staff step counts letters up from middle C = 0.
    events: list[tuple[int | None, int | None, Fraction]] = field(default_factory=list)
    ending: str = ""  # the ending number(s) it starts, as written: "1", "2", "1,3"
    after_full: bool = False  # a full bar came before it in its part (since the last || |] |: :: or field P:/V:)
    opening: bool = False  # the tune's first bar

    @property
    def ok(self) -> bool:
        """Full, or short in one of the ways tunes are written: a pickup (a section's first bar: the tune's, or
        one of at most half a bar), or the closing bar of a part that has had a full bar (a second ending's too).
        Without those conditions every bar of "G2 G2 BA || G3 D B2 | d2 dB AG ||" in 2/2 passes (each is some
        section's first or last), though none is a bar of 2/2."""
        assert self.meter is not None
        if self.rests:
            return self.length == self.meter * self.rests
        if self.length == self.meter:
            return True
        if not 0 < self.length < self.meter:
            return False
        pickup = self.start and (self.opening or 2 * self.length <= self.meter)
        return pickup or (self.end and self.after_full)


@dataclass
class Header:
    """What the header says, and the music lines after it."""

    problems: list[str]
    meter: Fraction | None
    unit: Fraction
    key: dict[str, int]
    body: list[str]  # the music lines, up to a blank line
    first_body_line: int


def read_header(abc: str) -> Header:
    """The header fields up to ``K:`` (with the problems found on the way) and the body lines after it."""
    lines = abc.replace("\r\n", "\n").rstrip().split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    problems: list[str] = []
    if not lines or not re.match(r"^X:\s*\d+\s*$", lines[0]):
        problems.append("the first line is not X:<number>")
    meter, unit, key, seen = None, None, {}, set()
    index = 1 if lines and lines[0].startswith("X:") else 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip():
            problems.append(f"line {index}: a blank line ends the tune before K:")
            return Header(problems, meter, unit or default_unit(meter), key, [], index)
        if line.startswith("%"):
            continue
        match = _FIELD.match(line)
        if not match:
            problems.append(f"line {index}: music before the K: field")
            index -= 1
            break
        name, value = match.group(1), match.group(2).strip()
        if name == "X":
            problems.append(f"line {index}: a second X: field")
        if name in seen and name in "MLK":
            continue  # the first value holds for the header; later ones are noted by abc2midi
        seen.add(name)
        try:
            if name == "M":
                meter = parse_meter(value)
            elif name == "L":
                unit = parse_unit(value)
            elif name == "K":
                key = parse_key(value)
                break
        except ValueError as exc:
            problems.append(f"line {index}: {exc}")
            if name == "K":
                break
    else:
        problems.append("no K: field ends the header")
    body = []
    for line in lines[index:]:
        if not line.strip():
            break  # a blank line ends a tune
        body.append(line)
    return Header(problems, meter, unit or default_unit(meter), key, body, index + 1)


@lru_cache(maxsize=1024)
def _place(letter: str, octave: str) -> tuple[str, int, int]:
    """A written note's letter, MIDI pitch before accidentals and key, and staff step (C4 = 0)."""
    upper, up = letter.upper(), octave.count("'") - octave.count(",") + letter.islower()
    return upper, 60 + _STEPS[upper] + 12 * up, _DEGREES[upper] + 7 * up


def _total(lengths: list[Fraction]) -> Fraction:
    """The exact sum of some fractions, over their least common denominator."""
    denominators = {length.denominator for length in lengths}
    common = denominators.pop() if len(denominators) == 1 else math.lcm(*denominators)
    return Fraction(sum(length.numerator * (common // length.denominator) for length in lengths), common)


def _tuplet_q(p: int, meter: Fraction | None) -> int:
    compound = meter is not None and meter.numerator % 3 == 0 and meter.numerator > 3
    return {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if compound else 2)


class BarCounter:
    """Walks the music once: bar lengths, notes and their pitches.

    Besides what the validity check counts, it keeps what the shape of a tune needs
    (:mod:`tunesmith.metrics.abc_shape`): each bar's ``events`` and ``ending``, every bar line and
    ending mark as written (``barlines``) and the ``K:`` values met in the body (``keys``)."""

    def __init__(self, header: Header, playable: tuple[int, int]):
        self.meter, self.unit, self.key = header.meter, header.unit, header.key
        self.low, self.high = playable
        self.bars: list[Bar] = []
        self.bar = Bar(start=True, line=header.first_body_line)
        self.notes = self.out_of_range = 0
        self.unreadable: list[str] = []
        self.carried: dict[tuple[str, int], int] = {}
        self.tuplet: tuple[Fraction, int] = (_ONE, 0)  # factor, notes left
        self.next_factor = _ONE  # from broken rhythm
        self.last: tuple[Bar, Fraction] | None = None  # the previous timed element, for > and <
        self.barlines: list[str] = []  # bar lines and [1 [2 ending marks, as written
        self.keys: list[str] = []  # K: values in the body (lines and inline fields), in order
        self._lengths: dict[str, Fraction] = {}  # written length text -> whole notes, in the current unit
        self.part_full = False  # a full bar has closed in the current part

    def close(self, section_end: bool, next_line: int, new_part: bool | None = None) -> None:
        """Close the bar at a bar line (``section_end``: one that ends a section, :| too); ``new_part`` (default:
        ``section_end``) when it also begins a new part (|| |] |: ::), after which a short closing bar needs a full
        bar again. A first or second ending's :| goes on in the same part."""
        bar = self.bar
        bar.meter, bar.end = self.meter, section_end
        if bar.events:  # the notes' lengths are added up once, here: exact, and faster than note by note
            total = _total([length for _, _, length in bar.events])
            bar.length = bar.length + total if bar.length else total
        bar.after_full = self.part_full
        full = bar.meter is not None and bar.length == bar.meter * max(bar.rests, 1)
        self.part_full = (self.part_full or full) and not (section_end if new_part is None else new_part)
        if bar.music or bar.length:
            bar.opening = not self.bars
            self.bars.append(bar)
            self.bar = Bar(start=section_end, line=next_line)
        else:  # an empty stretch between two bar lines passes its flags on
            if section_end and self.bars:
                self.bars[-1].end = True
            self.bar = Bar(start=section_end or bar.start, line=next_line, ending=bar.ending)
        self.carried.clear()

    def field(self, name: str, value: str, line: int) -> None:
        try:
            if name == "M":
                self.meter = parse_meter(value)
            elif name == "L":
                self.unit = parse_unit(value)
                self._lengths = {}
            elif name == "K":
                self.keys.append(value)
                self.key = parse_key(value)
            elif name in "PV":
                self.close(True, line)
        except ValueError:
            self.unreadable.append(f"{name}:{value}")

    def pitch(self, acc: str | None, letter: str, octave: str) -> tuple[int, int]:
        """Count a note; return its MIDI pitch and its staff step (C4 = 0, D4 = 1 … c = 7)."""
        upper, base, step = _place(letter, octave)
        slot = (upper, base)
        if acc is not None:
            self.carried[slot] = _ACCIDENTALS[acc]
        shift = self.carried.get(slot, self.key.get(upper, 0))
        self.notes += 1
        self.out_of_range += not self.low <= base + shift <= self.high
        return base + shift, step

    def timed(self, written: Fraction, sound: tuple[int | None, int | None] = (None, None)) -> None:
        """A note, rest or chord of ``written`` units joins the bar; ``sound``: its pitch and step (None for a rest)."""
        self._timed(written * self.unit, sound)

    def _timed(self, length: Fraction, sound: tuple[int | None, int | None]) -> None:
        """As :meth:`timed`, for a length already in whole notes."""
        factor, left = self.tuplet
        if left:
            length *= factor
            self.tuplet = (factor, left - 1)
        if self.next_factor is not _ONE:
            length *= self.next_factor
            self.next_factor = _ONE
        bar = self.bar
        bar.music = True
        bar.events.append((sound[0], sound[1], length))  # its length joins bar.length when the bar closes
        self.last = (bar, length)

    def _written(self, text: str) -> Fraction:
        """A written length in whole notes, in the unit now in force (remembered per unit)."""
        length = self._lengths.get(text)
        if length is None:
            length = self._lengths[text] = length_of(text) * self.unit
        return length

    def broken(self, arrows: str) -> None:
        if self.last is None or self.last[0] is not self.bar:
            return  # nothing before it in this bar: abc2midi complains; the lengths stay as written
        half = Fraction(1, 2 ** len(arrows))
        bar, length = self.last
        new = length * (2 - half) if arrows[0] == ">" else length * half
        pitch, step, now = bar.events[-1]  # the bar's last event is the element self.last names
        bar.events[-1] = (pitch, step, now + new - length)
        self.next_factor = half if arrows[0] == ">" else 2 - half

    def line(self, text: str, number: int) -> None:
        if "%" in text:
            text = re.sub(r"(?<!\\)%.*$", "", text)
        match, pos, size = _TOKEN.match, 0, len(text)
        while pos < size:
            m = match(text, pos)
            if not m:
                self.unreadable.append(text[pos])
                pos += 1
                continue
            pos = m.end()
            kind = m.lastgroup  # the outer group: it closes after any group inside it
            if kind == "note":
                acc, letter, octave, written = m.group("acc", "letter", "oct", "len")
                sound = self.pitch(acc, letter, octave)
                self._timed(self._lengths.get(written) or self._written(written), sound)
            elif kind == "skip":
                continue
            elif kind == "bar":
                token = m.group(0)
                self.barlines.append(token)
                section_end = ":" in token or "||" in token or "]" in token or "[" in token
                self.close(section_end, number, new_part=bool(_NEW_PART.search(token)))
                if m.group("num"):
                    self.bar.ending = m.group("num")
            elif kind == "rest":
                self._timed(self._written(m.group("rlen")), (None, None))
            elif kind == "chord":
                inner = _NOTE.findall(m.group("inner"))
                sounds = [self.pitch(acc or None, letter, octave) for acc, letter, octave, _ in inner]
                first = length_of(inner[0][3]) if inner else Fraction(0)
                self.timed(first * length_of(m.group("clen")), sounds[0] if sounds else (None, None))
            elif kind == "inline":
                self.field(m.group(0)[1], m.group(0)[3:-1].strip(), number)
            elif kind == "ending":
                self.barlines.append(m.group(0))
                if not self.bar.music:
                    self.bar.ending = m.group(0)[1:]
            elif kind == "mrest":
                count = int(m.group("count")[:9] or 1)
                self.bar.rests += count
                self.bar.music = True
                if self.meter is not None:
                    self.bar.length += self.meter * count
            elif kind == "grace":
                for acc, letter, octave, _ in _NOTE.findall(m.group(0)):
                    self.pitch(acc or None, letter, octave)
            elif kind == "tuplet":
                p = int(m.group("p"))
                q = int(m.group("q")) if m.group("q") else _tuplet_q(p, self.meter)
                r = int(m.group("r")) if m.group("r") else p
                self.tuplet = (Fraction(q, p), r)
            elif kind == "broken":
                self.broken(m.group(0))

    def run(self, body: list[str], first_line: int) -> None:
        for offset, text in enumerate(body):
            number = first_line + offset
            match = _FIELD.match(text)
            if match:
                self.field(match.group(1), match.group(2).strip(), number)
            elif not text.startswith("%"):
                self.line(text, number)
        self.close(True, first_line + len(body))
