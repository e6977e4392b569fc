"""What every MIDI token representation shares: scores in, token ids out, and a syntax check.

Items are ``symusic.Score`` objects (what :mod:`tunesmith.corpora.midi` reads). Every
non-drum track is merged into one stream of notes first, so a four-voice chorale and a piano
sonata are written the same way; ``decode`` gives back a one-track score.

A sampled sequence can break a scheme's grammar (a chord with no duration, a duration with
no note). ``check`` names each such token; ``decode`` skips them, so the rest still plays.
MidiTok's authors call the share of such tokens the *tokenization syntax error rate*.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunesmith.representations.base import TokenRepresentation

OUT_TPQ = 480  # ticks per quarter of decoded scores
OUT_TEMPO = 100.0  # quarter notes per minute when a scheme keeps no tempo
OUT_VELOCITY = 80


@dataclass
class Notes:
    """A score's notes as flat arrays, times in quarter notes, sorted by onset then pitch."""

    onset: np.ndarray  # float64 quarters
    duration: np.ndarray  # float64 quarters
    pitch: np.ndarray  # int64 MIDI numbers
    velocity: np.ndarray  # int64
    meter: tuple[int, int] = (4, 4)
    tempo: float = OUT_TEMPO

    def __len__(self) -> int:
        return int(self.pitch.size)


@dataclass
class SyntaxReport:
    """What a token sequence's grammar check found."""

    tokens: int
    errors: list[str] = field(default_factory=list)  # one reason per erroneous token

    @property
    def share(self) -> float:
        return len(self.errors) / self.tokens if self.tokens else 0.0


def score_notes(score: Any) -> Notes:
    """Every non-drum note of ``score`` (a symusic Score in ticks), in quarters."""
    tpq = float(score.ticks_per_quarter)
    parts = [t.notes.numpy() for t in score.tracks if not t.is_drum and len(t.notes)]
    if parts:
        cols = {
            k: np.concatenate([p[k] for p in parts]).astype(np.int64) for k in ("time", "duration", "pitch", "velocity")
        }
    else:
        cols = {k: np.zeros(0, np.int64) for k in ("time", "duration", "pitch", "velocity")}
    order = np.lexsort((cols["pitch"], cols["time"]))
    meter = (
        (score.time_signatures[0].numerator, score.time_signatures[0].denominator)
        if len(score.time_signatures)
        else (4, 4)
    )
    tempo = float(score.tempos[0].qpm) if len(score.tempos) else OUT_TEMPO
    return Notes(
        cols["time"][order] / tpq,
        cols["duration"][order] / tpq,
        cols["pitch"][order],
        cols["velocity"][order],
        meter,
        tempo,
    )


def build_score(notes: Notes, name: str = "music") -> Any:
    """A one-track symusic Score (piano, ``OUT_TPQ`` ticks per quarter) from quarter-note arrays."""
    import symusic

    score = symusic.Score(OUT_TPQ)
    score.tempos.append(symusic.Tempo(0, float(notes.tempo)))
    score.time_signatures.append(symusic.TimeSignature(0, int(notes.meter[0]), int(notes.meter[1])))
    track = symusic.Track(name, program=0)
    if len(notes):
        track.notes = symusic.Note.from_numpy(
            time=np.round(notes.onset * OUT_TPQ).astype(np.int32),
            duration=np.maximum(1, np.round(notes.duration * OUT_TPQ)).astype(np.int32),
            pitch=np.clip(notes.pitch, 0, 127).astype(np.int8),
            velocity=np.clip(notes.velocity, 1, 127).astype(np.int8),
        )
    score.tracks.append(track)
    return score


class MidiTokenRepresentation(TokenRepresentation):
    """Base of ``midi-notes``, ``midi-remi`` and ``midi-tsd``: a Score ↔ token ids, plus ``check``."""

    medium = "midi"

    def tokenizer_file(self) -> dict[str, Any] | None:
        """A tokenizer configuration other tools read (MidiTok's ``tokenizer.json``), if there is one."""
        return None

    @abstractmethod
    def encode(self, item: Any) -> np.ndarray:
        """A symusic Score as ids between <start> and <end>."""

    @abstractmethod
    def decode(self, array: np.ndarray) -> Any:
        """Ids (a sampled sequence included) → a symusic Score, skipping tokens that break the grammar."""

    @abstractmethod
    def check(self, array: np.ndarray) -> SyntaxReport:
        """The grammar check ``decode`` relies on: which tokens are out of place, and why."""

    def body(self, array: np.ndarray) -> np.ndarray:
        """Ids between the first <start> (if any) and the first <end> (if any)."""
        ids = np.asarray(array, dtype=np.int64)
        if ids.size and ids[0] == self.start_id:
            ids = ids[1:]
        ends = np.flatnonzero(ids == self.end_id)
        return ids[: ends[0]] if ends.size else ids

    def primer(self, score: Any, bars: int) -> np.ndarray:
        """The ids of the first ``bars`` bars of ``score`` (after <start>, without <end>), to prime sampling."""
        num, den = score_notes(score).meter
        quarters = bars * num * 4.0 / den
        cut = clip_score(score, quarters)
        return self.body(self.encode(cut))


def clip_score(score: Any, quarters: float) -> Any:
    """The notes of ``score`` that start in its first ``quarters`` quarter notes, as a one-track score."""
    notes = score_notes(score)
    keep = notes.onset < quarters - 1e-9
    return build_score(
        Notes(
            notes.onset[keep],
            np.minimum(notes.duration[keep], quarters - notes.onset[keep]),
            notes.pitch[keep],
            notes.velocity[keep],
            notes.meter,
            notes.tempo,
        )
    )
