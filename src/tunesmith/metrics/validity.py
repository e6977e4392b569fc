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

Note durations and the token grammar are read by :mod:`tunesmith.metrics.abc_bars`.

**Playable range** (reported, not part of validity): notes outside ``low..high`` MIDI pitches are
counted; the default is G3 (55, a fiddle's open G string) to E7 (100). Pitches use the key
signature, explicit accidentals, and accidentals carried to the end of the bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from tunesmith.metrics.abc_bars import BarCounter, read_header
from tunesmith.render.midi import Conversion, abc_to_midi, convert_many

FIDDLE_RANGE = (55, 100)  # G3 .. E7


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
    header = read_header(abc)
    counter = BarCounter(header, playable)
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
