"""Typed run configuration: presets in YAML, ``--set a.b=value`` overrides with strict keys.

A preset names every setting a run uses, so a run directory's ``config.yaml`` is the
whole recipe. Overrides are checked against the dataclasses below: an unknown key or a
value of the wrong type is an error, never silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from tunesmith.errors import TunesmithError
from tunesmith.untrusted import finite

PHASE_LOSSES = ("cosine", "mse", "if")  # train.phase_loss; the losses themselves are in training/audio_losses.py
OPTIMIZERS = ("adam", "adamw", "rmsprop", "adagrad", "sgd")  # train.optimizer; built in training/optim.py
SCHEDULES = ("constant", "cosine", "exponential", "plateau")  # train.schedule; built in training/optim.py
MAX_LR = 10.0  # a learning rate above this only makes NaN losses
MAX_EPOCHS = 1_000_000  # train.max_epochs, patience and sample_every
MAX_STEPS = 1_000_000_000  # settings counted in optimisation steps or batches
MAX_SEED = 2**32 - 1  # what every seeded generator (numpy, torch, Lightning) takes


@dataclass
class DataConfig:
    """What the model reads: the representation and how windows are cut from it."""

    representation: str = "abc-char"
    seq_len: int = 256  # tokens per training window (the truncated-BPTT length)
    batch_size: int = 64
    windows: str = "stream"  # stream: windows at a random phase; piece: windows start where pieces start;
    # shifted: a training batch is windows starting at p, p+shift, p+2*shift… around one random p (seed 001)
    shift: int = 1  # shifted windows: frames (or tokens) between the starts of neighbouring windows of a batch
    transpose: int = 0  # frame runs: shift each training window by a random -N..+N semitones at load time


@dataclass
class ModelConfig:
    """Architecture. Each model family reads the fields it needs."""

    name: str = "lstm"  # a name from the model registry: rnn, lstm, gru, transformer
    embed_dim: int = 64  # recurrent models; 0 feeds one-hot vectors, as the seeds did
    hidden: int = 512  # recurrent units, or the transformer's width
    layers: int = 3
    dropout: float = 0.5
    heads: int = 8  # transformer attention heads
    context: int = 768  # transformer: the longest span it attends to (covers 99% of folk tunes)
    input_noise: float = 0.0  # frame models: std of Gaussian noise added to input frames in training (seed 001)
    channels: int = 16  # mel-cae: channels of the first convolution, doubled at each level (model.layers levels)
    latent: int = 0  # mel-cae: size of the code vector a patch is squeezed to; 0 = the conv feature map is the code
    patch: int = 64  # mel-cae: frames per patch; must equal data.seq_len (the training windows are the patches)

    def hyper(self) -> dict[str, Any]:
        """Everything but the name, for ``models.build``; each family reads what it needs."""
        return {k: v for k, v in asdict(self).items() if k != "name"}


@dataclass
class TrainConfig:
    """Optimisation, budget, checkpoints and in-training samples."""

    optimizer: str = "rmsprop"  # adam | adamw | rmsprop | adagrad | sgd
    lr: float = 0.003
    weight_decay: float = 0.0
    momentum: float = 0.0  # sgd and rmsprop only
    grad_clip: float = 5.0  # max gradient norm; 0 disables
    schedule: str = "constant"  # constant | cosine | exponential | plateau
    warmup_steps: int = 0
    lr_decay: float = 0.97  # per-epoch factor (exponential) or on-plateau factor
    min_lr: float = 0.0
    max_epochs: int = 100
    max_steps: int = 0  # stop after this many optimiser steps (a budget in steps, whole epochs or not); 0 = none
    max_minutes: float = 0.0  # wall-clock budget for the whole run; 0 = none
    patience: int = 6  # validations without improvement before stopping; 0 = never
    checkpoint_minutes: float = 10.0  # also save last.ckpt this often inside long epochs
    val_every_batches: int = 0  # validate every N training batches; 0 = once per epoch
    limit_train_batches: int = 0  # cap batches per epoch (debug presets); 0 = all
    limit_val_batches: int = 0
    sample_every: int = 10  # write samples every N epochs; 0 = never
    sample_count: int = 4
    sample_max_length: int = 1000
    seed: int = 0
    precision: str = "32-true"  # or bf16-mixed (autocast), 16-mixed on a GPU
    compile: bool = False  # torch.compile the model for training (opt-in: compiling takes a while)
    onset_weight: float = 4.0  # frame BCE runs: weight of positive onset bits (piano rolls are mostly zeros)
    phase_loss: str = "cosine"  # audio-spectral runs: cosine (1 - cos of the angle error) | mse (naive) | if
    phase_weight: float = 1.0  # audio-spectral runs: weight of the phase term beside the magnitude MSE


@dataclass
class Config:
    """A whole recipe: what a preset file holds and what a run directory records."""

    preset: str = ""
    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "config") -> Config:
        cfg = cls()
        for key, value in raw.items():
            section = getattr(cfg, key, None) if key in _SECTIONS else None
            if key in ("preset", "description"):
                setattr(cfg, key, str(value))
            elif section is not None and isinstance(value, dict):
                for sub, subvalue in value.items():
                    _assign(cfg, f"{key}.{sub}", subvalue, source)
            else:
                raise TunesmithError(f"{source}: unknown setting '{key}'")
        return cfg


_SECTIONS = ("data", "model", "train")

# Settings a user may change when resuming a run: they extend or shorten the budget, or change
# how the same maths runs (e.g. a CPU run resumed on a GPU with bf16), not what is being learned.
BUDGET_KEYS = frozenset(
    {
        "train.precision",
        "train.compile",
        "train.max_epochs",
        "train.max_steps",
        "train.max_minutes",
        "train.patience",
        "train.checkpoint_minutes",
        "train.sample_every",
        "train.sample_count",
        "train.sample_max_length",
    }
)


def all_keys() -> list[str]:
    """Every ``section.name`` that ``--set`` accepts."""
    return [f"{s}.{f.name}" for s in _SECTIONS for f in dataclasses.fields(getattr(Config(), s))]


KIND_WORDS = {bool: "yes or no", int: "a whole number", float: "a number", str: "text"}  # in error messages


def _coerce(raw: Any, kind: type, key: str, source: str) -> Any:
    """Turn a YAML value or a command-line string into ``kind``, or say why not."""
    text = raw if isinstance(raw, str) else None
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            if text is not None and text.lower() in ("true", "yes", "1", "false", "no", "0"):
                return text.lower() in ("true", "yes", "1")
            raise ValueError
        if kind is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            return int(raw) if text is None else int(text, 10)
        if kind is float:
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
        if kind is str:
            if isinstance(raw, (dict, list)):
                raise ValueError
            return str(raw)
    except ValueError:
        pass
    raise TunesmithError(f"{source}: {key} needs {KIND_WORDS.get(kind, kind.__name__)}, got {raw!r}")


def _assign(cfg: Config, key: str, raw: Any, source: str) -> None:
    parts = key.split(".")
    if len(parts) != 2 or parts[0] not in _SECTIONS:
        raise TunesmithError(f"{source}: unknown setting '{key}' (settings look like train.lr)")
    section = getattr(cfg, parts[0])
    hints = get_type_hints(type(section))
    if parts[1] not in hints:
        known = ", ".join(k for k in all_keys() if k.startswith(parts[0] + "."))
        raise TunesmithError(f"{source}: unknown setting '{key}'; {parts[0]} has: {known}")
    setattr(section, parts[1], _coerce(raw, hints[parts[1]], key, source))


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """Apply ``key=value`` strings to a copy of ``cfg``."""
    cfg = Config.from_dict(cfg.to_dict())
    for item in overrides:
        if "=" not in item:
            raise TunesmithError(f"--set '{item}': expected key=value, e.g. train.lr=0.001")
        key, value = item.split("=", 1)
        _assign(cfg, key.strip(), value.strip(), "--set")
    validate(cfg)
    return cfg


def _non_finite(cfg: Config) -> str | None:
    """The first float setting that is NaN or infinite (``--set train.lr=inf`` parses as a float)."""
    for section in _SECTIONS:
        part = getattr(cfg, section)
        for f in dataclasses.fields(part):
            value = getattr(part, f.name)
            if isinstance(value, float) and not finite(value):
                return f"{section}.{f.name} must be a finite number, not {value}"
    return None


def validate(cfg: Config) -> None:
    """Range checks that types alone cannot express: every number setting is bounded, every float finite,
    every choice one of its names (the precision is left to Lightning, which knows its own)."""
    message = _non_finite(cfg)
    if message is not None:
        raise TunesmithError(message)
    d, m, t = cfg.data, cfg.model, cfg.train
    checks = [
        (1 <= d.seq_len <= 65536, "data.seq_len must be between 1 and 65536"),
        (1 <= d.batch_size <= 8192, "data.batch_size must be between 1 and 8192"),
        (
            d.windows in ("stream", "piece", "shifted"),
            f"data.windows must be stream, piece or shifted, not {d.windows!r}",
        ),
        (1 <= d.shift <= 65536, "data.shift must be between 1 and 65536"),
        (0 <= d.transpose <= 24, "data.transpose must be between 0 and 24 semitones"),
        (0.0 <= m.input_noise <= 10.0, "model.input_noise must be between 0 and 10"),
        (0.0 < t.onset_weight <= 1000.0, "train.onset_weight must be above 0 and at most 1000"),
        (
            t.phase_loss in PHASE_LOSSES,
            f"train.phase_loss must be one of {', '.join(PHASE_LOSSES)}, not {t.phase_loss!r}",
        ),
        (0.0 <= t.phase_weight <= 1000.0, "train.phase_weight must be between 0 and 1000"),
        (1 <= m.channels <= 1024, "model.channels must be between 1 and 1024"),
        (0 <= m.latent <= 65536, "model.latent must be between 0 (no linear code) and 65536"),
        (1 <= m.patch <= 65536, "model.patch must be between 1 and 65536"),
        (0 <= m.embed_dim <= 65536, "model.embed_dim must be between 0 and 65536"),
        (1 <= m.hidden <= 65536, "model.hidden must be between 1 and 65536"),
        (1 <= m.layers <= 64, "model.layers must be between 1 and 64"),
        (0.0 <= m.dropout < 1.0, "model.dropout must be in [0, 1)"),
        (1 <= m.heads <= 256, "model.heads must be between 1 and 256"),
        (1 <= m.context <= 65536, "model.context must be between 1 and 65536"),
        (
            t.optimizer.lower() in OPTIMIZERS,
            f"train.optimizer must be one of {', '.join(OPTIMIZERS)}, not {t.optimizer!r}",
        ),
        (0.0 < t.lr <= MAX_LR, f"train.lr must be above 0 and at most {MAX_LR:g}"),
        (0.0 <= t.weight_decay <= 10.0, "train.weight_decay must be between 0 and 10"),
        (0.0 <= t.momentum < 1.0, "train.momentum must be in [0, 1)"),
        (t.grad_clip >= 0, "train.grad_clip must be 0 (off) or positive"),
        (
            t.schedule.lower() in SCHEDULES,
            f"train.schedule must be one of {', '.join(SCHEDULES)}, not {t.schedule!r}",
        ),
        (0 <= t.warmup_steps <= MAX_STEPS, f"train.warmup_steps must be between 0 (none) and {MAX_STEPS:,}"),
        (
            not t.warmup_steps or t.schedule.lower() in ("constant", "cosine"),
            "train.warmup_steps works with the constant and cosine schedules",
        ),
        (0.0 < t.lr_decay <= 1.0, "train.lr_decay must be in (0, 1]"),
        (0.0 <= t.min_lr <= t.lr, f"train.min_lr must be between 0 and train.lr ({t.lr:g})"),
        (1 <= t.max_epochs <= MAX_EPOCHS, f"train.max_epochs must be between 1 and {MAX_EPOCHS:,}"),
        (0 <= t.max_steps <= MAX_STEPS, f"train.max_steps must be between 0 (no limit) and {MAX_STEPS:,}"),
        (t.max_minutes >= 0, "train.max_minutes must be 0 (no limit) or positive"),
        (0 <= t.patience <= MAX_EPOCHS, f"train.patience must be between 0 (never stop early) and {MAX_EPOCHS:,}"),
        (t.checkpoint_minutes > 0, "train.checkpoint_minutes must be positive"),
        (
            0 <= t.val_every_batches <= MAX_STEPS,
            f"train.val_every_batches must be between 0 (once per epoch) and {MAX_STEPS:,}",
        ),
        (
            0 <= t.limit_train_batches <= MAX_STEPS,
            f"train.limit_train_batches must be between 0 (all) and {MAX_STEPS:,}",
        ),
        (0 <= t.limit_val_batches <= MAX_STEPS, f"train.limit_val_batches must be between 0 (all) and {MAX_STEPS:,}"),
        (0 <= t.sample_every <= MAX_EPOCHS, f"train.sample_every must be between 0 (never) and {MAX_EPOCHS:,}"),
        (0 <= t.sample_count <= 64, "train.sample_count must be between 0 and 64"),
        (1 <= t.sample_max_length <= 20000, "train.sample_max_length must be between 1 and 20000"),
        (0 <= t.seed <= MAX_SEED, f"train.seed must be between 0 and {MAX_SEED}"),
    ]
    if m.name == "transformer":
        checks += [
            (
                m.hidden % m.heads == 0 and (m.hidden // m.heads) % 2 == 0,
                f"model.hidden ({m.hidden}) must split into model.heads ({m.heads}) heads of an even size",
            ),
            (d.seq_len <= m.context, f"data.seq_len ({d.seq_len}) must not exceed model.context ({m.context})"),
        ]
    if m.name == "mel-cae":
        checks += [
            (m.layers <= 8, f"model.layers ({m.layers}) is the mel-cae's depth: at most 8 halvings"),
            (
                m.channels << (m.layers - 1) <= 4096,
                "mel-cae: model.channels x 2^(model.layers - 1) must be at most 4096",
            ),
            (d.seq_len == m.patch, f"mel-cae: data.seq_len ({d.seq_len}) must equal model.patch ({m.patch})"),
        ]
    for ok, message in checks:
        if not ok:
            raise TunesmithError(message)


def preset_names() -> list[str]:
    files = resources.files("tunesmith.presets").iterdir()
    return sorted(p.name[:-5] for p in files if p.name.endswith(".yaml"))


def unknown_preset(name: str) -> TunesmithError:
    """The one line for a preset that does not exist: the near miss when there is one, else every name."""
    names = preset_names()
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    if close:
        return TunesmithError(
            f"unknown preset '{name}'; did you mean '{close[0]}'? ('tunesmith presets' lists them all)"
        )
    return TunesmithError(f"unknown preset '{name}'; choose one of: {', '.join(names)}")


def preset_text(name: str) -> str:
    """A built-in preset's YAML, as written (its comments too)."""
    resource = resources.files("tunesmith.presets") / f"{name}.yaml"
    if not resource.is_file():
        raise unknown_preset(name)
    return resource.read_text()


def load_preset(name: str) -> Config:
    """A built-in preset by name, or a YAML file by path."""
    path = Path(name)
    if name.endswith((".yaml", ".yml")) and path.is_file():
        text, source = path.read_text(), str(path)
    else:
        text, source = preset_text(name), f"preset {name}"
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict):
        raise TunesmithError(f"{source}: expected a mapping of settings")
    cfg = Config.from_dict(raw, source)
    cfg.preset = cfg.preset or path.stem
    validate(cfg)
    return cfg


def save_config(cfg: Config, path: Path) -> None:
    path.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def read_config(path: Path) -> Config:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TunesmithError(f"cannot read {path}: {exc}") from None
    return Config.from_dict(raw or {}, str(path))


def differences(a: Config, b: Config) -> list[str]:
    """Keys whose values differ between two configs, as ``section.name``."""
    da, db = a.to_dict(), b.to_dict()
    return [f"{s}.{k}" for s in _SECTIONS for k in da[s] if da[s][k] != db[s][k]]
