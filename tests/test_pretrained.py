"""Built-in models by name: the registry, 16-bit bundles, ``tunesmith models`` and every verb that takes a model.

A temporary built-in model is the tests' debug run exported in float16 into a temporary folder that
``tunesmith.pretrained.ROOT`` is pointed at, so nothing here depends on the shipped weights.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
import torch

import tunesmith.pretrained as pretrained
from tests.cli.in_process import invoke, one_line_error
from tunesmith.bundle import export, load
from tunesmith.errors import TunesmithError
from tunesmith.pretrained import builtin_models, resolve


@pytest.fixture
def builtin(trained_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A built-in model named ``folk``: the debug run in float16, with a card, in a registry of its own."""
    root = tmp_path / "pretrained"
    folder = export(trained_run, root / "folk", dtype="float16")
    (folder / "MODEL_CARD.md").write_text("# folk\n")
    (root / "empty").mkdir()  # a folder without weights is no model
    monkeypatch.setattr(pretrained, "ROOT", root)
    monkeypatch.chdir(tmp_path)
    return folder


def logits(model: torch.nn.Module) -> torch.Tensor:
    inputs = torch.arange(24).remainder(20).reshape(2, 12)
    with torch.no_grad():
        return model(inputs)[0]


def test_only_folders_with_weights_are_built_in(builtin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert builtin_models() == {"folk": builtin}
    monkeypatch.setattr(pretrained, "ROOT", builtin.parent / "nowhere")
    assert builtin_models() == {}


def test_names_resolve_and_paths_win(builtin: Path, tmp_path: Path) -> None:
    assert resolve("folk") == builtin
    assert resolve(Path("folk")) == builtin
    (tmp_path / "folk").mkdir()  # a folder of tunes called folk is not a model: the name still wins
    assert resolve("folk") == builtin
    (tmp_path / "folk" / "model.safetensors").write_bytes(b"")  # a bundle here does
    assert resolve("folk") == Path("folk")
    (tmp_path / "tunes").mkdir()  # any other existing path is the caller's to refuse, in its own words
    assert resolve(tmp_path / "tunes") == tmp_path / "tunes"


def test_unknown_names_are_one_line_with_a_suggestion(builtin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TunesmithError, match=r"^folkk does not exist .*built-in model: folk\); did you mean 'folk'\?$"):
        resolve("folkk")
    with pytest.raises(TunesmithError, match=r"^--init jazz does not exist .*built-in model: folk\)$"):
        resolve("jazz", "--init")
    monkeypatch.setattr(pretrained, "ROOT", builtin.parent / "nowhere")
    with pytest.raises(TunesmithError, match="no built-in models are installed"):
        resolve("folk")


def test_a_built_in_model_loads_by_name_without_unpickling(builtin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a bundle was unpickled")

    for name in ("load", "loads"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)
    loaded = load("folk")
    assert loaded.kind == "bundle" and loaded.source == builtin
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())


def test_a_half_bundle_is_half_the_size_and_gives_nearly_the_same_logits(trained_run: Path, tmp_path: Path) -> None:
    from safetensors import safe_open

    full = export(trained_run, tmp_path / "full")
    half = export(trained_run, tmp_path / "half", dtype="float16")
    with safe_open(half / "model.safetensors", framework="pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F16"}  # noqa: SIM118 - a safe_open handle
    ratio = (half / "model.safetensors").stat().st_size / (full / "model.safetensors").stat().st_size
    assert 0.45 < ratio < 0.55
    assert json.loads((half / "config.json").read_text())["dtype"] == "float16"
    a, b = logits(load(full).model), logits(load(half).model)
    assert not torch.equal(a, b)  # the weights were rounded…
    assert torch.allclose(a, b, atol=1e-2)  # …by no more than 16 bits' worth
    with pytest.raises(TunesmithError, match="dtype 'int8' must be one of float32, float16, bfloat16"):
        export(trained_run, tmp_path / "bad", dtype="int8")


def test_weights_stored_as_integers_are_refused(trained_run: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    bundle = export(trained_run, tmp_path / "b")
    state = load_file(bundle / "model.safetensors")
    save_file({k: v.to(torch.int8) for k, v in state.items()}, bundle / "model.safetensors")
    with pytest.raises(TunesmithError, match="is stored as I8, not as floats"):
        load(bundle)


def test_export_copies_a_built_in_model_with_its_card(builtin: Path, tmp_path: Path) -> None:
    result = invoke("export", "folk", "--out", tmp_path / "mine")
    assert result.exit_code == 0, result.output
    copy = tmp_path / "mine"
    assert (copy / "MODEL_CARD.md").read_text() == "# folk\n"
    original, copied = (json.loads((p / "config.json").read_text()) for p in (builtin, copy))
    assert copied["trained"] == original["trained"] and copied["dtype"] == "float32"
    assert torch.allclose(logits(load(copy).model), logits(load("folk").model))  # float16 widened exactly
    one_line_error(invoke("export", "folk", "--out", builtin), "is the bundle itself")


def test_models_lists_built_in_and_local_models(builtin: Path, trained_run: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "broken").mkdir()
    (runs / "broken" / "model.safetensors").write_bytes(b"not weights")
    (runs / "broken" / "config.json").write_text("{")
    export(trained_run, runs / "b32")
    result = invoke("models")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["model", "kind", "representation", "parameters", "size", "held-out"]
    folk = next(line for line in lines if line.startswith("folk "))
    assert "built-in" in folk and "abc-char (ABC)" in folk and "KB" in folk
    b32 = next(line for line in lines if line.startswith("runs/b32 "))
    assert "bundle" in b32 and "nats/char (best val)" in b32
    params = sum(p.numel() for p in load("folk").model.parameters())
    assert f"{params:,}" in folk and f"{params:,}" in b32
    assert any(line.startswith("runs/broken ") and line.rstrip().endswith("?") for line in lines)
    assert any(line.startswith("note: runs/broken: ") for line in lines)
    listed = invoke("models", "--dir", trained_run.parent)
    assert f"{trained_run.parent.name}/{trained_run.name}" in listed.output and "bpc (best val)" in listed.output
    one_line_error(invoke("models", "--dir", tmp_path / "nowhere"), "--dir", "is not a folder")


def test_the_studio_lists_the_built_in_model(builtin: Path) -> None:
    from tunesmith.web.catalog import ModelCatalog

    entries = ModelCatalog([]).entries()
    assert [(e.name, e.kind, e.details.get("builtin")) for e in entries] == [("folk", "bundle", True)]
    assert entries[0].problem is None and ModelCatalog([]).load(entries[0].id).source == builtin
    assert ModelCatalog([], include_defaults=False).entries() == []


def test_init_and_vocab_from_take_a_built_in_name(builtin: Path, small_data: Path) -> None:
    from tunesmith.config import load_preset
    from tunesmith.data.prepared import PreparedData
    from tunesmith.pipeline.starting_point import starting_point
    from tunesmith.training.init import vocabulary_of

    assert vocabulary_of("folk").path == builtin
    start = starting_point("folk", load_preset("abc-lstm-debug"), PreparedData.open(small_data))
    assert start.record["kind"] == "bundle" and start.record["source"] == str(builtin.resolve())
    shipped = load("folk").model.state_dict()
    assert all(torch.equal(start.weights[k], shipped[k]) for k in shipped)
    with pytest.raises(TunesmithError, match="^--vocab-from flok does not exist .*did you mean 'folk'"):
        vocabulary_of("flok")
