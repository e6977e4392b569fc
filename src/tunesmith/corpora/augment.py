"""Augmentation and key handling on symusic Scores: pure functions, each returning a new Score.

Seed 000's piano roll failed partly because every piece was in a different key. Two answers live
here: transposition augmentation (every piece in every key within ±N semitones) and normalisation
to C major / A minor with a Krumhansl–Schmuckler key estimate.

Decisions, stated once:

- Drum tracks are never transposed (their pitches name instruments, not notes).
- A transposition that would push any pitched note outside MIDI 0-127 is refused as a whole
  (``transpose`` raises ``ValueError``; ``augmented`` leaves that version out and counts it), rather
  than dropping notes: a bass line with holes in it is a worse training example than none.
- Key signatures move with the notes, so a transposed piece still states its (new) key.
- Tempo stretch scales the tempo events and leaves the ticks alone: onsets and durations stay on
  the same beat grid the token and piano-roll representations quantise to, and only the length in
  seconds changes (by ``1 / factor``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import symusic

from tunesmith.corpora.abc import ReadReport
from tunesmith.corpora.midi import Piece

# Key profiles (major, minor), tonic first. Krumhansl & Kessler (1982) are the probe-tone ratings
# Krumhansl–Schmuckler was published with; Aarden (2003) counted the Essen folksongs (rounded here),
# and music21 uses them by default. On the 349 chorales the estimated tonic equals the final bass note for 84%
# with Aarden–Essen and 74% with Krumhansl–Kessler (which often names the dominant), hence the default.
PROFILES = {
    "aarden": (
        np.array([17.77, 0.15, 14.93, 0.16, 19.80, 11.36, 0.29, 22.06, 0.15, 8.15, 0.23, 4.95]),
        np.array([18.26, 0.74, 14.05, 16.86, 0.70, 14.44, 0.70, 18.62, 4.57, 1.93, 7.38, 1.76]),
    ),
    "krumhansl": (
        np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
        np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
    ),
}  # fmt: skip
DEFAULT_QPM = 120.0  # what a MIDI file without a tempo event plays at


def _pitched(score: symusic.Score) -> list:
    return [t for t in score.tracks if not t.is_drum]


def pitch_range(score: symusic.Score) -> tuple[int, int] | None:
    """Lowest and highest pitched (non-drum) note, or None if there are none."""
    pitches = [t.notes.numpy()["pitch"].astype(np.int16) for t in _pitched(score) if t.note_num()]
    if not pitches:
        return None
    every = np.concatenate(pitches)
    return int(every.min()), int(every.max())


def _shifted_key(key: int, semitones: int) -> int:
    """Sharps (+) or flats (-) after a transposition: each semitone is 7 steps round the circle of
    fifths; the result is kept in -6..+5 (so F# major comes out as G-flat)."""
    return (key + 7 * semitones + 6) % 12 - 6


def transpose(score: symusic.Score, semitones: int) -> symusic.Score:
    """A copy with every pitched note and key signature moved by ``semitones``; drums untouched.

    Raises ``ValueError`` if a note would leave MIDI 0-127 (the whole transposition is refused).
    """
    out = score.copy()
    if semitones == 0:
        return out
    span = pitch_range(score)
    if span is not None and (span[0] + semitones < 0 or span[1] + semitones > 127):
        raise ValueError(f"transposing pitches {span[0]}-{span[1]} by {semitones:+d} leaves MIDI 0-127")
    for track in _pitched(out):
        track.shift_pitch(semitones, inplace=True)
    for key in out.key_signatures:
        key.key = _shifted_key(key.key, semitones)
    return out


def stretch_tempo(score: symusic.Score, factor: float) -> symusic.Score:
    """A copy played ``factor`` times as fast: every tempo × factor, ticks unchanged.

    A score with no tempo event gets one at tick 0 (MIDI's default 120 quarters a minute × factor).
    """
    if not factor > 0:
        raise ValueError(f"tempo factor must be positive, got {factor}")
    out = score.copy()
    if len(out.tempos) == 0:
        out.tempos.append(symusic.Tempo(0, qpm=DEFAULT_QPM))
    for tempo in out.tempos:
        tempo.qpm = tempo.qpm * factor
    return out


def pitch_class_histogram(score: symusic.Score) -> np.ndarray:
    """Total duration (in ticks) of each pitch class over the pitched tracks."""
    hist = np.zeros(12)
    for track in _pitched(score):
        if track.note_num():
            notes = track.notes.numpy()
            pcs = notes["pitch"].astype(np.int64) % 12
            np.add.at(hist, pcs, np.maximum(notes["duration"].astype(np.float64), 1.0))
    return hist


def estimate_key(score: symusic.Score, profile: str = "aarden") -> tuple[int, str]:
    """``(tonic pitch class 0-11, "major" | "minor")`` by Krumhansl–Schmuckler.

    The duration-weighted pitch-class histogram is correlated (Pearson) with the ``profile``
    (``PROFILES``) rotated to each of the 24 keys; the best correlation wins (ties go to the lower
    tonic, major first). Raises ``ValueError`` on a score with no pitched notes.
    """
    hist = pitch_class_histogram(score)
    if not hist.any():
        raise ValueError("no pitched notes to estimate a key from")
    best = (-2.0, 0, "major")
    major, minor = PROFILES[profile]
    for mode, profile_ in (("major", major), ("minor", minor)):
        for tonic in range(12):
            r = float(np.corrcoef(hist, np.roll(profile_, tonic))[0, 1]) if hist.std() > 0 else 0.0
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2]


def normalize_key(score: symusic.Score) -> tuple[symusic.Score, int]:
    """The score moved to C major or A minor by the smallest shift (-6..+5), and that shift.

    If the smallest shift would leave MIDI 0-127, the shift an octave the other way is used.
    """
    tonic, mode = estimate_key(score)
    target = 0 if mode == "major" else 9
    shift = (target - tonic + 6) % 12 - 6
    try:
        return transpose(score, shift), shift
    except ValueError:
        other = shift + 12 if shift < 0 else shift - 12
        return transpose(score, other), other


def _label(semitones: int, factor: float) -> str:
    parts = [f"{semitones:+d}"] if semitones else []
    if factor != 1.0:
        parts.append(f"x{factor:g}")
    return " ".join(parts)


def augmented(
    pieces: Iterable[Piece],
    *,
    transpose_range: int = 0,
    tempo_factors: tuple[float, ...] = (),
    report: ReadReport | None = None,
) -> list[Piece]:
    """Every piece in every transposition -N..+N and at its own tempo plus each ``tempo_factors``.

    The original comes first for each piece, with its ``ref`` unchanged; the others add a label such
    as ``+3``, ``-2 x1.1`` or ``x0.9``. A transposition that leaves MIDI 0-127 is left out (with all
    its tempo versions) and, when ``report`` is given, counted there as ``pitch_range``.
    """
    shifts = [0] + [s for s in range(-transpose_range, transpose_range + 1) if s != 0]
    factors = list(dict.fromkeys((1.0, *tempo_factors)))
    out: list[Piece] = []
    for piece in pieces:
        for shift in shifts:
            try:
                moved = transpose(piece.score, shift) if shift else piece.score
            except ValueError:
                if report is not None:
                    report.skip(piece.source, f"{piece.ref} {shift:+d}".strip(), "pitch_range")
                continue
            for factor in factors:
                score = stretch_tempo(moved, factor) if factor != 1.0 else moved
                out.append(Piece(score, piece.source, f"{piece.ref} {_label(shift, factor)}".strip()))
    return out
