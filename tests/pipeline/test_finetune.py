"""Models that move between corpora: ``prepare --vocab-from``, ``evaluate`` on such a corpus, ``train --init``.

The model is the session's debug run (trained on O'Neill's Irish tunes); the new corpus is a file of German
ballads from the Essen collection plus one handmade tune with a character the model never saw.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from tunesmith.corpora import music21_corpus_root
from tunesmith.corpora.abc import read_tunes
from tunesmith.data.prepared import PreparedData
from tunesmith.errors import TunesmithError
from tunesmith.media.abc_prepare import VOCAB_REASON

UNKNOWN_TUNE = "X:1\nT:Caf\u00e9 Waltz\nM:3/4\nL:1/8\nK:G\nG2 B2 d2|g4 d2|B2 G2 B2|d6|]\n"
# a short run that barely moves its weights: what it holds after two steps is what it started from
STILL = ["train.sample_every=0", "train.max_epochs=1", "train.limit_train_batches=2", "train.lr=1e-12"]


def write_corpus(folder: Path) -> Path:
    """107 Essen ballads and a tune whose title holds a character no O'Neill tune has."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(music21_corpus_root() / "essenFolksong" / "ballad10.abc", folder / "ballad10.abc")
    (folder / "cafe.abc").write_text(UNKNOWN_TUNE)
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("ballads") / "tunes")


