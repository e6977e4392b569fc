"""Asking for a kind of tune: ``tunesmith sample --meter 6/8 --key G --rhythm jig`` as a header primer.

The three options become the start of every tune's header, in the order the corpus's tunes write them
(``R:``, ``M:``, ``L:``, ``K:``), each held to the model's corpus profile
(:mod:`tunesmith.metrics.abc_corpus`) so the model is asked only for what it has seen:

- **only the header's beginning** when no key is asked: ``--rhythm jig`` gives ``R:jig``, ``--meter 6/8``
  gives ``M:6/8``, both give ``R:jig`` and ``M:6/8``; the model writes the rest of the header;
- **the whole header** once a key is asked, since ``K:`` ends it: ``R:`` (if asked), ``M:`` (asked, else the
  rhythm's usual meter where the corpus has it, else the corpus's commonest), ``L:`` (the corpus's commonest
  unit that fits the meter, when most of its tunes give one) and ``K:``.

Spellings are the corpus's: a key is matched through :func:`~tunesmith.abc_text.normal_key` ("D dorian" and
"Ddor" are one key), a meter through :func:`~tunesmith.abc_text.normal_meter` (4/4 stands in for C and 2/2
for C| where the corpus writes only the other), a rhythm through its words (``slip jig`` is written
``slipjig`` where the corpus writes that more often). An unknown value is one ``TunesmithError`` that lists
the known ones, commonest first, with near misses first. A model without a profile (trained before
profiles were kept) is held to what ABC reads instead.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from functools import cache

from tunesmith.abc_text import normal_key, normal_meter, parse_unit
from tunesmith.constraints.abc_header import HORNPIPE_METERS
from tunesmith.constraints.abc_words import bar_ticks, key_words, meter_words
from tunesmith.errors import TunesmithError
from tunesmith.metrics.abc_corpus import CorpusProfile

SHOWN = 20  # known values an error lists before "and N more"
SAME_METER = {"4/4": "C", "C": "4/4", "2/2": "C|", "C|": "2/2"}  # one bar, two spellings
# Listed when the model has no profile (any key or meter ABC reads is taken then).
COMMON_KEYS = ["G", "D", "A", "E", "C", "F", "Bb", "Eb", "Em", "Am", "Bm", "Dm", "Gm", "Ador", "Edor", "Amix", "Dmix"]
COMMON_METERS = ["6/8", "2/4", "3/4", "4/4", "C", "C|", "2/2", "9/8", "12/8", "3/8", "3/2"]
_METER = re.compile(r"\d+/\d+")
TUNE_BOOK_FIELDS = "RMLQK"  # rhythm, meter, unit, tempo, key: what a player needs from a tune book's header


def tune_book(profile: CorpusProfile | None) -> CorpusProfile | None:
    """``profile`` with a player's header fields only, for the grammar when a kind of tune is asked for: the
    corpus's notes, sources and archive numbers (``N:``, ``O:``, ``S:``, ``Z:``…) belong to its own tunes, and a
    new reel written under an Essen song's field notes reads as nonsense to a musician. Titles go too: after an
    ``R:`` line the model writes the corpus's second title lines ("(Can be used as a…"), and an untitled tune
    reads better than a made-up name in broken words."""
    if profile is None:
        return None
    fields = {k: v for k, v in profile.fields.items() if k in TUNE_BOOK_FIELDS}
    return dataclasses.replace(profile, fields=fields)


@dataclass(frozen=True)
class Rhythm:
    """A kind of tune as musicians name it: its spellings in ``R:`` lines and its usual meters, likeliest first."""

    name: str
    spellings: tuple[str, ...]
    meters: tuple[str, ...] = ()  # () : no one meter (an air, a set dance)
    also: tuple[str, ...] = ()  # names in other tongues (the Essen songs' German), written only for want of these


RHYTHMS = (
    Rhythm("jig", ("jig",), ("6/8",)),
    Rhythm("reel", ("reel",), ("C|", "4/4", "2/2", "C", "2/4")),
    Rhythm("hornpipe", ("hornpipe",), ("4/4", "C", "2/4")),  # HORNPIPE_METERS: abc2midi swings it
    Rhythm("polka", ("polka",), ("2/4",)),
    Rhythm("waltz", ("waltz",), ("3/4",), also=("walzer",)),
    Rhythm("slip jig", ("slip jig", "slipjig", "slip-jig"), ("9/8",)),
    Rhythm("march", ("march",), ("2/4", "6/8", "4/4", "C"), also=("marsch",)),
    Rhythm("double jig", ("double jig",), ("6/8",)),
    Rhythm("single jig", ("single jig",), ("6/8", "12/8")),
    Rhythm("slide", ("slide",), ("12/8",)),
    Rhythm("strathspey", ("strathspey",), ("C", "4/4")),
    Rhythm("highland fling", ("highland fling",), ("C|", "4/4", "C")),
    Rhythm("fling", ("fling",), ("C|", "4/4", "C")),
    Rhythm("clog", ("clog",), ("C|", "4/4", "C")),
    Rhythm("barndance", ("barndance", "barn dance"), ("4/4", "C")),
    Rhythm("schottische", ("schottische",), ("4/4", "C", "2/4")),
    Rhythm("mazurka", ("mazurka",), ("3/4",)),
    Rhythm("minuet", ("minuet",), ("3/4",), also=("menuet",)),
    Rhythm("gavotte", ("gavotte",), ("4/4", "C", "2/2")),
    Rhythm("set dance", ("set dance",)),
    Rhythm("air", ("air",)),
)


def _measured(profile: CorpusProfile | None) -> bool:
    """A profile measured on the model's corpus (None, or the generic floor, for a model trained before)."""
    return profile is not None and not profile.generic


