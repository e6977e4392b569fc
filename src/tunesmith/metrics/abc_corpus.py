"""What a corpus of ABC tunes looks like, so a generated tune is held to the music it learned from.

A **corpus profile** is measured once, by ``tunesmith prepare``, on the training split, and travels with
the model (``corpus.json`` in the prepared folder, the run and the bundle):

- **the shortest tunes**: the 1st percentile of bars and of notes per tune. A tune with fewer bars or
  notes than that is shorter than 99% of what the model was trained on, so "valid" cannot be reached by
  a header and one note;
- **the header fields** the corpus uses, each with the most lines one tune gives it and its longest
  value, so a model cannot hide 990 characters of note-like text in ``B:`` or ``F:``;
- **the meters and keys** it uses, counted (one spelling each: :func:`tunesmith.abc_text.normal_meter`,
  :func:`tunesmith.abc_text.normal_key`), so 11/4 in a corpus of reels is named as such;
- **the values of** ``L:`` ``Q:`` **and** ``I:`` as written, and **the words of** ``R:``, most common first, so
  ``--constrain`` writes only unit lengths, tempos, instructions and rhythm words the corpus has
  (:mod:`tunesmith.constraints.abc_header`);
- **its most common bar rhythms** per meter, for the shape measures (:mod:`tunesmith.metrics.abc_shape`);
- **its baseline**: the share of the corpus's own tunes that pass the whole validity check, by reason,
  so every "valid" figure can stand beside what real tunes score ("valid 72% (real tunes: 94%)").

A model with no profile (trained before profiles existed) is held to :data:`GENERIC`, which says so.
A profile is read from a stranger's files like any JSON: bounded, and every value checked.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tunesmith.abc_text import normal_key, normal_meter
from tunesmith.errors import TunesmithError
from tunesmith.untrusted import read_json

PROFILE_FILE = "corpus.json"
SHORTEST_SHARE = 0.01  # tunes shorter than this share of the corpus set the floor of bars and notes
# ABC 2.1's text fields: their values are words (a title, a place, a book), never music. N: (notes) is left
# out: editors cite the printed bars there ("bar 7 is printed as |dBAB c2 d/e/|", 0.7% of the folk corpus).
TEXT_FIELDS = frozenset("ABCDFGHORSTWZ")
MAX_VALUES = 2000  # meters, keys or rhythms a profile may list: a real corpus has dozens
MAX_TEXT = 200  # characters of one listed value (a meter, a key, a rhythm pattern)
LISTED_FIELDS = "LQRI"  # fields whose values (R: its words) a profile lists: unit, tempo, rhythm, instruction
MAX_LISTED = 5000  # values one listed field keeps: the folk corpus's R: values hold 2,230 words
_FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")
# Music in a text field: a bar line, a chord symbol, or a run of notes with lengths or accidentals.
CHORD_SYMBOL = _CHORD_SYMBOL = re.compile(r"\"[A-G][#b]?(?:m|min|maj|dim|aug|sus|add|M|\+|-|o|\d)*(?:/[A-G][#b]?)?\"")
_NOTE = r"[_^=]*[A-Ga-gz][,']*(?:[1-9]\d?)?/*(?:[1-9]\d?)?"
_NOTE_RUN = re.compile(rf"^(?:{_NOTE}){{3,}}$")  # three notes or more: "Bd3" is a book's volume
_STRIP = ".,;:!?()'\"-"  # what a word sheds at its ends before it is read as notes
# Symbols words seldom hold; three of them making up 15% of a value is a string of symbols, not words (one
# value of the 42,700 in the folk corpus's text fields: "_____ Mc.____ 42nd. Regt.").
SYMBOLS = "[]{}_^=*+<>~\\|@$%`"
_SYMBOL = re.compile("[" + re.escape(SYMBOLS) + "]")


@dataclass
class FieldRule:
    """What the corpus does with one header field."""

    tunes: int  # tunes that have it
    max_lines: int  # the most lines one tune gives it
    max_length: int  # its longest value, in characters


@dataclass
class CorpusProfile:
    tunes: int
    min_bars: int
    min_notes: int
    fields: dict[str, FieldRule]
    meters: dict[str, int]  # normal_meter → tunes ("" for a tune without M:)
    keys: dict[str, int]  # normal_key → tunes
    rhythms: dict[str, list[str]] = field(default_factory=dict)  # normal_meter → most common bar rhythms
    values: dict[str, list[str]] = field(default_factory=dict)  # L/Q/I → values as written, R → words; commonest first
    baseline: dict[str, Any] = field(default_factory=dict)  # valid share and shares by reason, per split
    generic: bool = False  # not measured on a corpus: the floor any tune must clear

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "fields": {k: asdict(v) for k, v in sorted(self.fields.items())}}

    def write(self, folder: Path) -> None:
        import json

        (Path(folder) / PROFILE_FILE).write_text(json.dumps(self.to_json(), indent=1))

    def baseline_share(self, split: str = "val") -> float | None:
        """The share of the corpus's real tunes (of ``split``, else all) that pass the validity check."""
        figures = self.baseline.get(split) or self.baseline.get("all") or {}
        share = figures.get("valid_share")
        return float(share) if isinstance(share, (int, float)) else None


