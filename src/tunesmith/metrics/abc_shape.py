"""The shape of a tune: its parts, bars, repeats, ending note and bar-level repetition, from its ABC text.

Sturm & Ben-Tal ("Taking the models back to music practice: evaluating generative transcription
models built using deep learning", Journal of Creative Music Systems 2(1), 2017) judge folk-rnn's
tunes the way a session player would: two repeated parts (AABB), eight bars a part, bars and
phrases that come back (exactly or moved up or down), and a last note on the tonic. These are
those observations as per-tune numbers, in the style of MusPy's statistics (Dong et al., ISMIR
2020: one value per piece, NaN where a piece has none), so that, as Yang & Lerch (Neural Computing
and Applications, 2020) do for their features, the distribution over generated tunes can be set
against the training tunes' by overlapping area (:mod:`tunesmith.metrics.distributions`).

The music is walked once by the validity check's own :class:`~tunesmith.metrics.abc_bars.BarCounter`
(exact bar lengths; pitches with the key signature and accidentals carried to the end of the bar).
Every choice:

- **Sections** start at the top of the tune and after a bar line with a repeat sign or a double or
  final bar (``|:`` ``:|`` ``::`` ``||`` ``|]`` ``[|``), and at a ``P:`` (or ``V:``) field, as in
  the validity check. A bar that starts a 2nd or later ending (``:|2``, ``|2``, ``[2``, ``[2,3``)
  starts a section too. Such a section belongs to the part before it: its first ``k`` bars are
  alternatives and do not count, ``k`` being the bars of that part's 1st ending (from the bar marked
  ``1`` to its end; all of the section if it has none); any bars after them make a new part.
- **Counted bars** of a section: a first bar shorter than the meter is a pickup and does not count
  (a section that is only a pickup, as in ``D|:G2B…``, is no part); every other bar counts once,
  a short last bar too (it completes the pickup; as in the validity check the two need not add up
  to a bar exactly), and a ``Zn`` rest counts ``n``. In free meter (``M:none``) every bar counts.
- **Parts** are the sections with a counted bar. ``bars`` sums their counted bars (so a
  ``|: 7 bars |1 x :|2 y |]`` part is 8), ``bars_per_part`` is their mean, ``eight_bar_parts`` the
  share of parts of exactly 8. A 16-bar part written without a repeat sign or double bar is one part.
- **repeat_marks** counts repeat signs as written, a start and an end each (``|:`` and ``:|`` one,
  ``::`` and ``:|:`` two, so ``|:A:|:B:|`` and ``|:A:||:B:|`` both make 4), plus one per ending mark.
- **Full bars** are counted bars as long as the meter in force with at least one note or rest (all
  counted bars in free meter). A bar is a sequence of events, each a note, a chord (its first note)
  or a rest, with its exact length; ties and grace notes are not events.
- **repeated_bars**: share of full bars with the same pitches (MIDI, accidentals included) and
  lengths as an earlier full bar. **transposed_bars**: share of the other full bars whose lengths
  and *diatonic* intervals (staff steps, accidentals ignored: a sequence in a key moves by scale
  steps) equal an earlier full bar's, starting on another staff step. Neither counts 2nd endings.
- **ends_on_tonic** / **ends_on_fifth**: 1.0 or 0.0, the pitch class of the last sounding note of the
  tune as written (a 2nd ending's, if last) against the tonic of the ``K:`` in force at the end
  (``Ador`` → A): equal, or seven semitones above. NaN for ``K:none``, ``HP`` or an unreadable key.
- **part_openings**: each part's opening is its first full bar; two openings agree, at each onset
  of either, where both sound the same pitch (or both rest); their agreement is the share of those
  onsets. Each part after the first takes its best agreement with an earlier part; the feature is
  the mean (1.0: every part opens like an earlier one; NaN with fewer than two parts with a full bar).
- **common_rhythms**: share of full bars (in the header's meter) whose :func:`rhythm_pattern` is in
  a corpus table for the header ``M:`` (:func:`common_rhythms`, keyed by ``normal_meter``).

A tune with no sounding note has no shape: every value is NaN. So is every share with nothing to
share over. Counts (``bars``, ``parts``, ``repeat_marks``) are 0 when there is none.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import accumulate

from tunesmith.abc_text import header_fields, key_tonic, normal_meter
from tunesmith.metrics.abc_bars import Bar, BarCounter, read_header

# name -> (label, unit), in report order
SHAPE_FEATURES: dict[str, tuple[str, str]] = {
    "bars": ("bars per tune", "count"),
    "parts": ("parts per tune", "count"),
    "bars_per_part": ("bars per part", "count"),
    "eight_bar_parts": ("8-bar parts", "share"),
    "repeat_marks": ("repeat and ending marks", "count"),
    "ends_on_tonic": ("ends on the tonic", "share"),
    "ends_on_fifth": ("ends on the fifth", "share"),
    "repeated_bars": ("bars repeating an earlier bar", "share"),
    "transposed_bars": ("bars repeating an earlier bar transposed", "share"),
    "part_openings": ("alike part openings", "share"),
    "common_rhythms": ("bars with a common rhythm", "share"),
}

NAN = float("nan")
_ANY_PITCH = (0, 127)  # the bar walker's playable range: shape counts no note as out of range


@dataclass
class _Tune:
    """One tune as the shape features see it."""

    meter: str | None  # normal_meter of the header's M:, None if absent, free or unreadable
    meter_length: Fraction | None  # the header's bar length
    tonic: int | None
    sizes: list[int]  # counted bars per part
    full: list[Bar]  # the full bars of all parts, in order
    openings: list[Bar]  # each part's first full bar (parts without one left out)
    marks: int
    last_pitch: int | None  # the last sounding note

    @property
    def rhythm_bars(self) -> list[Bar]:
        """The full bars in the header's meter: what the rhythm table counts."""
        meter = self.meter_length
        if self.meter is None:
            return []
        return [bar for bar in self.full if bar.meter is meter or bar.meter == meter]


