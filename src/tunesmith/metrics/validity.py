"""Is a tune valid ABC that plays as written? One report per tune, for people and for JSON.

A tune is **valid** when all of these hold:

- **header**: the first line is ``X:<number>``; every line up to the first ``K:`` is a header field
  (so ``K:`` is the last header line); ``M:`` (if given) is a meter we can read (``6/8``, ``2+3/8``,
  ``C``, ``C|``, ``none``); ``L:`` (if given) is ``1/N`` with ``N`` a power of two; ``K:`` names a key.
- **abc2midi**: it writes a MIDI file with notes and reports zero errors (warnings are listed, not fatal).
  We call :func:`tunesmith.render.midi.abc_to_midi`, which keeps abc2midi's messages.
- **bars**: every bar has the length its meter asks for. A bar's length is the sum of its notes,
  rests and chords as an exact :class:`fractions.Fraction` of a whole note, and it *matches* when
  that fraction **equals** the bar length of the meter in force at the bar line (no tolerance).
  Exceptions, all stated: a bar *shorter* than the meter is accepted when it is the first bar of
  a section (a pickup) or the last one (the bar that completes it); sections start at the top of
  the tune and after any bar line with a repeat sign or a double/final bar (``|:`` ``:|`` ``::``
  ``||`` ``|]`` ``[|``) or a ``P:``/``V:`` line, and end before one or at the end of the tune. We do
  not demand that pickup + last bar add up to one bar: the complement of a part's last bar is
  often the next part's pickup. ``Z``/``Zn`` fills ``n`` bars. A tune in free meter (``M:none``)
  has no bar to check and scores 1.0.
- **ending**: the sampler saw the model write ``<end>`` (``ended_cleanly``); unknown for files.

Note durations follow ABC 2.1: ``L:`` (default 1/16 below 3/4 time, else 1/8) times the written
length (``3/2``, ``/``, ``//``, ``2``…); broken rhythm ``>`` ``<`` (``>>`` …) moves time between two
neighbours; tuplets ``(3abc`` and ``(p:q:r`` scale the next ``r`` notes by ``q/p`` (default ``q`` as in
the standard); a chord ``[ceg]2`` lasts as long as its first note times the length after ``]``;
grace notes ``{..}`` take no time; decorations (``!trill!``, ``~.HLMOPSTuv``), chord symbols, ties,
slurs, spaces and ``%`` comments take none either. Inline ``[M:3/4]``/``[L:1/16]`` and ``M:``/``L:``
lines in the body change meter and unit from that point.

**Playable range** (reported, not part of validity): notes outside ``low..high`` MIDI pitches are
counted; the default is G3 (55, a fiddle's open G string) to E7 (100). Pitches use the key
signature, explicit accidentals, and accidentals carried to the end of the bar.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from tunesmith.render.midi import Conversion, abc_to_midi, convert_many

FIDDLE_RANGE = (55, 100)  # G3 .. E7
_FIELD = re.compile(r"^([A-Za-z]):(.*)$")
_METER = re.compile(r"^\(?(\d+(?:\+\d+)*)\)?/(\d+)$")
_UNIT = re.compile(r"^(\d+)/(\d+)$")
_KEY = re.compile(
    r"^(?:none|HP|Hp|(?P<tonic>[A-G])(?P<acc>[#b]?)\s*(?P<mode>[A-Za-z]*))(?:\s|$)",
)
_MODES = {"": 0, "maj": 0, "ion": 0, "mix": -1, "dor": -2, "m": -3, "min": -3, "aeo": -3, "phr": -4, "loc": -5}
_MODES["lyd"] = 1
_MAJOR_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F": -1}
_SHARP_ORDER, _FLAT_ORDER = "FCGDAEB", "BEADGCF"
_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}

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


def parse_meter(value: str) -> Fraction | None:
    """Bar length in whole notes (``6/8`` → 3/4, ``C`` → 1, ``C|`` → 1); None for ``none``.

    Raises ValueError for anything else, so a caller can say what it could not read.
    """
    text = value.split("%", 1)[0].strip()
    if text in ("C", "C|"):
        return Fraction(1)
    if text.lower() == "none":
        return None
    match = _METER.match(text.replace(" ", ""))
    if not match or int(match.group(2)) == 0:
        raise ValueError(f"meter {value!r} is not like 6/8, C, C| or none")
    length = Fraction(sum(int(n) for n in match.group(1).split("+")), int(match.group(2)))
    if length == 0:
        raise ValueError(f"meter {value!r} has no beats")
    return length


def parse_unit(value: str) -> Fraction:
    """The ``L:`` unit note length, ``1/N`` with ``N`` a power of two (what abc2midi accepts)."""
    match = _UNIT.match(value.split("%", 1)[0].strip())
    if not match:
        raise ValueError(f"unit length {value!r} is not like 1/8")
    num, den = int(match.group(1)), int(match.group(2))
    if num == 0 or den == 0 or den & (den - 1):
        raise ValueError(f"unit length {value!r} needs a power-of-two denominator")
    return Fraction(num, den)


def default_unit(meter: Fraction | None) -> Fraction:
    """ABC 2.1: 1/16 when the meter is below 3/4, else 1/8 (also for free meter)."""
    return Fraction(1, 16) if meter is not None and meter < Fraction(3, 4) else Fraction(1, 8)


def key_fifths(value: str) -> int:
    """Sharps (positive) or flats (negative) of a key: ``D`` 2, ``Ador`` 0, ``Bb`` -2; ValueError if unreadable."""
    match = _KEY.match(value.split("%", 1)[0].strip())
    if not match:
        raise ValueError(f"key {value!r} is not like G, Ador, Bb or E minor")
    if not match.group("tonic"):
        return 0
    mode = match.group("mode").lower()
    shift = _MODES.get(mode[:3] if len(mode) > 1 else mode)
    if shift is None:
        raise ValueError(f"key {value!r} has an unknown mode {match.group('mode')!r}")
    return _MAJOR_FIFTHS[match.group("tonic")] + {"#": 7, "b": -7, "": 0}[match.group("acc")] + shift


def parse_key(value: str) -> dict[str, int]:
    """Key signature as semitone shifts per letter (``K:D`` → F and C sharp); ValueError if unreadable."""
    fifths = key_fifths(value)
    if fifths > 0:
        return {letter: 1 for letter in _SHARP_ORDER[: min(fifths, 7)]}
    return {letter: -1 for letter in _FLAT_ORDER[: min(-fifths, 7)]}


def length_of(text: str) -> Fraction:
    """A written note length in units of ``L:``: '' → 1, '3/2', '/', '//' → 1/4, '2'."""
    match = re.fullmatch(r"(\d*)(/*)(\d*)", text)
    if not match:
        raise ValueError(f"note length {text!r}")
    num = int(match.group(1)) if match.group(1) else 1
    if not match.group(2):
        return Fraction(num)
    den = int(match.group(3)) if match.group(3) else 2 ** len(match.group(2))
    return Fraction(num, den or 1)


@dataclass
class Bar:
    start: bool  # first bar of a section
    line: int
    length: Fraction = Fraction(0)
    music: bool = False
    rests: int = 0  # bars a Z/Zn multi-measure rest fills
    end: bool = False  # last bar of a section
    meter: Fraction | None = None  # in force at its bar line

    @property
    def ok(self) -> bool:
        assert self.meter is not None
        if self.rests:
            return self.length == self.meter * self.rests
        return self.length == self.meter or (0 < self.length < self.meter and (self.start or self.end))


@dataclass
class Validity:
    """What a tune gets right and wrong; ``valid`` is the one-word verdict."""

    header_ok: bool
    header_problems: list[str]
    converts: bool  # abc2midi wrote a MIDI file with notes
    abc2midi_errors: int
    abc2midi_warnings: int
    bars: int  # bars checked against the meter
    bars_ok: int
    notes: int
    out_of_range: int
    ended_cleanly: bool | None  # None: not known (a file, not a sample)
    playable_range: tuple[int, int] = FIDDLE_RANGE
    bad_bars: list[str] = field(default_factory=list)  # the first few, for people
    unreadable: list[str] = field(default_factory=list)  # body characters the bar check skipped
    messages: list[str] = field(default_factory=list)  # abc2midi's, the first 20

    @property
    def bars_ok_share(self) -> float:
        return self.bars_ok / self.bars if self.bars else 1.0

    @property
    def valid(self) -> bool:
        return (
            self.header_ok
            and self.converts
            and self.abc2midi_errors == 0
            and self.bars_ok == self.bars
            and self.ended_cleanly is not False
        )

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "bars_ok_share": round(self.bars_ok_share, 4), **asdict(self)}


@dataclass
class _Header:
    problems: list[str]
    meter: Fraction | None
    unit: Fraction
    key: dict[str, int]
    body: list[str]  # the music lines, up to a blank line
    first_body_line: int


def _read_header(abc: str) -> _Header:
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
            return _Header(problems, meter, unit or default_unit(meter), key, [], index)
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
    return _Header(problems, meter, unit or default_unit(meter), key, body, index + 1)


def _tuplet_q(p: int, meter: Fraction | None) -> int:
    compound = meter is not None and meter.numerator % 3 == 0 and meter.numerator > 3
    return {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if compound else 2)


class _BarCounter:
    """Walks the music once: bar lengths, notes and their pitches."""

    def __init__(self, header: _Header, playable: tuple[int, int]):
        self.meter, self.unit, self.key = header.meter, header.unit, header.key
        self.low, self.high = playable
        self.bars: list[Bar] = []
        self.bar = Bar(start=True, line=header.first_body_line)
        self.notes = self.out_of_range = 0
        self.unreadable: list[str] = []
        self.carried: dict[tuple[str, int], int] = {}
        self.tuplet: tuple[Fraction, int] = (Fraction(1), 0)  # factor, notes left
        self.next_factor = Fraction(1)  # from broken rhythm
        self.last: tuple[Bar, Fraction] | None = None  # the previous timed element, for > and <

    def close(self, section_end: bool, next_line: int) -> None:
        bar = self.bar
        bar.meter, bar.end = self.meter, section_end
        if bar.music or bar.length:
            self.bars.append(bar)
            self.bar = Bar(start=section_end, line=next_line)
        else:  # an empty stretch between two bar lines passes its flags on
            if section_end and self.bars:
                self.bars[-1].end = True
            self.bar = Bar(start=section_end or bar.start, line=next_line)
        self.carried.clear()

    def field(self, name: str, value: str, line: int) -> None:
        try:
            if name == "M":
                self.meter = parse_meter(value)
            elif name == "L":
                self.unit = parse_unit(value)
            elif name == "K":
                self.key = parse_key(value)
            elif name in "PV":
                self.close(True, line)
        except ValueError:
            self.unreadable.append(f"{name}:{value}")

    def pitch(self, acc: str | None, letter: str, octave: str) -> None:
        base = 60 + _STEPS[letter.upper()] + (12 if letter.islower() else 0)
        base += 12 * octave.count("'") - 12 * octave.count(",")
        slot = (letter.upper(), base)
        if acc is not None:
            self.carried[slot] = _ACCIDENTALS[acc]
        shift = self.carried.get(slot, self.key.get(letter.upper(), 0))
        self.notes += 1
        self.out_of_range += not self.low <= base + shift <= self.high

    def timed(self, written: Fraction) -> None:
        """A note, rest or chord of ``written`` units joins the bar."""
        factor, left = self.tuplet
        length = written * self.unit * self.next_factor * (factor if left else 1)
        self.tuplet = (factor, max(0, left - 1))
        self.next_factor = Fraction(1)
        self.bar.length += length
        self.bar.music = True
        self.last = (self.bar, length)

    def broken(self, arrows: str) -> None:
        if self.last is None or self.last[0] is not self.bar:
            return  # nothing before it in this bar: abc2midi complains; the lengths stay as written
        half = Fraction(1, 2 ** len(arrows))
        bar, length = self.last
        new = length * (2 - half) if arrows[0] == ">" else length * half
        bar.length += new - length
        self.next_factor = half if arrows[0] == ">" else 2 - half

    def line(self, text: str, number: int) -> None:
        text = re.sub(r"(?<!\\)%.*$", "", text)
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                self.unreadable.append(text[pos])
                pos += 1
                continue
            pos = m.end()
            kind = m.lastgroup  # the outer group: it closes after any group inside it
            if kind == "inline":
                self.field(m.group(0)[1], m.group(0)[3:-1].strip(), number)
            elif kind == "bar":
                token = m.group(0)
                self.close(":" in token or "||" in token or "]" in token or "[" in token, number)
            elif kind == "note":
                self.pitch(m.group("acc"), m.group("letter"), m.group("oct"))
                self.timed(length_of(m.group("len")))
            elif kind == "chord":
                inner = _NOTE.findall(m.group("inner"))
                for acc, letter, octave, _ in inner:
                    self.pitch(acc or None, letter, octave)
                first = length_of(inner[0][3]) if inner else Fraction(0)
                self.timed(first * length_of(m.group("clen")))
            elif kind == "rest":
                self.timed(length_of(m.group("rlen")))
            elif kind == "mrest":
                count = int(m.group("count") or 1)
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


def _fraction(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def check(
    abc: str,
    *,
    ended: bool | None = None,
    conversion: Conversion | None = None,
    playable: tuple[int, int] = FIDDLE_RANGE,
    abc2midi: bool = True,
) -> Validity:
    """Check one tune (with its ``X:`` line). Pass ``conversion`` if abc2midi already ran on it;
    ``abc2midi=False`` skips it (the report then says it converts with no errors: syntax only)."""
    header = _read_header(abc)
    counter = _BarCounter(header, playable)
    counter.run(header.body, header.first_body_line)
    checked = [bar for bar in counter.bars if bar.meter is not None]
    bad = [bar for bar in checked if not bar.ok]
    if conversion is None:
        conversion = abc_to_midi(abc) if abc2midi else Conversion(True, 0, 0)
    return Validity(
        header_ok=not header.problems,
        header_problems=header.problems,
        converts=conversion.converted,
        abc2midi_errors=conversion.errors,
        abc2midi_warnings=conversion.warnings,
        bars=len(checked),
        bars_ok=len(checked) - len(bad),
        notes=counter.notes,
        out_of_range=counter.out_of_range,
        ended_cleanly=ended,
        playable_range=playable,
        bad_bars=[
            f"line {bar.line}: a bar of {_fraction(bar.length)} in {_fraction(bar.meter)} time" for bar in bad[:5]
        ],
        unreadable=counter.unreadable[:10],
        messages=conversion.messages[:20],
    )


def check_many(
    tunes: Sequence[str],
    ended: Sequence[bool | None] | None = None,
    conversions: Sequence[Conversion] | None = None,
    playable: tuple[int, int] = FIDDLE_RANGE,
) -> list[Validity]:
    """Check several tunes; abc2midi runs in parallel unless ``conversions`` are given."""
    ended = list(ended) if ended is not None else [None] * len(tunes)
    if conversions is None:
        conversions = convert_many(list(tunes), [None] * len(tunes))
    return [
        check(t, ended=e, conversion=c, playable=playable) for t, e, c in zip(tunes, ended, conversions, strict=True)
    ]


def summarize(reports: Sequence[Validity]) -> dict[str, float]:
    """Shares over many tunes: the figures the sample table, benchmarks and evaluation quote."""
    n = max(1, len(reports))
    bars = sum(r.bars for r in reports)
    return {
        "valid_share": sum(r.valid for r in reports) / n,
        "zero_error_share": sum(r.converts and r.abc2midi_errors == 0 for r in reports) / n,
        "bars_ok_share": sum(r.bars_ok for r in reports) / bars if bars else 1.0,
        "header_ok_share": sum(r.header_ok for r in reports) / n,
        "ended_share": sum(r.ended_cleanly is not False for r in reports) / n,
        "out_of_range_notes": sum(r.out_of_range for r in reports) / max(1, sum(r.notes for r in reports)),
    }