GENERIC = CorpusProfile(
    tunes=0,
    min_bars=4,
    min_notes=12,
    fields={
        name: FieldRule(0, 2 if name in "TCNOSWZH" else 1, 100 if name in TEXT_FIELDS else 40)
        for name in "TCOARBDFGHNSZLMKQPIW"
    },
    meters={},
    keys={},
    generic=True,
)


def header_lines(abc: str) -> list[tuple[str, str]]:
    """``(field, value)`` for every header line up to and including ``K:`` (no ``X:``, no ``%`` comments)."""
    out = []
    for line in abc.replace("\r\n", "\n").split("\n"):
        match = _FIELD_LINE.match(line)
        if not match:
            if line.startswith("%") or not line.strip():
                continue
            break
        if match.group(1) != "X":
            out.append((match.group(1), match.group(2).strip()))
        if match.group(1) == "K":
            break
    return out


def music_in_text(value: str) -> str | None:
    """What makes a text field's value music rather than words, or None for words."""
    if "|" in value:
        return "a bar line"
    if _CHORD_SYMBOL.search(value):
        return "a chord symbol"
    symbols = len(_SYMBOL.findall(value))
    if symbols >= 3 and symbols >= 0.15 * len(value):
        return "a string of symbols"
    for word in value.split():
        if music_word(word):
            return f"notes ({word.strip(_STRIP)[:20]!r})"
    return None


def music_word(word: str) -> bool:
    """Is one word of a text value a run of notes ("CEG2", "d^cB")? The grammar asks it of every word as typed."""
    core = word.strip(_STRIP)
    return bool(_NOTE_RUN.match(core) and (re.search(r"[\d/^_=,]", core) or re.search(r"[a-g][A-G]", core)))


def quantile_floor(values: Sequence[int], share: float = SHORTEST_SHARE) -> int:
    """The value below which ``share`` of ``values`` fall (the lower nearest rank): what 99% reach."""
    if not values:
        return 0
    ordered = sorted(values)
    return int(ordered[min(len(ordered) - 1, math.floor(share * len(ordered)))])


