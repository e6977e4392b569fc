"""Hostile files through ``tunesmith render``: each is refused by a stated limit before the expensive work.

The CLI runs in a fresh interpreter under an address-space cap (``run_bounded``: 3 GiB, which the
verovio and music21 children inherit) and a hang guard; a runaway fails the test instead of eating the
machine. Nothing here asserts a speed: the guard is generous, the message naming the limit is the check.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import symusic

from tests.conftest import run_cli
from tunesmith.render import limits
from tunesmith.render.audio import AudioOptions
from tunesmith.render.builtin_synth import BLOCK, _note_wave, builtin_synth, timbre_for
from tunesmith.render.files import render_file

HANG_GUARD = 120.0  # seconds: a runaway fails here, a working refusal takes a second or two
MEMORY_CAP = 3 << 30  # bytes of address space for the CLI and every child it starts
HEADER = "X:1\nT:Big\nM:4/4\nL:1/8\nK:D\n"
TUNE = "X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|]\n"


def run_bounded(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``tunesmith ARGS`` in a fresh interpreter, capped at MEMORY_CAP of address space, under the hang guard."""
    return run_cli(*args, cwd=cwd, timeout=HANG_GUARD, memory_cap=MEMORY_CAP)


def one_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit 2 and exactly one ``error:`` line on stderr, naming every fragment; no traceback."""
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), (result.returncode, lines)
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --- MIDI built by hand ------------------------------------------------------------------------------


def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def midi_file(tracks: list[bytes]) -> bytes:
    chunks = b"".join(b"MTrk" + struct.pack(">I", len(t) + 4) + t + b"\x00\xff\x2f\x00" for t in tracks)
    return b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), 480) + chunks


def note(pitch: int, delta: int = 0, length: int = 240) -> bytes:
    return vlq(delta) + bytes([0x90, pitch, 90]) + vlq(length) + bytes([0x80, pitch, 0])


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk: only a reader that reads it pays for it."""
    with path.open("wb") as f:
        f.truncate(size)
    return path


def hostile(tmp_path: Path, kind: str) -> Path:
    if kind == "10 MB single-line tune":
        path = tmp_path / "long.abc"
        path.write_text(HEADER + "abcd efga " * 1_000_000 + "\n")
    elif kind == "100,000 empty tunes":
        path = tmp_path / "empty.abc"
        path.write_text("".join(f"X:{i}\nT:Nothing {i}\nK:G\n\n" for i in range(1, 100_001)))
    elif kind == "ABC over 64 MiB":
        path = sparse(tmp_path / "huge.abc", limits.MAX_ABC_BYTES + 1)
    elif kind == "one huge delta time":
        path = tmp_path / "delta.mid"
        path.write_bytes(midi_file([note(60) + note(62, delta=0x0FFFFFFF)]))
    elif kind == "1,000 tracks":
        path = tmp_path / "tracks.mid"
        path.write_bytes(midi_file([note(60 + i % 12) for i in range(1000)]))
    elif kind == "200,000 notes":  # ten minutes of 20-note chords, every 32nd note
        chord = b"".join(vlq(0) + bytes([0x90, 40 + 2 * k, 90]) for k in range(20))
        release = vlq(60) + b"".join((vlq(0) if k else b"") + bytes([0x80, 40 + 2 * k, 0]) for k in range(20))
        path = tmp_path / "dense.mid"
        path.write_bytes(midi_file([(chord + release) * 10_000]))
    else:  # "MIDI over 16 MiB"
        path = sparse(tmp_path / "huge.mid", limits.MAX_MIDI_BYTES + 1)
    return path


@pytest.mark.parametrize(
    ("kind", "fragments"),
    [
        ("10 MB single-line tune", ["10,000,", "characters long", "at most 100,000"]),
        ("100,000 empty tunes", ["100,000 tunes have no music after K: (X:1, X:2, X:3, …)"]),
        ("ABC over 64 MiB", ["larger than 64 MiB"]),
        ("one huge delta time", ["quarter notes", "at most 20,000"]),
        ("1,000 tracks", ["1,000 tracks", "at most 128"]),
        ("200,000 notes", ["200,000 notes", "at most 100,000"]),
        ("MIDI over 16 MiB", ["larger than 16 MiB"]),
    ],
)
def test_a_hostile_file_is_one_error_line(tmp_path: Path, kind: str, fragments: list[str]) -> None:
    path = hostile(tmp_path, kind)
    one_error(run_bounded("render", path, "--out", tmp_path / "out", "--synth", "builtin"), *fragments)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_empty_tunes_in_a_tunebook_are_one_line_and_the_music_renders(tmp_path: Path) -> None:
    empty = "".join(f"X:{i}\nT:Nothing {i}\nK:G\n% a comment\nW:words only\n\n" for i in range(2, 502))
    (tmp_path / "book.abc").write_text(TUNE + "\n" + empty)
    report = render_file(tmp_path / "book.abc", ["mid"], tmp_path / "out")
    assert [o.paths[0].name for o in report.outputs] == ["book-1.mid"]
    [failure] = report.failures
    assert "500 tunes have no music after K: (X:2, X:3, X:4, …); skipped" in failure.reason


