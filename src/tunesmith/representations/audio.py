"""What every audio representation shares: the sample rate, the hop, float16 storage and the decibel scale.

Audio comes in as a float32 mono wave in [-1, 1] at ``sample_rate``; a representation cuts it into
frames every ``hop`` samples (``frames_per_second = sample_rate / hop``) and stores each row as
float16. float16 keeps 11 significant bits: a value in [-1, 1] is stored within 2**-12 (2.4e-4) of
itself, and within 2**-11 of its own size (66 dB below it) down to 6e-5: coarser than 16-bit PCM
near full scale, finer for quiet samples, at half the bytes of float32. Models read float32
(``to_model``).

The default rate is 16 kHz (:data:`DEFAULT_SAMPLE_RATE`): it keeps everything up to 8 kHz, the band
that carries speech and melody (the fundamentals of every orchestral instrument and their first
harmonics); it is 2.75x less data than CD's 44.1 kHz, so 2.75x more music per training step and per
gigabyte; and it is what seed 001 could afford to train a frame LSTM on at all.

No audio representation needs corpus statistics: every scaling is fixed (stated in each class), so
``fit`` only checks its options and ``prepare`` can stream a corpus in one pass.

Spectral magnitudes are measured on the STFT divided by the window's sum, so a full-scale sine reads
0.5 (-6 dB) in its bin, whatever ``n_fft`` is. Decibels are floored at :data:`DB_FLOOR` (-100 dB)
and mapped to model values by :func:`db_to_unit` (``dB / 50 + 1``): the floor is -1, 0 dB is +1,
so values sit in the range a mean-squared-error model handles well.
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.representations.base import FrameRepresentation

DEFAULT_SAMPLE_RATE = 16_000
SAMPLE_RATES = (8_000, 48_000)  # what a model may run at; a corpus file may be 8-96 kHz and is resampled
DB_FLOOR = -100.0  # dB; magnitudes below 1e-5 (of a full-scale sine's 0.5) read as the floor
DB_SCALE = 50.0  # dB per model unit
AMIN = 10 ** (DB_FLOOR / 20)
STATE_VERSION = 1
MAX_GRIFFIN_LIM_ITERATIONS = 1000


def db_to_unit(db: np.ndarray) -> np.ndarray:
    """Decibels → model values: ``dB / 50 + 1`` (-100 dB → -1, 0 dB → +1)."""
    return (np.asarray(db, dtype=np.float32) / np.float32(DB_SCALE) + np.float32(1)).astype(np.float32)


def unit_to_db(unit: np.ndarray) -> np.ndarray:
    """Model values → decibels, the inverse of :func:`db_to_unit`."""
    return ((np.asarray(unit, dtype=np.float32) - np.float32(1)) * np.float32(DB_SCALE)).astype(np.float32)


def amplitude_to_db(magnitude: np.ndarray) -> np.ndarray:
    """Magnitudes → decibels (20·log10), floored at :data:`DB_FLOOR`."""
    mag = np.maximum(np.asarray(magnitude, dtype=np.float32), np.float32(AMIN))
    return np.maximum(np.float32(20) * np.log10(mag), np.float32(DB_FLOOR)).astype(np.float32)  # exactly the floor


def db_to_amplitude(db: np.ndarray) -> np.ndarray:
    return np.power(np.float32(10), np.asarray(db, dtype=np.float32) / np.float32(20)).astype(np.float32)


@functools.lru_cache(maxsize=16)
def window(n_fft: int) -> np.ndarray:
    """The periodic Hann window (as librosa's and scipy's ``get_window("hann", n, fftbins=True)``)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def window_sum(n_fft: int) -> float:
    """Sum of the analysis window: dividing the STFT by it makes a full-scale sine read 0.5."""
    return float(window(n_fft).sum(dtype=np.float64))


# --- the STFT pair ------------------------------------------------------------------------------
# librosa's stft/istft with center=True and zero padding, computed the same way (tests compare them),
# but with the window's overlap-add normalisation computed once per length and the overlap-add done
# as ceil(n_fft / hop) vector additions: Griffin-Lim calls both 32 times a decode, and this makes the
# mel decode 2 to 3x faster than with librosa.griffinlim.


