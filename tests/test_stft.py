"""The one STFT: both framings keep the conventions their callers were built on (the centred one is
compared with librosa in tests/representations/test_audio_representations.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tunesmith.errors import TunesmithError
from tunesmith.stft import analysis_magnitude, check_sample_rate, stft, window, window_sum


def test_the_window_is_periodic_hann_in_both_precisions() -> None:
    for n in (16, 400, 512, 1024, 8192):
        formula = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
        assert np.array_equal(window(n), formula.astype(np.float32))  # what the representations always used
        assert np.array_equal(window(n, np.float64), np.hanning(n + 1)[:-1])  # what the measures always used
    assert window_sum(1024) == pytest.approx(512.0)


@pytest.mark.parametrize("length", [0, 1, 1023, 1024, 1025, 1280, 5000])
def test_uncentred_frames_start_at_sample_0_and_pad_only_the_end(length: int) -> None:
    wave = np.random.default_rng(length).uniform(-1, 1, length)
    count = max(1, 1 + -(-max(0, length - 1024) // 256))
    padded = np.pad(wave, (0, (count - 1) * 256 + 1024 - length)) if length < (count - 1) * 256 + 1024 else wave
    frames = np.stack([padded[i * 256 : i * 256 + 1024] for i in range(count)])
    expected = np.abs(np.fft.rfft(frames * np.hanning(1025)[:-1], axis=1))
    got = analysis_magnitude(wave)
    assert got.dtype == np.float64 and got.shape == (count, 513)
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_centred_frames_are_float32_with_one_frame_per_hop() -> None:
    spec = stft(np.zeros(1000, dtype=np.float32), 512, 128)
    assert spec.dtype == np.complex64 and spec.shape == (1 + 1000 // 128, 257)


def test_sample_rates_are_checked() -> None:
    assert check_sample_rate(np.int64(16_000)) == 16_000
    for bad in (100, 96_000, True, 16_000.0):
        with pytest.raises(TunesmithError, match="sample rate"):
            check_sample_rate(bad)