def measure(
    texts: Sequence[str], sizes: Sequence[tuple[int, int]] | None = None, rhythms: dict[str, list[str]] | None = None
) -> CorpusProfile:
    """The profile of these tunes. ``sizes`` are their ``(tune_bars, notes)`` where the validity check has
    counted them already; otherwise each tune is checked here (without abc2midi) to count them."""
    if sizes is None:
        from tunesmith.metrics.validity import check

        sizes = [(r.tune_bars, r.notes) for r in (check(text, abc2midi=False) for text in texts)]
    bars, notes = [b for b, _ in sizes], [n for _, n in sizes]
    fields: dict[str, FieldRule] = {}
    meters: Counter[str] = Counter()
    keys: Counter[str] = Counter()
    listed: dict[str, Counter[str]] = {name: Counter() for name in LISTED_FIELDS}
    for text in texts:
        lines = header_lines(text)
        for name, value in lines:
            if name in listed and 0 < len(value) <= MAX_TEXT:
                listed[name].update(value.split(" ") if name == "R" else [value])
        per_tune = Counter(name for name, _ in lines)
        for name, count in per_tune.items():
            rule = fields.setdefault(name, FieldRule(0, 0, 0))
            rule.tunes += 1
            rule.max_lines = max(rule.max_lines, count)
        for name, value in lines:
            fields[name].max_length = max(fields[name].max_length, len(value))
        values = dict(reversed(lines))  # the first value of each field
        meters[_spelling(normal_meter, values.get("M"))] += 1
        keys[_spelling(normal_key, values.get("K"))] += 1
    return CorpusProfile(
        tunes=len(texts),
        min_bars=quantile_floor(bars),
        min_notes=quantile_floor(notes),
        fields=dict(sorted(fields.items())),
        meters=dict(meters.most_common()),
        keys=dict(keys.most_common()),
        rhythms=rhythms or {},
        values={k: [v for v, _ in c.most_common(MAX_LISTED) if v] for k, c in listed.items() if c},
    )


def _spelling(normal: Any, value: str | None) -> str:
    """One spelling of a header value: "" when absent, the raw text when unreadable (so it is still counted)."""
    if value is None:
        return ""
    try:
        return normal(value)
    except ValueError:
        return value[:MAX_TEXT]


def meter_of(abc: str) -> str:
    return _spelling(normal_meter, dict(reversed(header_lines(abc))).get("M"))


def key_of(abc: str) -> str:
    return _spelling(normal_key, dict(reversed(header_lines(abc))).get("K"))


# -- reading a profile back ----------------------------------------------------------------------


def _count(raw: Any, what: str, low: int = 0) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= 10**9:
        raise TunesmithError(f"{what} must be a whole number from {low} to 1000000000")
    return raw


def _counts(raw: Any, what: str) -> dict[str, int]:
    if not isinstance(raw, dict) or len(raw) > MAX_VALUES:
        raise TunesmithError(f"{what} must map at most {MAX_VALUES} values to counts")
    for k in raw:
        if not isinstance(k, str) or len(k) > MAX_TEXT:
            raise TunesmithError(f"{what} holds a value that is not short text")
    return {k: _count(v, f"{what}[{k!r}]") for k, v in raw.items()}


