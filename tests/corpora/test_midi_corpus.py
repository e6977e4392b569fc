"""The MIDI corpus layer: built-in chorales converted once and cached, hostile user MIDI as counted
skips, and the augmentation and key functions."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from symusic import KeySignature, Note, Score, Tempo, Track

from tunesmith import corpora
from tunesmith.corpora import cache, midi, midi_builtin
from tunesmith.corpora.abc import ReadReport
from tunesmith.corpora.augment import augmented, estimate_key, normalize_key, stretch_tempo, transpose
from tunesmith.corpora.midi import Piece, find_midi_files, read_midi_files
from tunesmith.corpora.midi_builtin import builtin_pieces

N_CHORALES = 20

# --- building MIDI by hand ------------------------------------------------------------------------


def vlq(n: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def header(tracks: int, division: int = 480) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, 1, tracks, division)


def track(body: bytes) -> bytes:
    return b"MTrk" + struct.pack(">I", len(body)) + body


def note_events(channel: int = 0, count: int = 4, first_delta: int = 0) -> bytes:
    body = b""
    for i in range(count):
        delta = first_delta if i == 0 else 0
        body += vlq(delta) + bytes([0x90 | channel, 60 + i, 80]) + vlq(480) + bytes([0x80 | channel, 60 + i, 0])
    return body + b"\x00\xff\x2f\x00"


def score_with(pitches: list[int], drums: list[int] = (), tpq: int = 480) -> Score:
    score = Score(tpq)
    piano = Track(name="piano", program=0, is_drum=False)
    for i, p in enumerate(pitches):
        piano.notes.append(Note(i * tpq, tpq, p, 80))
    score.tracks.append(piano)
    if drums:
        kit = Track(name="kit", program=0, is_drum=True)
        for i, p in enumerate(drums):
            kit.notes.append(Note(i * tpq, tpq // 2, p, 100))
        score.tracks.append(kit)
    score.tempos.append(Tempo(0, qpm=100))
    score.key_signatures.append(KeySignature(0, 0, 0))
    return score


def pitches(score: Score) -> list[np.ndarray]:
    return [t.notes.numpy()["pitch"].astype(int) for t in score.tracks]


# --- built-in chorales ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chorales(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Piece], ReadReport, dict, Path]:
    """The first chorales converted once into a test cache (never the real home cache)."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUNESMITH_CACHE", str(cache))
        pieces, report, stats = builtin_pieces("bach", max_pieces=N_CHORALES, workers=2)
    return pieces, report, stats, cache


def test_registry_kinds() -> None:
    assert corpora.builtin("folk").kind == "abc"
    assert all(p.suffix == ".abc" for p in corpora.builtin("folk").files()[:50])
    assert corpora.builtin("bach").kind == corpora.builtin("classical").kind == "midi"
    assert len(corpora.builtin("bach").files()) == 350  # Riemenschneider's 371, each file once


def test_every_music21_folder_is_classified() -> None:
    """A new folder in a later music21 should be placed on purpose, not silently left out."""
    folders = {p.name for p in corpora.music21_corpus_root().iterdir() if p.is_dir()}
    placed = set(midi_builtin.CLASSICAL_FOLDERS) | set(midi_builtin.NOT_CLASSICAL)
    assert folders - placed == set()
    assert set(midi_builtin.CLASSICAL_FOLDERS) <= folders


