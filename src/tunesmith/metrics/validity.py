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
- **music like the corpus's** (:mod:`tunesmith.metrics.abc_corpus`, measured on the training split): at
  least as many bars and notes as the corpus's shortest 1% of tunes; no run of more than two spaces in
  the music; only header fields the corpus uses, on no more lines and no longer than it gives them, and
  text fields (title, origin, book…) of words, not bar lines, chord symbols or runs of notes; a meter and a
  key the corpus uses. A model without a corpus profile is held to :data:`~tunesmith.metrics.abc_corpus.GENERIC`.
- **ending**: ``ended`` when the model wrote ``<end>`` on its own; ``forced`` when the length limit cut the
  tune or the grammar's finish narrowed its choices to end in time. Unknown (None) for files.

Each failed check is one reason of :data:`REASONS`, so a share of invalid tunes splits by cause. Bars of the
wrong length are also listed as a musician says them (``wrong_bars``, by :mod:`tunesmith.metrics.bar_words`),
numbered as the engraved score numbers them.

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

from tunesmith.abc_text import header_fields
from tunesmith.metrics.abc_bars import read_header
from tunesmith.metrics.abc_corpus import GENERIC, CorpusProfile, key_of, meter_of, problems
from tunesmith.metrics.bar_words import MeterTextCounter, wrong_bars
from tunesmith.render.midi import Conversion, abc_to_midi, convert_many

FIDDLE_RANGE = (55, 100)  # G3 .. E7
# Why a tune is not valid, in the order reports list them.
REASONS = {
    "header": "header unreadable",
    "abc2midi": "abc2midi errors",
    "bars": "bars of the wrong length",
    "short": "shorter than the corpus's shortest",
    "spaces": "runs of spaces",
    "fields": "header fields unlike the corpus's",
    "field_text": "music in a text field",
    "meter": "a meter the corpus never uses",
    "key": "a key the corpus never uses",
    "forced": "ending forced",
}


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
    tune_bars: int  # the bars its length is counted in: the checked ones, or every bar in free meter
    out_of_range: int
    ending: str | None  # "ended", "forced", or None: not known (a file, not a sample)
    meter: str = ""  # as the corpus profile spells it ("" for none given)
    key: str = ""
    corpus_problems: list[str] = field(default_factory=list)  # "reason: words", against the corpus profile
    playable_range: tuple[int, int] = FIDDLE_RANGE
    bad_bars: list[str] = field(default_factory=list)  # the first few, for people
    # Every wrong bar (the first 50) as a musician says it: {"number": bar on the score, 1-based, "line": ABC line,
    # "words": "bar 3 has 7 eighths; a bar of 6/8 holds 6"} (tunesmith.metrics.bar_words)
    wrong_bars: list[dict[str, Any]] = field(default_factory=list)
    # The bars that hold music or rests, the ones wrong_bars numbers and verovio engraves as measures
    # (tunesmith.render.score_marks.mark_bars marks the score only when the two counts agree)
    engraved_bars: int = 0
    unreadable: list[str] = field(default_factory=list)  # body characters the bar check skipped
    messages: list[str] = field(default_factory=list)  # abc2midi's, the first 20

    @property
    def bars_ok_share(self) -> float:
        return self.bars_ok / self.bars if self.bars else 1.0

    @property
    def ended_cleanly(self) -> bool | None:
        return None if self.ending is None else self.ending == "ended"

    @property
    def reasons(self) -> list[str]:
        """The keys of :data:`REASONS` this tune fails, each once, in that order."""
        failed = {p.split(":", 1)[0] for p in self.corpus_problems}
        failed |= {"header"} if not self.header_ok else set()
        failed |= {"abc2midi"} if not self.converts or self.abc2midi_errors else set()
        failed |= {"bars"} if self.bars_ok < self.bars else set()
        failed |= {"forced"} if self.ending == "forced" else set()
        return [r for r in REASONS if r in failed]

    @property
    def valid(self) -> bool:
        return not self.reasons

    @property
    def well_formed(self) -> bool:
        """Plays as written: a readable header, no abc2midi error, every bar the length of its meter. What the
        grammar of ``--constrain`` guarantees; being music like the corpus's, and ending, are more."""
        return self.header_ok and self.converts and not self.abc2midi_errors and self.bars_ok == self.bars

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "reasons": self.reasons,
            "ended_cleanly": self.ended_cleanly,
            "bars_ok_share": round(self.bars_ok_share, 4),
            **asdict(self),
        }


