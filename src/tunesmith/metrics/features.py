"""Musical statistics of one piece, computed over its notes: what a listener can hear in numbers.

Every feature takes a :class:`~tunesmith.representations.midi_tokens.Notes` table (times in
quarter notes; :func:`score_notes` makes one from a symusic Score), ignores drums (``score_notes``
drops them) and returns NaN for a piece it is not defined for (no notes, or too few). The
definitions follow MusPy's (Dong et al., "MusPy: a toolkit for symbolic music generation",
ISMIR 2020, ``muspy.metrics``) where MusPy has the feature, with MusPy's default resolution of
24 time steps per quarter note ("beat"); each docstring says where we differ. MusPy 0.5 itself
installs and runs with numpy 2.4, but it would bring seven more dependencies for a handful of
one-line formulas and lacks the interval, density and inter-onset features, so they are written
here over symusic scores instead (and checked against MusPy on real pieces).

``FEATURES`` lists them in report order with a short label; :func:`features` computes all of them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tunesmith.representations.midi_tokens import Notes, score_notes

RESOLUTION = 24  # time steps per quarter note, MusPy's default
_EPS = 1e-9  # float times in quarters: 0.9999999 is beat 1

# name → (label, unit) in the order reports show them
FEATURES: dict[str, tuple[str, str]] = {
    "pitch_range": ("pitch range", "semitones"),
    "n_pitches_used": ("pitches used", "count"),
    "n_pitch_classes_used": ("pitch classes used", "count"),
    "pitch_class_entropy": ("pitch-class entropy", "bits"),
    "scale_consistency": ("scale consistency", "share"),
    "mean_interval": ("mean interval", "semitones"),
    "note_density": ("note density", "notes per quarter"),
    "ioi_mean": ("inter-onset interval", "quarters"),
    "polyphony_rate": ("polyphony rate", "share"),
    "empty_beat_rate": ("empty-beat rate", "share"),
}
POLYPHONIC_ONLY = frozenset({"polyphony_rate"})  # shown for polyphonic corpora only

_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)
_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], dtype=bool)  # natural minor, as MusPy


def pitch_range(notes: Notes) -> float:
    """Highest minus lowest pitch, in semitones (MusPy ``pitch_range``; MusPy says 0 for no notes, we NaN)."""
    return float(notes.pitch.max() - notes.pitch.min()) if len(notes) else math.nan


def n_pitches_used(notes: Notes) -> float:
    """Distinct MIDI pitches (MusPy ``n_pitches_used``)."""
    return float(np.unique(notes.pitch).size) if len(notes) else math.nan


def n_pitch_classes_used(notes: Notes) -> float:
    """Distinct pitch classes, pitch mod 12 (MusPy ``n_pitch_classes_used``)."""
    return float(np.unique(notes.pitch % 12).size) if len(notes) else math.nan


def pitch_class_entropy(notes: Notes) -> float:
    """Shannon entropy in bits of the pitch-class histogram, each note counted once
    (MusPy ``pitch_class_entropy``): 0 for one pitch class, log2(12) = 3.585 for all twelve equally."""
    if not len(notes):
        return math.nan
    p = np.bincount(notes.pitch % 12, minlength=12) / len(notes)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def scale_consistency(notes: Notes) -> float:
    """The largest share of notes inside one major or natural-minor scale over the 24 keys
    (MusPy ``scale_consistency``): 1.0 when every note fits one key."""
    if not len(notes):
        return math.nan
    counts = np.bincount(notes.pitch % 12, minlength=12)
    best = max(int(counts[np.roll(scale, root)].sum()) for scale in (_MAJOR, _MINOR) for root in range(12))
    return best / len(notes)


def top_line(notes: Notes) -> np.ndarray:
    """The pitches of the upper voice in time order (the "skyline"): a note belongs to it when no
    higher pitch is sounding at its onset (a held note counts; of a chord, the top note). For a
    monophonic piece that is every note, in order."""
    if not len(notes):
        return np.zeros(0, dtype=np.int64)
    start, end = _grid(notes)
    end = np.maximum(end, start + 1)  # a note shorter than a step still sounds at its onset
    pitch = notes.pitch.astype(np.int64)
    onsets = np.unique(start)
    top = np.full(onsets.size, -1, dtype=np.int64)
    for p in np.unique(pitch):
        sel = pitch == p
        sounding = np.searchsorted(np.sort(start[sel]), onsets, "right") > np.searchsorted(
            np.sort(end[sel]), onsets, "right"
        )
        top = np.where(sounding & (p > top), p, top)
    on_top = pitch == top[np.searchsorted(onsets, start)]
    line = np.unique(np.stack([start[on_top], pitch[on_top]], axis=1), axis=0)  # sorted by onset
    return line[:, 1]


def mean_interval(notes: Notes) -> float:
    """Mean absolute interval in semitones between successive notes of the top line (:func:`top_line`).
    Not in MusPy; for a monophonic tune it is the mean melodic step. NaN below two top-line notes."""
    line = top_line(notes)
    return float(np.abs(np.diff(line)).mean()) if line.size > 1 else math.nan


def _onsets(notes: Notes) -> np.ndarray:
    """Distinct onset times in quarters, rounded to the 1/24-quarter grid."""
    return np.unique(np.round(notes.onset * RESOLUTION)) / RESOLUTION


def note_density(notes: Notes) -> float:
    """Notes per quarter note between the first onset and the last note's end (chord notes count
    one each). Quarters, not seconds, so tempo markings do not change it. Not in MusPy."""
    if not len(notes):
        return math.nan
    span = float((notes.onset + notes.duration).max() - notes.onset.min())
    return len(notes) / span if span > 0 else math.nan


def ioi_mean(notes: Notes) -> float:
    """Mean inter-onset interval: quarters between successive distinct onset times (a chord is one
    onset). Not in MusPy. NaN below two onsets."""
    onsets = _onsets(notes)
    return float(np.diff(onsets).mean()) if onsets.size > 1 else math.nan


def _grid(notes: Notes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end step (exclusive) of every note on the 24-per-quarter grid, times from 0."""
    start = np.floor(notes.onset * RESOLUTION + _EPS).astype(np.int64)
    end = np.floor((notes.onset + notes.duration) * RESOLUTION + _EPS).astype(np.int64)
    return start, np.maximum(end, start)


