"""What every audio representation shares: the sample rate, the hop, float16 storage and the decibel scale.

Audio comes in as a float32 mono wave in [-1, 1] at ``sample_rate``; a representation cuts it into
frames every ``hop`` samples (``frames_per_second = sample_rate / hop``) and stores each row as
float16. float16 keeps 11 significant bits: a value in [-1, 1] is stored within 2**-12 (2.4e-4) of
itself, and within 2**-11 of its own size (66 dB below it) down to 6e-5: coarser than 16-bit PCM
near full scale, finer for quiet samples, at half the bytes of float32. Models read float32
(``to_model``).

The sample rates (:data:`~tunesmith.stft.DEFAULT_SAMPLE_RATE`, 16 kHz by default, and the range a model
may run at) and the STFT pair live on the ground floor, in :mod:`tunesmith.stft`, which the audio reader
and the audio measures share.

No audio representation needs corpus statistics: every scaling is fixed (stated in each class), so
``fit`` only checks its options and ``prepare`` can stream a corpus in one pass.

Spectral magnitudes are measured on the STFT divided by the window's sum, so a full-scale sine reads
0.5 (-6 dB) in its bin, whatever ``n_fft`` is. Decibels are floored at :data:`DB_FLOOR` (-100 dB)
and mapped to model values by :func:`db_to_unit` (``dB / 50 + 1``): the floor is -1, 0 dB is +1,
so values sit in the range a mean-squared-error model handles well.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.representations.base import FrameRepresentation
from tunesmith.stft import istft, stft

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


def wrap(angle: Any) -> Any:
    """Angles in radians (a torch tensor) moved into (−π, π], the range phase columns are stored in (the
    principal value; −π, which atan2 may give, becomes π). Training's phase loss and the sampler share it."""
    import torch

    wrapped = torch.atan2(torch.sin(angle), torch.cos(angle))
    return torch.where(wrapped <= -math.pi, torch.full_like(wrapped, math.pi), wrapped)


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

    medium = "audio"
    loss: ClassVar[str]
    OPTIONS: ClassVar[tuple[str, ...]]  # the keyword options of __init__, which fit() accepts too
    sample_rate: int
    hop: int
    n_fft: int = 0  # an STFT's window, for representations that take one (its last frames reach past the wave)
    phase_columns: slice | None = None  # columns holding phase (wrapped, not clipped, when fed back)

    def frames_db(self, frames: np.ndarray) -> np.ndarray:
        """Frames on a decibel scale for pictures; frames that are not spectra are drawn as they are."""
        return frames

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
