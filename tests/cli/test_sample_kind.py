"""``tunesmith sample --meter --key --rhythm``: asking a model for a kind of tune, held to its corpus.

The session's ``trained_run`` learned tunes without ``R:`` lines, so this module trains its own tiny model
on O'Neill's jigs, slip jigs, hornpipes, airs and waltzes (about 100 tunes, seconds on a CPU).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.test_limits import one_error_line
from tunesmith.cli import app
from tunesmith.metrics.abc_corpus import header_lines

runner = CliRunner()
ONEILLS = ("0550-0625", "0721-0730", "1116-1135_mh", "1556-1576")  # airs, jigs, slip jigs, hornpipes


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A debug run trained on tunes whose headers give R: (jig, slip jig, Hornpipe, air, waltz, reel)."""
    from tunesmith.corpora import music21_corpus_root
    from tunesmith.pipeline.prepare import prepare
    from tunesmith.pipeline.train import train

    base = tmp_path_factory.mktemp("kind")
    for name in ONEILLS:
        (base / "abc").mkdir(exist_ok=True)
        shutil.copy(music21_corpus_root() / "oneills1850" / f"{name}.abc", base / "abc")
    prepare(base / "data", input_path=base / "abc")
    train("abc-lstm-debug", base / "data", base / "run", progress=False)
    return base / "run"


def sample(run: Path, out: Path, *args: object):  # noqa: ANN201
    return runner.invoke(app, ["sample", str(run), "--num", "3", "--out", str(out), *map(str, args)])


def headers(out: Path) -> list[list[tuple[str, str]]]:
    """The header lines of every tune written, after X:."""
    files = sorted(out.glob("[0-9][0-9][0-9].abc"))
    assert len(files) == 3
    return [header_lines(f.read_text(encoding="utf-8")) for f in files]


@pytest.mark.parametrize("constrain", [False, True])
def test_every_tune_carries_the_asked_rhythm_meter_and_key(run: Path, tmp_path: Path, constrain: bool) -> None:
    extra = ["--constrain"] if constrain else []
    result = sample(
        run, tmp_path / "s", "--rhythm", "jig", "--meter", "6/8", "--key", "Gmaj", "--max-length", 200, *extra
    )
    assert result.exit_code == 0, result.output
    for header in headers(tmp_path / "s"):
        assert header[:4] == [("R", "jig"), ("M", "6/8"), ("L", "1/8"), ("K", "G")]
    summary = json.loads((tmp_path / "s" / "samples.json").read_text())
    assert summary["asked"] == {"meter": "6/8", "key": "Gmaj", "rhythm": "jig"}
    assert summary["settings"]["primer"] == "R:jig\nM:6/8\nL:1/8\nK:G\n"
    assert [(t["meter"], t["key"]) for t in summary["tunes"]] == [("6/8", "G")] * 3


def test_a_key_without_a_meter_gets_the_rhythms_usual_one(run: Path, tmp_path: Path) -> None:
    result = sample(
        run, tmp_path / "s", "--rhythm", "slip jig", "--key", "D dorian", "--max-length", 200, "--constrain"
    )
    assert result.exit_code == 0, result.output
    for header in headers(tmp_path / "s"):
        assert header == [("R", "slip jig"), ("M", "9/8"), ("L", "1/8"), ("K", "Ddor")]


def test_a_rhythm_alone_leaves_the_rest_of_the_header_to_the_model(run: Path, tmp_path: Path) -> None:
    from tunesmith.abc_text import normal_key
    from tunesmith.metrics.abc_corpus import read

    profile = read(run)
    assert profile is not None
    result = sample(run, tmp_path / "s", "--rhythm", "hornpipe", "--max-length", 300, "--constrain")
    assert result.exit_code == 0, result.output
    for header in headers(tmp_path / "s"):
        assert header[0] == ("R", "Hornpipe")  # the corpus's spelling
        fields = dict(header)
        assert fields["M"] in ("2/4", "4/4", "C") and fields["M"] in profile.meters  # a hornpipe's, the corpus's
        assert header[-1][0] == "K" and normal_key(fields["K"]) in profile.keys


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--rhythm", "polka"], ["--rhythm 'polka' is not a rhythm of this model's corpus", "known: ", "jig", "reel"]),
        (["--rhythm", "jgi"], ["did you mean jig?"]),
        (["--key", "F#m"], ["--key 'F#m' is not a key of this model's corpus", "known: G, D"]),
        (["--meter", "7/8", "--key", "G"], ["--meter '7/8'", "known: ", "6/8", "9/8"]),
        (["--rhythm", "hornpipe", "--meter", "6/8"], ["does not suit a hornpipe"]),
        (["--key", "G", "--primer", r"M:6/8\nK:G\n"], ["--primer and --key", "give one or the other"]),
        (["--key", "G\nK:A"], ["--key", "one line"]),
    ],
)
def test_unknown_values_give_one_error_line_listing_the_known_ones(
    run: Path, tmp_path: Path, args: list[str], fragments: list[str]
) -> None:
    one_error_line(sample(run, tmp_path / "s", *args), *fragments)
    assert not (tmp_path / "s" / "samples.json").exists()
