"""The built-in ``folk`` model as shipped in the package: it loads by name offline, unpickles nothing, its
weights are the ones its card describes, and it writes the tunes it is asked for.

The logits below were read from the committed bundle; an accidental retraining, a broken file or a change in
how bundles load makes them move. After a deliberate retraining (``make pretrained``), read them again.
"""

from __future__ import annotations

import json
import pickle
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.cli.in_process import invoke, one_line_error
from tunesmith.bundle import load
from tunesmith.pipeline.pretrained import MAX_BUNDLE_BYTES
from tunesmith.pretrained import builtin_models

PRIMER = "X:1\nT:The Kesh\nR:jig\nM:6/8\nL:1/8\nK:G\n|:GAG GAB|"
NEXT = ["c", "A", "d", "B", " "]  # the five likeliest next characters after the primer, best first
NEXT_LOGITS = [7.5864, 6.3906, 5.9001, 5.0023, 4.8809]
LOGIT_SUM = -16431.414  # every logit of every position of the primer, added up


@pytest.fixture(scope="module")
def folder() -> Path:
    models = builtin_models()
    assert "folk" in models, "the folk model must ship inside the package"
    return models["folk"]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network and no unpickling: either one fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the shipped model must load offline and without unpickling")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    for name in ("load", "loads"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)


def test_the_shipped_model_loads_by_name_offline_and_its_logits_are_the_committed_ones(offline: None) -> None:
    loaded = load("folk")
    rep = loaded.representation
    ids = torch.as_tensor(rep.encode(PRIMER), dtype=torch.long)[None]
    with torch.no_grad():
        logits = loaded.model.eval()(ids)[0]
    assert rep.decode(ids[0, -1:].numpy()) == ""  # the primer as encoded ends with <end>: read the step before
    last = logits[0, -2]
    top = torch.topk(last, len(NEXT))
    assert [rep.decode(np.array([i])) for i in top.indices.tolist()] == NEXT
    assert top.values.tolist() == pytest.approx(NEXT_LOGITS, abs=2e-3)
    assert logits.double().sum().item() == pytest.approx(LOGIT_SUM, rel=1e-5)


def test_the_bundle_is_small_16_bit_and_its_card_holds_the_measured_figures(folder: Path) -> None:
    from safetensors import safe_open

    assert sum(p.stat().st_size for p in folder.iterdir()) <= MAX_BUNDLE_BYTES
    with safe_open(folder / "model.safetensors", "pt") as weights:
        assert {weights.get_tensor(k).dtype for k in weights.keys()}  # noqa: SIM118 (not a dict) == {torch.float16}
    info = json.loads((folder / "config.json").read_text())
    card = (folder / "MODEL_CARD.md").read_text()
    assert f"**{info['held_out']['bpc']:.4f} bits per character**" in card
    assert info["recipe"]["command"] in card and f"{info['recipe']['steps']:,}" in card
    figures = card.split("## Figures", 1)[1].split("\n## ", 1)[0]
    assert "placeholder" not in figures and "benchmarks/measures.py" in figures
    assert figures.count("| valid, `--constrain` | 100% |") >= 1


def test_asked_for_a_jig_the_shipped_model_writes_valid_jigs_with_a_players_header(tmp_path: Path) -> None:
    out = tmp_path / "jigs"
    args = ["sample", "folk", "--rhythm", "jig", "--meter", "6/8", "--constrain", "--num", "3", "--seed", "3"]
    result = invoke(*args, "--out", out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "samples.json").read_text())
    for tune in report["tunes"]:  # valid by construction; only a tune the length limit cut short is not
        assert tune["valid"] or tune["validity"]["reasons"] == ["forced"], tune["validity"]
    for tune in report["tunes"]:
        header = (out / tune["file"]).read_text().split("\nK:", 1)[0]
        assert "\nR:jig\nM:6/8\n" in header
        assert {line[:2] for line in header.splitlines()} <= {"X:", "R:", "M:", "L:", "Q:"}


def test_evaluating_the_shipped_model_without_data_says_how_to_make_its_held_out_split() -> None:
    line = one_line_error(invoke("evaluate", "folk", "--num", "2"), "tunesmith prepare --corpus folk")
    assert "--data data/folk" in line
