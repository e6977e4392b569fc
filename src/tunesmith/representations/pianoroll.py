"""``pianoroll``: multi-hot frames on a fixed grid, with onset and sustain bits for every pitch.

One frame per grid step (``steps_per_quarter`` per quarter note; 4 = 16th notes), for the
``P = high - low + 1`` pitches of the range::

    [ onset bits (P) | sustain bits (P) | end flag (1) ]      frame_dim = 2P + 1

- A sustain bit says the pitch sounds during the frame; an onset bit says a note of that pitch
  starts there (its sustain bit is set too). A repeated note is two runs of sustain, each
  opened by an onset, so it survives where a plain multi-hot roll would merge it.
- Every piece ends with one extra frame holding only the end flag. In a prepared stream the
  frame after an end flag opens the next piece, so a sampler primes the model with one end
  frame (as token models start from <start>) and stops when it draws the flag; without it a
  generated piece could only be cut at a fixed length. Silence inside a piece is all-zero frames.

Onsets and note ends are rounded to the nearest step; a note that would round to nothing lasts
one step. All non-drum tracks are merged. Notes outside ``low..high`` are dropped, not folded
by octaves (that would change the music): ``fit`` sizes the range to the corpus with a margin
for load-time transposition, so a fitted roll drops nothing.

Stored frames are bit-packed (``np.packbits``): ``ceil((2P + 1) / 8)`` bytes per frame, 33 bytes
for 128 pitches against 1,028 bytes as float32 (31x less) or 257 as one byte per bit (8x less).
The model sees float32 rows (``to_model``); seed 000's roll, dense and mostly zeros, is what ran
out of room.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import symusic

from tunesmith.errors import TunesmithError
from tunesmith.representations.base import FrameRepresentation, register

MAX_FRAMES = 1 << 18  # ~9 hours at 16th notes and 120 bpm; a huge delta time must not allocate gigabytes
MAX_STEPS_PER_QUARTER = 96
VELOCITY = 80
STATE_VERSION = 1


def _notes(score: symusic.Score) -> dict[str, np.ndarray]:
    """Time, duration and pitch of every note of the non-drum tracks, in ticks."""
    if score.ttype != symusic.core.Tick():
        score = score.to("tick")
    parts = [t.notes.numpy() for t in score.tracks if not t.is_drum and t.note_num()]
    keys = ("time", "duration", "pitch")
    if not parts:
        return {k: np.zeros(0, dtype=np.int64) for k in keys}
    return {k: np.concatenate([p[k] for p in parts]).astype(np.int64) for k in keys}


@register
class PianoRoll(FrameRepresentation):
    name = "pianoroll"
    medium = "midi"  # score frames: they decode to notes
    can_transpose = True
    loss = "bce"

    def __init__(self, steps_per_quarter: int = 4, low: int = 0, high: int = 127):
        if not 1 <= steps_per_quarter <= MAX_STEPS_PER_QUARTER:
            raise ValueError(f"steps_per_quarter must be between 1 and {MAX_STEPS_PER_QUARTER}")
        if not 0 <= low <= high <= 127:
            raise ValueError("the pitch range must satisfy 0 <= low <= high <= 127")
        self.steps_per_quarter, self.low, self.high = steps_per_quarter, low, high
        self.pitches = high - low + 1

    @classmethod
    def fit(cls, items: list[symusic.Score], *, steps_per_quarter: int = 4, margin: int = 6) -> PianoRoll:
        """The range of pitches the corpus uses, widened by ``margin`` semitones each side so that
        load-time transposition by up to ``margin`` keeps every note (0..127 for an empty corpus)."""
        lows, highs = [], []
        for score in items:
            pitch = _notes(score)["pitch"]
            if pitch.size:
                lows.append(int(pitch.min()))
                highs.append(int(pitch.max()))
        if not lows:
            return cls(steps_per_quarter)
        return cls(steps_per_quarter, max(0, min(lows) - margin), min(127, max(highs) + margin))

    # -- layout -------------------------------------------------------------------------------

    @property
    def frame_dim(self) -> int:
        return 2 * self.pitches + 1

    @property
    def end_index(self) -> int:
        """Column of the end flag; the sampler stops a piece when it draws it."""
        return 2 * self.pitches

    def onset_mask(self) -> np.ndarray:
        """True for the onset columns: the sparse bits whose positives training weights up."""
        mask = np.zeros(self.frame_dim, dtype=bool)
        mask[: self.pitches] = True
        return mask

    def start_frame(self) -> np.ndarray:
        """What a sampler feeds first: an end frame, which in the stream precedes every piece."""
        frame = np.zeros(self.frame_dim, dtype=np.float32)
        frame[self.end_index] = 1.0
        return frame

    def storage(self) -> tuple[np.dtype, int]:
        return np.dtype(np.uint8), -(-self.frame_dim // 8)

    def to_model(self, stored: np.ndarray) -> np.ndarray:
        """Packed rows ``(..., width)`` → float32 bits ``(..., frame_dim)``; any leading shape."""
        return np.unpackbits(np.asarray(stored, dtype=np.uint8), axis=-1, count=self.frame_dim).astype(np.float32)

    # -- music in and out -----------------------------------------------------------------------

    def roll(self, score: symusic.Score) -> np.ndarray:
        """Unpacked uint8 frames ``(T + 1, frame_dim)`` of a score, the end frame last."""
        notes = _notes(score)
        tpq = max(1, int(score.ticks_per_quarter))
        # round half up on the grid, in integers: (2 * time * spq + tpq) // (2 * tpq)
        start = (2 * notes["time"] * self.steps_per_quarter + tpq) // (2 * tpq)
        end = (2 * (notes["time"] + np.maximum(notes["duration"], 0)) * self.steps_per_quarter + tpq) // (2 * tpq)
        keep = (notes["pitch"] >= self.low) & (notes["pitch"] <= self.high) & (start >= 0)
        start, end, pitch = start[keep], np.maximum(end[keep], start[keep] + 1), notes["pitch"][keep] - self.low
        length = int(end.max(initial=0))
        if length >= MAX_FRAMES:
            raise TunesmithError(
                f"the piece is {length} frames long at {self.steps_per_quarter} steps per quarter; "
                f"at most {MAX_FRAMES - 1} (a corrupt or huge delta time?)"
            )
        p = self.pitches
        frames = np.zeros((length + 1, self.frame_dim), dtype=np.uint8)
        depth = np.zeros((length + 1, p), dtype=np.int32)  # notes sounding, as +1 at a start and -1 at an end
        np.add.at(depth, (start, pitch), 1)
        np.add.at(depth, (end, pitch), -1)
        frames[:, p : 2 * p] = np.cumsum(depth, axis=0) > 0
        frames[start, pitch] = 1
        frames[length, :] = 0
        frames[length, self.end_index] = 1
        return frames

    def encode(self, item: symusic.Score) -> np.ndarray:
        """A score as packed frames ``(T + 1, width)`` uint8, the end frame last."""
        return np.packbits(self.roll(item), axis=-1)

    def decode(self, array: np.ndarray, qpm: float = 120.0) -> symusic.Score:
        """Frames ``(T, frame_dim)`` (values above 0.5 are on) up to the first end flag → one piano track.

        A note starts at an onset bit, or at a sustain bit whose pitch was silent in the frame
        before; it lasts while its sustain bit stays set and no new onset of that pitch comes.
        """
        frames = np.asarray(array)
        if frames.ndim != 2 or frames.shape[1] != self.frame_dim:
            raise TunesmithError(f"piano-roll frames must be shaped (T, {self.frame_dim}), not {frames.shape}")
        on = frames > 0.5
        ends = np.flatnonzero(on[:, self.end_index])
        if ends.size:
            on = on[: ends[0]]
        p, length = self.pitches, len(on)
        onset = on[:, :p]
        sustain = on[:, p : 2 * p] | onset
        before = np.zeros_like(sustain)
        before[1:] = sustain[:-1]
        starts = onset | (sustain & ~before)
        stops = ~sustain | starts  # a note ends at the first frame after its start that is one of these
        times, durations, pitches = [], [], []
        for col in np.flatnonzero(starts.any(axis=0)):
            first = np.flatnonzero(starts[:, col])
            breaks = np.append(np.flatnonzero(stops[:, col]), length)
            last = breaks[np.searchsorted(breaks, first, side="right")]
            times.append(first)
            durations.append(last - first)
            pitches.append(np.full(first.size, col + self.low))
        tpq = math.lcm(480, self.steps_per_quarter)
        step = tpq // self.steps_per_quarter
        score = symusic.Score(tpq)
        score.tempos.append(symusic.Tempo(0, qpm=float(qpm)))
        track = symusic.Track("piano", 0, False)
        if times:
            time, duration, pitch = (np.concatenate(x) for x in (times, durations, pitches))
            order = np.lexsort((pitch, time))
            track.notes = symusic.Note.from_numpy(
                time=(time[order] * step).astype(np.int32),
                duration=(duration[order] * step).astype(np.int32),
                pitch=pitch[order].astype(np.int8),
                velocity=np.full(order.size, VELOCITY, dtype=np.int8),
            )
        score.tracks.append(track)
        return score

    def primer(self, score: symusic.Score, bars: int) -> np.ndarray:
        """The first ``bars`` bars of a score as float32 frames ``(T, frame_dim)``, no end frame,
        for ``--primer-midi``; the bar length comes from the score's first time signature (4/4 if none)."""
        sigs = score.time_signatures
        quarters = 4.0 if not len(sigs) else sigs[0].numerator * 4.0 / sigs[0].denominator
        frames = self.to_model(self.encode(score))[:-1]
        return frames[: max(0, round(bars * quarters * self.steps_per_quarter))]

    # -- sampling and augmentation helpers ---------------------------------------------------------

    def transpose(self, frames: np.ndarray, shift: int) -> np.ndarray:
        """Frames ``(..., frame_dim)`` moved ``shift`` semitones up (down if negative).

        The onset and sustain blocks roll along the pitch axis; bins vacated are zeroed, and notes
        pushed past either end of the range are lost. The end flag is untouched.
        """
        p = self.pitches
        out = np.zeros_like(frames)
        out[..., 2 * p :] = frames[..., 2 * p :]
        if abs(shift) >= p:
            return out
        for block in (0, p):
            if shift >= 0:
                out[..., block + shift : block + p] = frames[..., block : block + p - shift]
            else:
                out[..., block : block + p + shift] = frames[..., block - shift : block + p]
        return out

    def tidy(self, frames: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Make sampled 0/1 frames ``(batch, frame_dim)`` look like encoded ones.

        An onset implies its sustain bit. A sustain bit with no onset needs its pitch sounding in
        ``previous`` (the frame before); otherwise it is dropped, so new notes start only where the
        model drew an onset. A frame with the end flag holds no notes.
        """
        p = self.pitches
        out = (np.asarray(frames) > 0.5).astype(np.uint8)
        onset, sustain = out[:, :p], out[:, p : 2 * p]
        sounding = np.asarray(previous)[:, p : 2 * p] > 0.5
        sustain[:] = onset | (sustain & sounding)
        out[out[:, self.end_index] == 1, : 2 * p] = 0
        return out

    # -- state ---------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "steps_per_quarter": self.steps_per_quarter,
            "low": self.low,
            "high": self.high,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PianoRoll:
        """From JSON that may come from a stranger: every field is type- and range-checked."""
        if state.get("version", STATE_VERSION) != STATE_VERSION:
            raise ValueError(f"version must be {STATE_VERSION}")
        values = [state["steps_per_quarter"], state["low"], state["high"]]
        if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
            raise ValueError("steps_per_quarter, low and high must be integers")
        return cls(*values)
