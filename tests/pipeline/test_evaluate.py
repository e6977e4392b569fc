"""``tunesmith evaluate`` end to end on debug runs, with the report's numbers recomputed here."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import symusic
from typer.testing import CliRunner

from tunesmith.cli import app
from tunesmith.errors import TunesmithError

runner = CliRunner()


def invoke(*args: object):  # noqa: ANN201
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, needle: str) -> None:  # noqa: ANN001
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.stderr


@pytest.fixture(scope="module")
def abc_report(trained_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The report folder, what evaluate printed (stdout) and its progress (stderr)."""
    out = tmp_path_factory.mktemp("evaluate") / "report"
    result = invoke(
        "evaluate", trained_run, "--num", 10, "--temperature", 0.5, "--temperature", 1.5,
        "--max-length", 300, "--batch-size", 8, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out, result.stdout, result.stderr


def test_abc_likelihood_equals_held_out(abc_report: tuple[Path, str, str], trained_run: Path, small_data: Path) -> None:
    from tunesmith.bundle import load
    from tunesmith.data.prepared import PreparedData
    from tunesmith.training.evaluate import held_out

    report = json.loads((abc_report[0] / "report.json").read_text())
    loaded = load(trained_run)
    expected = held_out(loaded.model, PreparedData.open(small_data), loaded.config.data.seq_len, batch_size=32)
    assert report["likelihood"]["loss"] == pytest.approx(expected["loss"], abs=1e-5)
    assert report["likelihood"]["bpc"] == pytest.approx(expected["loss"] / math.log(2), abs=1e-5)
    assert report["likelihood"]["acc"] == pytest.approx(expected["acc"], abs=1e-6)
    assert report["likelihood"]["tokens"] == expected["tokens"]
    assert "1.5" in abc_report[1] and "held-out" in abc_report[1]  # the printed table


def test_abc_validity_shares_recomputed_from_the_written_tunes(
    abc_report: tuple[Path, str, str], trained_run: Path
) -> None:
    from tunesmith.metrics import abc_corpus
    from tunesmith.metrics.validity import check

    out = abc_report[0]
    report = json.loads((out / "report.json").read_text())
    profile = abc_corpus.read(trained_run)  # the run keeps its corpus's profile, and the report says so
    assert profile is not None and not profile.generic and report["corpus_profile"]["min_bars"] == profile.min_bars
    assert [g["name"] for g in report["groups"]] == ["T=0.5", "T=1.5", "held-out"]
    for group in report["groups"][:2]:
        samples = group["samples"]
        assert len(samples) == 10
        checked = []
        for s in samples:
            text = (out / group["folder"] / s["file"]).read_text()
            v = check(text, ending=s["ending"], profile=profile)  # abc2midi again, from the file on disk
            assert (v.valid, v.converts, v.bars, v.bars_ok) == (s["valid"], s["converts"], s["bars"], s["bars_ok"])
            assert v.reasons == s["reasons"]
            assert (out / group["folder"] / s["file"]).with_suffix(".mid").is_file() == v.converts
            checked.append(v)
        v = group["validity"]
        assert v["valid_share"] == pytest.approx(sum(c.valid for c in checked) / 10)
        assert v["converts_share"] == pytest.approx(sum(c.converts for c in checked) / 10)
        assert v["ended_share"] == pytest.approx(sum(s["ending"] == "ended" for s in samples) / 10)
        assert v["forced_share"] == pytest.approx(sum(s["ending"] == "forced" for s in samples) / 10)
        assert v["by_reason"]["forced"] == v["forced_share"]
        bars = sum(c.bars for c in checked)
        assert v["bars_ok_share"] == pytest.approx(sum(c.bars_ok for c in checked) / bars if bars else 1.0)
        assert group["with_notes"] == sum(c.converts for c in checked)


def test_abc_features_and_novelty_recomputed(
    abc_report: tuple[Path, str, str], small_data: Path, tmp_path: Path
) -> None:
    """Each piece's features from its own MIDI (abc2midi's first track), by hand; group means from the pieces."""
    from tunesmith.data.prepared import PreparedData
    from tunesmith.render.midi import abc_to_midi

    out = abc_report[0]
    report = json.loads((out / "report.json").read_text())
    val = PreparedData.open(small_data)
    checked = 0
    for group in report["groups"]:
        for s in group["samples"]:
            if group["name"] == "held-out":  # a real tune: convert it here, one by one
                text = val.representation.decode(val.sequences("val")[s["index"]])
                midi = tmp_path / "held.mid"
                midi.unlink(missing_ok=True)
                abc_to_midi(f"X:1\n{text}", midi)
            else:
                midi = (out / group["folder"] / s["file"]).with_suffix(".mid")
            if not midi.is_file():
                assert s["features"]["pitch_range"] is None and s["novelty"]["longest_run_notes"] == 0
                continue
            melody = next(t for t in symusic.Score(str(midi)).tracks if t.note_num())
            notes = melody.notes.numpy()
            pitches = notes["pitch"].astype(int)
            assert s["features"]["pitch_range"] == pitches.max() - pitches.min()
            assert s["features"]["n_pitches_used"] == len(set(pitches))
            assert s["features"]["n_pitch_classes_used"] == len(set(pitches % 12))
            onsets = np.unique(notes["time"])
            if len(onsets) > 1:
                assert s["features"]["ioi_mean"] == pytest.approx(np.diff(onsets).mean() / 480, abs=1e-4)
            assert 0 <= s["novelty"]["longest_run_notes"] <= s["novelty"]["notes_compared"] <= len(pitches)
            checked += 1
    assert checked >= 8  # the held-out tunes convert
    for group in report["groups"]:
        novelty = [s["novelty"] for s in group["samples"]]
        for n in novelty:
            assert n["near_copy"] == (n["longest_run_notes"] >= 32 or n["longest_run_bars"] >= 4)
        values = [s["features"]["pitch_range"] for s in group["samples"] if s["features"]["pitch_range"] is not None]
        if values:
            assert group["features"]["pitch_range"]["sample_mean"] == pytest.approx(np.mean(values))
        runs = [n["longest_run_notes"] for n in novelty]
        assert group["novelty"]["mean_longest_run_notes"] == pytest.approx(np.mean(runs), abs=1e-4)
        assert group["novelty"]["near_copy_share"] == pytest.approx(np.mean([n["near_copy"] for n in novelty]))


def test_progress_shows_on_stderr_stage_by_stage(abc_report: tuple[Path, str, str]) -> None:
    """A long evaluation says where it is: a line per stage, per tenth of the likelihood's batches and per
    temperature, on stderr (stdout keeps the tables); never a line per batch or per tune."""
    from tunesmith.pipeline.likelihood import PROGRESS_STEPS

    _, stdout, stderr = abc_report
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("evaluate: ") for line in lines), lines
    assert "evaluate:" not in stdout
    counts = [re.fullmatch(r"evaluate: held-out likelihood (\d+)/(\d+) batches.*", line) for line in lines]
    counts = [(int(m[1]), int(m[2])) for m in counts if m]
    total = counts[0][1]
    assert counts[0][0] == 0 and counts[-1] == (total, total) and total > PROGRESS_STEPS  # the whole split, in 8s
    assert [done for done, _ in counts] == sorted(done for done, _ in counts)
    assert len(counts) <= PROGRESS_STEPS + 1
    for t in ("0.5", "1.5"):
        started = lines.index(next(line for line in lines if line.startswith(f"evaluate: temperature {t}: 0/10 tunes")))
        assert lines[started + 1].startswith(f"evaluate: temperature {t}: 10/10 tunes in "), lines[started + 1]
    assert any(line.startswith("evaluate: novelty") for line in lines)
    assert any(line.startswith("evaluate: telling each group from real held-out tunes") for line in lines)
    assert lines[-1].startswith("evaluate: writing the report")
    assert len(lines) <= PROGRESS_STEPS + 1 + 2 * 2 + 5