@cache
def _abc_keys() -> frozenset[str]:
    """Key spellings the grammar may write (abc2midi reads them): a corpus key outside them cannot be asked."""
    return frozenset(key_words(wide=True))


def _squash(text: str) -> str:
    return re.sub(r"[\s_-]+", "", text.lower())


def _unknown(
    option: str, value: str, what: str, known: list[str], near_to: list[str] | None = None, probe: str = ""
) -> TunesmithError:
    """One line: the value refused, near misses (to ``probe``, its normal spelling, where it has one) first,
    then the known values, commonest first."""
    near = difflib.get_close_matches(probe or value, list(dict.fromkeys(near_to or known)), n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(near)}?)" if near else ""
    shown = ", ".join(known[:SHOWN]) + (f" and {len(known) - SHOWN} more" if len(known) > SHOWN else "")
    return TunesmithError(f"{option} {value!r} is not {what}{hint}; known: {shown or 'none'}")


# -- the three values ------------------------------------------------------------------------------------


def known_meters(profile: CorpusProfile | None) -> list[str]:
    """Meters that may be asked for, commonest first: the corpus's that ABC reads, else the common ones."""
    if not _measured(profile):
        return COMMON_METERS
    readable = set(meter_words())
    return [m for m in profile.meters if m in readable or _METER.fullmatch(m) and _whole_bars(m)]


def _whole_bars(meter: str) -> bool:
    """A meter whose bars have a length (a profile is read from a stranger's files: "1/0" is refused)."""
    try:
        return bar_ticks(meter, None) is not None
    except (ValueError, ZeroDivisionError):
        return False


def meter_spelling(value: str, profile: CorpusProfile | None) -> str:
    """The corpus's spelling of the meter ``value`` ("C|" for a 2/2 in a corpus that writes only C|)."""
    known = known_meters(profile)
    try:
        meter = normal_meter(value)
    except ValueError:
        meter = value
    if not _measured(profile):
        if meter in meter_words():  # what the grammar takes without a profile
            return meter
    elif meter in known:
        return meter
    elif SAME_METER.get(meter) in known:
        return SAME_METER[meter]
    where = "a meter ABC reads" if not _measured(profile) else "a meter of this model's corpus"
    raise _unknown("--meter", value, where, known, probe=meter)


