"""``make pretrained`` end to end on the debug preset: a float16 bundle with its card, exactly a step budget,
the same weights again for the same seed, and a run that resumes rather than starts over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors import safe_open

import tunesmith.pretrained as pretrained
from tunesmith.bundle import load
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.pretrained import SESSIONS, Recipe, main, make

STEPS = 20


def recipe(tmp_path: Path, name: str, steps: int = STEPS) -> Recipe:
    return Recipe("abc-lstm-debug", steps, 3, tmp_path / name / "out", tmp_path / name / "work", max_tunes=300)


def test_the_recipe_makes_a_built_in_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[str] = []
    made = make(recipe(tmp_path, "a"), log=lines.append)
    bundle = made.bundle
    with safe_open(bundle / "model.safetensors", framework="pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F16"}  # noqa: SIM118 - a safe_open handle
    info = json.loads((bundle / "config.json").read_text())
    assert info["dtype"] == "float16" and info["trained"]["global_step"] == STEPS
    assert 0 < info["held_out"]["bpc"] < 8 and info["held_out"]["split"] == "val"
    card = (bundle / "MODEL_CARD.md").read_text()
    for fact in ("abc-lstm-debug", f"{STEPS} optimiser steps", "Seed 3", "--steps 20 --seed 3 --max-tunes 300"):
        assert fact in card, fact
    assert f"**{info['held_out']['bpc']:.4f} bits per character**" in card
    assert "## Figures" in card and "make bench-measures MEASURES_ARGS='--model folk=folk" in card
    assert "## Limits" in card and "logical cores" in card

    monkeypatch.setattr(pretrained, "ROOT", tmp_path / "a")
    (tmp_path / "a" / "folk").symlink_to(bundle)
    assert load("folk").info["held_out"] == info["held_out"]  # loads by name, as installed

    # the same seed and budget, reached in two sessions (10 steps, then resumed to 20): the same weights
    make(recipe(tmp_path, "b", steps=10), log=lines.append)
    make(recipe(tmp_path, "b"), log=lines.append)
    assert "pretrained: resumed from step 10" in lines
    again = tmp_path / "b" / "out" / "model.safetensors"
    assert again.read_bytes() == (bundle / "model.safetensors").read_bytes()
    run = tmp_path / "b" / "work" / "runs" / "abc-lstm-debug-seed3-tunes300"
    assert [(s["from_step"], s["to_step"]) for s in json.loads((run / SESSIONS).read_text())] == [(0, 10), (10, 20)]

    # once made, the same command trains nothing; fewer steps than the run has taken are refused
    before = len(lines)
    make(recipe(tmp_path, "b"), log=lines.append)
    assert any(line.endswith(f"already has its {STEPS} steps") for line in lines[before:])
    assert again.read_bytes() == (bundle / "model.safetensors").read_bytes()
    with pytest.raises(TunesmithError, match="ended at step 20, not 10"):
        make(recipe(tmp_path, "b", steps=10), log=lines.append)


def test_the_recipe_refuses_mistakes_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as stop:
        main(["--preset", "abc-lstm-debug", "--out", str(tmp_path / "out"), "--work", str(tmp_path / "w")])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().endswith("choose a new or empty folder")
    for args, why in ((["--steps", "0"], "--steps 0 must be between 1"), (["--preset", "nope"], "unknown preset")):
        with pytest.raises(SystemExit):
            main([*args, "--out", str(tmp_path / "o2"), "--work", str(tmp_path / "w")])
        assert why in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()
