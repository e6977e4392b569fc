"""Presets and strict ``--set`` overrides."""

from __future__ import annotations

import pytest

from tunesmith.config import Config, all_keys, apply_overrides, load_preset, preset_names
from tunesmith.errors import TunesmithError


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads_and_has_a_debug_twin(name: str) -> None:
    cfg = load_preset(name)
    assert cfg.preset == name and cfg.description
    if not name.endswith("-debug"):
        assert f"{name}-debug" in preset_names(), f"{name} has no -debug twin"
        twin = load_preset(f"{name}-debug")
        assert (twin.model.name, twin.data.representation) == (cfg.model.name, cfg.data.representation)


def test_seed_preset_is_seed_002s_best_model() -> None:
    cfg = load_preset("abc-lstm-seed")
    assert (cfg.model.name, cfg.model.layers, cfg.model.hidden, cfg.model.dropout) == ("lstm", 1, 150, 0.1)
    assert (cfg.train.optimizer, cfg.train.lr, cfg.data.batch_size, cfg.train.patience) == ("adagrad", 0.001, 100, 6)


def test_overrides_are_typed_and_applied_to_a_copy() -> None:
    base = load_preset("abc-lstm-debug")
    cfg = apply_overrides(base, ["train.lr=1e-3", "model.hidden=48", "model.name=gru", "train.max_minutes=2"])
    assert (cfg.train.lr, cfg.model.hidden, cfg.model.name, cfg.train.max_minutes) == (0.001, 48, "gru", 2.0)
    assert base.model.hidden == 32  # the preset itself is untouched
    assert Config.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lrr=0.1", "unknown setting 'train.lrr'"),
        ("optim.lr=0.1", "unknown setting 'optim.lr'"),
        ("model.hidden=big", "'model.hidden' needs a int, got 'big'"),
        ("model.hidden=1.5", "'model.hidden' needs a int"),
        ("train.lr=fast", "'train.lr' needs a float"),
        ("model.dropout=1.5", "model.dropout must be in [0, 1)"),
        ("train.lr", "expected key=value"),
    ],
)
def test_bad_overrides_are_refused(override: str, message: str) -> None:
    with pytest.raises(TunesmithError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        apply_overrides(load_preset("abc-lstm-debug"), [override])


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(TunesmithError, match="unknown preset 'nope'; choose one of: .*abc-lstm"):
        load_preset("nope")


def test_all_keys_cover_every_section() -> None:
    keys = all_keys()
    assert "train.lr" in keys and "model.hidden" in keys and "data.seq_len" in keys