@pytest.fixture(scope="module")
def tuned_data(corpus: Path, trained_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tunesmith.pipeline.prepare import prepare

    return prepare(tmp_path_factory.mktemp("vocab") / "ballads", input_path=corpus, vocab_from=trained_run).out


@pytest.fixture(scope="module")
def tuned_run(tuned_data: Path, trained_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tunesmith.pipeline.train import train

    run = tmp_path_factory.mktemp("finetune") / "run"
    result = train("abc-lstm-debug", tuned_data, run, overrides=STILL, progress=False, init=trained_run)
    assert (result.global_step, result.resumed_from_step) == (2, None)
    return run


def test_vocab_from_skips_unknown_symbols_and_encodes_the_rest_with_the_models_ids(
    corpus: Path, tuned_data: Path, trained_run: Path
) -> None:
    data = PreparedData.open(tuned_data)
    model_rep = json.loads((trained_run / "representation.json").read_text())
    assert data.representation.to_json() == model_rep  # the model's vocabulary, not a fitted one
    rep = data.representation

    tunes, _ = read_tunes(sorted(corpus.glob("*.abc")), base=corpus)
    unknown = {(t.source, t.ref): rep.missing(t.text) for t in tunes if rep.missing(t.text)}
    assert unknown[("cafe.abc", "1")] == ["\u00e9"]
    meta = data.meta
    assert meta["skipped"][VOCAB_REASON] == len(unknown)
    assert meta["vocab_from"]["model"] == str(trained_run.resolve())
    assert meta["vocab_from"]["missing_symbols"]["\u00e9"] == 1
    rows = [line.split("\t") for line in (tuned_data / "skipped.tsv").read_text().splitlines()[1:]]
    by_tune = {(src, ref): reason for src, ref, reason in rows if reason.startswith(VOCAB_REASON)}
    assert by_tune.keys() == unknown.keys()
    assert by_tune[("cafe.abc", "1")] == f"{VOCAB_REASON}: '\u00e9'"

    text = {(t.source, t.ref): t.text for t in tunes}
    kept = 0
    for split in ("train", "val"):
        sources = json.loads((tuned_data / f"{split}_sources.json").read_text())
        for (src, ref), ids in zip(sources, data.sequences(split), strict=True):
            assert (src, ref) not in unknown
            assert ids.tolist() == rep.encode(text[(src, ref)]).tolist()
            kept += 1
    assert kept == meta["tunes_kept"] == len(tunes) - len(unknown) > 90


def test_evaluate_measures_the_model_on_a_corpus_prepared_with_its_vocabulary(
    tuned_data: Path, trained_run: Path, tmp_path: Path
) -> None:
    from tunesmith.bundle import load
    from tunesmith.pipeline.evaluate import EvaluateSettings, evaluate
    from tunesmith.training.evaluate import held_out

    settings = EvaluateSettings(num=3, temperatures=(1.0,), max_length=150, batch_size=8, max_batches=4)
    report = evaluate(trained_run, tmp_path / "report", settings, data=tuned_data).report
    loaded = load(trained_run)
    expected = held_out(loaded.model, PreparedData.open(tuned_data), loaded.config.data.seq_len, 8, max_batches=4)
    assert report["data"] == str(tuned_data)
    assert report["likelihood"]["tokens"] == expected["tokens"] > 0
    assert report["likelihood"]["loss"] == pytest.approx(expected["loss"], abs=1e-5)
    assert math.isfinite(report["likelihood"]["loss"])


def test_init_starts_from_the_models_weights_with_a_fresh_optimiser(tuned_run: Path, trained_run: Path) -> None:
    from tunesmith.bundle import load
    from tunesmith.training.checkpoint_io import checksum, load_checkpoint

    source = load(trained_run)
    start = {k: v for k, v in source.model.state_dict().items()}
    ckpt = load_checkpoint(tuned_run / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 2  # counted from 0, not from the source's step
    weights = {k[len("model.") :]: v for k, v in ckpt["state_dict"].items()}
    assert weights.keys() == start.keys()
    for name, value in start.items():  # two steps at lr 1e-12 leave the starting weights as they were
        assert torch.allclose(weights[name], value, atol=1e-7), name
    steps = [float(s["step"]) for s in ckpt["optimizer_states"][0]["state"].values()]
    assert steps and all(s == 2 for s in steps)  # RMSprop's own count: a fresh optimiser
    record = json.loads((tuned_run / "init.json").read_text())
    assert record["source"] == str(trained_run.resolve()) and record["kind"] == "run"
    assert record["global_step"] == source.info["global_step"] > 0
    assert record["weights"]["digest"] == checksum(start)


def test_init_run_resumes_from_its_own_checkpoint_and_exports_its_origin(
    tuned_run: Path, tuned_data: Path, trained_run: Path, tmp_path: Path
) -> None:
    from tunesmith.bundle import export
    from tunesmith.pipeline.train import train

    record = (tuned_run / "init.json").read_text()
    again = ["train.max_epochs=2" if s == "train.max_epochs=1" else s for s in STILL]
    result = train("abc-lstm-debug", tuned_data, tuned_run, overrides=again, progress=False, init=trained_run)
    assert (result.resumed_from_step, result.global_step) == (2, 4)  # its own last.ckpt, not the source again
    assert (tuned_run / "init.json").read_text() == record

    bundle = export(tuned_run, tmp_path / "bundle")
    info = json.loads((bundle / "config.json").read_text())
    assert info["initialised_from"] == json.loads(record)

    # a bundle starts a run too, and the new run knows what its source started from
    second = train("abc-lstm-debug", tuned_data, tmp_path / "second", overrides=STILL, progress=False, init=bundle)
    assert second.global_step == 2
    chain = json.loads((tmp_path / "second" / "init.json").read_text())
    assert chain["kind"] == "bundle" and chain["global_step"] == info["trained"]["global_step"] in (2, 4)
    assert chain["source_started_from"]["source"] == str(trained_run.resolve())


def test_an_init_run_refuses_another_source_on_resume(tuned_run: Path, tuned_data: Path, tmp_path: Path) -> None:
    from tunesmith.pipeline.train import train

    other = tmp_path / "elsewhere"
    shutil.copytree(tuned_run, other / "run")  # an equal model, but not the one this run started from
    with pytest.raises(TunesmithError, match="was started from --init"):
        train("abc-lstm-debug", tuned_data, tuned_run, overrides=STILL, progress=False, init=other / "run")
