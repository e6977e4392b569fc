"""``sample --out``: one model's pieces per folder, whatever the medium (issue 16, item 11).

Re-sampling the same model replaces its earlier pieces; another model's samples, or files ``sample`` did
not write, are refused unless ``--overwrite``; a request refused late leaves the folder as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.test_limits import one_error_line
from tunesmith.cli import app
from tunesmith.pipeline.sample import is_piece

runner = CliRunner()
SMALL = ["--max-length", "60"]


def sample(model: Path, out: Path, *args: object):  # noqa: ANN201
    return runner.invoke(app, ["sample", str(model), *SMALL, "--out", str(out), *map(str, args)])


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def recorded_model(folder: Path) -> str:
    return json.loads((folder / "samples.json").read_text())["model"]


@pytest.fixture(scope="module")
def bundle(trained_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another model: the run exported (a different folder, so a different source)."""
    from tunesmith.bundle import export

    return export(trained_run, tmp_path_factory.mktemp("sample-out") / "bundle")


def test_resampling_the_same_model_replaces_its_earlier_pieces(trained_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    first = sample(trained_run, out, "--num", 3)
    assert first.exit_code == 0, first.output
    assert [n for n in listing(out) if n.endswith(".abc")] == ["001.abc", "002.abc", "003.abc"]
    (out / "notes.txt").write_text("mine\n")  # not a piece: never touched
    again = sample(trained_run, out, "--num", 2, "--seed", 7)
    assert again.exit_code == 0, again.output
    assert [n for n in listing(out) if n.endswith(".abc")] == ["001.abc", "002.abc"]  # no 003.abc left over
    assert not any(n.startswith("003") for n in listing(out))
    assert (out / "notes.txt").read_text() == "mine\n"
    assert recorded_model(out) == str(trained_run)


def test_another_models_samples_are_refused_unless_overwrite(trained_run: Path, bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    assert sample(trained_run, out, "--num", 3).exit_code == 0
    before = {name: (out / name).read_bytes() for name in listing(out)}
    one_error_line(sample(bundle, out, "--num", 1), "another model", str(trained_run), "--overwrite")
    assert {name: (out / name).read_bytes() for name in listing(out)} == before  # untouched

    replaced = sample(bundle, out, "--num", 1, "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert recorded_model(out) == str(bundle)
    assert [n for n in listing(out) if not n.startswith("001")] == ["samples.json"]  # nothing of the run's left


def test_a_folder_of_other_files_is_refused_and_overwrite_keeps_what_is_not_a_piece(
    trained_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    one_error_line(sample(trained_run, out, "--num", 1), "did not write", "notes.txt", "--overwrite")
    (out / "001.abc").write_text("X:1\nT:someone else's tune\nK:C\nCDEF|\n")
    one_error_line(sample(trained_run, out, "--num", 1), "without a samples.json")
    assert sample(trained_run, out, "--num", 1, "--overwrite").exit_code == 0
    assert "someone else's" not in (out / "001.abc").read_text()
    assert (out / "notes.txt").read_text() == "mine\n"


def test_a_request_refused_late_leaves_the_earlier_pieces(trained_run: Path, tmp_path: Path) -> None:
    """The medium refuses ``--prime-audio`` for an ABC model only after the model loads; nothing is lost."""
    out = tmp_path / "s"
    assert sample(trained_run, out, "--num", 2).exit_code == 0
    before = {name: (out / name).read_bytes() for name in listing(out)}
    one_error_line(sample(trained_run, out, "--num", 1, "--prime-audio", tmp_path / "x.wav"), "--prime-audio")
    assert {name: (out / name).read_bytes() for name in listing(out)} == before


def test_what_counts_as_a_piece() -> None:
    for name in ("001.abc", "001.mid", "012.wav", "001.png", "001-p2.svg", "1000.musicxml", "samples.json"):
        assert is_piece(Path("/nonexistent") / name), name
    for name in ("notes.txt", "01.abc", "tune.abc", "001", "report.json", "001.abc.bak~"):
        assert not is_piece(Path("/nonexistent") / name), name