def _read(abc: str) -> _Tune | None:
    """Walk a tune; None if it cannot be walked at all (garbage the bar walker chokes on)."""
    try:
        header = read_header(abc)
        counter = BarCounter(header, _ANY_PITCH)
        counter.run(header.body, header.first_body_line)
        fields = header_fields(abc)
        meter = normal_meter(fields["M"]) if header.meter is not None and "M" in fields else None
    except (ValueError, ArithmeticError):  # e.g. a length of 5,000 digits, more than int() reads
        return None
    keys = [fields["K"], *counter.keys] if "K" in fields else counter.keys
    last_pitch = next(
        (pitch for bar in reversed(counter.bars) for pitch, _, _ in reversed(bar.events) if pitch is not None), None
    )
    parts = _parts(counter.bars)
    full = [[bar for bar in part if _full(bar)] for part in parts]
    return _Tune(
        meter=meter,
        meter_length=header.meter,
        tonic=key_tonic(keys[-1]) if keys else None,
        sizes=[sum(max(1, bar.rests) for bar in part) for part in parts],
        full=[bar for bars in full for bar in bars],
        openings=[bars[0] for bars in full if bars],
        marks=sum(_marks(token) for token in counter.barlines),
        last_pitch=last_pitch,
    )


def _later_ending(bar: Bar) -> bool:
    return bool(bar.ending) and not bar.ending.startswith("1")


def _short(bar: Bar) -> bool:
    return bar.meter is not None and bar.length < bar.meter


def _parts(bars: list[Bar]) -> list[list[Bar]]:
    """The counted bars of each part (see the module docstring)."""
    sections: list[list[Bar]] = []
    for bar in bars:
        if bar.start or not sections or _later_ending(bar):
            sections.append([bar])
        else:
            sections[-1].append(bar)
    raw: list[list[Bar]] = []  # the parts as written, alternatives dropped
    for section in sections:
        if raw and _later_ending(section[0]):
            part = raw[-1]
            first = next((i for i in range(len(part) - 1, -1, -1) if part[i].ending.startswith("1")), None)
            section = section[len(part) - first :] if first is not None else []
            if not section:
                continue
        raw.append(section)
    parts = []
    for part in raw:
        counted = part[1:] if _short(part[0]) else part
        if counted:
            parts.append(counted)
    return parts


@lru_cache(maxsize=256)
def _marks(token: str) -> int:
    """Repeat signs (a start and an end each) and ending marks in one bar line or ``[2`` mark."""
    if token.startswith("["):
        if token[1:2].isdigit():
            return 1  # [1 [2
        token = token[1:]
    core = token.lstrip(".").rstrip("0123456789,-")
    numbered = len(core) < len(token.lstrip("."))
    if core and set(core) == {":"}:
        return 2 + numbered
    return core.startswith(":") + core.endswith(":") + numbered


def _full(bar: Bar) -> bool:
    return bool(bar.events) and (bar.meter is None or (not bar.rests and bar.length == bar.meter))


