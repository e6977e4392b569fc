"""Every preset in the registry, by its ``-debug`` twin: trained end to end on a small corpus of its
representation, then sampled through the generic path (``pipeline.sample``), whatever its medium."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from tunesmith import media, models
from tunesmith.config import load_preset, preset_names
from tunesmith.errors import TunesmithError

DEBUG = [name for name in preset_names() if name.endswith("-debug")]
TINY = ["train.max_epochs=1", "train.limit_val_batches=1", "train.sample_count=1"]  # and a few training batches
RATE = 16_000


def _tones(folder: Path) -> Path:
    """Four one-second melodies of sine tones: enough audio for a debug run to train and be prompted."""
    folder.mkdir(parents=True)
    t = np.arange(RATE) / RATE
    for i in range(4):
        pitches = np.random.default_rng(i).choice([220.0, 262.0, 330.0, 392.0], size=4)
        wave = np.concatenate([0.3 * np.sin(2 * np.pi * f * t[: RATE // 4]) for f in pitches])
        soundfile.write(folder / f"tone{i}.wav", wave.astype(np.float32), RATE)
    return folder


# What a small corpus of each medium is: options for ``prepare`` (the folder is where to write any files).
CORPORA: dict[str, Callable[[Path], dict[str, Any]]] = {
    "abc": lambda folder: {"corpus": "folk", "max_tunes": 40},
    "midi": lambda folder: {"corpus": "bach", "max_tunes": 8},
    "audio": lambda folder: {"input_path": _tones(folder), "val_fraction": 0.25},
}


def test_every_debug_preset_is_the_twin_of_a_full_preset() -> None:
    """The other way round (every preset has a -debug twin) is test_config's."""
    assert DEBUG
    assert [name for name in DEBUG if name.removesuffix("-debug") not in preset_names()] == []


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A small prepared corpus of a representation, prepared the first time a preset asks for it."""
    from tunesmith.pipeline.prepare import prepare

    root, done = tmp_path_factory.mktemp("every-preset"), {}

    def data(representation: str) -> Path:
        if representation not in done:
            medium = media.of(representation).name
            assert medium in CORPORA, f"no small corpus for medium '{medium}': add one to CORPORA"
            options = CORPORA[medium](root / f"{representation}-files")
            done[representation] = prepare(root / representation, representation=representation, **options).out
        return done[representation]

    return data


@pytest.mark.parametrize("preset", DEBUG)
def test_debug_preset_trains_and_samples_through_the_generic_path(
    preset: str, prepared: Callable[[str], Path], tmp_path: Path
) -> None:
    from tunesmith.media import SampleRequest
    from tunesmith.pipeline.sample import sample
    from tunesmith.pipeline.train import train
    from tunesmith.sampling import SampleSettings

    config = load_preset(preset)
    run = tmp_path / "run"
    batches = max(2, config.train.val_every_batches)  # enough to reach a preset's validation inside the epoch
    overrides = [*TINY, f"train.limit_train_batches={batches}"]
    result = train(preset, prepared(config.data.representation), run, overrides=overrides, progress=False)
    assert result.state == "finished" and result.global_step >= 1
    assert result.best_val_loss is not None and math.isfinite(result.best_val_loss)
    assert (run / "checkpoints" / "best.ckpt").is_file()
    assert any((run / "samples" / "epoch_001").iterdir())  # the medium's in-training samples

    settings, out = SampleSettings(num=2, max_length=48, seed=3), tmp_path / "samples"
    if models.is_autoencoder(config.model.name):  # it reconstructs audio; sampling says so and names the verb
        with pytest.raises(TunesmithError, match="autoencoder.*tunesmith reconstruct"):
            sample(run, settings, out, SampleRequest(seconds=0.25))
        return
    report = sample(run, settings, out, SampleRequest(seconds=0.25))
    files = [item["file"] for item in report.items]
    assert len(files) == 2 and all((out / f).is_file() and (out / f).stat().st_size > 0 for f in files)
    record = json.loads((out / "samples.json").read_text())
    assert [p["file"] for p in record.get("pieces") or record["tunes"]] == files  # ABC calls its pieces tunes
    headers, rows = report.table()
    assert headers[0] == "file" and all(len(row) == len(headers) for row in rows)
    assert sorted(row[0] for row in rows if row[0] in files) == files  # one row per piece…
    assert all(row[0] in files or row[0].startswith("(") for row in rows)  # …beside labelled ones like (prime)
    assert report.summary() and str(out) in report.wrote
