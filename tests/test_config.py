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
        ("model.hidden=big", "model.hidden needs a whole number, got 'big'"),
        ("model.hidden=1.5", "model.hidden needs a whole number"),
        ("train.lr=fast", "train.lr needs a number"),
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


def _float_keys() -> list[str]:
    import dataclasses

    cfg = Config()
    return [
        f"{s}.{f.name}"
        for s in ("data", "model", "train")
        for f in dataclasses.fields(getattr(cfg, s))
        if isinstance(getattr(getattr(cfg, s), f.name), float)
    ]


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
@pytest.mark.parametrize("key", _float_keys())
def test_every_float_setting_must_be_finite(key: str, value: str) -> None:
    """Checked generically, field by field: a new float setting is covered without a new line here."""
    with pytest.raises(TunesmithError, match=f"{key} must be a finite number"):
        apply_overrides(load_preset("abc-lstm-debug"), [f"{key}={value}"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lr=0", "train.lr must be above 0"),
        ("train.lr=11", "train.lr must be above 0 and at most 10"),
        ("train.weight_decay=-5", "train.weight_decay must be between 0 and 10"),
        ("train.momentum=-3", "train.momentum must be in"),
        ("train.momentum=1", "train.momentum must be in"),
        ("train.warmup_steps=-10", "train.warmup_steps must be between 0"),
        ("train.min_lr=-1", "train.min_lr must be between 0 and train.lr"),
        ("train.min_lr=1", "train.min_lr must be between 0 and train.lr"),
        ("train.grad_clip=-1", "train.grad_clip must be 0"),
        ("train.lr_decay=0", "train.lr_decay must be in"),
        ("train.seed=-1", "train.seed must be between 0 and 4294967295"),
        ("train.seed=4294967296", "train.seed must be between 0"),
        ("train.max_epochs=0", "train.max_epochs must be between 1"),
        ("train.max_epochs=10000000000", "train.max_epochs must be between 1"),
        ("train.max_steps=-1", "train.max_steps must be between 0"),
        ("train.max_steps=10000000000", "train.max_steps must be between 0"),
        ("train.patience=-1", "train.patience must be between 0"),
        ("train.val_every_batches=-1", "train.val_every_batches must be between 0"),
        ("train.limit_train_batches=-1", "train.limit_train_batches must be between 0"),
        ("train.limit_val_batches=-1", "train.limit_val_batches must be between 0"),
        ("train.sample_every=-1", "train.sample_every must be between 0"),
        ("train.checkpoint_minutes=0", "train.checkpoint_minutes must be positive"),
        ("train.max_minutes=-1", "train.max_minutes must be 0"),
        ("train.optimizer=lion", "train.optimizer must be one of adam, adamw"),
        ("train.schedule=step", "train.schedule must be one of constant, cosine"),
        ("train.phase_weight=-1", "train.phase_weight must be between 0 and 1000"),
        ("data.shift=0", "data.shift must be between 1"),
        ("model.input_noise=-0.1", "model.input_noise must be between 0 and 10"),
    ],
)
def test_number_settings_are_bounded(override: str, message: str) -> None:
    with pytest.raises(TunesmithError, match=message.replace("(", r"\(").replace("[", r"\[")):
        apply_overrides(load_preset("abc-lstm-debug"), [override])


def test_warmup_needs_a_schedule_that_has_one() -> None:
    base = load_preset("abc-lstm-debug")
    with pytest.raises(TunesmithError, match="warmup_steps works with the constant and cosine schedules"):
        apply_overrides(base, ["train.schedule=exponential", "train.warmup_steps=10"])
    cfg = apply_overrides(base, ["train.schedule=cosine", "train.warmup_steps=10", "train.min_lr=0.001"])
    assert (cfg.train.warmup_steps, cfg.train.min_lr) == (10, 0.001)


def test_config_names_the_optimizers_and_schedules_training_builds() -> None:
    from tunesmith.config import OPTIMIZERS, SCHEDULES
    from tunesmith.training import optim

    assert (OPTIMIZERS, SCHEDULES) == (optim.OPTIMIZERS, optim.SCHEDULES)
