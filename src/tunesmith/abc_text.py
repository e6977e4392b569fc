"""ABC text on the ground floor: tunebooks split into tunes, tunes cleaned, header fields read.

Plain string work (the standard library, and :class:`TunesmithError` for files), shared by the corpus
reader, the renderer, the validity check and the grammar guard, so none of them has to import another.

- A tunebook is split on ``X:`` lines (:func:`split_tunebook`); a tune ends at the next ``X:`` or
  at a blank line, as the ABC standard says (:func:`clean_tune`).
- Header values follow ABC 2.1: a meter ``M:`` (:func:`parse_meter`), a unit length ``L:``
  (:func:`parse_unit`, :func:`default_unit`) and a key ``K:`` (:func:`key_fifths`, :func:`parse_key`).
  Each reader raises ValueError on what it cannot read, so its caller can say what was wrong.
- A user's file is read by :func:`read_bounded`: its size is taken before a byte is read, and no
  more than the stated limit is ever read (:data:`MAX_ABC_BYTES` for an ABC file), so a huge or
  special file costs nothing. The renderer and the corpus readers both read through it.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

# The largest ABC file read, by `tunesmith render` and by `tunesmith prepare`: the biggest tunebook
# in music21's corpus is 248 KB, and all 12,978 of its ABC tunes together are 4.4 MB.
MAX_ABC_BYTES = 64 * 1024 * 1024
# The most tunes (X: lines) one file may hold, counted before it is split: 64 MiB of bare "X:" lines
# would be 16 million tunes, and a few hundred bytes of bookkeeping each. music21's largest book has 720.
MAX_FILE_TUNES = 200_000

_FIELD = re.compile(r"^([A-Za-z]):[ \t]*")
_X_LINE = re.compile(r"^X:", re.MULTILINE)
_SPACES = re.compile(r" {2,}")
_K_LINE = re.compile(r"^[ \t]*K:.*$", re.MULTILINE)
_METER = re.compile(r"^\(?(\d+(?:\+\d+)*)\)?/(\d+)$")
_UNIT = re.compile(r"^(\d+)/(\d+)$")
_KEY = re.compile(
    r"^(?:none|HP|Hp|(?P<tonic>[A-G])(?P<acc>[#b]?)\s*(?P<mode>[A-Za-z]*))(?:\s|$)",
)
_MODES = {"": 0, "maj": 0, "ion": 0, "mix": -1, "dor": -2, "m": -3, "min": -3, "aeo": -3, "phr": -4, "loc": -5}
_MODES["lyd"] = 1
_MAJOR_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F": -1}
_SHARP_ORDER, _FLAT_ORDER = "FCGDAEB", "BEADGCF"


# --- files ---------------------------------------------------------------------------------------


def read_bounded(path: Path | str, max_bytes: int) -> bytes | None:
    """The bytes of the regular file ``path``, or None if it holds more than ``max_bytes``.

    The size comes from ``stat`` before any byte is read, and at most ``max_bytes + 1`` bytes are
    read (a file that grows meanwhile is caught too), so a huge file costs neither time nor memory.
    A missing or unreadable file, a folder, a FIFO or a device is a TunesmithError naming it."""
    from tunesmith.untrusted import TooLarge, read_bytes

    try:
        return read_bytes(path, max_bytes=max_bytes)
    except TooLarge:
        return None


def size_text(n: int) -> str:
    """``67108864`` → ``64 MiB``: a byte limit as people say it."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


# --- tunes ---------------------------------------------------------------------------------------


def count_tunes(text: str) -> int:
    """How many tunes :func:`split_tunebook` would return, counted at C speed without splitting."""
    return int(text.startswith("X:")) + text.count("\nX:")


def split_tunebook(text: str) -> list[str]:
    """Raw tunes of a tunebook: each starts at an ``X:`` line; text before the first is dropped."""
    starts = [m.start() for m in _X_LINE.finditer(text)]
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)], strict=False)]


