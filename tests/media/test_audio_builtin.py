"""The built-in audio corpora's synthesizer cache: renders are cached by content (piece, synthesizer, rate)
and a piece that cannot be rendered is remembered as a skip, not retried."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import symusic

from tunesmith.corpora.abc import ReadReport
from tunesmith.corpora.audio import AudioSource
from tunesmith.media import audio_builtin
from tunesmith.media.audio_builtin import read_builtin, render_key


def _score(pitches: list[int]) -> symusic.Score:
    """A tiny one-track score: quarter notes at 120 bpm (0.5 s each)."""
    score = symusic.Score(480)
    track = symusic.Track("piano", 0, False)
    for i, pitch in enumerate(pitches):
        track.notes.append(symusic.Note(i * 480, 480, pitch, 90))
    score.tracks.append(track)
    return score


def test_renders_are_cached_by_content_and_failures_are_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNESMITH_CACHE", str(tmp_path / "cache"))
    sources = [
        AudioSource("scale", score=_score([60, 62, 64, 65])),
        AudioSource("nothing", score=symusic.Score(480)),  # no notes: the synthesizer cannot render it
        AudioSource("fifth", score=_score([67, 74])),
    ]
    first_stats: dict = {}
    report = ReadReport()
    first = list(read_builtin(sources, 16_000, report, corpus="test", stats=first_stats))
    assert [p.source for p in first] == ["scale", "fifth"]
    assert report.records == [("nothing", "", "render")]
    assert (first_stats["rendered"], first_stats["cached"]) == (3, 0)
    folder = tmp_path / "cache" / "audio" / "test"
    assert sorted(p.suffix for p in folder.iterdir()) == [".flac", ".flac", ".skip"]
    assert abs(first[0].seconds - 2.0) < 1.2  # four half-second notes, plus the release tail

    def must_not_render(*args: object) -> str:
        raise AssertionError("a cached piece was rendered again")

    monkeypatch.setattr(audio_builtin, "_render", must_not_render)
    second_stats: dict = {}
    report = ReadReport()
    second = list(read_builtin(sources, 16_000, report, corpus="test", stats=second_stats))
    assert (second_stats["rendered"], second_stats["cached"]) == (0, 3)
    assert report.records == [("nothing", "", "render")]
    assert all(np.array_equal(a.wave, b.wave) for a, b in zip(first, second, strict=True))
    # the key covers the piece, the synthesizer and the rate
    key = render_key(sources[0], "builtin", 16_000)
    assert key != render_key(sources[0], "builtin", 22_050)
    assert key != render_key(sources[0], "fluidsynth=2\0soundfont=abc", 16_000)
    assert key != render_key(sources[2], "builtin", 16_000)
