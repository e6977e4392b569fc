"""``midi-notes``: seed 000's vocabulary of notes and chords, with durations kept.

Each step of a piece is an *element* then a *duration*::

    E4 d:1/2            a note (pitch name and octave) sounding for an eighth... of a quarter
    C4.E4.G4 d:1        a chord: the pitches that start together, low to high, for one quarter
    C3 d:2 w:0          ``w:`` (wait) tokens move the clock from this element's onset:
                        ``w:0`` puts the next element at the same moment, ``w:3/2`` 1.5 quarters on

Without a wait the next element starts when this one ends, so a melody costs two tokens a
note, as in the seed. Unlike the seed (which wrote every note as an eighth at a fixed step
and folded chords to pitch classes), durations, rests and octaves survive, and decoding
writes the music back as it was, to the grid of ``steps_per_quarter`` (12: sixteenths and
triplets). Chords seen fewer than ``min_chord_count`` times are not given their own token:
they are written as single notes joined by ``w:0``, which keeps the vocabulary small
without losing a note.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.representations.base import register
from tunesmith.representations.midi_tokens import (
    OUT_VELOCITY,
    MidiTokenRepresentation,
    Notes,
    SyntaxReport,
    build_score,
    score_notes,
)

SPECIALS = ("<start>", "<end>")
NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MAX_VOCAB = 65534


def pitch_name(pitch: int) -> str:
    """MIDI 60 → ``C4`` (scientific pitch notation, sharps)."""
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


def _steps(steps: int, per_quarter: int) -> str:
    value = Fraction(steps, per_quarter)
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _groups(notes: Notes, per_quarter: int, max_steps: int) -> list[tuple[int, int, tuple[int, ...]]]:
    """(onset step, duration steps, pitches) per element: notes that start together and last as long."""
    onset = np.round(notes.onset * per_quarter).astype(np.int64)
    length = np.clip(np.round(notes.duration * per_quarter).astype(np.int64), 1, max_steps)
    groups: dict[tuple[int, int], set[int]] = {}
    for on, du, p in zip(onset.tolist(), length.tolist(), notes.pitch.tolist(), strict=True):
        groups.setdefault((on, du), set()).add(int(p))
    # Same onset: longer elements first, so the wait back to this onset reads naturally.
    return [(on, du, tuple(sorted(groups[on, du]))) for on, du in sorted(groups, key=lambda k: (k[0], -k[1]))]


@register
class MidiNotes(MidiTokenRepresentation):
    name = "midi-notes"
    start_id = 0
    end_id = 1

    def __init__(self, chords: list[str], steps_per_quarter: int = 12, max_quarters: int = 8):
        if not 1 <= steps_per_quarter <= 96 or not 1 <= max_quarters <= 64:
            raise ValueError("steps_per_quarter must be 1-96 and max_quarters 1-64")
        self.per_quarter, self.max_quarters = steps_per_quarter, max_quarters
        self.max_steps = steps_per_quarter * max_quarters
        self.chords = list(chords)
        self.tokens = [
            *SPECIALS,
            *(f"d:{_steps(s, steps_per_quarter)}" for s in range(1, self.max_steps + 1)),
            *(f"w:{_steps(s, steps_per_quarter)}" for s in range(0, self.max_steps + 1)),
            *(pitch_name(p) for p in range(128)),
            *self.chords,
        ]
        if len(set(self.tokens)) != len(self.tokens) or len(self.tokens) > MAX_VOCAB:
            raise ValueError("chord tokens must be distinct, well-formed and fewer than 65534 in all")
        self.ids_of = {t: i for i, t in enumerate(self.tokens)}
        self.first_duration = len(SPECIALS)
        self.first_wait = self.first_duration + self.max_steps
        self.first_note = self.first_wait + self.max_steps + 1
        self.first_chord = self.first_note + 128
        self.chord_pitches = [tuple(self._pitch_of(n) for n in c.split(".")) for c in self.chords]

    def _pitch_of(self, name: str) -> int:
        pitch = self.ids_of.get(name, -1) - self.first_note
        if not 0 <= pitch < 128:
            raise ValueError(f"{name!r} is not a pitch name like C4 or F#3")
        return pitch

    @classmethod
    def fit(cls, items: list[Any], min_chord_count: int = 2, max_chords: int = 20000, **options: Any) -> MidiNotes:
        """Give a token to every chord that appears at least ``min_chord_count`` times (most frequent first)."""
        probe = cls([], **options)
        counts: Counter[tuple[int, ...]] = Counter()
        for score in items:
            counts.update(
                p for _, _, p in _groups(score_notes(score), probe.per_quarter, probe.max_steps) if len(p) > 1
            )
        kept = [p for p, n in counts.most_common(max_chords) if n >= min_chord_count]
        return cls([".".join(map(pitch_name, p)) for p in kept], **options)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def _element(self, pitches: tuple[int, ...]) -> list[int]:
        """One chord token, or (for a chord without one) its notes joined by ``w:0`` waits."""
        if len(pitches) == 1:
            return [self.first_note + pitches[0]]
        name = ".".join(map(pitch_name, pitches))
        if name in self.ids_of:
            return [self.ids_of[name]]
        out: list[int] = []
        for p in pitches:
            out += [self.first_note + p, -1, self.first_wait]  # -1: the duration, filled in by encode
        return out[:-2]  # the last note's duration and wait come from encode

    def encode(self, item: Any) -> np.ndarray:
        notes = score_notes(item)
        groups = _groups(notes, self.per_quarter, self.max_steps)
        out = [self.start_id]
        if groups and groups[0][0] > 0:  # music that starts after a rest (a pickup): waits from time 0
            out += self._waits(groups[0][0])
        for i, (on, du, pitches) in enumerate(groups):
            out += [self.first_duration + du - 1 if t == -1 else t for t in self._element(pitches)]
            out.append(self.first_duration + du - 1)
            gap = (groups[i + 1][0] - on) if i + 1 < len(groups) else du
            if gap != du:
                out += self._waits(gap)
        out.append(self.end_id)
        return np.asarray(out, dtype=self.dtype)

    def _waits(self, steps: int) -> list[int]:
        """Wait tokens adding up to ``steps`` (a long rest takes several)."""
        out = [self.first_wait + self.max_steps] * (steps // self.max_steps)
        return out + ([self.first_wait + steps % self.max_steps] if steps % self.max_steps or not out else [])

    def _kind(self, token: int) -> str:
        if token < self.first_duration:
            return "special"
        if token < self.first_wait:
            return "duration"
        if token < self.first_note:
            return "wait"
        return "element"

    def _read(self, array: np.ndarray) -> tuple[list[tuple[int, int, tuple[int, ...]]], SyntaxReport]:
        """Walk the grammar ``wait* (element duration wait*)*``: the elements it yields and the tokens it skipped."""
        ids = self.body(array).tolist()
        report = SyntaxReport(len(ids))
        elements: list[tuple[int, int, tuple[int, ...]]] = []
        clock, pending, waited = 0, None, None  # pending: an element waiting for its duration
        last: tuple[int, int] | None = None  # (onset, duration) of the last complete element
        for token in ids:
            kind = self._kind(token)
            if kind == "element":
                if pending is not None:
                    report.errors.append(f"{self.tokens[pending]}: a note or chord with no duration")
                if last is not None:
                    clock = last[0] + (waited if waited is not None else last[1])
                    last, waited = None, None
                pending = token
            elif kind == "duration":
                if pending is None:
                    report.errors.append(f"{self.tokens[token]}: a duration with no note or chord before it")
                    continue
                steps = token - self.first_duration + 1
                n = pending - self.first_note
                pitches = (n,) if n < 128 else self.chord_pitches[n - 128]
                elements.append((clock, steps, pitches))
                last, pending, waited = (clock, steps), None, None
            elif kind == "wait":
                if pending is not None:
                    report.errors.append(f"{self.tokens[token]}: a wait between a note or chord and its duration")
                elif last is None:  # before the first element: the music starts after a rest
                    clock += token - self.first_wait
                else:
                    waited = (waited or 0) + token - self.first_wait
            else:
                report.errors.append(f"{self.tokens[token]}: a marker inside the music")
        if pending is not None:
            report.errors.append(f"{self.tokens[pending]}: a note or chord with no duration (at the end)")
        return elements, report

    def check(self, array: np.ndarray) -> SyntaxReport:
        return self._read(array)[1]

    def decode(self, array: np.ndarray) -> Any:
        elements, _ = self._read(array)
        onset, duration, pitch = [], [], []
        for on, du, pitches in elements:
            for p in pitches:
                onset.append(on / self.per_quarter)
                duration.append(du / self.per_quarter)
                pitch.append(p)
        n = len(pitch)
        notes = Notes(
            np.array(onset, float), np.array(duration, float), np.array(pitch, np.int64), np.full(n, OUT_VELOCITY)
        )
        return build_score(notes, "midi-notes")

    def ids(self, text: str, what: str = "text") -> np.ndarray:
        """Ids of space-separated token names (e.g. ``"C4.E4.G4 d:1 E4 d:1/2"``), for primers typed by hand."""
        out = []
        for word in text.split():
            if word not in self.ids_of or word in SPECIALS:
                raise TunesmithError(f"{what}: {word!r} is not a token of this model's vocabulary")
            out.append(self.ids_of[word])
        return np.asarray(out, dtype=np.int64)

    def state(self) -> dict[str, Any]:
        return {"steps_per_quarter": self.per_quarter, "max_quarters": self.max_quarters, "chords": self.chords}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> MidiNotes:
        chords = state["chords"]
        if not isinstance(chords, list) or len(chords) > MAX_VOCAB or not all(isinstance(c, str) for c in chords):
            raise ValueError("chords must be a list of chord names")
        return cls(chords, int(state["steps_per_quarter"]), int(state["max_quarters"]))
