"""The wave itself: ``audio-wave`` (frames of raw samples) and ``audio-mulaw`` (one token per sample).

``audio-wave`` is what seed 001 trained on: the wave cut into frames of ``frame_size`` samples
(default 256, 16 ms at 16 kHz), no overlap, no window, so a frame model predicts the next 256
samples from the ones before. Nothing is lost in float32: ``decode(frames_of(wave))`` is the wave
bit for bit, with zeros appended up to a whole frame. Stored as float16, each sample is kept
within 2**-12 (2.4e-4) absolute, 2**-11 relative (about 66 dB below the sample itself).

``audio-mulaw`` is the issue's quantised variant for token models (SampleRNN, WaveNet): each sample
becomes one of ``levels`` ids (default 256), so the existing token LSTM and transformer learn it
with cross-entropy and sample it with the existing sampler. Two compandings:

- ``mulaw`` (default): ``y = sign(x)·ln(1 + μ|x|)/ln(1 + μ)`` with ``μ = levels - 1``, then ``y`` is
  rounded to ``levels`` even steps. Quiet samples get fine steps and loud ones coarse steps, as the
  ear prefers: the error of a sample ``x`` is at most ``ln(1 + μ)·(|x| + 1/μ)·(1 + μ)**(1/μ)/μ``:
  8.7e-5 near silence, 0.022 at full scale (256 levels); about 38 dB SNR on a harmonic tone.
- ``linear``: ``x`` rounded to ``levels`` even steps over [-1, 1]: the error is at most
  ``1/(levels - 1)`` (0.0039 at 256 levels) everywhere, which drowns quiet passages in noise.

Ids ``0..levels-1`` are the levels; ``levels`` is <start> and ``levels + 1`` is <end>, so a piece is
``[<start>, samples…, <end>]`` as every token representation's is. 256 levels need 258 ids: uint16.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.representations.audio import (
    STATE_VERSION,
    AudioRepresentation,
    check_int,
    check_wave,
    pad_to,
)
from tunesmith.representations.base import TokenRepresentation, register
from tunesmith.stft import DEFAULT_SAMPLE_RATE, check_sample_rate

MAX_FRAME_SIZE = 16_384
MAX_LEVELS = 65_534  # levels + 2 markers must fit in uint16
COMPANDINGS = ("mulaw", "linear")


@register
class AudioWave(AudioRepresentation):
    name = "audio-wave"
    loss = "mse"
    OPTIONS = ("sample_rate", "frame_size")

    def __init__(self, sample_rate: int = DEFAULT_SAMPLE_RATE, frame_size: int = 256):
        self.sample_rate = check_sample_rate(sample_rate)
        if isinstance(frame_size, bool) or not isinstance(frame_size, int) or not 1 <= frame_size <= MAX_FRAME_SIZE:
            raise TunesmithError(f"frame_size {frame_size!r} is out of range: choose 1 to {MAX_FRAME_SIZE} samples")
        self.frame_size = self.hop = frame_size

    @property
    def frame_dim(self) -> int:
        return self.frame_size

    def frames_of(self, wave: np.ndarray) -> np.ndarray:
        """``(ceil(N / frame_size), frame_size)`` float32: the samples in order, zeros after the last."""
        wave = pad_to(check_wave(wave), self.frame_size)
        return wave.reshape(-1, self.frame_size).copy()

    def decode(self, array: np.ndarray) -> np.ndarray:
        """Frames back to one wave, clipped to [-1, 1] (a no-op for encoded frames)."""
        frames = self.check_frames(array)
        return np.clip(frames.reshape(-1), -1.0, 1.0)

    def start_frame(self) -> np.ndarray:
        return np.zeros(self.frame_dim, dtype=np.float32)


@register
class AudioMulaw(TokenRepresentation):
    name = "audio-mulaw"
    medium = "audio"

    def __init__(self, sample_rate: int = DEFAULT_SAMPLE_RATE, levels: int = 256, companding: str = "mulaw"):
        self.sample_rate = check_sample_rate(sample_rate)
        if isinstance(levels, bool) or not isinstance(levels, int) or not 2 <= levels <= MAX_LEVELS:
            raise TunesmithError(f"levels {levels!r} is out of range: choose 2 to {MAX_LEVELS}")
        if companding not in COMPANDINGS:
            raise TunesmithError(f"companding {companding!r} is unknown: choose {' or '.join(COMPANDINGS)}")
        self.levels, self.companding = levels, companding
        self.mu = float(levels - 1)
        self.start_id, self.end_id = levels, levels + 1

    @classmethod
    def fit(cls, items: Any = (), **options: Any) -> AudioMulaw:
        """Fixed quantisation: no statistics to gather, only options to check. ``items`` is ignored."""
        unknown = sorted(set(options) - {"sample_rate", "levels", "companding"})
        if unknown:
            raise TunesmithError(
                f"{cls.name} has no option {', '.join(unknown)}; it takes sample_rate, levels, companding"
            )
        return cls(**options)

    @property
    def vocab_size(self) -> int:
        return self.levels + 2

    @property
    def frames_per_second(self) -> float:
        """Tokens per second of audio: one per sample."""
        return float(self.sample_rate)

    def max_error(self, x: np.ndarray | float) -> np.ndarray:
        """The largest quantisation error a sample of value ``x`` can have (the bound in the module doc)."""
        x = np.abs(np.clip(np.asarray(x, dtype=np.float64), -1, 1))
        if self.companding == "linear":
            return np.full_like(x, 1.0 / self.mu)
        mu = self.mu
        return math.log1p(mu) * (x + 1 / mu) * (1 + mu) ** (1 / mu) / mu

    def quantise(self, wave: np.ndarray) -> np.ndarray:
        """Samples (clipped to [-1, 1]) → level ids ``0..levels-1``, int32, no markers (float32 maths:
        a 30-minute piece is 29 million samples)."""
        x = np.clip(np.asarray(wave, dtype=np.float32), -1.0, 1.0)
        if self.companding == "mulaw":
            x = np.sign(x) * np.log1p(np.float32(self.mu) * np.abs(x)) / np.float32(math.log1p(self.mu))
        return np.rint((x + np.float32(1)) * np.float32(0.5 * self.mu)).astype(np.int32)

    def dequantise(self, ids: np.ndarray) -> np.ndarray:
        """Level ids → float32 samples in [-1, 1]."""
        y = np.asarray(ids, dtype=np.float64) * (2.0 / self.mu) - 1.0
        if self.companding == "mulaw":
            y = np.sign(y) * np.expm1(np.abs(y) * math.log1p(self.mu)) / self.mu
        return np.clip(y, -1.0, 1.0).astype(np.float32)

    def encode(self, item: np.ndarray) -> np.ndarray:
        """A float32 mono wave → ``[<start>, level ids…, <end>]`` in ``self.dtype``."""
        ids = self.quantise(check_wave(item))
        return np.concatenate([[self.start_id], ids, [self.end_id]]).astype(self.dtype)

    def decode(self, array: np.ndarray) -> np.ndarray:
        """Ids up to the first <end> → a float32 wave; <start> and ids outside the levels are dropped."""
        ids = np.asarray(array).astype(np.int64).reshape(-1)
        ends = np.flatnonzero(ids == self.end_id)
        if ends.size:
            ids = ids[: ends[0]]
        return self.dequantise(ids[(ids >= 0) & (ids < self.levels)])

    def ids(self, text: str, what: str = "text") -> np.ndarray:
        raise TunesmithError(f"{what}: an {self.name} model is primed with audio, not text")

    def state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "sample_rate": self.sample_rate,
            "levels": self.levels,
            "companding": self.companding,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AudioMulaw:
        if state.get("version", STATE_VERSION) != STATE_VERSION:
            raise ValueError(f"version must be {STATE_VERSION}")
        if not isinstance(state["companding"], str):
            raise ValueError("companding must be a string")
        try:
            return cls(check_int(state, "sample_rate"), check_int(state, "levels"), state["companding"])
        except TunesmithError as exc:
            raise ValueError(str(exc)) from None