def known_keys(profile: CorpusProfile | None) -> list[str]:
    """Keys that may be asked for, commonest first (normal spellings)."""
    if not _measured(profile):
        return COMMON_KEYS
    return [k for k in profile.keys if k in _abc_keys()]


def key_spelling(value: str, profile: CorpusProfile | None) -> str:
    """The corpus's spelling of the key ``value``: "G", "Gmaj" and "G major" are G; "D dorian" is Ddor."""
    known = known_keys(profile)
    key = None
    for typed in (value, value[:1].upper() + value[1:]):  # "em" is what "Em" means: tonics are capitals in ABC
        try:
            key = normal_key(typed)
            break
        except ValueError:
            continue
    if key is not None and not _measured(profile):
        if key in _abc_keys():
            return key
    elif key in known:
        return key
    where = "a key ABC reads" if not _measured(profile) else "a key of this model's corpus"
    raise _unknown("--key", value, where, known, probe=key or "")


def _rhythm_words(profile: CorpusProfile | None) -> list[str] | None:
    """The words of the corpus's ``R:`` values, commonest first (None: no profile to hold a rhythm to)."""
    if not _measured(profile):
        return None
    return profile.values.get("R", [])


def _written(spelling: str, words: list[str]) -> tuple[int, str] | None:
    """How the corpus writes ``spelling`` (its commonest capitalisation of each word) and the rank of its
    rarest word; None when one of its words is not the corpus's."""
    rank, out = 0, []
    for word in spelling.split():
        found = next(((i, w) for i, w in enumerate(words) if w.lower() == word.lower()), None)
        if found is None:
            return None
        rank, out = max(rank, found[0]), [*out, found[1]]
    return rank, " ".join(out)


def _written_rhythm(rhythm: Rhythm, words: list[str], longest: int, typed: str = "") -> tuple[int, str] | None:
    """The commonest way the corpus writes ``rhythm`` (in another tongue only where it has none of its
    spellings, or where that was ``typed``) and the rank of that spelling's rarest word; None if it never does."""
    other = _squash(typed) in {_squash(a) for a in rhythm.also}
    for spellings in (rhythm.also, rhythm.spellings) if other else (rhythm.spellings, rhythm.also):
        found = [w for s in spellings if (w := _written(s, words)) is not None and len(w[1]) <= longest]
        if found:
            return min(found)
    return None


def known_rhythms(profile: CorpusProfile | None) -> list[str]:
    """The musicians' names of the rhythms the corpus's ``R:`` lines use, commonest first."""
    words = _rhythm_words(profile)
    if words is None:
        return [r.name for r in RHYTHMS]
    longest = _longest_rhythm(profile)
    ranked = [(w[0], r.name) for r in RHYTHMS if (w := _written_rhythm(r, words, longest)) is not None]
    return [name for _, name in sorted(ranked)]


def _longest_rhythm(profile: CorpusProfile | None) -> int:
    rule = profile.fields.get("R") if profile is not None else None
    return rule.max_length if rule is not None else 1000


