"""``prepare`` for audio: a folder of files (or a rendered built-in corpus) becomes a streamed, split dataset."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.conftest import run_cli
from tests.corpora.test_audio_corpus import write_bad_files
from tunesmith import media
from tunesmith.corpora.audio import SKIP_REASONS, load_audio
from tunesmith.data import PreparedData
from tunesmith.data.prepared import SplitWriter
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.prepare import prepare

AUDIO_REPRESENTATIONS = media.of("mel").representations()


def tone_folder(folder: Path, count: int, seconds: float = 1.0, sr: int = 22_050, grow: float = 0.1) -> list[str]:
    """``count`` tones of different pitches and lengths (each ``grow`` x ``seconds`` longer than the one
    before), as WAV files in two subfolders; their names."""
    names = []
    for i in range(count):
        name = f"{'ab'[i % 2]}/tone{i:02d}.wav"
        t = np.arange(int(sr * seconds * (1 + i * grow))) / sr
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(folder / name, (0.2 * np.sin(2 * np.pi * (200 + 40 * i) * t)).astype(np.float32), sr)
        names.append(name)
    return names


def test_prepare_a_folder_splits_by_file_and_streams_frames(tmp_path: Path) -> None:
    names = tone_folder(tmp_path / "in", 10)
    result = prepare(tmp_path / "out", input_path=tmp_path / "in", representation="mel", seed=3)
    data = PreparedData.open(tmp_path / "out")
    meta = data.meta
    assert meta == {"format": 1, "representation": "mel", **result.meta}
    assert meta["representation"] == "mel" and meta["sample_rate"] == 16_000 and meta["dtype"] == "float16"
    assert (meta["frame_dim"], meta["frame_width"], meta["frames_per_second"]) == (80, 80, 62.5)
    assert meta["split"] == {"seed": 3, "val_fraction": 0.1, "by": "file"}
    assert meta["counts"]["train"]["pieces"] == 9 and meta["counts"]["val"]["pieces"] == 1
    train = [s for s, _ in json.loads((tmp_path / "out" / "train_sources.json").read_text())]
    val = [s for s, _ in json.loads((tmp_path / "out" / "val_sources.json").read_text())]
    assert sorted(train + val) == sorted(names) and not set(train) & set(val)
    seconds = sum(len(load_audio(tmp_path / "in" / n, 16_000)) / 16_000 for n in names)
    assert meta["audio_seconds"] == pytest.approx(seconds, abs=0.01) and meta["audio_seconds_per_second"] > 0

    stream, offsets = data.stream("train"), data.offsets("train")
    assert stream.shape == (meta["counts"]["train"]["frames"], 80) and stream.dtype == np.float16
    assert offsets[-1] == len(stream) and len(offsets) == 10
    rep = data.representation
    for name, piece in zip(train, data.sequences("train"), strict=True):  # recomputed from the file alone
        assert np.array_equal(piece, rep.encode(load_audio(tmp_path / "in" / name, 16_000)))


@pytest.mark.parametrize("name", AUDIO_REPRESENTATIONS)
def test_every_audio_representation_prepares_and_reads_back(tmp_path: Path, name: str) -> None:
    tone_folder(tmp_path / "in", 3, seconds=0.6)
    meta = prepare(tmp_path / "out", input_path=tmp_path / "in", representation=name, sample_rate=8_000).meta
    data = PreparedData.open(tmp_path / "out")
    rep = data.representation
    assert rep.name == name and rep.sample_rate == meta["sample_rate"] == 8_000
    for split in ("train", "val"):
        pieces = data.sequences(split)
        assert len(pieces) == meta["counts"][split]["pieces"]
        if name == "audio-mulaw":  # a token stream, as the token models read it
            assert meta["vocab_size"] == 258 and "frame_width" not in meta and data.stream(split).dtype == np.uint16
            assert all(p[0] == rep.start_id and p[-1] == rep.end_id for p in pieces)
            assert meta["counts"][split]["tokens"] == sum(len(p) for p in pieces)
        else:
            assert data.stream(split).shape[1] == meta["frame_width"] == rep.frame_dim
            assert rep.to_model(pieces[0]).dtype == np.float32


def test_bad_files_are_counted_in_meta_and_skipped_tsv(tmp_path: Path) -> None:
    expected = write_bad_files(tmp_path / "in")
    soundfile.write(tmp_path / "in" / "another.wav", np.full(16_000, 0.1, dtype=np.float32), 16_000)
    meta = prepare(tmp_path / "out", input_path=tmp_path / "in", representation="audio-wave").meta
    assert meta["pieces_kept"] == 2 and meta["files"] == len(expected) + 2
    # NaN and silent files pass the header checks; if the seeded order picks one for validation, the next
    # file takes its place, so both splits hold a usable piece
    assert meta["counts"]["val"]["pieces"] == meta["counts"]["train"]["pieces"] == 1
    for reason in set(expected.values()):
        assert meta["skipped"][SKIP_REASONS[reason]] == list(expected.values()).count(reason)
    rows = (tmp_path / "out" / "skipped.tsv").read_text().splitlines()
    assert rows[0] == "source\tref\treason"
    assert sorted(rows[1:]) == sorted(f"{name}\t\t{SKIP_REASONS[r]}" for name, r in expected.items())


def test_options_that_do_not_apply_are_refused(tmp_path: Path) -> None:
    tone_folder(tmp_path / "in", 2)
    with pytest.raises(TunesmithError, match="--transpose does not apply to audio"):
        prepare(tmp_path / "a", input_path=tmp_path / "in", representation="mel", midi={"transpose": 2})
    with pytest.raises(TunesmithError, match="--drop-fields, --keep-comments do not apply"):
        prepare(tmp_path / "a", input_path=tmp_path / "in", representation="mel", drop_fields=["T"], keep_comments=True)
    with pytest.raises(TunesmithError, match="--sample-rate applies to audio"):
        prepare(tmp_path / "a", corpus="folk", sample_rate=16_000)
    with pytest.raises(TunesmithError, match="sample rate 100 is out of range"):
        prepare(tmp_path / "a", input_path=tmp_path / "in", representation="mel", sample_rate=100)
    with pytest.raises(TunesmithError, match="cannot be rendered to audio"):
        prepare(tmp_path / "a", corpus="nope", representation="mel")
    (tmp_path / "one").mkdir()
    soundfile.write(tmp_path / "one" / "x.wav", np.full(16_000, 0.1, dtype=np.float32), 16_000)
    with pytest.raises(TunesmithError, match="need at least two"):
        prepare(tmp_path / "a", input_path=tmp_path / "one", representation="mel")


def test_cli_prints_audio_seconds_throughput_and_skips(tmp_path: Path) -> None:
    tone_folder(tmp_path / "in", 4)
    (tmp_path / "in" / "notes.wav").write_text("not audio")
    out = run_cli("prepare", "--input", tmp_path / "in", "--out", tmp_path / "out", "--representation", "audio-wave")
    assert out.returncode == 0, out.stderr
    assert "audio        0.1 min at 16000 Hz" in out.stdout and "audio-seconds per second" in out.stdout
    assert "1  not audio (a wrong extension?)" in out.stdout
    assert "frames       256 values each, stored as 256 float16 per frame" in out.stdout
    bad = run_cli("prepare", "--corpus", "folk", "--out", tmp_path / "x", "--sample-rate", "16000")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --sample-rate applies to audio")


def test_prepare_bach_renders_once_then_reads_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNESMITH_CACHE", str(tmp_path / "cache"))
    first = prepare(tmp_path / "out", corpus="bach", representation="mel", max_tunes=2).meta
    assert first["source"] == "builtin:bach" and first["pieces_kept"] == 2
    assert (first["corpus_cache"]["rendered"], first["corpus_cache"]["cached"]) == (2, 0)
    assert len(list((tmp_path / "cache" / "audio" / "bach").glob("*.flac"))) == 2
    again = prepare(tmp_path / "out", corpus="bach", representation="mel", max_tunes=2).meta
    assert (again["corpus_cache"]["rendered"], again["corpus_cache"]["cached"]) == (0, 2)
    assert again["counts"] == first["counts"] and first["audio_seconds"] > 40  # chorales last 30 s or more


def test_split_writer_streams_a_generator_in_bounded_memory(tmp_path: Path) -> None:
    def rows(count: int) -> Iterator[np.ndarray]:
        for i in range(count):
            yield np.full((4096, 64), i, dtype=np.float32)  # 1 MiB each

    peaks = []
    for count in (4, 32):
        tracemalloc.start()
        with SplitWriter(tmp_path, f"s{count}", np.float16, 64) as writer:
            for block in rows(count):
                writer.append(block)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        stored = np.fromfile(tmp_path / f"s{count}.bin", dtype=np.float16).reshape(-1, 64)
        assert len(stored) == writer.total == 4096 * count and stored[-1, 0] == count - 1
        assert np.array_equal(np.fromfile(tmp_path / f"s{count}.idx", dtype=np.int64), np.arange(count + 1) * 4096)
    assert max(peaks) < 3 * 2**20  # one block and its float16 copy, not 32 MiB
    with pytest.raises(ValueError, match=r"\(T, 64\)"), SplitWriter(tmp_path, "bad", np.float16, 64) as writer:
        writer.append(np.zeros((3, 5), dtype=np.float32))
    assert not (tmp_path / "bad.bin").exists() and not (tmp_path / "bad.bin.tmp").exists()


def test_prepare_peak_memory_does_not_grow_with_the_corpus(tmp_path: Path) -> None:
    tone_folder(tmp_path / "warm-in", 2)
    prepare(tmp_path / "warm", input_path=tmp_path / "warm-in", representation="audio-wave")  # first-use allocations
    peaks = {}
    for count in (3, 12):
        tone_folder(tmp_path / f"in{count}", count, seconds=4.0, sr=16_000, grow=0.0)
        tracemalloc.start()
        prepare(tmp_path / f"out{count}", input_path=tmp_path / f"in{count}", representation="audio-wave")
        peaks[count] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    all_waves = 12 * 4.0 * 16_000 * 4  # bytes of every wave as float32
    assert peaks[12] < 1.25 * peaks[3] and peaks[12] < all_waves / 2, peaks
