"""The command line as a user meets it: real output, and one clear line for every mistake."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _fails_cleanly(proc, *fragments: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_help_lists_the_verbs() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    core = ("prepare", "train", "sample", "export", "render", "demo", "serve")
    for verb in (*core, "evaluate", "plot", "sweep", "reconstruct"):
        assert verb in proc.stdout


def test_prepare_prints_counts_and_skips(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "ok.abc").write_text("X:1\nT:A\nK:C\nCDEF|\n\nX:2\nT:B\nK:G\nGABc|\n\nX:3\nT:C\nM:2/4\nab|\n")
    (src / "bad.abc").write_bytes(b"\xff\xfe\x00binary")
    proc = run_cli("prepare", "--input", src, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "tunes read   3" in proc.stdout and "tunes kept   2" in proc.stdout
    assert "1  no K: field" in proc.stdout and "1  not text" in proc.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--temperature", "0"], ["--temperature 0.0 is out of range"]),
        (["--temperature", "-0.5"], ["--temperature -0.5 is out of range"]),
        (["--num", "5000"], ["--num 5000 is out of range: choose 1 to 1000"]),
        (["--top-p", "1.5"], ["--top-p 1.5"]),
    ],
)
def test_sample_rejects_bad_values(trained_run: Path, tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    _fails_cleanly(run_cli("sample", trained_run, *args, "--out", tmp_path), *fragments)


def test_sample_rejects_a_primer_outside_the_vocabulary(trained_run: Path, tmp_path: Path) -> None:
    _fails_cleanly(
        run_cli("sample", trained_run, "--primer", "K:G\n€", "--out", tmp_path), "--primer: character '€' at position 4"
    )


def test_missing_run_or_bundle(tmp_path: Path) -> None:
    _fails_cleanly(run_cli("sample", tmp_path / "nowhere"), str(tmp_path / "nowhere"), "does not exist")
    (tmp_path / "empty").mkdir()
    _fails_cleanly(run_cli("sample", tmp_path / "empty"), "neither a run directory")
    _fails_cleanly(run_cli("export", tmp_path / "nowhere", "--out", tmp_path / "b"), "does not exist")
    _fails_cleanly(run_cli("export", tmp_path / "empty", "--out", tmp_path / "b"), "neither a run directory")


def test_unknown_preset_and_settings(small_data: Path, tmp_path: Path) -> None:
    base = ["train", "--data", small_data, "--run", tmp_path / "r", "--no-progress"]
    _fails_cleanly(run_cli(*base, "--preset", "abc-nope"), "unknown preset 'abc-nope'")
    _fails_cleanly(
        run_cli(*base, "--preset", "abc-lstm-debug", "--set", "train.learning_rate=1"),
        "unknown setting 'train.learning_rate'",
    )
    _fails_cleanly(
        run_cli(*base, "--preset", "abc-lstm-debug", "--set", "model.layers=two"),
        "model.layers needs a whole number, got 'two'",
    )
    _fails_cleanly(run_cli(*base, "--preset", "abc-lstm-debug", "--data", tmp_path), "not a prepared dataset")


def test_corrupt_checkpoint_is_named(trained_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    for name in ("best.ckpt", "last.ckpt"):
        path = run / "checkpoints" / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    _fails_cleanly(run_cli("sample", run, "--out", tmp_path / "s"), "best.ckpt", "corrupt or truncated")
    data = (run / "data.json").read_text().split('"data": "')[1].split('"')[0]
    _fails_cleanly(
        run_cli("train", "--preset", "abc-lstm-debug", "--data", data, "--run", run),
        "last.ckpt",
        "corrupt or truncated",
    )


def test_changed_recipe_on_an_existing_run_is_refused(trained_run: Path, small_data: Path) -> None:
    _fails_cleanly(
        run_cli(
            "train",
            "--preset",
            "abc-lstm-debug",
            "--data",
            small_data,
            "--run",
            trained_run,
            "--set",
            "model.hidden=64",
        ),
        "model.hidden",
        "choose a new --run",
    )


def test_input_folder_without_tunes(tmp_path: Path) -> None:
    (tmp_path / "notes.abc").write_text("no tunes in here\n")
    _fails_cleanly(run_cli("prepare", "--input", tmp_path, "--out", tmp_path / "o"), "no ABC tunes found")


def test_sample_and_export_end_to_end(trained_run: Path, tmp_path: Path) -> None:
    proc = run_cli("sample", trained_run, "--num", "3", "--max-length", "200", "--seed", "4", "--out", tmp_path / "s")
    assert proc.returncode == 0, proc.stderr
    assert "convert to MIDI" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "s").glob("*.abc")) == ["001.abc", "002.abc", "003.abc"]
    proc = run_cli("export", trained_run, "--out", tmp_path / "b")
    assert proc.returncode == 0, proc.stderr
    again = run_cli(
        "sample", tmp_path / "b", "--num", "3", "--max-length", "200", "--seed", "4", "--out", tmp_path / "s2"
    )
    assert again.returncode == 0, again.stderr
    for name in ("001.abc", "002.abc", "003.abc"):
        assert (tmp_path / "s" / name).read_text() == (tmp_path / "s2" / name).read_text()


def test_a_run_that_cannot_start_leaves_nothing_behind(small_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    base = ["train", "--preset", "abc-lstm-debug", "--data", small_data, "--run", run, "--no-progress"]
    _fails_cleanly(run_cli(*base, "--set", "train.precision=fp7"), "cannot set up training", "fp7")
    assert not run.exists()
    _fails_cleanly(run_cli(*base, "--accelerator", "tpu"), "cannot set up training")
    fixed = run_cli(*base, "--set", "train.max_epochs=1")
    assert fixed.returncode == 0, fixed.stderr


def test_sample_summary_says_when_no_bar_could_be_judged(capsys: pytest.CaptureFixture[str]) -> None:
    """A tune with no meter has no bar to judge: the summary must not claim 100% of bars are right."""
    from pathlib import Path

    from tunesmith.cli.common import print_pieces
    from tunesmith.media.abc_samples import SampleReport

    def tune(bars: int, ok: int) -> dict:
        share = ok / bars if bars else 1.0
        validity = {"bars": bars, "bars_ok": ok, "bars_ok_share": share, "reasons": ["bars"] if ok < bars else []}
        return {"file": "001.abc", "title": "", "meter": "", "key": "G", "length": 40, "ending": "ended",
                "ended_cleanly": True, "converts_to_midi": True, "abc2midi_errors": 0, "validity": validity,
                "valid": ok == bars}  # fmt: skip

    print_pieces(SampleReport(Path("."), [tune(0, 0)], 1.0, 10.0))
    out = capsys.readouterr().out
    assert "no bar could be judged" in out and "% of bars the right length" not in out
    print_pieces(SampleReport(Path("."), [tune(0, 0), tune(4, 3)], 1.0, 10.0))
    assert "75.0% of bars the right length" in capsys.readouterr().out
