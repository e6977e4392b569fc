"""The runs page through FastAPI's test client: honest figures for a short run, the latest evaluation (made by
the very command the page suggests) and damaged run files that must not break the page."""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.web.test_web_api import open_studio
from tunesmith.web.runs import epochs_text, positions

# ten tunes (the fewest the told-apart test takes) at one temperature, two likelihood batches: seconds on 2 cores
TINY = ["--num", "10", "--temperature", "1", "--max-length", "300", "--batch-size", "8", "--max-batches", "2"]
DAMAGED = {
    "truncated": b'{"groups": [{"name": "T=1", "shape": {',
    "wrong-types": json.dumps(
        {
            "groups": [{"name": 5, "temperature": "hot", "shape": [], "two_sample": {"accuracy": "x"}}, "a string"],
            "shape_features": {"bars": 7},
        }
    ).encode(),
    "too-deep": b"[" * 100 + b"]" * 100,
    "not-text": b"\x89PNG\r\n\x1a\n\x00\x00",
}


def train_short(data: Path, run: Path) -> Path:
    """The debug preset stopped after 12 of its 20 steps an epoch: 0.6 epochs, one row in metrics.csv."""
    from tunesmith.pipeline.train import train

    train("abc-lstm-debug", data, run, overrides=["train.max_steps=12"], progress=False)
    return run


def evaluate_tiny(run: Path) -> Path:
    """``tunesmith evaluate`` with the TINY settings, written where the page looks: ``RUN/evaluation``."""
    from tunesmith.pipeline.evaluate import EvaluateSettings, evaluate

    settings = EvaluateSettings(num=10, temperatures=(1.0,), max_length=300, batch_size=8, max_batches=2)
    return evaluate(run, run / "evaluation", settings).out


def section(page: str, name: str) -> str:
    """One run's part of the runs page."""
    return page[page.index(f"<h2>{name}</h2>") :].split("</section>")[0]


@pytest.fixture(scope="module")
def runs(models: Path, small_data: Path, trained_run: Path) -> Path:
    """The studio's test models plus a short run, a run to evaluate, and runs with damaged files."""
    train_short(small_data, models / "short")
    shutil.copytree(trained_run, models / "evaluated")
    for name, content in DAMAGED.items():
        shutil.copytree(trained_run, models / name, ignore=shutil.ignore_patterns("samples"))
        (models / name / "evaluation").mkdir()
        (models / name / "evaluation" / "report.json").write_bytes(content)
    shutil.copytree(trained_run, models / "fifo", ignore=shutil.ignore_patterns("samples"))
    (models / "fifo" / "evaluation").mkdir()
    os.mkfifo(models / "fifo" / "evaluation" / "report.json")  # opening it would block the page forever
    (models / "not-text" / "metrics.csv").write_bytes(b"epoch,step\n\xff\xfe\x00")
    (models / "not-text" / "status.json").write_text('{"state": "finished", "epochs": ')
    return models


