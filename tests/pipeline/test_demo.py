"""The demo: the shipped model's tunes first, one per rhythm, then a training budget counted in steps, so two runs
with the same seed end with the same weights whatever the machine's load, and a second run trains nothing."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
import torch

import tunesmith.pretrained as pretrained
from tunesmith.bundle import export, load
from tunesmith.errors import TunesmithError
from tunesmith.pipeline import demo
from tunesmith.training.checkpoint_io import load_checkpoint


@pytest.fixture
def small_demo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The demo on 80 folk tunes, with no shipped model unless a test installs one; returns what it echoed."""
    monkeypatch.setattr(demo, "prepare", functools.partial(demo.prepare, max_tunes=80))
    monkeypatch.setattr(pretrained, "ROOT", tmp_path / "no-shipped-models")
    return []


def run(out: Path, lines: list[str], steps: int = 12) -> None:
    tables: list[tuple] = []
    demo.run_demo(
        out=out,
        num=1,
        preset="abc-lstm-debug",
        steps=steps,
        echo=lines.append,
        show=lambda report: lines.append(f"tunes: {len(report.tunes)}"),
        show_table=lambda headers, rows: tables.append((headers, rows)),
    )
    lines.append(repr(tables[-1][1]))


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["state_dict"]


def test_two_demo_runs_train_to_the_same_weights_and_a_second_run_trains_nothing(
    small_demo: list[str], tmp_path: Path
) -> None:
    run(tmp_path / "a", small_demo)
    run(tmp_path / "b", [])
    first, second = weights(tmp_path / "a" / "run"), weights(tmp_path / "b" / "run")
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert load_checkpoint(tmp_path / "a" / "run" / "checkpoints" / "last.ckpt")["global_step"] == 12
    assert any("not installed" in line for line in small_demo)  # no shipped model: said, and training goes on

    again: list[str] = []
    run(tmp_path / "a", again)
    assert any(line.startswith("2/4 prepare: reusing") for line in again)
    after = weights(tmp_path / "a" / "run")
    assert all(torch.equal(first[k], after[k]) for k in first)  # the budget was spent: nothing more trained
    assert "'your demo run', '12'" in again[-1]


def test_the_shipped_model_writes_one_constrained_tune_per_rhythm_first(
    small_demo: list[str], trained_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "pretrained"
    export(trained_run, root / "folk", dtype="float16")
    monkeypatch.setattr(pretrained, "ROOT", root)
    run(tmp_path / "out", small_demo, steps=3)
    assert small_demo[0].startswith("1/4 shipped model 'folk'")
    primers = {rhythm.replace(" ", "-"): primer for rhythm, primer in demo.rhythm_primers(load(root / "folk").corpus)}
    folders = {p.name: p for p in (tmp_path / "out" / "folk").iterdir() if p.is_dir()}
    assert folders.keys() == primers.keys()
    for name, folder in folders.items():
        text = (folder / "001.abc").read_text()
        assert primers[name] in text and (folder / "001.mid").is_file() and (folder / "001.svg").is_file()
    rows = small_demo[-1]
    assert "shipped 'folk'" in rows and "your demo run" in rows
    assert re.search(r"'\d+/\d+', '\d+/\d+'", rows)  # valid and forced counts, both models


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("steps", 0, "--steps 0"), ("num", 11, "--num 11"), ("minutes", 0.0, "--minutes 0")],
)
def test_bad_demo_settings_are_refused_before_any_work(tmp_path: Path, field: str, value, message: str) -> None:
    settings = {"steps": 10, "num": 1, "minutes": None, field: value}
    with pytest.raises(TunesmithError, match=re.escape(message)):
        demo.run_demo(
            out=tmp_path / "out", preset="abc-lstm-debug", echo=print, show=print, show_table=print, **settings
        )
    assert not (tmp_path / "out").exists()
