"""Every verb at its limits: output paths it cannot write, numbers out of range, words where numbers go.

Each mistake must end in exactly one ``error:`` line on stderr and exit status 2, never a traceback.
The verbs run in this process (``CliRunner`` on the real ``tunesmith`` group, boundary included).
"""

from __future__ import annotations

import inspect
import json
import shutil
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunesmith.cli import app

runner = CliRunner()
TUNES = "X:1\nT:A\nK:C\nCDEF|GABc|\n\nX:2\nT:B\nK:G\nGABc|dBAG|\n\nX:3\nT:C\nK:D\nDEFG|ABcd|\n"


def invoke(*args: object):  # noqa: ANN201
    return runner.invoke(app, [str(a) for a in args])


def one_error_line(result, *fragments: str) -> str:  # noqa: ANN001
    """The contract: exit 2, one stderr line starting ``error:``, no traceback; returns that line."""
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    assert exception is None, repr(exception)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve`` must fail before it listens; if a case slips through, fail the test instead of blocking."""
    import uvicorn

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the studio started")

    monkeypatch.setattr(uvicorn, "run", refuse)


@pytest.fixture
def places(tmp_path: Path, trained_run: Path, small_data: Path) -> dict[str, Path]:
    """A tiny tunebook, a plain file, and the shared run and data."""
    tunes = tmp_path / "tunes.abc"
    tunes.write_text(TUNES)
    afile = tmp_path / "afile"
    afile.write_text("a file, not a folder\n")
    return {"abc": tunes, "file": afile, "run": trained_run, "data": small_data, "tmp": tmp_path}


# -- item 4: output paths ------------------------------------------------------------------------

# Every verb that writes, with the option that says where; {out} is the bad path.
OUTPUTS = {
    "prepare --out": ["prepare", "--input", "{abc}", "--out", "{out}"],
    "train --run": ["train", "--preset", "abc-lstm-debug", "--data", "{data}", "--run", "{out}", "--no-progress"],
    "sample --out": ["sample", "{run}", "--num", "1", "--max-length", "20", "--out", "{out}"],
    "export --out": ["export", "{run}", "--out", "{out}"],
    "render --out": ["render", "{abc}", "--to", "mid", "--out", "{out}"],
    "evaluate --out": [
        "evaluate",
        "{run}",
        "--num",
        "1",
        "--temperature",
        "1",
        "--max-length",
        "20",
        "--max-batches",
        "1",
        "--out",
        "{out}",
    ],  # fmt: skip
    "sweep --out": [
        "sweep",
        "--preset",
        "abc-lstm-debug",
        "--data",
        "{data}",
        "--grid",
        "model.hidden=8",
        "--set",
        "train.max_epochs=1",
        "--out",
        "{out}",
    ],  # fmt: skip
    "serve --store": ["serve", "--store", "{out}", "--port", "{port}"],
    "serve --models": ["serve", "--models", "{out}", "--port", "{port}"],
}
BAD_OUTPUTS = {
    "under /proc": "/proc/tunesmith-nowhere/out",
    "a file": "{file}",
    "under a file": "{file}/sub",
}


def _fill(args: list[str], places: dict[str, Path], out: str) -> list[str]:
    values = {**{k: str(v) for k, v in places.items()}, "port": str(free_port())}
    values["out"] = out.format(**values)
    return [a.format(**values) for a in args]


@pytest.mark.parametrize("where", list(BAD_OUTPUTS))
@pytest.mark.parametrize("verb", list(OUTPUTS))
def test_every_output_path_it_cannot_write_is_one_line(
    verb: str, where: str, places: dict[str, Path], no_server: None
) -> None:
    one_error_line(invoke(*_fill(OUTPUTS[verb], places, BAD_OUTPUTS[where])))


def test_reconstruct_and_plot_outputs_are_one_line(places: dict[str, Path], tmp_path: Path) -> None:
    """reconstruct says a file is not a folder before it loads anything; plot writes RUN/plots."""
    one_error_line(invoke("reconstruct", places["run"], places["abc"], "--out", places["file"]), "is a file")
    run = tmp_path / "run-with-a-file-for-plots"
    shutil.copytree(places["run"], run)
    shutil.rmtree(run / "plots", ignore_errors=True)
    (run / "plots").write_text("not a folder")
    one_error_line(invoke("plot", run, "--num", "1", "--max-length", "40", "--tunes", "1"), "plots")


def test_an_empty_path_never_means_the_current_folder(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, no_server: None
) -> None:
    monkeypatch.chdir(places["tmp"])
    before = sorted(p.name for p in places["tmp"].iterdir())
    for args in (
        ["export", places["run"], "--out", ""],
        ["sample", places["run"], "--out", " "],
        ["evaluate", places["run"], "--out", ""],
        ["prepare", "--input", places["abc"], "--out", ""],
        ["sweep", "--preset", "abc-lstm-debug", "--data", places["data"], "--grid", "model.hidden=8", "--out", ""],
        ["reconstruct", places["run"], places["abc"], "--out", ""],
        ["serve", "--store", ""],
        ["train", "--preset", "abc-lstm-debug", "--data", places["data"], "--run", ""],
        ["train", "--preset", "abc-lstm-debug", "--data", "", "--run", "r"],
        ["render", places["abc"], "--out", ""],
        ["render", ""],
        ["demo", "--out", ""],
    ):
        one_error_line(invoke(*args), "path is empty")
    assert sorted(p.name for p in places["tmp"].iterdir()) == before  # nothing written here


def test_export_wants_a_folder_of_its_own(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    run, tmp = places["run"], places["tmp"]
    monkeypatch.chdir(tmp)
    one_error_line(invoke("export", run, "--out", "."), "not a bundle's", "tunes.abc")
    one_error_line(invoke("export", run, "--out", run), "not a bundle's", "config.yaml")
    assert not (run / "model.safetensors").exists() and not (tmp / "model.safetensors").exists()
    for _ in range(2):  # a new folder, then the same bundle exported again
        result = invoke("export", run, "--out", tmp / "bundle")
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp / "bundle").iterdir()) == [
        "config.json", "corpus.json", "model.safetensors", "representation.json", "versions.json",
    ]  # fmt: skip


# -- items 4 and 5: numbers out of range, and words where numbers go ------------------------------

SAMPLE = ["sample", "{run}", "--num", "1", "--max-length", "20", "--out", "{tmp}/s"]
EVALUATE = ["evaluate", "{run}", "--num", "1", "--temperature", "1", "--max-length", "20", "--out", "{tmp}/r"]
PREPARE = ["prepare", "--input", "{abc}", "--out", "{tmp}/p"]
PLOT = ["plot", "{run}", "--num", "1", "--max-length", "20"]
SWEEP = ["sweep", "--preset", "abc-lstm-debug", "--data", "{data}", "--out", "{tmp}/w", "--grid", "model.hidden=8"]
TRAIN = ["train", "--preset", "abc-lstm-debug", "--data", "{data}", "--run", "{tmp}/t", "--no-progress"]
SERVE = ["serve", "--port", "{port}"]
HUGE = str(10**30)

NUMBERS = [
    (PREPARE, ["--seed", "-1"], "--seed -1"),
    (PREPARE, ["--seed", "x"], "'--seed'"),
    (PREPARE, ["--max-chars", "0"], "--max-chars 0"),
    (PREPARE, ["--max-chars", HUGE], "--max-chars"),
    (PREPARE, ["--max-tunes", "-1"], "--max-tunes -1"),
    (PREPARE, ["--val-fraction", "nan"], "--val-fraction nan"),
    (SAMPLE, ["--num", "-1"], "--num -1"),
    (SAMPLE, ["--num", HUGE], "--num"),
    (SAMPLE, ["--num", "abc"], "'--num'"),
    (SAMPLE, ["--max-length", "-5"], "--max-length -5"),
    (SAMPLE, ["--seconds", "-1"], "--seconds -1"),  # an ABC model: it ignores --seconds, but not nonsense
    (SAMPLE, ["--seconds", "nan"], "--seconds nan"),
    (SAMPLE, ["--seconds", "inf"], "--seconds inf"),
    (SAMPLE, ["--primer-bars", "0"], "--primer-bars 0"),
    (SAMPLE, ["--primer-bars", HUGE], "--primer-bars"),
    (SAMPLE, ["--batch-size", "0"], "--batch-size 0"),
    (SAMPLE, ["--seed", "-1"], "--seed -1"),
    (SAMPLE, ["--top-k", "-1"], "--top-k -1"),
    (SAMPLE, ["--temperature", "inf"], "--temperature inf"),
    (EVALUATE, ["--num", "0"], "--num 0"),
    (EVALUATE, ["--num", "1.5"], "'--num'"),
    (EVALUATE, ["--max-batches", "-1"], "--max-batches -1"),
    (EVALUATE, ["--seed", "-1"], "--seed -1"),
    (EVALUATE, ["--copy-notes", "0"], "copy_notes"),
    (EVALUATE, ["--max-length", HUGE], "--max-length"),
    (PLOT, ["--num", "0"], "--num 0"),
    (PLOT, ["--tunes", "99"], "--tunes 99"),
    (PLOT, ["--seed", "-1"], "--seed -1"),
    (SERVE, ["--port", "-1"], "--port -1"),
    (SERVE, ["--port", "70000"], "--port 70000"),
    (SERVE, ["--port", "abc"], "'--port'"),
    (SERVE, ["--queue", "0"], "--queue 0"),
    (SERVE, ["--host", ""], "--host is empty"),
    (SERVE, ["--host", "  "], "--host is empty"),
    (SWEEP, ["--search", "-1"], "--search -1"),
    (SWEEP, ["--max-minutes", "-1"], "--max-minutes"),
    (SWEEP, ["--seed", "3"], "go with --search"),  # a grid has no sampler to seed
    (SWEEP, ["--search", "2", "--seed", "-1"], "--seed -1"),
    (TRAIN, ["--set", "train.weight_decay=-5"], "train.weight_decay"),
    (TRAIN, ["--set", "train.momentum=-3"], "train.momentum"),
    (TRAIN, ["--set", "train.lr=inf"], "train.lr must be a finite number"),
    (TRAIN, ["--set", "train.warmup_steps=-10"], "train.warmup_steps"),
    (TRAIN, ["--set", "train.min_lr=-1"], "train.min_lr"),
    (TRAIN, ["--set", "train.grad_clip=inf"], "train.grad_clip must be a finite number"),
    (TRAIN, ["--set", "train.seed=-1"], "train.seed"),
]


@pytest.mark.parametrize(
    ("base", "extra", "fragment"), NUMBERS, ids=[f"{b[0]} {' '.join(e) or repr('')}" for b, e, _ in NUMBERS]
)
def test_numbers_out_of_range_are_one_line(
    base: list[str], extra: list[str], fragment: str, places: dict[str, Path], no_server: None
) -> None:
    one_error_line(invoke(*_fill(base, places, ""), *extra), fragment)


def test_serve_listens_on_this_machine_only_by_default() -> None:
    from tunesmith.cli.serve import DEFAULT_HOST, serve

    assert DEFAULT_HOST == "127.0.0.1"
    assert inspect.signature(serve).parameters["host"].default == DEFAULT_HOST


def test_help_stays_fast_no_heavy_import() -> None:
    """``tunesmith --help`` imports the verb modules only: no torch, numpy, Lightning, Optuna or web stack."""
    import subprocess
    import sys

    code = (
        "import sys, json, tunesmith.cli\n"
        "heavy = {'torch', 'numpy', 'lightning', 'optuna', 'symusic', 'music21', 'uvicorn', 'fastapi', 'yaml'}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & heavy)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout) == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["export", "x", "--out", "\x00"], "NUL"),  # a NUL cannot reach argv from a shell, but can from a program
        (["prepare", "--input", "x", "--out", "a\x00b"], "NUL"),
        (["serve", "--store", "\x00"], "NUL"),
        (["serve", "--host", "\x80"], "is not a host name"),  # the socket library raised TypeError in bind()
        (["serve", "--host", "\udcff"], "is not a host name"),
    ],
)
def test_names_the_system_cannot_take_are_one_line(args: list[str], fragment: str, no_server: None) -> None:
    one_error_line(runner.invoke(app, args), fragment)


def test_an_undecodable_name_prints_under_a_strict_terminal(trained_run: Path, tmp_path: Path) -> None:
    """A folder name with a stray byte, echoed to a terminal whose encoding is strict UTF-8, used to end in a
    UnicodeEncodeError traceback after the bundle was written; now the byte prints as an escape."""
    from tests.conftest import run_cli

    out = tmp_path / "bundle\udcff"
    result = run_cli("export", trained_run, "--out", out, env={"PYTHONIOENCODING": "utf-8:strict"})
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "\\udcff" in result.stdout and (out / "model.safetensors").is_file()


def test_the_demo_checks_its_preset_before_preparing_the_corpus(tmp_path: Path) -> None:
    """A misspelt --preset used to cost a full corpus preparation before it was refused."""
    one_error_line(invoke("demo", "--preset", "abc-lstm-dmeo", "--out", tmp_path / "demo"), "unknown preset")
    assert not (tmp_path / "demo" / "data").exists()