def polyphony_rate(notes: Notes) -> float:
    """Share of time steps (1/24 quarter, from time 0 to the last note's end) where two or more
    distinct pitches sound: MusPy ``polyphony_rate(music, threshold=1)``. (MusPy's default
    threshold of 2 counts three or more, against its own description; we count two.)

    Computed as a sweep over note boundaries rather than MusPy's dense piano roll, so a long
    piece costs no memory; overlapping notes of one pitch count once, as in the roll."""
    if not len(notes):
        return math.nan
    start, end = _grid(notes)
    length = int(end.max())
    if length < 1:
        return math.nan
    keep = end > start
    start, end, pitch = start[keep], end[keep], notes.pitch[keep].astype(np.int64)
    # merge overlapping notes of one pitch: offset each pitch into its own stretch of the time axis
    big = length + 1
    order = np.lexsort((start, pitch))
    s, e, pitch = start[order] + pitch[order] * big, end[order] + pitch[order] * big, pitch[order]
    reach = np.maximum.accumulate(e)
    head = np.ones(s.size, dtype=bool)
    head[1:] = s[1:] > reach[:-1]
    heads = np.flatnonzero(head)
    block_start = s[heads] - pitch[heads] * big
    block_end = np.maximum.reduceat(e, heads) - pitch[heads] * big
    times = np.concatenate([block_start, block_end])
    delta = np.concatenate([np.ones(heads.size, np.int64), -np.ones(heads.size, np.int64)])
    order = np.argsort(times, kind="stable")
    times, depth = times[order], np.cumsum(delta[order])
    poly = np.diff(times)[depth[:-1] > 1].sum()
    return float(poly / length)


def empty_beat_rate(notes: Notes) -> float:
    """Share of beats (quarter notes, from 0 to the beat holding the last note's end) in which no
    note sounds: MusPy ``empty_beat_rate``, including its counting of a note from the beat of its
    onset to the beat of its end, both inclusive (a note ending on a beat boundary marks that beat)."""
    if not len(notes):
        return math.nan
    start = np.floor(notes.onset + _EPS).astype(np.int64)
    end = np.floor(notes.onset + notes.duration + _EPS).astype(np.int64)
    n_beats = int(end.max()) + 1
    if float((notes.onset + notes.duration).max()) * RESOLUTION < 1:
        return math.nan
    cover = np.zeros(n_beats + 1, dtype=np.int64)
    np.add.at(cover, start, 1)
    np.add.at(cover, end + 1, -1)
    return float(np.count_nonzero(np.cumsum(cover)[:n_beats] == 0) / n_beats)


_FUNCTIONS = {
    "pitch_range": pitch_range,
    "n_pitches_used": n_pitches_used,
    "n_pitch_classes_used": n_pitch_classes_used,
    "pitch_class_entropy": pitch_class_entropy,
    "scale_consistency": scale_consistency,
    "mean_interval": mean_interval,
    "note_density": note_density,
    "ioi_mean": ioi_mean,
    "polyphony_rate": polyphony_rate,
    "empty_beat_rate": empty_beat_rate,
}


def features(notes: Notes) -> dict[str, float]:
    """Every feature of ``FEATURES`` for one piece (NaN where undefined)."""
    return {name: _FUNCTIONS[name](notes) for name in FEATURES}


def first_voice(score: Any) -> Any:
    """A copy of ``score`` keeping only its first non-drum track with notes.

    For ABC converted by abc2midi that is the melody: abc2midi writes chord symbols ("G", "Am7")
    as an accompaniment track after it, which would otherwise count as the tune's notes."""
    out = score.copy()
    keep = [i for i, t in enumerate(out.tracks) if not t.is_drum and t.note_num()][:1]
    for i in reversed(range(len(out.tracks))):
        if i not in keep:
            del out.tracks[i]
    return out


def piece_notes(score: Any, *, melody_only: bool = False) -> Notes:
    """The notes statistics and novelty read: all non-drum tracks, or the first voice only."""
    return score_notes(first_voice(score) if melody_only else score)