def rhythm_spelling(value: str, profile: CorpusProfile | None) -> tuple[str, Rhythm | None]:
    """The ``R:`` value for ``value`` as the corpus writes it, and the musicians' rhythm it names (None for
    other words of the corpus's ``R:`` values, such as the Essen songs' "Lied")."""
    typed = " ".join(value.split())
    if not typed:
        raise TunesmithError("--rhythm is empty: give a rhythm such as jig or reel")
    names = lambda r: {_squash(s) for s in (r.name, *r.spellings, *r.also)}  # noqa: E731
    rhythm = next((r for r in RHYTHMS if _squash(typed) in names(r)), None)
    words = _rhythm_words(profile)
    if words is None:
        if rhythm is not None:
            return rhythm.spellings[0], rhythm
        raise _unknown(
            "--rhythm", value, "a rhythm tunesmith knows (the model has no corpus profile)", known_rhythms(profile)
        )
    if not words:
        raise TunesmithError(f"--rhythm {value!r}: this model's corpus has no R: (rhythm) lines to ask for")
    longest = _longest_rhythm(profile)
    if rhythm is not None and (found := _written_rhythm(rhythm, words, longest, typed)) is not None:
        return found[1], rhythm
    if rhythm is None and (found := _written(typed, words)) is not None and len(found[1]) <= longest:
        return found[1], None
    known = known_rhythms(profile)
    others = [w for w in words[:200] if w.isalpha() and not any(w.lower() in r.split() for r in known)][:3]
    more = f"; its R: lines also use words such as {', '.join(others)}" if others else ""
    error = _unknown("--rhythm", value, "a rhythm of this model's corpus", known, near_to=known + words[:200])
    raise TunesmithError(f"{error}{more}")


# -- the primer ------------------------------------------------------------------------------------------


def _hornpipe(spelling: str) -> bool:
    return spelling.lower().startswith("hornpipe")


def _chosen_meter(rhythm: Rhythm | None, spelling: str, profile: CorpusProfile | None) -> str:
    """The meter a header with a key but no ``--meter`` gets: the rhythm's usual one that the corpus uses,
    else the corpus's commonest (one a hornpipe may take, for a hornpipe)."""
    known = known_meters(profile)
    allowed = [m for m in known if not _hornpipe(spelling) or m in HORNPIPE_METERS]
    for meter in rhythm.meters if rhythm is not None else ():
        if meter in allowed:
            return meter
    if not allowed:
        raise TunesmithError(f"--rhythm {spelling!r} needs a meter of 2/4, 4/4 or C, which this model's corpus lacks")
    return allowed[0]


def _unit(meter: str, profile: CorpusProfile | None) -> str | None:
    """The ``L:`` a whole header gets: the corpus's commonest unit that makes whole bars of ``meter``, when most
    of its tunes give one (1/8 without a profile); None to leave the unit to the meter's default."""
    if not _measured(profile):
        units = ["1/8"]
    else:
        rule = profile.fields.get("L")
        if rule is None or 2 * rule.tunes <= profile.tunes:
            return None
        units = profile.values.get("L") or ["1/8"]
    for unit in units:
        try:
            if parse_unit(unit).numerator == 1 and bar_ticks(meter, unit) is not None:
                return unit
        except (ValueError, ZeroDivisionError):  # a stranger's profile may list "1/0"
            continue
    return None


def kind_primer(profile: CorpusProfile | None, meter: str = "", key: str = "", rhythm: str = "") -> str:
    """The header primer for ``--meter``, ``--key`` and ``--rhythm`` ("" each: not asked), checked against the
    corpus ``profile``; see the module docstring for what each combination writes."""
    lines = []
    spelling, kind = rhythm_spelling(rhythm, profile) if rhythm else ("", None)
    if spelling:
        lines.append(f"R:{spelling}")
    chosen = meter_spelling(meter, profile) if meter else ""
    if chosen and _hornpipe(spelling) and chosen not in HORNPIPE_METERS:
        raise TunesmithError(f"--meter {meter} does not suit a hornpipe: abc2midi plays one only in 2/4, 4/4 or C")
    written_key = key_spelling(key, profile) if key else ""
    if written_key and not chosen:
        chosen = _chosen_meter(kind, spelling, profile)
    if chosen:
        lines.append(f"M:{chosen}")
    if written_key:
        unit = _unit(chosen, profile)
        lines += [f"L:{unit}"] if unit else []
        lines.append(f"K:{written_key}")
    return "".join(line + "\n" for line in lines)