def from_json(raw: Any, source: str = PROFILE_FILE) -> CorpusProfile:
    """A profile from JSON, every value checked; one ``TunesmithError`` line naming ``source`` otherwise."""
    try:
        if not isinstance(raw, dict):
            raise TunesmithError("must hold a mapping")
        fields_raw = raw.get("fields")
        if not isinstance(fields_raw, dict) or len(fields_raw) > 52:
            raise TunesmithError("fields must map at most 52 field letters to rules")
        fields = {}
        for name, rule in fields_raw.items():
            if not (isinstance(name, str) and re.fullmatch(r"[A-Za-z]", name) and isinstance(rule, dict)):
                raise TunesmithError(f"field {name!r:.20} is not a letter with a rule")
            fields[name] = FieldRule(
                _count(rule.get("tunes"), f"fields.{name}.tunes"),
                _count(rule.get("max_lines"), f"fields.{name}.max_lines"),
                _count(rule.get("max_length"), f"fields.{name}.max_length"),
            )
        rhythms_raw = raw.get("rhythms", {})
        if not isinstance(rhythms_raw, dict) or len(rhythms_raw) > MAX_VALUES:
            raise TunesmithError("rhythms must map meters to lists of patterns")
        rhythms = {}
        for meter, patterns in rhythms_raw.items():
            ok = isinstance(patterns, list) and len(patterns) <= 1000
            if not (ok and isinstance(meter, str) and all(isinstance(p, str) and len(p) <= MAX_TEXT for p in patterns)):
                raise TunesmithError(f"rhythms[{meter!r:.20}] must be a list of at most 1000 short patterns")
            rhythms[meter] = list(patterns)
        values_raw = raw.get("values", {})  # absent in profiles written before it was measured
        if not isinstance(values_raw, dict) or not set(values_raw) <= set(LISTED_FIELDS):
            raise TunesmithError(f"values must map some of the fields {', '.join(LISTED_FIELDS)} to lists of values")
        values = {}
        for name, listed in values_raw.items():
            if not (isinstance(listed, list) and len(listed) <= MAX_LISTED):
                raise TunesmithError(f"values[{name!r}] must be a list of at most {MAX_LISTED} values")
            if not all(isinstance(v, str) and 0 < len(v) <= MAX_TEXT and "\n" not in v for v in listed):
                raise TunesmithError(f"values[{name!r}] must hold one-line values of 1 to {MAX_TEXT} characters")
            values[name] = list(listed)
        baseline = raw.get("baseline", {})
        if not isinstance(baseline, dict) or len(str(baseline)) > 100_000:
            raise TunesmithError("baseline must be a small mapping")
        return CorpusProfile(
            tunes=_count(raw.get("tunes"), "tunes"),
            min_bars=_count(raw.get("min_bars"), "min_bars"),
            min_notes=_count(raw.get("min_notes"), "min_notes"),
            fields=fields,
            meters=_counts(raw.get("meters"), "meters"),
            keys=_counts(raw.get("keys"), "keys"),
            rhythms=rhythms,
            values=values,
            baseline=baseline,
            generic=bool(raw.get("generic", False)),
        )
    except TunesmithError as exc:
        raise TunesmithError(f"{source}: not a corpus profile ({exc})") from None


def read(folder: Path) -> CorpusProfile | None:
    """The profile in ``folder`` (a prepared folder, a run or a bundle), or None where there is none."""
    path = Path(folder) / PROFILE_FILE
    if not path.exists():
        return None
    return from_json(read_json(path, max_bytes=4 * 1024 * 1024), str(path))


# -- holding one tune to the profile -------------------------------------------------------------


def problems(abc: str, bars: int, notes: int, body: Sequence[str], profile: CorpusProfile) -> list[tuple[str, str]]:
    """``(reason, words)`` for each way the tune is not music like the corpus's (reasons as in ``REASONS`` of
    :mod:`tunesmith.metrics.validity`). ``bars`` counts the bars checked against the meter (every bar line's
    bar in free meter); ``body`` is the music lines after ``K:``."""
    out = []
    if bars < profile.min_bars or notes < profile.min_notes:
        floor = "any tune needs" if profile.generic else "the corpus's shortest 1% have"
        size = f"{bars} bar{'s' * (bars != 1)} and {notes} note{'s' * (notes != 1)}"
        out.append(("short", f"{size}, where {floor} {profile.min_bars} bars and {profile.min_notes} notes"))
    if any("   " in line for line in body):
        out.append(("spaces", "a run of more than two spaces in the music"))
    lines = header_lines(abc)
    for name, count in Counter(name for name, _ in lines).items():
        rule = profile.fields.get(name)
        if rule is None:
            out.append(("fields", f"{name}: is a field the corpus never uses"))
        elif count > rule.max_lines:
            out.append(("fields", f"{count} {name}: lines, where the corpus has at most {rule.max_lines}"))
    for name, value in lines:
        rule = profile.fields.get(name)
        if rule is not None and len(value) > rule.max_length:
            out.append(("fields", f"{name}: is {len(value)} characters; the corpus's longest is {rule.max_length}"))
        if name in TEXT_FIELDS and (why := music_in_text(value)):
            out.append(("field_text", f"{name}: holds {why}, not words"))
    if not profile.generic:
        for what, field, value, known in (
            ("meter", "M", meter_of(abc), profile.meters),
            ("key", "K", key_of(abc), profile.keys),
        ):
            if value not in known:
                given = f"{what} {value!s:.20} is not among the corpus's {what}s"
                out.append((what, given if value else f"no {field}: field, where the corpus's tunes give one"))
    return out