def test_a_strangers_run_files_are_read_as_untrusted(tmp_path: Path) -> None:
    """data.json and *_sources.json come from a run or prepared folder someone may have copied or edited."""
    from tunesmith.pipeline.evaluate import _source_pairs, data_folder

    run = tmp_path / "run"
    run.mkdir()
    for text in ("[1, 2]", '{"data": 5}', '{"data": NaN}', "{not json"):
        (run / "data.json").write_text(text)
        with pytest.raises(TunesmithError, match="does not name its prepared folder; pass --data DIR"):
            data_folder(run, "run", None)
    (run / "data.json").write_text('{"data": "/somewhere/prepared"}')
    assert data_folder(run, "run", None) == Path("/somewhere/prepared")
    sources = tmp_path / "train_sources.json"
    sources.write_text('[["a.abc", "1"], ["b.abc"]]')
    assert _source_pairs(sources) is None
    sources.write_text('{"a.abc": 1}')
    assert _source_pairs(sources) is None
    sources.write_text('[["a.abc", "1"], ["b.abc", null]]')
    assert _source_pairs(sources) == [("a.abc", "1"), ("b.abc", "")]


def test_report_files_are_self_contained(abc_report: tuple[Path, str, str]) -> None:
    out = abc_report[0]
    report = json.loads((out / "report.json").read_text())
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(report["figures"]) >= 9
    assert 'src="http' not in page and "<link" not in page and "<script" not in page
    for name in report["figures"]:
        data = (out / name).read_bytes()
        assert data[:4] == b"\x89PNG" and len(data) < 100_000
    md = (out / "report.md").read_text()
    assert "| T=0.5 |" in md and "Temperature sweep" in md