def _fraction(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def check(
    abc: str,
    *,
    ending: str | None = None,
    conversion: Conversion | None = None,
    playable: tuple[int, int] = FIDDLE_RANGE,
    abc2midi: bool = True,
    profile: CorpusProfile | None = None,
) -> Validity:
    """Check one tune (with its ``X:`` line) against ``profile`` (:data:`GENERIC` when None). Pass ``conversion``
    if abc2midi already ran on it; ``abc2midi=False`` skips it (the report then says it converts with no
    errors: syntax only). ``ending`` is the sampler's ``ended``/``forced``; None for a file."""
    if ending not in (None, "ended", "forced"):
        raise ValueError(f"ending {ending!r}")
    header = read_header(abc)
    counter = MeterTextCounter(header, playable, header_fields(abc).get("M", ""))
    counter.run(header.body, header.first_body_line)
    checked = [bar for bar in counter.bars if bar.meter is not None]
    bad = [bar for bar in checked if not bar.ok]
    if conversion is None:
        conversion = abc_to_midi(abc) if abc2midi else Conversion(True, 0, 0)
    report = Validity(
        header_ok=not header.problems,
        header_problems=header.problems,
        converts=conversion.converted,
        abc2midi_errors=conversion.errors,
        abc2midi_warnings=conversion.warnings,
        bars=len(checked),
        bars_ok=len(checked) - len(bad),
        notes=counter.notes,
        tune_bars=len(checked) if header.meter is not None else len(counter.bars),
        out_of_range=counter.out_of_range,
        ending=ending,
        meter=meter_of(abc),
        key=key_of(abc),
        playable_range=playable,
        bad_bars=[
            f"line {bar.line}: a bar of {_fraction(bar.length)} in {_fraction(bar.meter)} time" for bar in bad[:5]
        ],
        wrong_bars=wrong_bars(counter.bars, counter.meter_texts),
        engraved_bars=sum(bool(bar.music or bar.rests) for bar in counter.bars),
        unreadable=counter.unreadable[:10],
        messages=conversion.messages[:20],
    )
    return judge(report, abc, profile)


def judge(report: Validity, abc: str, profile: CorpusProfile | None) -> Validity:
    """``report`` with its corpus problems found again against ``profile`` (no second walk through the music:
    a corpus is walked once, its profile measured, then every tune judged by it)."""
    body = read_header(abc).body
    found = problems(abc, report.tune_bars, report.notes, body, profile or GENERIC)
    report.corpus_problems = [f"{reason}: {words}" for reason, words in found]
    return report


def check_many(
    tunes: Sequence[str],
    endings: Sequence[str | None] | None = None,
    conversions: Sequence[Conversion] | None = None,
    playable: tuple[int, int] = FIDDLE_RANGE,
    profile: CorpusProfile | None = None,
) -> list[Validity]:
    """Check several tunes; abc2midi runs in parallel unless ``conversions`` are given."""
    endings = list(endings) if endings is not None else [None] * len(tunes)
    if conversions is None:
        conversions = convert_many(list(tunes), [None] * len(tunes))
    return [
        check(t, ending=e, conversion=c, playable=playable, profile=profile)
        for t, e, c in zip(tunes, endings, conversions, strict=True)
    ]


def summarize(reports: Sequence[Validity]) -> dict[str, Any]:
    """Shares over many tunes: the figures the sample table, benchmarks and evaluation quote. ``by_reason``
    is the share of tunes failing each reason (a tune may fail several); ``outside`` the share of tunes in
    each meter and key the corpus never uses."""
    n = max(1, len(reports))
    bars = sum(r.bars for r in reports)
    failed = [set(r.reasons) for r in reports]
    outside: dict[str, dict[str, float]] = {"meter": {}, "key": {}}
    for r, why in zip(reports, failed, strict=True):
        for what, value in (("meter", r.meter), ("key", r.key)):
            if what in why:
                outside[what][value] = outside[what].get(value, 0) + 1 / n
    return {
        "valid_share": sum(not why for why in failed) / n,
        "zero_error_share": sum(r.converts and r.abc2midi_errors == 0 for r in reports) / n,
        "bars_ok_share": sum(r.bars_ok for r in reports) / bars if bars else 1.0,
        "header_ok_share": sum(r.header_ok for r in reports) / n,
        "ended_share": sum(r.ending == "ended" for r in reports) / n,
        "forced_share": sum(r.ending == "forced" for r in reports) / n,
        "out_of_range_notes": sum(r.out_of_range for r in reports) / max(1, sum(r.notes for r in reports)),
        "by_reason": {k: sum(k in why for why in failed) / n for k in REASONS},
        "outside": {k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in outside.items()},
    }
