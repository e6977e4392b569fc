"""The frame path: loaders, frame models, training (learning, kill-and-resume), bundles and sampling."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import symusic
import torch

from tests.conftest import assert_resume_matches_uninterrupted
from tunesmith import models
from tunesmith.data.frames import FrameLoader, frame_loaders
from tunesmith.data.prepared import PreparedData, write_meta, write_split
from tunesmith.data.windows import WindowSampler
from tunesmith.errors import TunesmithError
from tunesmith.representations.pianoroll import PianoRoll
from tunesmith.sampling import SampleSettings, generate_frames
from tunesmith.training.checkpoint_io import load_checkpoint

PROGRESSIONS = [(0, 5, 7, 0), (0, 9, 5, 7), (0, 7, 9, 5)]  # I IV V I, I vi IV V, I V vi IV (roots in semitones)


def tune(rng: np.random.Generator) -> symusic.Score:
    """A learnable little piece in a random key: a bass note per bar under 16th-note arpeggios (with repeated notes)."""
    s = symusic.Score(480)
    track = symusic.Track("part", 0, False)
    key = int(rng.integers(55, 67))
    chords = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    for bar, root in enumerate(chords * 2):
        t0 = bar * 1920
        track.notes.append(symusic.Note(t0, 1920, key + root - 12, 80))
        for i, step in enumerate((0, 4, 7, 12, 7, 4, 0, 0) * 2):
            pitch = key + root + (step if (root % 12) in (0, 5, 7) else {4: 3}.get(step, step))
            track.notes.append(symusic.Note(t0 + i * 120, 120, pitch, 80))
    s.tracks.append(track)
    return s


def make_frame_data(folder: Path, train: int = 60, val: int = 12, seed: int = 0) -> Path:
    """A prepared piano-roll folder written with the data layer alone (prepare is not needed)."""
    rng = np.random.default_rng(seed)
    scores = [tune(rng) for _ in range(train + val)]
    rep = PianoRoll.fit(scores, margin=6)
    folder.mkdir(parents=True, exist_ok=True)
    dtype, width = rep.storage()
    counts = {
        split: write_split(folder, split, [rep.encode(s) for s in part], dtype)
        for split, part in (("train", scores[:train]), ("val", scores[train:]))
    }
    write_meta(folder, rep, {"dtype": dtype.name, "frame_width": width, "frames": counts, "source": "synthetic"})
    return folder


@pytest.fixture(scope="module")
def frame_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_frame_data(tmp_path_factory.mktemp("frames") / "rolls")


@pytest.fixture(scope="module")
def frame_run(frame_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tunesmith.pipeline.train import train

    run = tmp_path_factory.mktemp("frame-runs") / "debug"
    train("pianoroll-lstm-debug", frame_data, run, progress=False)
    return run


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as f:
        return list(csv.DictReader(f))


# -- loaders ------------------------------------------------------------------------------------------------


def test_loader_windows_are_float_frames_shifted_by_one(frame_data: Path) -> None:
    data = PreparedData.open(frame_data)
    rep = data.representation
    train, val = frame_loaders(data, seq_len=16, batch_size=4, seed=3)
    inputs, targets = next(iter(val))
    assert inputs.shape == targets.shape == (4, 16, rep.frame_dim) and inputs.dtype == torch.float32
    assert torch.equal(inputs[:, 1:], targets[:, :-1])
    stream = rep.to_model(data.stream("val"))
    assert np.array_equal(inputs[0].numpy(), stream[:16]) and np.array_equal(targets[0].numpy(), stream[1:17])
    assert set(torch.unique(inputs).tolist()) <= {0.0, 1.0}


def test_transposition_keeps_counts_and_is_seeded_by_epoch_and_batch(frame_data: Path) -> None:
    data = PreparedData.open(frame_data)
    rep = data.representation

    def batches(transpose: int, epoch: int) -> list[torch.Tensor]:
        loader, _ = frame_loaders(data, seq_len=16, batch_size=4, seed=5, transpose=transpose)
        loader.sampler.set_epoch(epoch)
        return [x for x, _ in loader]

    plain, moved, again, later = batches(0, 0), batches(5, 0), batches(5, 0), batches(5, 1)
    assert all(torch.equal(a, b) for a, b in zip(moved, again, strict=True))  # deterministic per (seed, epoch, batch)
    assert not all(torch.equal(a, b) for a, b in zip(moved, later, strict=False))  # another epoch, other shifts
    assert not all(torch.equal(a, b) for a, b in zip(plain, moved, strict=True))
    p = rep.pitches
    for a, b in zip(plain, moved, strict=True):  # the fitted margin (6) covers ±5: no note is lost
        assert torch.equal(a[..., :p].sum((1, 2)), b[..., :p].sum((1, 2)))
        assert torch.equal(a[..., p : 2 * p].sum((1, 2)), b[..., p : 2 * p].sum((1, 2)))
        assert torch.equal(a[..., rep.end_index], b[..., rep.end_index])
    loader, _ = frame_loaders(data, seq_len=16, batch_size=4, seed=5, transpose=5)
    shifts = np.concatenate([loader.shifts(b, 4) for b in range(len(loader))])
    assert shifts.min() >= -5 and shifts.max() <= 5 and len(set(shifts.tolist())) > 5


def test_loader_resumes_at_the_next_unseen_batch(frame_data: Path) -> None:
    data = PreparedData.open(frame_data)
    full, _ = frame_loaders(data, seq_len=16, batch_size=4, seed=1, transpose=3)
    full.sampler.set_epoch(2)
    expected = [x for x, _ in full]
    partial, _ = frame_loaders(data, seq_len=16, batch_size=4, seed=1, transpose=3)
    partial.sampler.set_epoch(2)
    it = iter(partial)
    for _ in range(3):
        next(it)
    state = partial.state_dict()
    resumed, _ = frame_loaders(data, seq_len=16, batch_size=4, seed=1, transpose=3)
    resumed.load_state_dict(state)
    resumed.sampler.set_epoch(2)
    rest = [x for x, _ in resumed]
    assert len(rest) == len(expected) - 3
    assert all(torch.equal(a, b) for a, b in zip(rest, expected[3:], strict=True))


def test_loader_refusals(frame_data: Path) -> None:
    data = PreparedData.open(frame_data)
    with pytest.raises(TunesmithError, match="too few for windows"):
        frame_loaders(data, seq_len=100000, batch_size=4, seed=0)
    with pytest.raises(TunesmithError, match="data.transpose 99"):
        frame_loaders(data, seq_len=16, batch_size=4, seed=0, transpose=99)
    sampler = WindowSampler(100, 8, 2, shuffle=False)
    with pytest.raises(TunesmithError, match="cannot be transposed"):
        FrameLoader(np.zeros((100, 1), np.uint8), sampler, _Plain(), transpose=2)


class _Plain:
    name = "plain"
    can_transpose = False  # a frame representation with no transposition, as FrameRepresentation declares


# -- models --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(n for n in models.FRAME_REGISTRY if not models.is_autoencoder(n)))
def test_frame_models_forward_step_and_state(name: str) -> None:
    torch.manual_seed(0)
    d = 11
    model = models.build(name, d, embed_dim=8, hidden=16, layers=2, heads=2, dropout=0.2, input_noise=0.1).eval()
    frames = torch.rand(3, 9, d)
    fresh = (lambda: model.init_state(3)) if hasattr(model, "init_state") else (lambda: None)
    with torch.no_grad():
        out, state = model(frames, fresh())
        assert out.shape == (3, 9, d)
        assert torch.allclose(model(frames)[0], out, atol=1e-5)  # eval: no noise, no dropout
        _, prefix = model(frames[:, :4], fresh())
        stepped = []
        for t in range(4, 9):
            o, prefix = model.step(frames[:, t], prefix)
            stepped.append(o)
        assert torch.allclose(torch.stack(stepped, 1), out[:, 4:], atol=1e-5)
        rows = torch.tensor([2, 0])
        kept = model.select_state(state, rows)  # before the full step, which fills a cache in place
        nxt = torch.rand(3, d)
        full, _ = model.step(nxt, state)
        part, _ = model.step(nxt[rows], kept)
        assert torch.allclose(full[rows], part, atol=1e-5)
    model.train()
    torch.manual_seed(1)
    noisy = model(frames)[0]
    torch.manual_seed(1)
    assert torch.equal(model(frames)[0], noisy)  # noise comes from the (re-seeded) global generator


def test_token_and_frame_models_stay_apart() -> None:
    assert not set(models.FRAME_REGISTRY) & set(models.REGISTRY)
    assert {"frame-lstm", "frame-gru", "frame-rnn"} <= set(models.FRAME_REGISTRY)


# -- training ------------------------------------------------------------------------------------------------


def test_debug_run_lowers_validation_loss_and_reports_f1(frame_run: Path) -> None:
    rows = _rows(frame_run)
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert {"val_loss", "val_precision", "val_recall", "val_f1", "val_onset_f1", "train_f1"} <= set(rows[0])
    assert "val_bpc" not in rows[0]
    val = [float(r["val_loss"]) for r in rows]
    assert val[-1] < val[0] - 0.005, val
    assert all(0 <= float(r[k]) <= 1 for r in rows for k in ("val_precision", "val_recall", "val_f1"))
    f1 = [float(r["val_f1"]) for r in rows]
    assert f1[-1] > max(0.1, f1[0]), f1  # it learns notes, not the all-silence answer that stopped seed 000
    ckpts = frame_run / "checkpoints"
    assert load_checkpoint(ckpts / "last.ckpt")["global_step"] == 60 and (ckpts / "best.ckpt").is_file()
    assert list((frame_run / "tensorboard").glob("events.out.tfevents.*"))


def test_frame_kill_and_resume_matches_uninterrupted_run(frame_data: Path, tmp_path: Path) -> None:
    """As the token test: SIGKILL after the first checkpoint, resume, and end on exactly the same weights
    (transposition shifts, data order and input noise all depend on (seed, epoch, batch/step) alone)."""
    args = [
        "train",
        "--preset",
        "pianoroll-lstm-debug",
        "--data",
        str(frame_data),
        "--no-progress",
        "--set",
        "train.checkpoint_minutes=0.0002",
        "--set",
        "train.max_epochs=4",
        "--set",
        "model.input_noise=0.05",
    ]
    killed = assert_resume_matches_uninterrupted(args, tmp_path, steps=80)
    assert [r["epoch"] for r in _rows(killed)] == ["0", "1", "2", "3"]


def test_models_and_data_must_agree(frame_data: Path, tmp_path: Path) -> None:
    from tunesmith.pipeline.train import train

    with pytest.raises(TunesmithError, match="reads tokens, but this data holds frames"):
        train("pianoroll-lstm-debug", frame_data, tmp_path / "run", overrides=["model.name=lstm"], progress=False)


# -- bundles and sampling --------------------------------------------------------------------------------------


def test_bundle_export_and_load_give_the_same_outputs(frame_run: Path, tmp_path: Path) -> None:
    from tunesmith.bundle import export, load

    bundle = export(frame_run, tmp_path / "bundle")
    run, shared = load(frame_run), load(bundle)
    assert shared.representation.to_json() == run.representation.to_json() and shared.kind == "bundle"
    frames = torch.from_numpy(run.representation.to_model(PreparedData.open(_data_of(frame_run)).stream("val")[:40]))
    with torch.no_grad():
        assert torch.equal(run.model(frames[None])[0], shared.model(frames[None])[0])
    import json

    assert json.loads((bundle / "config.json").read_text())["frame_dim"] == run.representation.frame_dim


def _data_of(run: Path) -> Path:
    import json

    return Path(json.loads((run / "data.json").read_text())["data"])


def test_generate_frames_is_seeded_and_decodes_to_notes(frame_run: Path) -> None:
    from tunesmith.bundle import load

    loaded = load(frame_run)
    rep = loaded.representation
    settings = SampleSettings(num=5, max_length=64, seed=7, batch_size=3)
    first = generate_frames(loaded.model, rep, settings, onset_weight=4.0)
    again = generate_frames(loaded.model, rep, settings, onset_weight=4.0)
    other = generate_frames(loaded.model, rep, SampleSettings(num=5, max_length=64, seed=8, batch_size=3))
    assert len(first) == 5
    assert all(np.array_equal(a.frames, b.frames) and a.ended == b.ended for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a.frames, b.frames) for a, b in zip(first, other, strict=True))
    for g in first:
        assert g.frames.dtype == np.uint8 and g.frames.shape[1] == rep.frame_dim and len(g.frames) <= 64
        assert g.ended or len(g.frames) == 64
        assert g.frames[:, rep.end_index].sum() == 0
        assert np.array_equal(rep.to_model(np.packbits(g.frames, axis=-1)), g.frames)  # storable as it is
    scores = [rep.decode(g.frames) for g in first]
    assert sum(s.note_num() for s in scores) > 0
    assert all(isinstance(s, symusic.Score) for s in scores)


def test_generate_frames_with_a_primer_and_refusals(frame_run: Path) -> None:
    from tunesmith.bundle import load

    loaded = load(frame_run)
    rep = loaded.representation
    primer = rep.primer(tune(np.random.default_rng(9)), bars=1)
    assert primer.shape == (16, rep.frame_dim)
    out = generate_frames(loaded.model, rep, SampleSettings(num=2, max_length=40, seed=1), primer)
    assert all(np.array_equal(g.frames[:16], primer.astype(np.uint8)) for g in out)
    with pytest.raises(TunesmithError, match="shorter than --max-length"):
        generate_frames(loaded.model, rep, SampleSettings(num=1, max_length=16), primer)
    with pytest.raises(TunesmithError, match="shaped"):
        generate_frames(loaded.model, rep, SampleSettings(num=1), np.zeros((3, 5)))
    with pytest.raises(TunesmithError, match="--top-k"):
        generate_frames(loaded.model, rep, SampleSettings(num=1, top_k=5))