def test_a_tune_over_the_length_limit_fails_alone(tmp_path: Path) -> None:
    long = "X:2\nT:Long\nM:4/4\nL:1/8\nK:D\n" + "|".join(["abcd efga"] * 11_000) + "\n"
    (tmp_path / "book.abc").write_text(TUNE + "\n" + long)
    report = render_file(tmp_path / "book.abc", ["mid", "svg"], tmp_path / "out")
    assert sorted(o.paths[0].name for o in report.outputs) == ["book-1.mid", "book-1.svg"]
    [failure] = report.failures  # one line for the tune, not one per format
    assert (failure.tune, failure.format) == ("2", "*") and "at most 100,000" in failure.reason


def test_scores_have_their_own_note_and_bar_limits(tmp_path: Path) -> None:
    """music21 lays out every bar, so a score is refused above its limits while the audio still renders."""
    score = symusic.Score(480)
    track = symusic.Track(program=0)
    for i in range(limits.MAX_SCORE_NOTES + 1):
        track.notes.append(symusic.Note((i // 8) * 60, 60, 48 + i % 8 * 3, 80))
    score.tracks.append(track)
    score.dump_midi(str(tmp_path / "busy.mid"))
    report = render_file(tmp_path / "busy.mid", ["mid", "musicxml"], tmp_path / "out")
    assert [o.format for o in report.outputs] == ["mid"]
    assert "scores are made of at most 20,000" in report.failures[0].reason

    sparse_score = symusic.Score(480)
    track = symusic.Track(program=0)
    track.notes.extend(
        [symusic.Note(0, 480, 60, 80), symusic.Note(480 * (limits.MAX_SCORE_QUARTERS + 10), 480, 62, 80)]
    )
    sparse_score.tracks.append(track)
    sparse_score.dump_midi(str(tmp_path / "rests.mid"))
    report = render_file(tmp_path / "rests.mid", ["svg"], tmp_path / "out")
    assert not report.outputs and "6,011 quarter notes; scores are made of at most 6,000" in report.failures[0].reason


def test_music21_runs_in_a_child_under_a_time_limit() -> None:
    from tunesmith.errors import TunesmithError
    from tunesmith.render.score import abc_to_musicxml

    with pytest.raises(TunesmithError, match=r"tune: music21 took longer than 0\.01 s"):
        abc_to_musicxml(TUNE, "tune", timeout=0.01)
    assert "<pitch>" in abc_to_musicxml(TUNE, "tune")


@pytest.mark.skipif(sys.platform != "linux", reason="address-space limits are enforced on Linux")
def test_the_children_memory_cap_holds_and_never_raises_a_cap() -> None:
    code = (
        "import resource; from tunesmith.render.limits import limit_memory\n"
        "limit_memory(1 << 30)\n"
        "print(resource.getrlimit(resource.RLIMIT_AS)[0] >> 20)\n"
        "limit_memory(8 << 30)\n"
        "print(resource.getrlimit(resource.RLIMIT_AS)[0] >> 20)\n"
        "try:\n    bytearray(2 << 30)\nexcept MemoryError:\n    print('refused')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout.split()
    assert out == ["1024", "1024", "refused"]


def test_the_builtin_synth_makes_long_notes_in_blocks_and_keeps_its_deadline() -> None:
    tb = timbre_for(40)  # strings: vibrato, so every sample depends on its time
    whole = _note_wave(tb, 57, 20.0, 8000)
    blocks = [_note_wave(tb, 57, 20.0, 8000, a, min(a + BLOCK, len(whole))) for a in range(0, len(whole), BLOCK)]
    assert len(whole) > 2 * BLOCK and np.array_equal(whole, np.concatenate(blocks))

    score = symusic.Score(480)
    track = symusic.Track(program=40)
    track.notes.extend([symusic.Note(0, 480 * 40, 57, 80), symusic.Note(480, 240, 64, 80)])
    score.tracks.append(track)
    out = builtin_synth(score, 8000)
    assert out.shape[1] == 2 and np.abs(out).max() > 0
    with pytest.raises(TimeoutError):
        builtin_synth(score, 8000, timeout=0.0)


def test_the_limits_leave_room_for_real_music() -> None:
    """The stated limits against the largest real things they must take (see docs/limits.md)."""
    from tunesmith.abc_text import MAX_ABC_BYTES, split_tunebook
    from tunesmith.corpora import music21_corpus_root

    files = sorted(music21_corpus_root().rglob("*.abc"))
    assert max(f.stat().st_size for f in files) * 100 < MAX_ABC_BYTES
    tunes = [t for f in files for t in split_tunebook(f.read_text(encoding="utf-8", errors="replace"))]
    assert max(map(len, tunes)) * 20 < limits.MAX_TUNE_CHARS
    assert AudioOptions().max_seconds == limits.MAX_SECONDS >= 19.4 * 60  # the Grosse Fuge
