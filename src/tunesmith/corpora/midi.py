"""Read MIDI into clean symusic Scores: a user's files, searched, parsed and checked.

A user folder is searched recursively for ``.mid``/``.midi`` (any case). Each file is parsed with
symusic and cleaned in stated ways:

- drum tracks (``is_drum``) are dropped: the pitched representations have no use for them, and a
  file whose notes are all drums is skipped as ``drums_only``;
- tracks left with no notes are dropped (music21 writes an empty conductor track, for one);
- repeated key and time signatures (the same value again, as each track of a type-1 file restates
  them) are dropped, so a piece has one list of each;
- ticks stay as the file has them (``ticks_per_quarter`` kept); tempos are kept.

The limits, checked before the expensive work: a file larger than :data:`MAX_MIDI_BYTES` is
``too_big`` from its size alone, before a byte is read; a score with more than :data:`MAX_TRACKS`
tracks is ``too_many_tracks``; a piece with more than ``max_notes`` notes (:data:`MAX_NOTES`), or
longer than ``max_quarters`` quarter notes (:data:`MAX_QUARTERS`), is ``too_long``: symusic accepts
a delta time of 2**28 ticks and reports an end half a billion ticks away, which would be a piano
roll no machine can hold. Every file that is not kept is counted under one reason
(``SKIP_REASONS``); nothing in a bad file crashes the read. The MIDI primer of ``sample
--primer-midi`` reads through here too.

The built-in corpora (music21's scores converted once and cached) are read in
:mod:`tunesmith.corpora.midi_builtin`, through the same :func:`clean_score`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import symusic

from tunesmith.abc_text import read_bounded, size_text
from tunesmith.corpora.abc import ReadReport, find_files, source_name

MIDI_SUFFIXES = (".mid", ".midi")
MAX_MIDI_BYTES = 16 * 1024 * 1024  # real pieces are kilobytes: the 19-minute Grosse Fuge is 85 KB
MAX_TRACKS = 128  # a full orchestral score has 20-60 staves; General MIDI plays 16 channels
MAX_NOTES = 200_000  # a 20-minute symphony: some 30,000-60,000 (an estimate); the Grosse Fuge has 8,982
MAX_QUARTERS = 20_000  # about 2 h 45 min at 120 quarters a minute; longer is a corrupt delta time

# Reasons a file (or one piece of it) is skipped; the keys appear in reports and skipped.tsv.
SKIP_REASONS = {
    "not_midi": "not a MIDI file",
    "corrupt": "corrupt or truncated",
    "smpte": "timed in SMPTE frames, not ticks per quarter",
    "no_notes": "no notes",
    "drums_only": "drums only",
    "too_long": "over the length limit",
    "too_big": f"larger than {size_text(MAX_MIDI_BYTES)} (skipped unread)",
    "too_many_tracks": f"more than {MAX_TRACKS} tracks",
    "conversion": "music21 could not convert it",
    "format": "a format music21 cannot turn into notes",
    "not_four_voices": "not one soprano, alto, tenor and bass part",
    "pitch_range": "transposition would push notes outside MIDI pitches 0-127",
}


@dataclass
class Piece:
    """One piece of music, in ticks, and where it came from."""

    score: symusic.Score
    source: str  # path relative to the corpus root, or below music21/corpus
    ref: str  # "" for a whole file; a number for one score of several, or an augmentation label


def find_midi_files(root: Path) -> list[Path]:
    """``root`` itself if it is a file, else every ``.mid``/``.midi`` file below it (any case), sorted."""
    return find_files(root, MIDI_SUFFIXES)


# --- parsing and cleaning -------------------------------------------------------------------------


def _unwrap_riff(data: bytes) -> bytes:
    """The standard MIDI file inside a RIFF ``RMID`` wrapper (Windows' .rmi), or ``data`` unchanged."""
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        start = data.find(b"MThd", 12)
        if start >= 0:
            return data[start:]
    return data


def _deduped(events: Any, value: Callable[[Any], tuple]) -> list:
    """Copies of the events that do not restate the value before them, in time order."""
    kept, last = [], None
    for event in sorted(events, key=lambda e: e.time):
        if value(event) != last:
            kept.append(event.copy())
            last = value(event)
    return kept


def clean_score(
    data: bytes, *, max_notes: int = MAX_NOTES, max_quarters: int = MAX_QUARTERS
) -> tuple[symusic.Score | None, str]:
    """Parse MIDI bytes into a cleaned Score, or ``(None, reason)``; never raises on bad bytes."""
    data = _unwrap_riff(data)
    if data[:4] != b"MThd":
        return None, "not_midi"
    try:
        score = symusic.Score.from_midi(data)
    except Exception as exc:  # symusic raises RuntimeError (MiniMidi) on every malformed chunk or event
        return None, "smpte" if "Division type" in str(exc) else "corrupt"
    if score.ticks_per_quarter <= 0:
        return None, "corrupt"
    if len(score.tracks) > MAX_TRACKS:
        return None, "too_many_tracks"
    if score.note_num() == 0:
        return None, "no_notes"
    tracks = [t for t in score.tracks if not t.is_drum and t.note_num() > 0]
    if not tracks:
        return None, "drums_only"
    if len(tracks) != len(score.tracks):
        score.tracks = tracks
    if score.note_num() > max_notes or score.end() > max_quarters * score.ticks_per_quarter:
        return None, "too_long"
    score.key_signatures = _deduped(score.key_signatures, lambda k: (k.key, k.tonality))
    score.time_signatures = _deduped(score.time_signatures, lambda t: (t.numerator, t.denominator))
    return score, ""


def read_midi_files(
    files: Iterable[Path],
    *,
    base: Path | None = None,
    max_notes: int = MAX_NOTES,
    max_pieces: int = 0,
    max_quarters: int = MAX_QUARTERS,
) -> tuple[list[Piece], ReadReport]:
    """Read and clean every MIDI file in ``files``; keep at most ``max_pieces`` (0 = all)."""
    report = ReadReport()
    pieces: list[Piece] = []
    for path in files:
        if max_pieces and len(pieces) >= max_pieces:
            break
        report.files += 1
        source = source_name(path, base)
        data = read_bounded(path, MAX_MIDI_BYTES)  # a TunesmithError if it cannot be read at all
        report.read += 1
        if data is None:
            report.skip(source, "", "too_big")
            continue
        score, reason = clean_score(data, max_notes=max_notes, max_quarters=max_quarters)
        if score is None:
            report.skip(source, "", reason)
        else:
            pieces.append(Piece(score, source, ""))
    return pieces, report