def test_cache_dir_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TUNESMITH_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "tunesmith"
    monkeypatch.setenv("TUNESMITH_CACHE", str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"


def test_bach_first_call_converts_four_voices(chorales) -> None:
    pieces, report, stats, cache = chorales
    assert len(pieces) == N_CHORALES and report.skipped == {}
    assert stats["converted"] == N_CHORALES and stats["cached"] == 0
    assert len(list((cache / "midi" / "bach").glob("*.mid"))) == N_CHORALES
    assert not list((cache / "midi" / "bach").glob(".tmp-*"))  # atomic writes leave nothing behind
    for piece in pieces:
        assert piece.source.startswith("bach/bwv")
        assert [t.name for t in piece.score.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
        assert all(t.note_num() > 0 and not t.is_drum for t in piece.score.tracks)
        assert piece.score.ticks_per_quarter > 0 and len(piece.score.tempos) >= 1
        assert len(piece.score.key_signatures) >= 1 and len(piece.score.time_signatures) >= 1


def test_bach_second_call_reads_the_cache_only(chorales, monkeypatch: pytest.MonkeyPatch) -> None:
    first, _, first_stats, cache = chorales
    monkeypatch.setenv("TUNESMITH_CACHE", str(cache))

    def no_conversion(*_args: object) -> None:
        raise AssertionError("a cached chorale was converted again")

    monkeypatch.setattr(midi_builtin, "_convert", no_conversion)
    pieces, report, stats = builtin_pieces("bach", max_pieces=N_CHORALES, workers=1)
    assert stats["cached"] == N_CHORALES and stats["converted"] == 0
    assert stats["seconds"] < first_stats["seconds"]
    assert [p.source for p in pieces] == [p.source for p in first]
    for a, b in zip(pieces, first, strict=True):
        assert [x.tolist() for x in pitches(a.score)] == [x.tolist() for x in pitches(b.score)]


def test_a_new_converter_version_reconverts(chorales, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNESMITH_CACHE", str(chorales[3]))
    monkeypatch.setattr(midi_builtin, "CONVERTER_VERSION", midi_builtin.CONVERTER_VERSION + 1000)
    pieces, _, stats = builtin_pieces("bach", max_pieces=2, workers=1)
    assert stats["converted"] == 2 and stats["cached"] == 0 and len(pieces) == 2


def test_music21_failures_are_counted_cached_and_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = corpora.music21_corpus_root()
    bad = tmp_path / "broken.xml"
    bad.write_text("<score-partwise><part id='P1'><measure>")
    finale = next((root / "ciconia").glob("*.mus"))
    files = [bad, finale, root / "haydn" / "opus1no1" / "movement2.mxl"]
    assert files[-1].exists() and all(f in midi_builtin.source_files("classical") for f in files[1:])
    monkeypatch.setenv("TUNESMITH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(midi_builtin, "source_files", lambda name: files)
    pieces, report, stats = builtin_pieces("classical", workers=1)
    assert report.skipped == {"conversion": 1, "format": 1} and stats["converted"] == 2
    assert len(pieces) == 1 and pieces[0].source == "haydn/opus1no1/movement2.mxl"
    assert len(pieces[0].score.tracks) == 4  # a string quartet
    pieces, report, stats = builtin_pieces("classical", workers=1)
    assert stats == {**stats, "converted": 0, "cached": 2} and report.skipped == {"conversion": 1, "format": 1}


def test_key_estimate_agrees_with_music21(chorales) -> None:
    from music21 import converter

    root = corpora.music21_corpus_root()
    agree = 0
    for piece in chorales[0]:
        key = converter.parse(root / piece.source).analyze("key")
        agree += estimate_key(piece.score) == (key.tonic.pitchClass, key.mode)
    assert agree / len(chorales[0]) >= 0.8, f"{agree}/{len(chorales[0])}"


def test_normalize_key_of_a_transposed_chorale(chorales) -> None:
    for piece in chorales[0][:4]:
        for shift in (-5, 3):
            normal, applied = normalize_key(transpose(piece.score, shift))
            assert estimate_key(normal) in ((0, "major"), (9, "minor"))
            assert -6 <= applied <= 5


# --- the user's folder ------------------------------------------------------------------------------


HOSTILE = {
    "truncated.mid": ("corrupt", lambda good: good[: len(good) - 9]),
    "cut_in_header.mid": ("corrupt", lambda good: good[:10]),
    "bad_chunk_length.mid": ("corrupt", lambda _: header(1) + b"MTrk" + struct.pack(">I", 9999) + note_events()),
    "zero_length_track.mid": ("no_notes", lambda _: header(1) + track(b"")),
    "huge_delta.mid": ("too_long", lambda _: header(1) + track(note_events(first_delta=0x0FFFFFFF))),
    "text.mid": ("not_midi", lambda _: b"X:1\nT:not midi at all\nK:C\nCDEF|\n"),
    "empty.mid": ("not_midi", lambda _: b""),
    "no_notes.mid": ("no_notes", lambda _: header(1) + track(b"\x00\xff\x51\x03\x07\xa1\x20\x00\xff\x2f\x00")),
    "drums.mid": ("drums_only", lambda _: header(1) + track(note_events(channel=9))),
    "smpte.mid": ("smpte", lambda _: header(1, division=0xE728) + track(note_events())),
    "zero_division.mid": ("corrupt", lambda _: header(1, division=0) + track(note_events())),
    "bad_running_status.mid": ("corrupt", lambda _: header(1) + track(b"\x00\x60\x40" + note_events())),
}


@pytest.fixture
def user_folder(tmp_path: Path) -> Path:
    good = score_with([60, 62, 64, 65, 67]).dumps_midi()
    root = tmp_path / "midi"
    (root / "a" / "b").mkdir(parents=True)
    (root / "good.mid").write_bytes(good)
    (root / "a" / "b" / "UPPER.MID").write_bytes(good)
    (root / "a" / "long.midi").write_bytes(good)
    (root / "a" / "notes.txt").write_text("not a candidate")
    (root / "a" / "with_empty_track.mid").write_bytes(header(2) + track(b"") + track(note_events()))
    (root / "a" / "band.mid").write_bytes(score_with([60, 64, 67], drums=[36, 38, 42]).dumps_midi())
    riff = b"RMID" + b"data" + struct.pack("<I", len(good)) + good
    (root / "a" / "windows.rmi.mid").write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    for name, (_, build) in HOSTILE.items():
        (root / "bad" / name).parent.mkdir(exist_ok=True)
        (root / "bad" / name).write_bytes(build(good))
    return root


def test_find_midi_files_recursive_and_case_blind(user_folder: Path) -> None:
    found = [p.relative_to(user_folder).as_posix() for p in find_midi_files(user_folder)]
    assert "a/b/UPPER.MID" in found and "a/long.midi" in found and "good.mid" in found
    assert not any(f.endswith(".txt") for f in found)
    assert found == sorted(found) and len(found) == 6 + len(HOSTILE)
    assert find_midi_files(user_folder / "good.mid") == [user_folder / "good.mid"]


def test_hostile_files_are_counted_skips(user_folder: Path) -> None:
    pieces, report = read_midi_files(find_midi_files(user_folder), base=user_folder)
    reasons = {source: reason for source, _, reason in report.records}
    assert reasons == {f"bad/{name}": reason for name, (reason, _) in HOSTILE.items()}
    assert set(report.skipped) <= set(midi.SKIP_REASONS)
    kept = {p.source: p for p in pieces}
    assert set(kept) == {"good.mid", "a/b/UPPER.MID", "a/long.midi", "a/with_empty_track.mid", "a/band.mid"} | {
        "a/windows.rmi.mid"
    }
    assert report.files == len(kept) + len(HOSTILE)
    band = kept["a/band.mid"].score
    assert len(band.tracks) == 1 and not band.tracks[0].is_drum  # drums dropped from a mixed file
    assert kept["a/with_empty_track.mid"].score.note_num() == 4  # the empty track is dropped, not the file
    assert kept["good.mid"].score.ticks_per_quarter == 480


def test_limits_and_max_pieces(user_folder: Path) -> None:
    files = find_midi_files(user_folder)
    pieces, report = read_midi_files(files, base=user_folder, max_notes=4)
    assert report.skipped["too_long"] >= 4
    pieces, report = read_midi_files(files, base=user_folder, max_pieces=2)
    assert len(pieces) == 2


# --- augmentation ------------------------------------------------------------------------------------


def test_transpose_round_trip_leaves_drums_alone() -> None:
    score = score_with([60, 64, 67, 72], drums=[36, 38])
    up = transpose(score, 3)
    assert pitches(up)[0].tolist() == [63, 67, 70, 75] and pitches(up)[1].tolist() == [36, 38]
    assert up.key_signatures[0].key == -3  # C major up a minor third is E-flat major
    back = transpose(up, -3)
    assert [p.tolist() for p in pitches(back)] == [p.tolist() for p in pitches(score)]
    assert back.key_signatures[0].key == 0
    assert pitches(score)[0].tolist() == [60, 64, 67, 72]  # the input is not changed


def test_transpose_out_of_range_is_refused() -> None:
    score = score_with([2, 60, 125])
    with pytest.raises(ValueError):
        transpose(score, 3)
    report = ReadReport()
    out = augmented([Piece(score, "x.mid", "")], transpose_range=3, report=report)
    assert sorted(p.ref for p in out) == sorted(["", "+1", "+2", "-1", "-2"])
    assert report.skipped["pitch_range"] == 2


def test_stretch_tempo_scales_seconds_not_ticks() -> None:
    score = score_with([60, 62, 64, 65])
    fast = stretch_tempo(score, 1.25)
    assert fast.end() == score.end()
    assert fast.to("second").end() == pytest.approx(score.to("second").end() / 1.25, rel=1e-4)
    bare = Score(480)
    bare.tracks.append(Track(name="t"))
    bare.tracks[0].notes.append(Note(0, 960, 60, 80))
    assert stretch_tempo(bare, 2.0).to("second").end() == pytest.approx(0.5, rel=1e-4)  # 120 qpm × 2


def test_augmented_labels_every_version() -> None:
    pieces = [Piece(score_with([60, 64, 67]), "a.mid", ""), Piece(score_with([62, 65]), "b.mid", "2")]
    out = augmented(pieces, transpose_range=2, tempo_factors=(0.9, 1.1))
    assert len(out) == 2 * 5 * 3
    refs = [p.ref for p in out if p.source == "b.mid"]
    assert refs[0] == "2" and "2 +2 x1.1" in refs and "2 -1" in refs and "2 x0.9" in refs
    assert out[0].score is pieces[0].score


def test_prepare_writes_every_hostile_file_to_skipped_tsv(user_folder: Path, tmp_path: Path) -> None:
    from tunesmith.media import PrepareRequest
    from tunesmith.media.midi_prepare import prepare_midi

    out = tmp_path / "data"
    request = PrepareRequest(out, "midi-notes", input_path=user_folder, val_fraction=0.2, seed=0)
    prepare_midi(request)
    lines = (out / "skipped.tsv").read_text().splitlines()
    assert lines[0] == "source\tref\treason"
    rows = {line.split("\t")[0]: line.split("\t")[2] for line in lines[1:]}
    assert rows == {f"bad/{name}": midi.SKIP_REASONS[reason] for name, (reason, _) in HOSTILE.items()}
