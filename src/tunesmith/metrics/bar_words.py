"""Bars of the wrong length in a musician's words: "bar 3 has 7 eighths; a bar of 6/8 holds 6".

:mod:`tunesmith.metrics.validity` finds the bars whose length does not fit the meter (:attr:`Bar.ok`);
this module says so the way a folk musician would count, for the studio's "read and print" page and its
marks on the engraved score (:mod:`tunesmith.render.score_marks`).

- **Numbers.** A bar is numbered 1-based among the tune's bars that hold music or rests, the same bars
  verovio engraves as measures, so "bar 5" is the fifth bar on the score.
- **Units.** A length is counted in the unit of the meter *as written*: ``M:6/8`` counts eighths (though
  its bar is 3/4 of a whole note), ``M:C`` quarters, ``M:C|`` and ``M:2/2`` halves. :class:`MeterTextCounter`
  keeps the ``M:`` text in force at each bar line, inline ``[M:…]`` changes too. A length that is not a
  whole number of that unit is counted in a finer one (sixteenths, thirty-seconds, sixty-fourths); one no
  power-of-two unit counts (a triplet's thirds) is a mixed number ("5⅓ eighths"), and anything odder is
  said as a fraction of a whole note.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from tunesmith.abc_text import normal_meter, parse_meter
from tunesmith.metrics.abc_bars import Bar, BarCounter, Header

MAX_WRONG_BARS = 50  # entries listed; a tune with more is wrong throughout, and a page of them helps nobody
_FINEST = 64  # go no finer than sixty-fourths before saying a length as a mixed number
_NAMES = {
    1: ("whole note", "whole notes"),
    2: ("half", "halves"),
    4: ("quarter", "quarters"),
    8: ("eighth", "eighths"),
    16: ("sixteenth", "sixteenths"),
    32: ("thirty-second", "thirty-seconds"),
    64: ("sixty-fourth", "sixty-fourths"),
}
_GLYPHS = {
    Fraction(1, 2): "½",
    Fraction(1, 3): "⅓",
    Fraction(2, 3): "⅔",
    Fraction(1, 4): "¼",
    Fraction(3, 4): "¾",
    Fraction(1, 5): "⅕",
    Fraction(2, 5): "⅖",
    Fraction(3, 5): "⅗",
    Fraction(4, 5): "⅘",
    Fraction(1, 6): "⅙",
    Fraction(5, 6): "⅚",
    Fraction(1, 8): "⅛",
    Fraction(3, 8): "⅜",
    Fraction(5, 8): "⅝",
    Fraction(7, 8): "⅞",
}
_WORTH = {
    Fraction(2): "two bars' worth: a bar line missing?",
    Fraction(3): "three bars' worth: bar lines missing?",
    Fraction(4): "four bars' worth: bar lines missing?",
}
_SPOKEN = {"C": "4/4", "C|": "2/2"}  # common and cut time, as a musician counts them


class MeterTextCounter(BarCounter):
    """A :class:`BarCounter` that also keeps, per closed bar, the ``M:`` text in force at its bar line
    (``meter_texts[i]`` goes with ``bars[i]``): ``6/8`` and ``3/4`` are one Fraction but counted apart."""

    def __init__(self, header: Header, playable: tuple[int, int], meter_text: str = ""):
        super().__init__(header, playable)
        self.meter_text = meter_text
        self.meter_texts: list[str] = []

    def field(self, name: str, value: str, line: int) -> None:
        unreadable = len(self.unreadable)
        super().field(name, value, line)
        if name == "M" and len(self.unreadable) == unreadable:  # a meter it could read is now in force
            self.meter_text = value

    def close(self, section_end: bool, next_line: int, new_part: bool | None = None) -> None:
        closed = len(self.bars)
        super().close(section_end, next_line, new_part)
        if len(self.bars) > closed:
            self.meter_texts.append(self.meter_text)


def counting(meter: Fraction, meter_text: str = "") -> tuple[str, int]:
    """How a musician names ``meter`` and the note it is counted in: ``("6/8", 8)`` for ``M:6/8``,
    ``("4/4", 4)`` for ``M:C``. A text that is not this meter (or none) gives the fraction's own terms."""
    try:
        if meter_text and parse_meter(meter_text) == meter:
            spelled = _SPOKEN.get(normal_meter(meter_text), normal_meter(meter_text))
            unit = int(spelled.rsplit("/", 1)[1])
            if unit in _NAMES:
                return spelled, unit
    except (ValueError, IndexError):
        pass
    unit = meter.denominator if meter.denominator > 1 else 4  # a bar of one whole note is counted in quarters
    if unit not in _NAMES:
        return f"{meter.numerator}/{meter.denominator}", 1
    return f"{meter * unit}/{unit}", unit


