"""``tunesmith prepare`` on a folder of good files plus hostile ones (drawn from ``test_files_fuzz``).

It must succeed from the good ones and account for every file: its pieces are in the prepared sources,
or it is listed in skipped.tsv.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.fuzz.conftest import GOOD_TUNES, bounded, fuzz_settings, sandbox
from tests.fuzz.test_files_fuzz import abc_documents, good_midi, midi_documents, tone_wav, wav_documents

# --- prepare: good files and hostile ones ------------------------------------------------------------


def accounted(out: Path, names: list[str]) -> list[str]:
    """The files of ``names`` that the prepared folder neither holds pieces of nor lists as skipped."""
    sources = set()
    for split in ("train", "val"):
        if (out / f"{split}_sources.json").is_file():
            sources |= {Path(s[0]).name for s in json.loads((out / f"{split}_sources.json").read_text())}
    skipped = {Path(line.split("\t")[0]).name for line in (out / "skipped.tsv").read_text().splitlines()[1:]}
    return [n for n in names if n not in sources | skipped]


def prepare_mixed(box: Path, good: dict[str, bytes], hostile: list[bytes], suffix: str, *extra: str) -> None:
    """``tunesmith prepare`` on good files plus hostile ones: it succeeds, keeps the good, accounts for all."""
    from tunesmith.cli import app

    folder = box / "corpus"
    folder.mkdir()
    for name, data in good.items():
        (folder / name).write_bytes(data)
    names = [f"z_hostile_{i}{suffix}" for i in range(len(hostile))]
    for name, data in zip(names, hostile, strict=True):
        (folder / name).write_bytes(data)
    argv = ["prepare", "--input", str(folder), "--out", str(box / "out"), *extra]
    with bounded("tunesmith prepare on a mixed folder"):
        result = CliRunner().invoke(app, argv)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise AssertionError("".join(traceback.format_exception(*result.exc_info))[-4000:])
    assert result.exit_code == 0, f"prepare failed on good files mixed with hostile ones: {result.stderr!r}"
    meta = json.loads((box / "out" / "meta.json").read_text())
    kept = meta.get("tunes_kept", meta.get("pieces_kept"))
    assert kept >= len(good) if suffix != ".abc" else kept >= len(GOOD_TUNES), meta
    missing = accounted(box / "out", list(good) + names)
    assert not missing, f"files neither prepared nor listed in skipped.tsv: {missing}"


@fuzz_settings(8)
@given(hostile=st.lists(abc_documents(many=False), min_size=1, max_size=3))
def test_prepare_keeps_good_tunes_and_reports_hostile_files(hostile: list[bytes], fuzz_root: Path) -> None:
    good = {f"a_book{i}.abc": "\n".join(GOOD_TUNES[3 * i : 3 * i + 3]).encode() for i in range(2)}
    with sandbox(fuzz_root / "prepare-abc") as box:
        prepare_mixed(box, good, hostile, ".abc")


@fuzz_settings(8)
@given(hostile=st.lists(midi_documents(), min_size=1, max_size=3), rep=st.sampled_from(["midi-notes", "pianoroll"]))
def test_prepare_keeps_good_midi_and_reports_hostile_files(hostile: list[bytes], rep: str, fuzz_root: Path) -> None:
    good = {f"a_good{i}.mid": good_midi(pitch=50 + 5 * i) for i in range(3)}
    with sandbox(fuzz_root / "prepare-midi") as box:
        prepare_mixed(box, good, hostile, ".mid", "--representation", rep)


@fuzz_settings(8)
@given(hostile=st.lists(wav_documents(), min_size=1, max_size=3))
def test_prepare_keeps_good_audio_and_reports_hostile_files(hostile: list[bytes], fuzz_root: Path) -> None:
    good = {f"a_good{i}.wav": tone_wav(hz=220.0 * (i + 1)) for i in range(3)}
    with sandbox(fuzz_root / "prepare-audio") as box:
        prepare_mixed(box, good, hostile, ".wav", "--representation", "audio-spectral", "--sample-rate", "8000")


def test_generators_make_valid_files_too(fuzz_root: Path) -> None:
    """The starting points of the mutations are themselves readable, so the mutations test something."""
    from tunesmith.corpora.audio import read_audio_file
    from tunesmith.corpora.midi import clean_score

    assert clean_score(good_midi())[1] == ""
    with sandbox(fuzz_root / "generators") as box:
        (box / "tone.wav").write_bytes(tone_wav())
        wave, reason = read_audio_file(box / "tone.wav", 8000)
        assert reason == "" and wave is not None
    shutil.rmtree(fuzz_root / "generators", ignore_errors=True)
