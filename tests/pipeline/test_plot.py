"""``tunesmith plot`` on a debug run: learning curves (with validations inside epochs), piano rolls of the
run's samples, neuron heat maps of given tunes; clear errors for a run with nothing to plot."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli
from tests.pipeline.test_neurons import SECOND, TUNE, _assert_real_picture
from tunesmith.errors import TunesmithError
from tunesmith.render.heatmaps import layout_text
from tunesmith.training.history import read_history


@pytest.fixture(scope="module")
def debug_run(small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny ABC LSTM run validated every 10 of its 20 batches, with one real tune among its samples."""
    from tunesmith.pipeline.train import train
    from tunesmith.render.midi import abc_to_midi

    run = tmp_path_factory.mktemp("plot") / "run"
    train("abc-lstm-debug", small_data, run, overrides=["train.val_every_batches=10"], progress=False)
    latest = run / "samples" / "epoch_003"
    assert abc_to_midi(f"X:1\n{TUNE}", latest / "001.mid").converted  # the debug model's own samples are empty
    return run


def test_history_places_validations_inside_epochs(debug_run: Path) -> None:
    history = read_history(debug_run)
    with (debug_run / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert history.x.tolist() == [1.0, 2.0, 3.0] and history.steps_per_epoch == 20
    val = history.val["loss"]
    assert val.x.tolist() == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]  # every 10 batches, not just at epoch ends
    # the end-of-epoch validations are the ones metrics.csv holds
    np.testing.assert_allclose(val.y[1::2], [float(r["val_loss"]) for r in rows], atol=1e-5)
    status = json.loads((debug_run / "status.json").read_text())
    assert history.best()["val_loss"] == pytest.approx(status["best_val_loss"], abs=1e-6)
    assert history.best()["val_acc"] == pytest.approx(history.val["acc"].y[np.argmin(val.y)])
    assert history.seconds == pytest.approx(float(rows[-1]["seconds"]))


def test_plot_writes_curves_piano_rolls_and_heat_maps(debug_run: Path, tmp_path: Path) -> None:
    tunes = tmp_path / "tunes.abc"
    tunes.write_text(f"X:1\n{TUNE}\nX:2\n{SECOND}")
    proc = run_cli("plot", debug_run, "--tune", tunes, "--num", "2")
    assert proc.returncode == 0, proc.stderr
    plots = debug_run / "plots"
    names = sorted(p.name for p in plots.glob("*.png"))
    assert names == ["learning_curves.png", "neuron_bar.png", "neuron_header.png", "pianoroll_001.png"]
    assert "epoch_003/001.mid" in proc.stdout  # the latest samples; the empty ones have no MIDI
    assert "skipped      spectrograms: abc-char is not an audio representation" in proc.stdout
    _assert_real_picture(plots / "learning_curves.png", (300, 800))
    _assert_real_picture(plots / "pianoroll_001.png", (300, 500))
    text = TUNE + SECOND
    grid = layout_text(text)
    heat = _assert_real_picture(plots / "neuron_header.png", (int(grid.shape[0] * 0.17 * 90), 400))
    assert abs(heat.shape[0] - (grid.shape[0] * 0.17 + 0.65) * 90) <= 1
    assert (plots / "tunes.abc").read_text().startswith(f"X:1\n{TUNE}")
    with (plots / "neurons.csv").open() as f:
        ranking = list(csv.DictReader(f))
    assert len(ranking) == 2 * 2 * 32  # h and c of 2 layers × 32 units
    top = min(ranking, key=lambda r: int(r["header_rank"]))
    assert f"{top['unit']}: separation" in proc.stdout


def test_plot_a_chosen_unit_and_bad_requests(debug_run: Path) -> None:
    from tunesmith.pipeline.plot import plot_run

    report = plot_run(debug_run, unit="1:3", seed=1, num=1)
    assert [f.path.name for f in report.figures if f.what == "neuron heat map"] == ["neuron_h1-3.png"]
    assert not (debug_run / "plots" / "neuron_header.png").exists()  # pictures of the earlier call are gone
    assert len((debug_run / "plots" / "tunes.abc").read_text().split("X:")) == 3  # two generated tunes
    with pytest.raises(TunesmithError, match="no such unit"):
        plot_run(debug_run, unit="2:0")
    with pytest.raises(TunesmithError, match="--unit"):
        plot_run(debug_run, unit="top")
    with pytest.raises(TunesmithError, match="--num 99"):
        plot_run(debug_run, num=99)


def test_plot_needs_metrics(debug_run: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(debug_run / "config.yaml", fresh / "config.yaml")
    proc = run_cli("plot", fresh)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {fresh / 'metrics.csv'} does not exist: train the run first (tunesmith train --run {fresh})"
    ]
    (fresh / "metrics.csv").write_text("epoch,step,train_loss,val_loss,lr,seconds\n")
    with pytest.raises(TunesmithError, match="has no rows yet"):
        from tunesmith.pipeline.plot import plot_run

        plot_run(fresh)
    with pytest.raises(TunesmithError, match="not a run folder"):
        plot_run(tmp_path)
