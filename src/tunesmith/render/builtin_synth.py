"""The built-in synthesizer: what renders MIDI where there is no FluidSynth or no SoundFont.

Additive synthesis, with no dependency beyond numpy: each note is a sum of harmonics shaped per
General MIDI instrument family (:data:`TIMBRES`), under an attack/decay/sustain/release envelope;
drums are short noise bursts. :func:`tunesmith.render.audio.synthesize` trims and normalises its
output exactly as FluidSynth's, so the two play at the same level.

Its memory is the output and little more: a note is synthesized once and reused while it lasts at
most :data:`CACHE_SECONDS` and the reuse cache holds under :data:`CACHE_BYTES`; a longer note is
synthesized in blocks of :data:`BLOCK` samples straight into the output. Its time can be bounded
(``timeout``): past it, :class:`TimeoutError`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import symusic


@dataclass(frozen=True)
class Timbre:
    """One instrument family: harmonic amplitudes and an envelope (seconds)."""

    harmonics: tuple[float, ...]
    attack: float
    decay: float  # towards ``sustain``; for plucked/struck sounds the whole note decays with this time
    sustain: float
    release: float
    plucked: bool = False  # decays while held, upper harmonics fading faster
    vibrato: float = 0.0  # depth as a share of the frequency, at 5.5 Hz


BLOCK = 1 << 16  # samples of a long note synthesized at a time
CACHE_SECONDS = 4.0  # notes up to this long (release included) are synthesized once and reused
CACHE_BYTES = 256 << 20  # the reuse cache stops growing here

_SAW = tuple(1 / k for k in range(1, 13))
TIMBRES = {
    "keys": Timbre(tuple(1 / k**1.5 for k in range(1, 9)), 0.004, 0.9, 0.0, 0.15, plucked=True),
    "bell": Timbre((1.0, 0.0, 0.45, 0.0, 0.25, 0.0, 0.1), 0.002, 1.4, 0.0, 0.4, plucked=True),
    "organ": Timbre((1.0, 0.6, 0.5, 0.3, 0.25, 0.12, 0.1, 0.05), 0.02, 0.05, 1.0, 0.08),
    "guitar": Timbre(tuple(1 / k for k in range(1, 10)), 0.003, 0.7, 0.0, 0.12, plucked=True),
    "strings": Timbre(_SAW, 0.06, 0.15, 0.8, 0.18, vibrato=0.004),
    "brass": Timbre(tuple(1 / k**0.8 for k in range(1, 11)), 0.04, 0.12, 0.85, 0.12),
    "reed": Timbre((1.0, 0.1, 0.55, 0.08, 0.35, 0.05, 0.22, 0.03, 0.12), 0.03, 0.1, 0.9, 0.1),
    "pipe": Timbre((1.0, 0.25, 0.08, 0.04), 0.05, 0.1, 0.9, 0.1, vibrato=0.003),
}
_FAMILY = ["keys", "bell", "organ", "guitar", "guitar", "strings", "strings", "brass",
           "reed", "pipe", "organ", "strings", "organ", "guitar", "bell", "bell"]  # fmt: skip
_SPECIAL = {109: "reed", 110: "strings", 111: "reed", 21: "reed", 22: "reed", 23: "reed"}


def timbre_for(program: int) -> Timbre:
    """The built-in timbre for a General MIDI program: by family (8 programs each), a few by name."""
    return TIMBRES[_SPECIAL.get(program, _FAMILY[program // 8])]


def _envelope(t: np.ndarray, held: float, tb: Timbre) -> np.ndarray:
    """Attack, then decay (to the sustain level, or to nothing for plucked sounds) while held, then release."""

    def level(x: np.ndarray) -> np.ndarray:
        fall = np.exp(-np.maximum(x - tb.attack, 0.0) / tb.decay)
        return np.minimum(x / tb.attack, 1.0) * (fall if tb.plucked else tb.sustain + (1 - tb.sustain) * fall)

    body, at_off = level(t), float(level(np.array([held]))[0])
    released = at_off * np.maximum(0.0, 1.0 - (t - held) / tb.release)
    return np.where(t < held, body, released)


def _note_wave(
    tb: Timbre, pitch: int, held: float, sample_rate: int, start: int = 0, stop: int | None = None
) -> np.ndarray:
    """One note at full velocity: harmonics below 90% of Nyquist, shaped by the envelope; samples
    ``start`` to ``stop`` of it (default: all of it, release included)."""
    stop = int((held + tb.release) * sample_rate) if stop is None else stop
    t = np.arange(start, stop) / sample_rate
    freq = 440.0 * 2 ** ((pitch - 69) / 12)
    phase = 2 * np.pi * freq * t
    if tb.vibrato:
        phase += freq * tb.vibrato / 5.5 * (1 - np.cos(2 * np.pi * 5.5 * t))
    wave = np.zeros_like(t)
    for k, amp in enumerate(tb.harmonics, start=1):
        if k * freq >= sample_rate / 2 * 0.9:
            break
        if amp:
            partial = amp * np.sin(k * phase)
            if tb.plucked and k > 1:  # upper harmonics of a struck string die away first
                partial *= np.exp(-t * (k - 1) * 1.5)
            wave += partial
    return (wave * _envelope(t, held, tb) / sum(tb.harmonics)).astype(np.float32)


def builtin_synth(score: symusic.Score, sample_rate: int, timeout: float | None = None) -> np.ndarray:
    """Additive synthesis of every note (pitch bends and controllers are ignored); drums are noise bursts.

    Past ``timeout`` seconds (None: no limit) it stops with :class:`TimeoutError`."""
    deadline = None if timeout is None else time.monotonic() + timeout
    seconds = score.to("second")
    longest = max((timbre_for(t.program).release for t in seconds.tracks), default=0.5)
    out = np.zeros(int((seconds.end() + longest + 0.1) * sample_rate) + 1, dtype=np.float32)
    rng = np.random.default_rng(0)
    waves: dict[tuple[Timbre, int, int], np.ndarray] = {}
    cached, reusable = 0, int(CACHE_SECONDS * sample_rate)
    for track in seconds.tracks:
        tb = timbre_for(track.program)
        for note in track.notes:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"the built-in synthesizer took longer than {timeout:g} s")
            start = int(note.time * sample_rate)
            gain = note.velocity / 127
            room = len(out) - start
            if room <= 0:
                continue
            if track.is_drum:
                n = int(0.08 * sample_rate)
                t = np.arange(n) / sample_rate
                out[start : start + n] += (0.5 * gain * rng.standard_normal(n) * np.exp(-t / 0.02))[:room]
                continue
            held = max(float(note.duration), 0.01)
            frames = min(int((held + tb.release) * sample_rate), room)
            if frames > reusable:  # a long note: in blocks, straight into the output
                for a in range(0, frames, BLOCK):
                    b = min(a + BLOCK, frames)
                    out[start + a : start + b] += gain * _note_wave(tb, note.pitch, held, sample_rate, a, b)
                continue
            key = (tb, note.pitch, round(held * sample_rate))
            wave = waves.get(key)
            if wave is None:  # folk tunes repeat the same notes: synthesize each once
                wave = _note_wave(tb, note.pitch, held, sample_rate)
                if cached + wave.nbytes <= CACHE_BYTES:
                    waves[key] = wave
                    cached += wave.nbytes
            out[start : start + len(wave)] += gain * wave[:room]
    return np.repeat(out[:, None], 2, axis=1)
