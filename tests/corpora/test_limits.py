"""Hostile files in a corpus: ``tunesmith prepare`` skips each by a stated limit, says why, and prepares the rest.

Each run is the real CLI in a fresh interpreter under the address-space cap and hang guard of
:func:`tests.render.test_limits.run_bounded`; the skipped files must be listed in ``skipped.tsv``
with their reason in words, and the good files must be in the prepared splits.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import soundfile
import symusic

from tests.render.test_limits import hostile, midi_file, note, run_bounded, sparse
from tunesmith.abc_text import MAX_FILE_TUNES
from tunesmith.corpora.abc import SKIP_REASONS as ABC_REASONS
from tunesmith.corpora.audio import SKIP_REASONS as AUDIO_REASONS
from tunesmith.corpora.midi import MAX_MIDI_BYTES
from tunesmith.corpora.midi import SKIP_REASONS as MIDI_REASONS

GOOD_ABC = "X:1\nT:One\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|dcBA GFED|\n\nX:2\nT:Two\nM:6/8\nL:1/8\nK:G\nGAB cde|dcB AGF|\n"


def prepared(out: Path, *args: object) -> tuple[dict[str, str], set[str]]:
    """Run prepare; (skipped file → reason in words, files with pieces in the splits)."""
    result = run_bounded("prepare", "--out", out, *args)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line.split("\t") for line in (out / "skipped.tsv").read_text().splitlines()[1:]]
    skipped: dict[str, str] = {}
    for source, _, reason in rows:
        skipped.setdefault(source, reason)
    kept = {s for split in ("train", "val") for s, _ in json.loads((out / f"{split}_sources.json").read_text())}
    return skipped, kept


def test_abc_prepare_skips_hostile_tunebooks_and_keeps_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "abc"
    folder.mkdir()
    (folder / "good.abc").write_text(GOOD_ABC)
    hostile(folder, "10 MB single-line tune")
    hostile(folder, "100,000 empty tunes")
    sparse(folder / "huge.abc", 64 * 1024 * 1024 + 1)
    (folder / "xs.abc").write_text("X:1\n" * (MAX_FILE_TUNES + 1))
    skipped, kept = prepared(tmp_path / "out", "--input", folder)
    assert kept == {"good.abc"}
    assert skipped["huge.abc"] == ABC_REASONS["too_big"] == "larger than 64 MiB (skipped unread); counts files"
    assert skipped["xs.abc"] == ABC_REASONS["too_many_tunes"]
    assert skipped["long.abc"] == ABC_REASONS["too_long"]
    assert skipped["empty.abc"] == ABC_REASONS["empty"]
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["tunes_kept"] == 2 and meta["skipped"][ABC_REASONS["empty"]] == 100_000


def test_midi_prepare_skips_hostile_files_and_keeps_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "midi"
    folder.mkdir()
    for i in range(3):
        (folder / f"good{i}.mid").write_bytes(midi_file([b"".join(note(55 + i + k % 7) for k in range(32))]))
    hostile(folder, "one huge delta time")
    hostile(folder, "1,000 tracks")
    sparse(folder / "huge.mid", MAX_MIDI_BYTES + 1)
    skipped, kept = prepared(tmp_path / "out", "--input", folder, "--representation", "pianoroll")
    assert kept == {"good0.mid", "good1.mid", "good2.mid"}
    assert skipped == {
        "delta.mid": MIDI_REASONS["too_long"],
        "tracks.mid": "more than 128 tracks",
        "huge.mid": "larger than 16 MiB (skipped unread)",
    }
    assert symusic.Score(str(folder / "good0.mid")).note_num() == 32


def wav_header(frames: int, rate: int = 8000) -> bytes:
    """A 16-bit mono PCM WAV header for ``frames`` samples (the samples follow, or a sparse hole does)."""
    size = frames * 2
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    riff = b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", size)
    return b"RIFF" + struct.pack("<I", 36 + size) + riff


def silent_wav(path: Path, minutes: float, rate: int = 8000) -> None:
    frames = int(minutes * 60 * rate)
    with path.open("wb") as f:
        f.write(wav_header(frames, rate))
        f.truncate(44 + 2 * frames)


def test_audio_prepare_takes_an_hour_and_skips_longer_and_one_sample(tmp_path: Path) -> None:
    """An hour is the stated limit: a 45-minute file is read to the end (it is silence, so it is skipped
    as silent, after decoding); a 61-minute one is skipped from its header alone, and so is one sample."""
    folder = tmp_path / "audio"
    folder.mkdir()
    t = np.arange(8000) / 8000
    for i in range(3):
        wave = (0.3 * np.sin(2 * np.pi * (220 + 55 * i) * t)).astype(np.float32)
        soundfile.write(folder / f"tone{i}.wav", wave, 8000)
    silent_wav(folder / "forty-five.wav", 45)
    silent_wav(folder / "sixty-one.wav", 61)
    soundfile.write(folder / "one.wav", np.float32([0.5]), 8000)
    skipped, kept = prepared(tmp_path / "out", "--input", folder, "--representation", "audio-wave")
    assert kept == {"tone0.wav", "tone1.wav", "tone2.wav"}
    assert skipped == {
        "forty-five.wav": AUDIO_REASONS["silent"],
        "sixty-one.wav": "longer than 60 minutes (skipped, not cut)",
        "one.wav": AUDIO_REASONS["too_short"],
    }