def stft(wave: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Complex STFT ``(T, n_fft/2 + 1)``, ``T = 1 + len(wave) // hop``: centred frames (``n_fft/2``
    zeros each side), periodic Hann window, not normalised."""
    import scipy.fft

    padded = np.pad(np.asarray(wave, dtype=np.float32), n_fft // 2)
    if len(padded) < n_fft:
        padded = np.pad(padded, (0, n_fft - len(padded)))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    return scipy.fft.rfft(frames * window(n_fft), axis=-1).astype(np.complex64, copy=False)


@functools.lru_cache(maxsize=2)  # Griffin-Lim asks for one length over and over; long ones are big
def _overlap_norm(n_fft: int, hop: int, frames: int) -> np.ndarray:
    """1 / (overlap-added squared window), 1 where that sum is about 0 (the ends of a short signal)."""
    total = _overlap_add(np.broadcast_to(window(n_fft) ** 2, (frames, n_fft)), hop)
    tiny = np.finfo(np.float32).tiny
    return np.where(total > tiny, 1.0 / np.maximum(total, tiny), 1.0).astype(np.float32)


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """Frames ``(T, n)`` placed every ``hop`` samples and summed: ``(T - 1) * hop + n`` samples."""
    count, n = frames.shape
    parts = -(-n // hop)
    blocks = np.zeros((count, parts * hop), dtype=np.float32)
    blocks[:, :n] = frames
    blocks = blocks.reshape(count, parts, hop)
    out = np.zeros((count + parts - 1, hop), dtype=np.float32)
    for j in range(parts):
        out[j : j + count] += blocks[:, j]
    return out.reshape(-1)[: (count - 1) * hop + n]


def istft(spec: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    """The inverse of :func:`stft` (least-squares overlap-add, as librosa's istft): ``length`` samples."""
    import scipy.fft

    frames = scipy.fft.irfft(spec, n=n_fft, axis=-1).astype(np.float32, copy=False) * window(n_fft)
    wave = _overlap_add(frames, hop) * _overlap_norm(n_fft, hop, len(spec))
    wave = wave[n_fft // 2 :][:length]
    return np.pad(wave, (0, length - len(wave))) if len(wave) < length else wave


def griffin_lim(
    magnitude: np.ndarray, n_fft: int, hop: int, n_iter: int = 32, *, momentum: float = 0.99, seed: int | None = 0
) -> np.ndarray:
    """A wave of ``(T - 1) * hop`` samples whose STFT magnitude approaches ``magnitude`` ``(T, bins)``.

    Fast Griffin-Lim (Perraudin, Balazs and Søndergaard 2013), step for step as ``librosa.griffinlim``:
    each iteration inverts the current estimate, transforms it again, and takes the new phase with a
    ``momentum / (1 + momentum)`` share of the previous estimate subtracted. The start phase is random
    from ``seed``, drawn as librosa draws it (so ``librosa.griffinlim(random_state=seed)`` gives the
    same wave, tests/test_audio_representations.py checks it), or 0 everywhere with ``seed=None``."""
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or not 1 <= n_iter <= MAX_GRIFFIN_LIM_ITERATIONS:
        raise TunesmithError(f"n_iter {n_iter!r} is out of range: choose 1 to {MAX_GRIFFIN_LIM_ITERATIONS}")
    magnitude = np.asarray(magnitude, dtype=np.float32)
    length = (len(magnitude) - 1) * hop
    if length <= 0:
        return np.zeros(0, dtype=np.float32)
    if seed is None:
        angles = magnitude.astype(np.complex64)
    else:
        phase = 2 * np.pi * np.random.RandomState(seed).random_sample(magnitude.shape[::-1]).T  # as librosa draws
        angles = (np.exp(1j * phase) * magnitude).astype(np.complex64)
    eps = np.finfo(np.float32).tiny
    previous = None
    for _ in range(n_iter):
        rebuilt = stft(istft(angles, n_fft, hop, length), n_fft, hop)
        angles = rebuilt.copy() if previous is None else rebuilt - np.float32(momentum / (1 + momentum)) * previous
        angles *= magnitude / (np.abs(angles) + eps)
        previous = rebuilt
    return np.clip(istft(angles, n_fft, hop, length), -1.0, 1.0)


def check_int(state: dict[str, Any], key: str) -> int:
    """An integer field of a state that may come from a stranger (``True`` is not an integer here)."""
    value = state[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer")
    return value


def check_sample_rate(sample_rate: int) -> int:
    lo, hi = SAMPLE_RATES
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or not lo <= sample_rate <= hi:
        raise TunesmithError(f"sample rate {sample_rate!r} is out of range: choose {lo} to {hi} Hz")
    return int(sample_rate)


def check_wave(wave: np.ndarray, what: str = "wave") -> np.ndarray:
    """A 1-D float32 wave with finite samples; anything else is a TunesmithError naming ``what``."""
    wave = np.asarray(wave)
    if wave.ndim != 1:
        raise TunesmithError(f"{what} must be one channel of samples (1-D), not shaped {wave.shape}")
    if not np.issubdtype(wave.dtype, np.floating):
        raise TunesmithError(f"{what} must hold float samples in [-1, 1], not {wave.dtype}")
    wave = wave.astype(np.float32, copy=False)
    if not np.isfinite(wave).all():
        raise TunesmithError(f"{what} holds NaN or infinite samples")
    return wave


def pad_to(wave: np.ndarray, multiple: int) -> np.ndarray:
    """``wave`` with zeros appended up to a whole number of ``multiple`` samples."""
    extra = -len(wave) % multiple
    return np.concatenate([wave, np.zeros(extra, dtype=np.float32)]) if extra else wave


class AudioRepresentation(FrameRepresentation):
    """A frame representation of a mono wave: ``hop`` samples per frame at ``sample_rate``.

    ``encode(wave)`` gives the stored float16 rows; ``frames_of(wave)`` the float32 frames before
    that rounding (for priming a model and for reconstruction); ``decode(frames)`` a float32 wave
    in [-1, 1]. ``loss`` tells training which objective fits: "mse" or "spectral".
    """

    loss: ClassVar[str]
    OPTIONS: ClassVar[tuple[str, ...]]  # the keyword options of __init__, which fit() accepts too
    sample_rate: int
    hop: int

    @classmethod
    def fit(cls, items: Iterable[Any] = (), **options: Any) -> AudioRepresentation:
        """No statistics to gather (fixed scalings): check the options and build. ``items`` is ignored."""
        unknown = sorted(set(options) - set(cls.OPTIONS))
        if unknown:
            raise TunesmithError(f"{cls.name} has no option {', '.join(unknown)}; it takes {', '.join(cls.OPTIONS)}")
        return cls(**options)

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop

    def storage(self) -> tuple[np.dtype, int]:
        return np.dtype(np.float16), self.frame_dim

    def to_model(self, stored: np.ndarray) -> np.ndarray:
        return np.asarray(stored).astype(np.float32)

    @abstractmethod
    def frames_of(self, wave: np.ndarray) -> np.ndarray:
        """A wave → float32 frames ``(T, frame_dim)``: what ``encode`` stores, before float16 rounding."""

    def encode(self, item: np.ndarray) -> np.ndarray:
        """A float32 mono wave at ``sample_rate`` → stored rows ``(T, frame_dim)`` float16."""
        return self.frames_of(item).astype(np.float16)

    def start_frame(self) -> np.ndarray:
        """Silence, in this representation's own scale: what a sampler feeds first."""
        return self.frames_of(np.zeros(4 * self.hop, dtype=np.float32))[0].copy()

    def check_frames(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim != 2 or frames.shape[1] != self.frame_dim:
            raise TunesmithError(f"{self.name} frames must be shaped (T, {self.frame_dim}), not {frames.shape}")
        if not np.isfinite(frames).all():
            raise TunesmithError(f"{self.name} frames hold NaN or infinite values")
        return frames

    def state(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, **{key: getattr(self, key) for key in self.OPTIONS}}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AudioRepresentation:
        """From JSON that may come from a stranger: every field is type- and range-checked."""
        if state.get("version", STATE_VERSION) != STATE_VERSION:
            raise ValueError(f"version must be {STATE_VERSION}")
        try:
            return cls(**{key: check_int(state, key) for key in cls.OPTIONS})
        except TunesmithError as exc:
            raise ValueError(str(exc)) from None