def test_a_copied_training_tune_is_flagged(small_data: Path, tmp_path: Path) -> None:
    """A 'sample' that is a training tune, converted one by one as samples are, is a near copy of it;
    so is one with its last notes changed; its notes and bars shuffled are not."""
    import re

    from tunesmith import media
    from tunesmith.data.prepared import PreparedData
    from tunesmith.metrics.features import piece_notes
    from tunesmith.metrics.novelty import NoveltySettings
    from tunesmith.pipeline.evaluate import Group, Piece, novelty_of, real_pieces
    from tunesmith.render.midi import abc_to_midi
    from tunesmith.representations.midi_tokens import Notes

    data = PreparedData.open(small_data)
    corpus = real_pieces(data, "train", np.arange(len(data.offsets("train")) - 1))
    k = next(i for i, p in enumerate(corpus) if p.notes is not None and len(p.notes) > 80)
    text = corpus[k].text
    body = text.index("\nK:") + text[text.index("\nK:") + 1 :].index("\n") + 2  # after the K: line
    letters = [m.start() for m in re.finditer(r"[A-Ga-g]", text[body:])][-4:]  # the last four notes
    edited = list(text)
    for i in letters:
        edited[body + i] = {"G": "A", "g": "a"}.get(text[body + i], chr(ord(text[body + i]) - 1))
    pieces = []
    for i, abc in enumerate([text, "".join(edited)]):
        assert abc_to_midi(f"X:1\n{abc}", tmp_path / f"{i}.mid").converted
        pieces.append(Piece(piece_notes(symusic.Score(str(tmp_path / f"{i}.mid")), melody_only=True), abc))
    rng = np.random.default_rng(0)
    notes = corpus[k].notes
    mixed = Notes(notes.onset, notes.duration, rng.permutation(notes.pitch), notes.velocity)
    pieces.append(Piece(mixed, text[:body] + "".join(rng.permutation(list(text[body:])))))
    group = Group("copies", 1.0, pieces)
    novelty_of([group], corpus, media.of(data.representation), NoveltySettings(), seed=0)
    copy, changed, shuffled = group.novelty
    assert copy.near_copy and copy.longest_run_notes == len(corpus[k].notes)
    assert corpus[copy.closest].text == text  # the tune itself (or an identical one)
    assert changed.near_copy and 32 <= changed.longest_run_notes < len(pieces[1].notes)
    assert not shuffled.near_copy and shuffled.longest_run_notes < 32 and shuffled.longest_run_bars < 4


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--num", "0"], "--num 0 is out of range"),
        (["--num", "2001"], "--num 2001 is out of range"),
        (["--temperature", "0"], "--temperature 0.0 is out of range"),
        (["--max-length", "0"], "--max-length 0 is out of range"),
        (["--checkpoint", "middle"], "--checkpoint 'middle' must be best or last"),
    ],
)
def test_bad_values_give_one_line(trained_run: Path, tmp_path: Path, args: list[str], needle: str) -> None:
    one_line_error(invoke("evaluate", trained_run, *args, "--out", tmp_path / "r"), needle)
    assert not (tmp_path / "r").exists()


