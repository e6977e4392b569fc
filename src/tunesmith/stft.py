"""The one STFT of the package, and the sample rates audio runs at (ground floor: numpy and scipy only).

Audio representations, the audio measures and the spectrogram pictures all call :func:`stft`, so a
bin means the same thing everywhere. Two framings are in use, chosen by ``center``:

- ``center=True`` (the representations): librosa's ``stft(center=True)`` with zero padding,
  ``n_fft/2`` zeros each side, ``T = 1 + len(wave) // hop`` frames, float32 in, complex64 out.
  :func:`istft` inverts it; tests compare both with librosa.
- ``center=False`` (the measures and pictures, :data:`ANALYSIS_N_FFT`/:data:`ANALYSIS_HOP`):
  frames from sample 0, the end zero-padded to a whole frame, at least one frame; run in float64
  (``dtype=np.float64``) so flux and distances are not limited by float32 rounding.

Both use the periodic Hann window (:func:`window`), and neither is normalised: divide by
:func:`window_sum` to make a full-scale sine read 0.5 in its bin, whatever ``n_fft`` is.

The default rate is 16 kHz (:data:`DEFAULT_SAMPLE_RATE`): it keeps everything up to 8 kHz, the band
that carries speech and melody (the fundamentals of every orchestral instrument and their first
harmonics); it is 2.75x less data than CD's 44.1 kHz, so 2.75x more music per training step and per
gigabyte; and it is what seed 001 could afford to train a frame LSTM on at all. It lives here, not
with the representations, because the audio reader checks a model's rate too.
"""

from __future__ import annotations

import functools

import numpy as np

from tunesmith.errors import TunesmithError

DEFAULT_SAMPLE_RATE = 16_000
SAMPLE_RATES = (8_000, 48_000)  # what a model may run at; a corpus file may be 8-96 kHz and is resampled
ANALYSIS_N_FFT, ANALYSIS_HOP = 1024, 256  # the audio measures' and spectrogram pictures' view


def check_sample_rate(sample_rate: int) -> int:
    """A model's sample rate within :data:`SAMPLE_RATES`, as an int; anything else is a TunesmithError."""
    lo, hi = SAMPLE_RATES
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or not lo <= sample_rate <= hi:
        raise TunesmithError(f"sample rate {sample_rate!r} is out of range: choose {lo} to {hi} Hz")
    return int(sample_rate)


@functools.lru_cache(maxsize=32)
def window(n_fft: int, dtype: type = np.float32) -> np.ndarray:
    """The periodic Hann window (librosa's and scipy's ``get_window("hann", n, fftbins=True)``), read-only.

    Computed as ``np.hanning(n_fft + 1)[:-1]``; its float32 rounding equals ``0.5 - 0.5·cos(2πk/n)``
    rounded to float32 for every ``n_fft`` from 16 to 8192 (checked), so both framings share it."""
    values = np.hanning(n_fft + 1)[:-1].astype(dtype)
    values.flags.writeable = False
    return values


def window_sum(n_fft: int) -> float:
    """Sum of the float32 analysis window: dividing the STFT by it makes a full-scale sine read 0.5."""
    return float(window(n_fft).sum(dtype=np.float64))


def stft(wave: np.ndarray, n_fft: int, hop: int, *, center: bool = True, dtype: type = np.float32) -> np.ndarray:
    """Complex STFT ``(T, n_fft/2 + 1)``: periodic Hann window, not normalised.

    ``center=True``: ``n_fft/2`` zeros each side, ``T = 1 + len(wave) // hop`` (librosa's framing).
    ``center=False``: frames from sample 0, the end zero-padded to a whole frame, ``T >= 1``.
    ``dtype`` is the precision of the samples and window (float32 gives complex64, float64 complex128)."""
    import scipy.fft

    x = np.asarray(wave, dtype=dtype).reshape(-1)
    if center:
        x = np.pad(x, n_fft // 2)
        if len(x) < n_fft:
            x = np.pad(x, (0, n_fft - len(x)))
        frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    else:
        count = max(1, 1 + -(-max(0, len(x) - n_fft) // hop))
        needed = (count - 1) * hop + n_fft
        x = np.pad(x, (0, needed - len(x))) if len(x) < needed else x
        frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:count]
    spec = scipy.fft.rfft(frames * window(n_fft, dtype), axis=-1)
    return spec.astype(np.result_type(dtype, np.complex64), copy=False)


def analysis_magnitude(wave: np.ndarray, n_fft: int = ANALYSIS_N_FFT, hop: int = ANALYSIS_HOP) -> np.ndarray:
    """``|STFT|`` as the audio measures and spectrogram pictures see it: uncentred, float64."""
    return np.abs(stft(wave, n_fft, hop, center=False, dtype=np.float64))


# --- the inverse ---------------------------------------------------------------------------------
# librosa's istft computed the same way (tests compare them), but with the window's overlap-add
# normalisation computed once per length and the overlap-add done as ceil(n_fft / hop) vector
# additions: Griffin-Lim calls stft and istft 32 times a decode, and this makes the mel decode
# 2 to 3x faster than with librosa.griffinlim.


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
    """The inverse of the centred :func:`stft` (least-squares overlap-add, as librosa's istft): ``length``
    float32 samples."""
    import scipy.fft

    frames = scipy.fft.irfft(spec, n=n_fft, axis=-1).astype(np.float32, copy=False) * window(n_fft)
    wave = _overlap_add(frames, hop) * _overlap_norm(n_fft, hop, len(spec))
    wave = wave[n_fft // 2 :][:length]
    return np.pad(wave, (0, length - len(wave))) if len(wave) < length else wave
