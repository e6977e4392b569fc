"""``prepare --vocab-from`` and ``train --init`` as a user meets them: the lines they print, and one ``error:``
line with exit status 2 for every mistake, leaving no folder behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.in_process import invoke, one_line_error
from tests.pipeline.test_finetune import STILL, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("ballads") / "tunes")


@pytest.fixture(scope="module")
def fitted(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tunes prepared with a vocabulary of their own (not the model's)."""
    from tunesmith.pipeline.prepare import prepare

    return prepare(tmp_path_factory.mktemp("fitted") / "data", input_path=corpus).out


@pytest.fixture(scope="module")
def midi_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A MIDI model, as small as one gets: eight chorales, two steps."""
    from tunesmith.pipeline.prepare import prepare
    from tunesmith.pipeline.train import train

    root = tmp_path_factory.mktemp("midi")
    data = prepare(root / "data", corpus="bach", representation="midi-notes", max_tunes=8).out
    overrides = ["train.sample_every=0", "train.max_epochs=1", "train.limit_train_batches=2"]
    train("midi-notes-lstm-debug", data, root / "run", overrides=overrides, progress=False)
    return root / "run"


def test_prepare_vocab_from_prints_the_skips_and_their_symbols(corpus: Path, trained_run: Path, tmp_path: Path) -> None:
    result = invoke("prepare", "--input", corpus, "--vocab-from", trained_run, "--out", tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert "a symbol the model's vocabulary lacks" in result.stdout
    assert "missing symbols (tunes each cost): " in result.stdout and "'\u00e9' (1)" in result.stdout
    assert f"the model's in {trained_run.resolve()}" in result.stdout


def test_vocab_from_refuses_what_holds_no_abc_vocabulary(
    corpus: Path, midi_run: Path, trained_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "data"
    one_line_error(
        invoke("prepare", "--input", corpus, "--vocab-from", midi_run, "--out", out), "a MIDI model", "only an ABC"
    )
    one_line_error(invoke("prepare", "--input", corpus, "--vocab-from", corpus, "--out", out), "neither a run folder")
    one_line_error(invoke("prepare", "--input", corpus, "--vocab-from", tmp_path / "none", "--out", out), "not exist")
    one_line_error(
        invoke(
            "prepare", "--input", corpus, "--vocab-from", trained_run, "--representation", "midi-remi", "--out", out
        ),
        "--representation midi-remi disagrees",
        "'abc-char'",
    )
    one_line_error(invoke("prepare", "--corpus", "bach", "--vocab-from", trained_run, "--out", out), "is MIDI")
    assert not out.exists()


def test_evaluate_refuses_a_corpus_of_another_vocabulary_and_says_how_to_make_one(
    fitted: Path, trained_run: Path, tmp_path: Path
) -> None:
    line = one_line_error(invoke("evaluate", trained_run, "--data", fitted, "--num", 1, "--out", tmp_path / "r"))
    assert "another 'abc-char' vocabulary" in line and f"prepare --vocab-from {trained_run}" in line


def test_train_init_refuses_another_medium_shape_or_vocabulary(
    fitted: Path, small_data: Path, midi_run: Path, trained_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    sets = [arg for s in STILL for arg in ("--set", s)]

    def train(*args: object):  # noqa: ANN202
        return invoke("train", "--preset", "abc-lstm-debug", "--run", run, "--no-progress", *sets, *args)

    one_line_error(train("--data", small_data, "--init", midi_run), "is a MIDI model ('midi-notes')", "holds ABC data")
    one_line_error(
        train("--data", small_data, "--init", trained_run, "--set", "model.hidden=48"),
        "does not fit preset abc-lstm-debug",
        "weight 'rnn.weight_ih_l0' is (128, 16) in the model but (192, 16) in the preset's",
    )
    one_line_error(
        invoke("train", "--preset", "abc-transformer-debug", "--data", small_data, "--run", run, "--init", trained_run),
        "does not fit preset abc-transformer-debug",
    )
    one_line_error(
        train("--data", fitted, "--init", trained_run),
        "was not prepared with the vocabulary of --init",
        f"tunesmith prepare --vocab-from {trained_run}",
    )
    one_line_error(train("--data", small_data, "--init", small_data), "neither a run folder")
    assert not run.exists()


def test_train_init_prints_where_it_started(small_data: Path, trained_run: Path, tmp_path: Path) -> None:
    sets = [arg for s in STILL for arg in ("--set", s)]
    args = ["train", "--preset", "abc-lstm-debug", "--data", small_data, "--run", tmp_path / "run", "--no-progress"]
    result = invoke(*args, *sets, "--init", trained_run)
    assert result.exit_code == 0, result.output
    assert f"starting from the weights of run {trained_run.resolve()} (step " in result.stdout
    assert "fresh optimiser and schedule" in result.stdout
    again = invoke(*args, *sets, "--init", trained_run)  # the same command again: a resume, not a new start
    assert again.exit_code == 0, again.output
    assert "starting from the weights" not in again.stdout and "resumed from step 2" in again.stdout
    exported = invoke("export", tmp_path / "run", "--out", tmp_path / "bundle")
    assert exported.exit_code == 0, exported.output
    assert f"initialised from {trained_run.resolve()} (step " in exported.stdout