@pytest.fixture(scope="module")
def studio(runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with open_studio(runs, tmp_path_factory.mktemp("store")) as c:
        yield c


def test_epochs_are_counted_in_fractions_and_said_as_people_say_them() -> None:
    assert [epochs_text(e) for e in (0.61, 1.0, 3.0, 2.5, None)] == [
        "0.61 epochs", "1 epoch", "3 epochs", "2.5 epochs", "no epoch recorded yet",
    ]  # fmt: skip
    rows = [{"epoch": 0.0, "step": 20.0}, {"epoch": 1.0, "step": 40.0}, {"epoch": 2.0, "step": 50.0}]
    assert positions(rows, {}) == [1.0, 2.0, 2.5]  # the last epoch was cut short at half its 20 steps
    assert positions(rows[:1], {"epochs": 0.61, "global_step": 20}) == [pytest.approx(0.61)]  # the trainer's count
    assert positions(rows[:1], {}) == [1.0]  # one row, no status: the epoch it names


def test_a_short_run_says_its_fraction_of_an_epoch_and_its_one_measurement(studio: TestClient, runs: Path) -> None:
    status = json.loads((runs / "short" / "status.json").read_text())
    assert (status["epochs"], status["global_step"]) == (0.6, 12)  # 12 of the debug preset's 20 steps an epoch
    part = section(studio.get("/runs").text, f"{runs.name}/short")
    assert "0.6 epochs (12 steps) trained" in part and "1 epochs" not in part
    assert part.count("One measurement so far, at step 12 (0.6 epochs)") == 2  # loss and accuracy
    assert "<polyline" not in part and "<circle" not in part  # no lone dot on empty axes
    assert "<tr><td>0.6</td><td>12</td>" in part  # the metrics table counts the same way
    full = section(studio.get("/runs").text, f"{runs.name}/debug")
    assert "3 epochs (60 steps) trained" in full and full.count("<polyline") == 4  # longer runs keep their lines
    assert "One measurement" not in full


def test_the_suggested_command_makes_the_evaluation_the_page_then_shows(
    studio: TestClient, runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tunesmith.cli import app

    name = f"{runs.name}/evaluated"
    before = section(studio.get("/runs").text, name)
    assert "No evaluation yet" in before and 'class="evaluation"' not in before
    command = html.unescape(re.search(r"<code>(tunesmith evaluate [^<]*)</code>", before).group(1))
    assert command == f"tunesmith evaluate {name} --out {name}/evaluation"  # the run knows its own data
    monkeypatch.chdir(runs.parent)  # run names start at the folder the studio was given
    result = CliRunner().invoke(app, [*shlex.split(command)[1:], *TINY])
    assert result.exit_code == 0, result.output
    report = json.loads((runs / "evaluated" / "evaluation" / "report.json").read_text())
    after = section(studio.get("/runs").text, name)
    assert "No evaluation yet" not in after and "could not read" not in after
    assert '<th scope="col">T = 1</th><th scope="col">real held-out tunes</th>' in after
    assert f"from <code>{report['checkpoint']}</code>, 10 tunes per temperature" in after
    sample, real = report["groups"]
    for key, meta in report["shape_features"].items():
        cells = [f"{g['shape'][key]['oa']:.2f}" if g["shape"][key]["oa"] is not None else "–" for g in (sample, real)]
        assert f'<th scope="row">{meta["label"]}</th><td>{cells[0]}</td><td>{cells[1]}</td>' in after, key
    told = [
        f"{t['accuracy']:.2f} [{t['low']:.2f}, {t['high']:.2f}]" for t in (sample["two_sample"], real["two_sample"])
    ]
    assert f'<th scope="row">told apart from real tunes</th><td>{told[0]}</td><td>{told[1]}</td>' in after
    valid = [f"{100 * g['validity']['valid_share']:.0f}%" for g in (sample, real)]
    assert f'<th scope="row">valid tunes</th><td>{valid[0]}</td><td>{valid[1]}</td>' in after
    assert "1 = the same as real tunes" in after and "0.5 = it cannot tell them apart" in after
    assert "has trained since" not in after
    ckpt = runs / "evaluated" / "checkpoints" / report["checkpoint"]
    os.utime(ckpt, (ckpt.stat().st_atime, ckpt.stat().st_mtime + 3600))  # the run trained on after it
    assert "The run has trained since" in section(studio.get("/runs").text, name)


def test_damaged_run_files_are_named_and_do_not_break_the_page(studio: TestClient, runs: Path) -> None:
    reply = studio.get("/runs")
    assert reply.status_code == 200
    page = reply.text
    for name in [*DAMAGED, "fifo"]:
        part = section(page, f"{runs.name}/{name}")
        if name == "wrong-types":  # valid JSON of the wrong shapes: shown, every odd value as a dash
            assert '<th scope="row">bars</th><td>–</td>' in part and "could not read" not in part
            continue
        assert "could not read evaluation/report.json: it " in part, name
        assert re.search(rf"Evaluate it again with\s+<code>tunesmith evaluate {runs.name}/{name} ", part), name
        assert str(runs) not in part  # the server's paths stay on the server
    assert "not valid JSON" in section(page, f"{runs.name}/truncated")
    assert "nests 100 levels deep" in section(page, f"{runs.name}/too-deep")
    assert "is not a regular file" in section(page, f"{runs.name}/fifo")
    damaged = section(page, f"{runs.name}/not-text")
    assert "could not read metrics.csv: it is not a CSV text file" in damaged
    assert "could not read status.json: it is not valid JSON" in damaged
    assert "not UTF-8 text" in damaged  # its report.json
    assert section(page, f"{runs.name}/debug").count('<svg class="curve"') == 2  # the rest of the page is whole
