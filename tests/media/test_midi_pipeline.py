"""MIDI end to end: prepare the chorales in each representation, train each MIDI preset's debug twin, sample."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tunesmith.errors import TunesmithError

PRESETS = {
    "bach-lstm-debug": "midi-remi",
    "bach-transformer-debug": "midi-remi",
    "midi-notes-lstm-debug": "midi-notes",
    "pianoroll-lstm-debug": "pianoroll",
}


@pytest.fixture(scope="session")
def bach_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """24 chorales prepared in each representation the presets read (transposed ±1 for a little more data)."""
    from tunesmith.pipeline.prepare import prepare

    root = tmp_path_factory.mktemp("bach")
    out = {}
    for rep in sorted(set(PRESETS.values())):
        out[rep] = prepare(root / rep, corpus="bach", representation=rep, max_tunes=24, midi={"transpose": 1}).out
    return out


@pytest.fixture(scope="session")
def chorale_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tunesmith.corpora.midi_builtin import builtin_pieces

    pieces, _, _ = builtin_pieces("bach", max_pieces=1)
    path = tmp_path_factory.mktemp("primer") / "chorale.mid"
    pieces[0].score.dump_midi(str(path))
    return path


def test_prepare_writes_what_the_representation_needs(bach_data: dict[str, Path]) -> None:
    remi = json.loads((bach_data["midi-remi"] / "meta.json").read_text())
    assert remi["source"] == "builtin:bach" and remi["split"]["by"] == "piece"
    assert remi["counts"]["train"]["pieces"] == 3 * (24 - remi["counts"]["val"]["pieces"])  # -1, 0, +1
    assert (bach_data["midi-remi"] / "tokenizer.json").is_file()
    roll = json.loads((bach_data["pianoroll"] / "meta.json").read_text())
    assert roll["frame_width"] * 8 >= roll["frame_dim"] and roll["dtype"] == "uint8"


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_debug_preset_trains_samples_and_writes_playable_midi(
    preset: str, bach_data: dict[str, Path], chorale_file: Path, tmp_path: Path
) -> None:
    import symusic

    from tunesmith.pipeline.train import train

    run = tmp_path / "run"
    result = train(preset, bach_data[PRESETS[preset]], run, progress=False)
    assert result.state == "finished"
    with (run / "metrics.csv").open() as f:
        losses = [float(r["val_loss"]) for r in csv.DictReader(f) if r["val_loss"]]
    assert losses[-1] < losses[0], losses
    assert list((run / "samples").glob("epoch_*/001.mid"))  # in-training samples

    out = tmp_path / "samples"
    args = ["sample", run, "--num", "2", "--max-length", "120", "--out", out, "--primer-midi", chorale_file]
    proc = run_cli(*args, "--primer-bars", "1")
    assert proc.returncode == 0, proc.stderr
    assert "2/2 pieces have notes" in proc.stdout
    for name in ("001", "002"):
        score = symusic.Score(str(out / f"{name}.mid"))
        assert score.note_num() > 0
        assert (out / f"{name}.wav").read_bytes()[:4] == b"RIFF"
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    report = json.loads((out / "samples.json").read_text())
    assert report["representation"] == PRESETS[preset] and report["primer_quarters"] > 0
    if PRESETS[preset] != "pianoroll":
        assert 0.0 <= report["syntax_error_rate"] <= 1.0
        assert all("syntax_errors" in p for p in report["pieces"])


def test_bad_midi_requests_get_one_clear_line(bach_data: dict[str, Path], tmp_path: Path) -> None:
    from tunesmith.pipeline.prepare import prepare

    with pytest.raises(TunesmithError, match="corpus 'folk' is ABC"):
        prepare(tmp_path / "a", corpus="folk", representation="midi-remi")
    with pytest.raises(TunesmithError, match="corpus 'bach' is MIDI"):
        prepare(tmp_path / "b", corpus="bach")
    with pytest.raises(TunesmithError, match="--vocab-size"):
        prepare(tmp_path / "c", corpus="bach", representation="midi-notes", midi={"vocab_size": 500})
    with pytest.raises(TunesmithError, match="--transpose 40"):
        prepare(tmp_path / "d", corpus="bach", representation="midi-notes", midi={"transpose": 40})
    with pytest.raises(TunesmithError, match="no .mid or .midi files"):
        (tmp_path / "empty").mkdir()
        prepare(tmp_path / "e", input_path=tmp_path / "empty", representation="midi-tsd")


def test_sample_refuses_abc_options_on_a_midi_model(bach_data: dict[str, Path], tmp_path: Path) -> None:
    from tunesmith.pipeline.train import train

    run = tmp_path / "run"
    train("midi-notes-lstm-debug", bach_data["midi-notes"], run, overrides=["train.max_epochs=1"], progress=False)
    not_midi = tmp_path / "notes.mid"
    not_midi.write_text("this is not MIDI")
    for extra, message in [
        (["--constrain"], "--constrain is for ABC models"),
        (["--primer", "K:G"], "--primer-midi FILE"),
        (["--primer-midi", not_midi], "cannot be used: not a MIDI file"),
        (["--primer-midi", not_midi, "--primer-bars", "0"], "--primer-bars 0"),
    ]:
        proc = run_cli("sample", run, "--num", "1", "--out", tmp_path / "s", *extra)
        assert proc.returncode == 2 and message in proc.stderr, (extra, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_piece_windows_start_where_pieces_start(bach_data: dict[str, Path], tmp_path: Path) -> None:
    import numpy as np

    from tunesmith.data import PreparedData
    from tunesmith.data.windows import piece_starts
    from tunesmith.pipeline.train import train

    assert piece_starts(np.array([0, 10, 13, 40]), 8, 40).tolist() == [0, 8, 10, 13, 21, 29]  # not 37: 37 + 9 > 40
    data = PreparedData.open(bach_data["midi-notes"])
    offsets = data.offsets("train")
    longest = int(np.diff(offsets).max())
    starts = piece_starts(offsets, longest, int(offsets[-1]))
    assert set(starts.tolist()) <= set(offsets[:-1].tolist())  # whole pieces: one window each, from the start
    run = tmp_path / "whole"
    overrides = ["data.windows=piece", f"data.seq_len={longest}", "data.batch_size=4", "train.sample_every=0"]
    train("midi-notes-lstm-debug", data.folder, run, overrides=overrides, progress=False)
    with (run / "metrics.csv").open() as f:
        losses = [float(r["val_loss"]) for r in csv.DictReader(f) if r["val_loss"]]
    assert losses[-1] < losses[0]


def test_the_studio_generates_from_a_midi_model(bach_data: dict[str, Path], tmp_path: Path) -> None:
    from tests.web.test_web_api import open_studio, wait
    from tunesmith.pipeline.train import train

    models = tmp_path / "models"
    train("bach-lstm-debug", bach_data["midi-remi"], models / "bach", overrides=["train.max_epochs=1"], progress=False)
    with open_studio(models, tmp_path / "store") as client:
        found = client.get("/api/models").json()
        assert [m["representation"] for m in found] == ["midi-remi"]
        body = {"model": found[0]["id"], "num": 2, "max_length": 150, "seed": 3, "primer": ""}
        reply = client.post("/api/generate", json=body)
        assert reply.status_code == 202, reply.text
        job = wait(client, reply.json())
        assert job["state"] == "done" and len(job["results"]) == 2, job
        for result in job["results"]:
            kinds = {f["kind"]: f for f in result["files"]}
            assert set(kinds) >= {"midi", "image"} and result["text"] is None
            assert client.get(kinds["midi"]["url"]).content[:4] == b"MThd"
            assert client.get(kinds["image"]["url"]).content[:4] == b"\x89PNG"
            assert "decodes" in {c["label"] for c in result["checks"]}
        refused = client.post("/api/generate", json={**body, "primer": "K:G"})  # refused at the door, by field
        assert refused.status_code == 422 and "takes no ABC primer" in refused.json()["fields"]["primer"]


def test_normalize_key_moves_every_piece_to_c_or_a_minor(tmp_path: Path) -> None:
    from tunesmith.corpora.augment import estimate_key
    from tunesmith.data import PreparedData
    from tunesmith.pipeline.prepare import prepare

    out = prepare(tmp_path / "c", corpus="bach", representation="midi-tsd", max_tunes=8, midi={"normalize_key": True})
    shifts = json.loads((out.out / "meta.json").read_text())["augmentation"]["key_shifts"]
    assert len(shifts) == 8 and all(-6 <= s <= 5 for s in shifts) and any(shifts)
    data = PreparedData.open(out.out)
    rep = data.representation
    for seq in data.sequences("train") + data.sequences("val"):
        assert estimate_key(rep.decode(seq)) in ((0, "major"), (9, "minor"))
