"""Reading audio: every kind of bad file is a counted skip (and a clear error for a single prompt file),
resampling keeps pitch, stereo becomes mono, and loudness follows its rule (the built-in corpora's render
cache: tests/media/test_audio_builtin.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from tunesmith.corpora.abc import ReadReport
from tunesmith.corpora.audio import (
    SKIP_REASONS,
    find_audio_files,
    load_audio,
    probe,
    read_audio_files,
)
from tunesmith.errors import TunesmithError


def sine(freq: float, seconds: float, sr: int, amp: float = 0.3) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(sr * seconds)) / sr)).astype(np.float32)


def write_bad_files(folder: Path) -> dict[str, str]:
    """One file per skip reason; returns file name → the reason it must be skipped for."""
    folder.mkdir(parents=True, exist_ok=True)
    good = folder / "good.wav"
    soundfile.write(good, sine(440, 1.0, 16_000), 16_000)
    data = good.read_bytes()
    (folder / "truncated.wav").write_bytes(data[: len(data) // 2])  # header promises twice the samples
    (folder / "header-only.wav").write_bytes(data[:30])
    (folder / "text.wav").write_text("these are words, not samples\n")
    soundfile.write(folder / "empty.wav", np.zeros(0, dtype=np.float32), 16_000)
    soundfile.write(folder / "nan.wav", np.tile(np.float32([0.1, np.nan]), 8000), 16_000, subtype="FLOAT")
    soundfile.write(folder / "eight.wav", np.full((16_000, 8), 0.1, dtype=np.float32), 16_000)
    soundfile.write(folder / "hi-rate.wav", sine(440, 0.6, 192_000), 192_000)
    soundfile.write(folder / "silent.flac", np.zeros(16_000, dtype=np.float32), 16_000)
    soundfile.write(folder / "short.wav", sine(440, 0.1, 16_000), 16_000)
    return {
        "truncated.wav": "corrupt",
        "header-only.wav": "corrupt",
        "text.wav": "not_audio",
        "empty.wav": "empty",
        "nan.wav": "not_finite",
        "eight.wav": "channels",
        "hi-rate.wav": "sample_rate",
        "silent.flac": "silent",
        "short.wav": "too_short",
    }


def test_find_audio_files_is_recursive_sorted_and_case_blind(tmp_path: Path) -> None:
    for name in ("b/two.WAV", "a/one.flac", "a/deep/three.ogg", "notes.txt", "c/four.mid"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in find_audio_files(tmp_path)] == [
        "a/deep/three.ogg",
        "a/one.flac",
        "b/two.WAV",
    ]
    assert find_audio_files(tmp_path / "b/two.WAV") == [tmp_path / "b/two.WAV"]
    with pytest.raises(TunesmithError, match="does not exist"):
        find_audio_files(tmp_path / "missing")


def test_every_bad_file_is_a_counted_skip(tmp_path: Path) -> None:
    expected = write_bad_files(tmp_path)
    report = ReadReport()
    pieces = list(read_audio_files(find_audio_files(tmp_path), 16_000, report, base=tmp_path))
    assert [p.source for p in pieces] == ["good.wav"]
    assert {source: reason for source, _, reason in report.records} == expected
    assert report.files == len(expected) + 1 and sum(report.skipped.values()) == len(expected)
    assert set(expected.values()) <= set(SKIP_REASONS)


def test_load_audio_names_the_file_and_the_problem(tmp_path: Path) -> None:
    expected = write_bad_files(tmp_path)
    for name, reason in expected.items():
        if reason == "too_short":  # a prompt may be short: load_audio's minimum is 0 s unless asked
            assert len(load_audio(tmp_path / name, 16_000)) == 1600
            with pytest.raises(TunesmithError, match="shorter than 0.5 s"):
                load_audio(tmp_path / name, 16_000, min_seconds=0.5)
            continue
        with pytest.raises(TunesmithError) as caught:
            load_audio(tmp_path / name, 16_000)
        message = str(caught.value)
        assert str(tmp_path / name) in message and SKIP_REASONS[reason] in message and "\n" not in message
    with pytest.raises(TunesmithError, match="longer than 0.5 s"):
        load_audio(tmp_path / "good.wav", 16_000, max_seconds=0.5)
    with pytest.raises(TunesmithError, match="does not exist"):
        load_audio(tmp_path / "missing.wav", 16_000)
    with pytest.raises(TunesmithError, match="sample rate"):
        load_audio(tmp_path / "good.wav", 1_000)


def test_too_long_is_decided_from_the_header(tmp_path: Path) -> None:
    path = tmp_path / "long.flac"
    soundfile.write(path, sine(220, 3.0, 8_000), 8_000)
    assert probe(path) == ""
    assert probe(path, max_seconds=2.0) == "too_long"


def test_resampling_keeps_the_pitch(tmp_path: Path) -> None:
    path = tmp_path / "a440.wav"
    soundfile.write(path, sine(440, 2.0, 44_100), 44_100)
    wave = load_audio(path, 16_000)
    assert wave.dtype == np.float32 and abs(len(wave) - 32_000) <= 2
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    peak = np.argmax(spectrum) * 16_000 / len(wave)
    assert abs(peak - 440) < 1.0


def test_stereo_is_averaged_to_mono(tmp_path: Path) -> None:
    left, right = sine(300, 1.0, 16_000, 0.4), sine(500, 1.0, 16_000, 0.2)
    path = tmp_path / "stereo.flac"
    soundfile.write(path, np.stack([left, right], axis=1), 16_000, subtype="PCM_24")
    wave = load_audio(path, 16_000, normalise=False)
    assert np.abs(wave - (left + right) / 2).max() < 1e-5  # 24-bit storage


def test_loudness_rms_to_minus_20_dbfs_with_the_peak_capped(tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.wav"
    soundfile.write(quiet, sine(440, 1.0, 16_000, 0.01), 16_000, subtype="FLOAT")
    wave = load_audio(quiet, 16_000)
    assert 20 * np.log10(np.sqrt(np.mean(wave.astype(np.float64) ** 2))) == pytest.approx(-20, abs=0.01)

    spiky = np.zeros(16_000, dtype=np.float32)  # one click in silence: RMS -20 dBFS would need a peak of +17 dBFS
    spiky[::4000] = 0.5
    path = tmp_path / "clicks.wav"
    soundfile.write(path, spiky, 16_000, subtype="FLOAT")
    wave = load_audio(path, 16_000)
    assert np.abs(wave).max() == pytest.approx(10 ** (-1 / 20), rel=1e-5)
    assert np.sqrt(np.mean(wave**2)) < 0.1