def _name(unit: int, count: Fraction | int) -> str:
    singular, plural = _NAMES[unit]
    return singular if count == 1 else plural


def _mixed(value: Fraction) -> str | None:
    """``16/3`` → ``5⅓``; None when its fraction is no fifth, sixth, eighth or simpler (no one counts those)."""
    whole, part = divmod(value, 1)
    if not part:
        return str(whole)
    glyph = _GLYPHS.get(part)
    if glyph is None:
        return None
    return glyph if whole == 0 else f"{whole}{glyph}"


def amount(length: Fraction, meter: Fraction, unit: int) -> tuple[str, str]:
    """``length`` and ``meter`` (whole notes) counted alike, in ``unit`` or finer: ``("13 sixteenths", "12")``.
    The meter's count has no unit name when it shares the length's ("has 7 eighths; … holds 6")."""
    if (meter * unit).denominator == 1:
        finer = unit
        while (length * finer).denominator != 1 and finer < _FINEST:
            finer *= 2
        if (length * finer).denominator == 1:
            count = length * finer
            return f"{count} {_name(finer, count)}", str(meter * finer)
        # A triplet's thirds: the unit (this one or up to 4 times finer) whose remainder is simplest, 7⅔ eighths
        # rather than 3⅚ quarters.
        units = [u for u in (unit, 2 * unit, 4 * unit) if u <= _FINEST and _mixed(length * u) is not None]
        if units:
            best = min(units, key=lambda u: (length * u).denominator)
            return f"{_mixed(length * best)} {_name(best, 2)}", str(meter * best)
    return _of_whole(length), _of_whole(meter)


def _of_whole(value: Fraction) -> str:
    """``7/12 of a whole note``, ``1 whole note``: what no unit counts, said exactly."""
    if value.denominator == 1:
        return f"{value} {_name(1, value)}"
    return f"{value.numerator}/{value.denominator} of a whole note"


def bar_words(number: int, bar: Bar, meter_text: str = "") -> str:
    """What is wrong with one bar that fails :attr:`Bar.ok`, in a sentence (no full stop)."""
    assert bar.meter is not None
    meter = bar.meter
    spelled, unit = counting(meter, meter_text)
    if bar.rests:
        has, holds = amount(bar.length, meter * bar.rests, unit)
        if bar.rests == 1:
            return f"bar {number} has a bar's rest and {has} in all; a bar of {spelled} holds {holds}"
        return f"bar {number} has a {bar.rests}-bar rest and {has} in all; {bar.rests} bars of {spelled} hold {holds}"
    if bar.length <= 0:
        count = meter * unit
        holds = f"{count} {_name(unit, count)}" if count.denominator == 1 else _of_whole(meter)
        return f"bar {number} takes no time; a bar of {spelled} holds {holds}"
    has, holds = amount(bar.length, meter, unit)
    if bar.length > meter:
        words = f"bar {number} has {has}; a bar of {spelled} holds {holds}"
        times = bar.length / meter
        if times in _WORTH:  # a whole number of bars: written barred in twos, as some books write a reel
            words += f" ({_WORTH[times]})"
        return words
    if bar.start and not bar.opening:  # where a pickup goes, but more than half a bar
        why = "a pickup after the tune's first bar may be half a bar at most"
    elif bar.end:  # a part's last bar, in a part with no full bar before it
        why = "a part's last bar may be short only after a full bar"
    else:
        why = "only a pickup or a part's last bar may be short"
    return f"bar {number} has {has}; a bar of {spelled} holds {holds}, and {why}"


def wrong_bars(
    bars: Sequence[Bar], meter_text: str | Sequence[str] = "", limit: int = MAX_WRONG_BARS
) -> list[dict[str, Any]]:
    """``{"number", "line", "words"}`` for each of the first ``limit`` bars whose length is wrong (free-meter
    bars are never wrong). ``meter_text`` is the ``M:`` text in force: one for the whole tune, or one per bar
    (:attr:`MeterTextCounter.meter_texts`)."""
    texts = [meter_text] * len(bars) if isinstance(meter_text, str) else list(meter_text)
    out: list[dict[str, Any]] = []
    number = 0
    for index, bar in enumerate(bars):
        if not (bar.music or bar.rests):
            continue  # not engraved, so not counted
        number += 1
        if bar.meter is None or bar.ok:
            continue
        text = texts[index] if index < len(texts) else ""
        out.append({"number": number, "line": bar.line, "words": bar_words(number, bar, text)})
        if len(out) >= limit:
            break
    return out