def test_missing_path_and_bundle_without_data(trained_run: Path, tmp_path: Path) -> None:
    from tunesmith.bundle import export

    one_line_error(invoke("evaluate", tmp_path / "nowhere", "--out", tmp_path / "r"), "does not exist")
    bundle = export(trained_run, tmp_path / "bundle")
    one_line_error(invoke("evaluate", bundle, "--out", tmp_path / "r"), "--data DIR")
    one_line_error(invoke("evaluate", bundle, "--data", tmp_path / "none", "--out", tmp_path / "r"), "not a folder")


def test_data_of_another_representation_is_refused(trained_run: Path, tmp_path: Path) -> None:
    from tunesmith.pipeline.prepare import prepare

    other = prepare(tmp_path / "other", corpus="folk", max_tunes=40, drop_fields=["T", "N", "Z", "B", "S"]).out
    vocab_model = json.loads((trained_run / "representation.json").read_text())["chars"]
    vocab_other = json.loads((other / "representation.json").read_text())["chars"]
    assert vocab_model != vocab_other
    one_line_error(invoke("evaluate", trained_run, "--data", other, "--out", tmp_path / "r"), "another 'abc-char'")


def test_audio_model_gets_its_likelihood_and_a_reason(tmp_path: Path) -> None:
    """An audio model has no notes: the report holds its held-out loss (as training measured it) and says why."""
    import soundfile

    from tunesmith.pipeline.prepare import prepare
    from tunesmith.pipeline.train import train

    rate = 16_000
    (tmp_path / "wav").mkdir()
    t = np.arange(rate) / rate
    for i in range(4):
        soundfile.write(tmp_path / "wav" / f"tone{i}.wav", (0.3 * np.sin(2 * np.pi * (220 + 55 * i) * t)), rate)
    prepare(tmp_path / "data", input_path=tmp_path / "wav", representation="audio-wave", val_fraction=0.25)
    train("wave-lstm-debug", tmp_path / "data", tmp_path / "run", progress=False, overrides=["train.max_epochs=1"])
    result = invoke("evaluate", tmp_path / "run", "--checkpoint", "last", "--batch-size", 8, "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    with (tmp_path / "run" / "metrics.csv").open() as f:
        last = [r for r in csv.DictReader(f) if r["val_loss"]][-1]
    assert report["likelihood"]["loss"] == pytest.approx(float(last["val_loss"]), abs=1e-5)  # csv keeps 5 decimals
    assert "not applicable" in report["note_statistics"] and "audio" in report["note_statistics"]
    assert report["groups"] == [] and "not applicable" in result.stdout
    assert "not applicable" in (tmp_path / "r" / "report.html").read_text()


# -- a MIDI model ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pianoroll_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tunesmith.pipeline.prepare import prepare
    from tunesmith.pipeline.train import train

    root = tmp_path_factory.mktemp("pianoroll")
    data = prepare(root / "data", corpus="bach", representation="pianoroll", max_tunes=12).out
    train("pianoroll-lstm-debug", data, root / "run", progress=False, overrides=["train.max_epochs=2"])
    return root / "run"


def test_pianoroll_report(pianoroll_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = invoke(
        "evaluate", pianoroll_run, "--num", 4, "--temperature", 1.0, "--max-length", 96, "--checkpoint", "last",
        "--batch-size", 8, "--max-batches", 5, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    with (pianoroll_run / "metrics.csv").open() as f:
        last = [r for r in csv.DictReader(f) if r["val_loss"]][-1]  # the last checkpoint's validation
    # as training validates: batches of data.batch_size (8), at most train.limit_val_batches (5) of them
    assert report["likelihood"]["loss"] == pytest.approx(float(last["val_loss"]), abs=1e-5)  # csv keeps 5 decimals
    assert report["likelihood"]["f1"] == pytest.approx(float(last["val_f1"]), abs=1e-4)
    assert "polyphony_rate" in report["features"]  # chorales are polyphonic
    group = report["groups"][0]
    notes = [symusic.Score(str(out / group["folder"] / s["file"])).note_num() for s in group["samples"]]
    assert [s["notes"] for s in group["samples"]] == notes
    assert group["with_notes"] == sum(n > 0 for n in notes)
    assert group["validity"]["syntax_error_rate"] is None  # piano rolls have no grammar
    assert "T=1" in result.stdout and "syntax err" not in result.stdout
    assert re.search(r"^evaluate: held-out likelihood ([1-5])/\1 batches$", result.stderr, re.M)  # frames counted too
    assert "evaluate: temperature 1: 4/4 pieces in " in result.stderr


def test_evaluate_settings_refuse_too_many_temperatures() -> None:
    from tunesmith.pipeline.evaluate import EvaluateSettings

    with pytest.raises(TunesmithError, match="1 to 8 --temperature"):
        EvaluateSettings(temperatures=tuple(0.1 * i for i in range(1, 10))).check()
    with pytest.raises(TunesmithError, match="once"):
        EvaluateSettings(temperatures=(1.0, 1.0)).check()


def test_abc_report_has_the_shape_of_a_tune_and_the_two_sample_test(abc_report: tuple[Path, str, str]) -> None:
    """The new measures: per-tune shape features compared with the training draw, the reasons tunes fail, and a
    classifier's accuracy at telling each group from real held-out tunes, in report.json and the tables."""
    from tunesmith.metrics.abc_shape import SHAPE_FEATURES
    from tunesmith.metrics.validity import REASONS

    out, stdout, _ = abc_report
    report = json.loads((out / "report.json").read_text())
    assert list(report["shape_features"]) == list(SHAPE_FEATURES)
    for group in report["groups"]:
        assert set(group["shape"]) == set(SHAPE_FEATURES)
        oas = [c["oa"] for c in group["shape"].values() if c["oa"] is not None]
        assert oas and all(0 <= oa <= 1 for oa in oas)
        assert group["mean_shape_oa"] == pytest.approx(sum(oas) / len(oas), abs=1e-4)
        test = group["two_sample"]
        assert test["n_each"] == 10 and test["low"] <= test["accuracy"] <= test["high"]
        assert set(group["validity"]["by_reason"]) == set(REASONS)
        for sample in group["samples"]:
            assert set(sample["features"]) >= set(SHAPE_FEATURES)
    held = report["groups"][-1]
    assert held["name"] == "held-out" and held["validity"]["forced_share"] == 0  # real tunes end themselves
    assert "shape OA" in stdout and "told apart" in stdout and "valid (real tunes)" in stdout
    md = (out / "report.md").read_text()
    assert "## The shape of a tune" in md and "## Why tunes are not valid" in md
    assert (out / "shape_eight_bar_parts.png").is_file()