def _ticks(events: Iterable[tuple[int | None, int | None, Fraction]], common: int) -> list[int]:
    """Event lengths as whole multiples of ``1/common`` (a common denominator of them all)."""
    return [length.numerator * (common // length.denominator) for _, _, length in events]


def _common(bars: Iterable[Bar]) -> int:
    return math.lcm(*{length.denominator for bar in bars for _, _, length in bar.events})


def rhythm_pattern(bar: Bar) -> str:
    """One bar's rhythm as short text: each event's share of the bar's notes and rests, as whole multiples
    of ``1/n`` with ``n`` the least that serves, ``r`` after a rest: ``"6:2 1 2 1"`` (a jig's ``A2B c2d``),
    ``"8:3 1 2r 2"``. ``""`` for a bar with no events or no length."""
    ticks = _ticks(bar.events, _common([bar])) if bar.events else []
    total = sum(ticks)
    if total <= 0:
        return ""
    unit = math.gcd(total, *ticks)
    return f"{total // unit}:" + " ".join(
        f"{tick // unit}{'r' if pitch is None else ''}" for tick, (pitch, _, _) in zip(ticks, bar.events, strict=True)
    )


def common_rhythms(texts: Iterable[str], top: int = 50) -> dict[str, list[str]]:
    """``normal_meter(M:)`` -> the ``top`` most common :func:`rhythm_pattern` of full bars in these tunes,
    most common first (ties in alphabetical order); tunes in free meter or without a readable ``M:`` are left out."""
    counts: dict[str, Counter[str]] = {}
    for text in texts:
        tune = _read(text)
        if tune is None or tune.meter is None:
            continue
        counts.setdefault(tune.meter, Counter()).update(rhythm_pattern(bar) for bar in tune.rhythm_bars)
    return {
        meter: [pattern for pattern, _ in sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:top]]
        for meter, counter in sorted(counts.items())
        if counter
    }


def _repeats(bars: list[Bar]) -> tuple[float, float]:
    """Shares of ``bars`` that repeat an earlier one exactly, and transposed (diatonically)."""
    seen: set[tuple] = set()
    first_steps: dict[tuple, set[int]] = {}  # contour -> the staff steps it has started on
    exact = moved = 0
    for bar in bars:
        pitches, steps, lengths = zip(*bar.events, strict=True)
        sizes = tuple([(length.numerator, length.denominator) for length in lengths])  # cheaper to hash
        repeat = (pitches, sizes) in seen
        seen.add((pitches, sizes))
        exact += repeat
        first = next((step for step in steps if step is not None), None)
        if first is None:
            continue
        starts = first_steps.setdefault((tuple([None if s is None else s - first for s in steps]), sizes), set())
        moved += not repeat and bool(starts - {first})
        starts.add(first)
    return exact / len(bars), moved / len(bars)


def _agreement(one: Bar, other: Bar) -> float:
    """Share of the onsets of either bar at which both sound the same pitch (or both rest)."""
    common = _common([one, other])
    sounding = [(list(accumulate(_ticks(bar.events, common), initial=0)), bar.events) for bar in (one, other)]
    onsets = set(sounding[0][0][:-1]) | set(sounding[1][0][:-1])
    alike = 0
    for onset in onsets:
        heard = []
        for starts, events in sounding:
            index = bisect_right(starts, onset) - 1
            heard.append(events[index][0] if 0 <= index < len(events) and onset < starts[-1] else None)
        alike += heard[0] == heard[1]
    return alike / len(onsets) if onsets else NAN


def _openings(openings: list[Bar]) -> float:
    if len(openings) < 2:
        return NAN
    best = [max(_agreement(bar, earlier) for earlier in openings[:i]) for i, bar in enumerate(openings) if i]
    return sum(best) / len(best)


def shape(abc: str, rhythms: Mapping[str, Collection[str]] | None = None) -> dict[str, float]:
    """Every :data:`SHAPE_FEATURES` value for one tune (NaN where undefined: no notes, no bars, no key…).

    ``abc`` may start with ``X:`` or not; ``rhythms`` is a :func:`common_rhythms` table. Never raises."""
    out = dict.fromkeys(SHAPE_FEATURES, NAN)
    tune = _read(abc) if isinstance(abc, str) else None
    if tune is None or tune.last_pitch is None:
        return out
    sizes = tune.sizes
    out["bars"], out["parts"], out["repeat_marks"] = float(sum(sizes)), float(len(sizes)), float(tune.marks)
    if sizes:
        out["bars_per_part"] = sum(sizes) / len(sizes)
        out["eight_bar_parts"] = sum(size == 8 for size in sizes) / len(sizes)
    if tune.tonic is not None:
        interval = (tune.last_pitch - tune.tonic) % 12
        out["ends_on_tonic"], out["ends_on_fifth"] = float(interval == 0), float(interval == 7)
    if tune.full:
        out["repeated_bars"], out["transposed_bars"] = _repeats(tune.full)
    out["part_openings"] = _openings(tune.openings)
    table = rhythms.get(tune.meter) if rhythms is not None and tune.meter is not None else None
    rhythm_bars = tune.rhythm_bars
    if table and rhythm_bars:
        known = set(table)
        out["common_rhythms"] = sum(rhythm_pattern(bar) in known for bar in rhythm_bars) / len(rhythm_bars)
    return out