def tune_music(tune: str) -> str | None:
    """The music of a tune: its lines after the first ``K:`` line up to the blank line that ends it, less
    ``%`` comments and field lines (``W:``, ``P:``, ``V:``…); None if it has no ``K:`` line. ``""`` is a
    tune with a header and no notes, which every tool would only turn into an error."""
    match = _K_LINE.search(tune)
    if match is None:
        return None
    music = []
    for line in tune[match.end() :].split("\n")[1:]:
        line = line.strip()
        if not line:  # a blank line ends the tune
            break
        if not line.startswith("%") and not _FIELD.match(line):
            music.append(line)
    return "\n".join(music)


def clean_tune(raw: str, drop_fields: frozenset[str], keep_comments: bool) -> tuple[str, str]:
    """Return ``(ref, cleaned text)``. The text has no ``X:`` line and ends with a newline.

    Full-line ``%`` comments go unless ``keep_comments``; fields in ``drop_fields`` go; ``T: Title``
    becomes ``T:Title``, trailing spaces go and a run of spaces in the music becomes one (ABC beams alike
    after one space or ten), so a model need not learn transcribers' spacing."""
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ref = lines[0][2:].strip()
    kept: list[str] = []
    for line in lines[1:]:
        line = line.rstrip()
        if not line:
            if kept:  # a blank line ends the tune
                break
            continue
        if line.startswith("%") and not keep_comments:
            continue
        match = _FIELD.match(line)
        if match:
            if match.group(1) in drop_fields or match.group(1) == "X":
                continue
            line = f"{match.group(1)}:{line[match.end() :]}"
        elif not line.startswith("%"):  # music: a run of spaces beams as one space does
            line = _SPACES.sub(" ", line)
        kept.append(line)
    return ref, "".join(line + "\n" for line in kept)


def header_fields(abc: str) -> dict[str, str]:
    """First value of each header field up to and including ``K:`` (title, meter, key…)."""
    fields: dict[str, str] = {}
    for line in abc.split("\n"):
        match = _FIELD.match(line)
        if not match:
            if fields.get("K") is not None:
                break
            continue
        fields.setdefault(match.group(1), line[match.end() :].strip())
        if match.group(1) == "K":
            break
    return fields


# --- header values -------------------------------------------------------------------------------


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


# --- header values as one name per value (a corpus's meters and keys are counted by these) ---------

_MODE_NAMES = {"": "", "maj": "", "ion": "", "m": "m", "min": "m", "aeo": "m", "mix": "mix", "dor": "dor"}
_MODE_NAMES.update({"phr": "phr", "lyd": "lyd", "loc": "loc"})


def normal_meter(value: str) -> str:
    """One spelling per meter: ``' 6/8 % jig'`` → ``6/8``, ``(2+3)/8`` → ``2+3/8``, ``NONE`` → ``none``;
    ``C`` and ``C|`` stay themselves (a musician reads them apart from 4/4 and 2/2). ValueError if unreadable."""
    parse_meter(value)  # refuses what no tool reads
    text = value.split("%", 1)[0].strip().replace(" ", "")
    if text.lower() == "none":
        return "none"
    return text.replace("(", "").replace(")", "")


def key_tonic(value: str) -> int | None:
    """The tonic's pitch class (C = 0) of a ``K:`` value: ``Ador`` 9, ``Bb`` 10, ``F#m`` 6; None for ``none``,
    the Highland pipes' ``HP`` and anything unreadable."""
    match = _KEY.match(value.split("%", 1)[0].strip())
    if not match or not match.group("tonic"):
        return None
    steps = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}[match.group("tonic")]
    return (steps + {"#": 1, "b": -1, "": 0}[match.group("acc")]) % 12


def normal_key(value: str) -> str:
    """One spelling per key: ``G``, ``Gmaj`` and ``G major`` → ``G``; ``Em``, ``Emin`` and ``E aeolian`` →
    ``Em``; ``A Dorian`` → ``Ador``; clef and other settings after the key are dropped. ValueError if unreadable."""
    key_fifths(value)  # refuses what no tool reads
    match = _KEY.match(value.split("%", 1)[0].strip())
    assert match is not None
    if not match.group("tonic"):
        return match.group(0).strip()
    mode = match.group("mode").lower()
    return match.group("tonic") + match.group("acc") + _MODE_NAMES[mode[:3] if len(mode) > 1 else mode]
