"""Audio measures: did a continuation fade to silence or stick on a fixed point, and how far is a
reconstruction from its original. Plain numpy on decoded waves (float32 mono in [-1, 1]).

Seed 001's generated audio failed in two ways: it *faded away* (energy falling to silence) or got
*stuck on a fixed point* (the same spectrum frame after frame). Per continuation:

- RMS energy over time in dBFS, in non-overlapping 50 ms windows: ``20·log10(sqrt(mean(x²)))``
  (a full-scale sine reads −3 dBFS), floored at −120 dBFS. Faded = the first window below
  −40 dBFS (its start time in seconds) and the minimum over the continuation.
- Spectral flux: for STFT magnitudes ``|S_t|`` (Hann window of 1024 samples, hop 256, frames from
  sample 0: :func:`tunesmith.stft.analysis_magnitude`, which the spectrogram pictures draw too),
  ``flux_t = ‖|S_t| − |S_{t−1}|‖₂ / (‖|S_t|‖₂ + ‖|S_{t−1}|‖₂)``: 0 for an unchanging spectrum (or
  silence), up to 1 for a completely new one. Stuck = the share of frames with flux under 0.02, and
  the longest such run in seconds. Held notes are near-zero too, so compare with the prime's figures.

Reconstruction distances (``S`` the original's STFT, ``Ŝ`` the reconstruction's, equal sizes):

- mel MSE in dB: ``mean((M_dB − M̂_dB)²)`` over every (frame, mel band) of the two log-mel
  spectrograms in decibels (dB²), and its root, the RMS error in dB.
- spectral convergence: ``‖|S| − |Ŝ|‖_F / ‖|S|‖_F`` (0 is exact; 1 is as far as silence).
- log-spectral distance: ``mean_t sqrt(mean_f (10·log10(|S|²+ε) − 10·log10(|Ŝ|²+ε))²)`` in dB, ε = 1e-10.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tunesmith.stft import ANALYSIS_HOP, ANALYSIS_N_FFT, analysis_magnitude

SILENCE_DBFS = -40.0
RMS_WINDOW_SECONDS = 0.05
DB_FLOOR = -120.0
N_FFT, HOP = ANALYSIS_N_FFT, ANALYSIS_HOP
STUCK_FLUX = 0.02
EPS = 1e-10


def rms_dbfs(wave: np.ndarray, sample_rate: int, window: float = RMS_WINDOW_SECONDS) -> tuple[np.ndarray, np.ndarray]:
    """(start time of each window in seconds, its RMS in dBFS); a last partial window counts if it is at least half."""
    size = max(1, int(round(window * sample_rate)))
    x = np.asarray(wave, dtype=np.float64).reshape(-1)
    n = len(x) // size + (len(x) % size >= size / 2)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    x = np.pad(x, (0, max(0, n * size - len(x))))[: n * size].reshape(n, size)
    rms = np.sqrt((x**2).mean(axis=1))
    db = np.maximum(20 * np.log10(np.maximum(rms, 10 ** (DB_FLOOR / 20))), DB_FLOOR)
    return np.arange(n) * size / sample_rate, db


def stft_magnitude(wave: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """``|STFT|`` as ``(frames, n_fft // 2 + 1)``: Hann window, frames from sample 0 (no centring), the end
    zero-padded to a whole frame, in float64 (:func:`tunesmith.stft.analysis_magnitude`)."""
    return analysis_magnitude(wave, n_fft, hop)


def spectral_flux(magnitude: np.ndarray) -> np.ndarray:
    """Relative flux between consecutive frames of ``(frames, bins)`` magnitudes, in [0, 1] (one fewer value)."""
    if len(magnitude) < 2:
        return np.zeros(0)
    change = np.linalg.norm(np.diff(magnitude, axis=0), axis=1)
    size = np.linalg.norm(magnitude[1:], axis=1) + np.linalg.norm(magnitude[:-1], axis=1)
    return np.where(size > EPS, change / np.maximum(size, EPS), 0.0)


def _longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for flag in mask:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def continuation_measures(wave: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """Fade and fixed-point figures of one stretch of audio (a continuation, or a prime for reference)."""
    times, db = rms_dbfs(wave, sample_rate)
    if not db.size:  # under half a window: nothing to hear counts as silence from the start
        times, db = np.zeros(1), np.full(1, DB_FLOOR)
    below = np.flatnonzero(db < SILENCE_DBFS)
    flux = spectral_flux(stft_magnitude(wave))
    stuck = flux < STUCK_FLUX
    return {
        "seconds": round(len(wave) / sample_rate, 3),
        "mean_dbfs": round(float(db.mean()), 2),
        "min_dbfs": round(float(db.min()), 2),
        "silent_at": round(float(times[below[0]]), 3) if below.size else None,  # seconds into the stretch
        "silent_share": round(float((db < SILENCE_DBFS).mean()), 4),
        "mean_flux": round(float(flux.mean()), 4) if flux.size else 0.0,
        "stuck_share": round(float(stuck.mean()), 4) if flux.size else 1.0,
        "longest_stuck_seconds": round(_longest_run(stuck) * HOP / sample_rate, 3),
        "energy_dbfs": [round(float(v), 1) for v in db],  # the curve, one value per 50 ms
    }


def mel_mse_db(reference_db: np.ndarray, estimate_db: np.ndarray) -> tuple[float, float]:
    """(mean squared difference in dB², its root in dB) of two log-mel spectrograms in decibels."""
    a, b = _same_length(reference_db, estimate_db)
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return mse, float(np.sqrt(mse))


def spectral_convergence(reference: np.ndarray, estimate: np.ndarray) -> float:
    """``‖|S| − |Ŝ|‖_F / ‖|S|‖_F`` of two magnitude spectrograms."""
    a, b = _same_length(reference, estimate)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), EPS))


def log_spectral_distance(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Mean over frames of the RMS (over bins) difference of the power spectra in dB."""
    a, b = _same_length(reference, estimate)
    diff = 10 * np.log10(a.astype(np.float64) ** 2 + EPS) - 10 * np.log10(b.astype(np.float64) ** 2 + EPS)
    return float(np.sqrt((diff**2).mean(axis=1)).mean())


def reconstruction_distances(
    reference: np.ndarray, estimate: np.ndarray, reference_mel_db: np.ndarray, estimate_mel_db: np.ndarray
) -> dict[str, float]:
    """Every distance above between a wave and its reconstruction (the mel spectrograms given in dB)."""
    mse, rmse = mel_mse_db(reference_mel_db, estimate_mel_db)
    s, s_hat = stft_magnitude(reference), stft_magnitude(estimate)
    return {
        "mel_mse_db2": round(mse, 4),
        "mel_rmse_db": round(rmse, 4),
        "spectral_convergence": round(spectral_convergence(s, s_hat), 5),
        "log_spectral_distance_db": round(log_spectral_distance(s, s_hat), 4),
    }


def _same_length(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both cut to the shorter one's frames (a reconstruction may differ by a frame's padding)."""
    n = min(len(a), len(b))
    if np.shape(a)[1:] != np.shape(b)[1:]:
        raise ValueError(f"spectrograms of different widths: {np.shape(a)} and {np.shape(b)}")
    return np.asarray(a)[:n], np.asarray(b)[:n]
