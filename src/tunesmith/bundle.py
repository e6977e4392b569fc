"""Loading a trained model from a run directory or a bundle, and exporting bundles.

A bundle is the unit of sharing::

    model.safetensors     the weights (no pickle: safe to load from a stranger)
    config.json           the resolved config, vocabulary size and training summary
    representation.json   the representation's state (vocabulary…)
    versions.json         library versions that wrote it
    corpus.json           ABC: the training corpus's profile, which its tunes' validity is judged by
    MODEL_CARD.md         built-in models (:mod:`tunesmith.pretrained`): how it was made and what it is worth

``config.json`` also says what a fine-tuned model started from (``initialised_from``: the run's
``init.json``, see :mod:`tunesmith.training.init`) and how its weights are stored (``dtype``: float32, or
float16 for the shipped models, which load into a float32 model all the same).

Loading a bundle reads JSON and safetensors only; nothing is unpickled. Loading a run reads
its Lightning checkpoint with ``weights_only=True``, which refuses arbitrary objects too.
"""

from __future__ import annotations

import contextlib
import json
import math
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from tunesmith import __version__, models
from tunesmith.config import Config, validate
from tunesmith.errors import TunesmithError
from tunesmith.metrics import abc_corpus
from tunesmith.metrics.abc_corpus import PROFILE_FILE, CorpusProfile
from tunesmith.models.size import check_loading, expected_shapes
from tunesmith.pretrained import CARD, resolve
from tunesmith.representations import FrameRepresentation, Representation, TokenRepresentation, from_json
from tunesmith.training.checkpoint_io import load_checkpoint
from tunesmith.training.init import read_record
from tunesmith.untrusted import read_bytes, read_json, regular_file_size

BUNDLE_FORMAT = 1
MAX_CONFIG_BYTES = 1024 * 1024  # config.json and config.yaml: a recipe is a few kilobytes
MAX_HEADER_BYTES = 1024 * 1024  # a safetensors header: names, shapes and offsets of every weight
MAX_CHECKPOINT_EXTRA = 64 * 1024 * 1024  # a checkpoint's records besides its weights and optimiser state
VERSIONED = ("torch", "lightning", "numpy", "music21", "symusic", "safetensors")
MAX_CARD_BYTES = 1024 * 1024  # MODEL_CARD.md: a few pages of text
FLOAT_KINDS = ("F16", "BF16", "F32", "F64")  # safetensors' names of the dtypes a bundle's weights may have
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}  # how weights are stored


@dataclass
class LoadedModel:
    model: nn.Module
    representation: Representation  # TokenRepresentation or FrameRepresentation: check ``kind``
    config: Config
    source: Path
    kind: str  # "run" or "bundle"
    info: dict[str, Any]
    corpus: CorpusProfile | None = None  # ABC: what its training corpus looks like (corpus.json), if known


def is_run(path: Path) -> bool:
    """Has a run's files; whether they can be read is for :func:`load` to say (a FIFO is named, not skipped)."""
    return (path / "config.yaml").exists() and (path / "checkpoints").is_dir()


def is_bundle(path: Path) -> bool:
    return (path / "model.safetensors").exists()


def model_size(rep: Representation) -> int:
    """What ``models.build`` is sized by: the vocabulary for tokens, ``frame_dim`` for frames."""
    return rep.frame_dim if isinstance(rep, FrameRepresentation) else rep.vocab_size


def _build(config: Config, state: dict[str, torch.Tensor], size: int, source: str) -> nn.Module:
    """The real model, once :func:`_expected` and :func:`_compare` have passed: only now is memory asked for."""
    m = config.model
    model = models.build(m.name, size, **m.hyper())
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError:  # torch's many-line account of every mismatch never reaches the user
        raise TunesmithError(f"{source}: the weights do not fit the model its config describes") from None
    return model.eval()


def _expected(config: Config, rep: Representation, source: str) -> dict[str, tuple[int, ...]]:
    """Check a config as untrusted input and return every weight's shape, all without allocating the model.

    The ranges are checked (:func:`tunesmith.config.validate`), then the size of the model on PyTorch's meta
    device (:func:`tunesmith.models.size.check_loading`), so ``model.hidden=65536 model.layers=64`` is refused
    in milliseconds rather than after asking for 68 GB."""
    try:
        validate(config)
    except TunesmithError as exc:
        raise TunesmithError(f"{source}: {exc}") from None
    m = config.model
    frames = isinstance(rep, FrameRepresentation)
    if (m.name in models.FRAME_REGISTRY) != frames:
        kind = "frame" if frames else "token"
        raise TunesmithError(f"{source}: model '{m.name}' does not read the {kind}s of '{rep.name}'")
    if m.name not in models.REGISTRY and m.name not in models.FRAME_REGISTRY:
        raise TunesmithError(f"{source}: unknown model '{m.name:.40}'")
    check_loading(config, model_size(rep), source)
    return expected_shapes(m.name, model_size(rep), m.hyper())


def _shape(shape: tuple[int, ...]) -> str:
    return f"({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"


def _compare(found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]], source: str) -> None:
    """Refuse, in one line, the first weight the file lacks, has extra, or holds in another shape."""
    missing = [k for k in expected if k not in found]
    extra = sorted(k for k in found if k not in expected)
    if missing:
        raise TunesmithError(
            f"{source}: weight {missing[0]!r:.80} of the config's model is not in the file{_more(missing)}"
        )
    if extra:
        raise TunesmithError(
            f"{source}: weight {extra[0]!r:.80} in the file is not in the config's model{_more(extra)}"
        )
    for name, shape in expected.items():
        if tuple(found[name]) != tuple(shape):
            file, model = _shape(found[name]), _shape(shape)
            raise TunesmithError(f"{source}: weight {name!r} is {file} in the file but {model} for the config's model")


def _more(names: list[str]) -> str:
    return f" ({len(names) - 1} more)" if len(names) > 1 else ""


def _elements(expected: dict[str, tuple[int, ...]]) -> int:
    return sum(math.prod(shape) for shape in expected.values())


def _read_info(path: Path) -> tuple[dict[str, Any], Config]:
    """A bundle's ``config.json``: its format, the recipe and the size it was written for."""
    source = path / "config.json"
    info = read_json(source, max_bytes=MAX_CONFIG_BYTES)
    if info.get("format") != BUNDLE_FORMAT or isinstance(info.get("format"), bool):
        raise TunesmithError(f"{path}: bundle format {info.get('format')!r:.40} is not {BUNDLE_FORMAT}")
    return info, config_from(info.get("config"), str(source), "'config' must be an object of settings")


def config_from(raw: Any, source: str, not_a_mapping: str = "must hold a mapping of settings") -> Config:
    """A :class:`Config` from a stranger's settings: whatever is wrong with them is one line naming ``source``."""
    if not isinstance(raw, dict):
        raise TunesmithError(f"{source}: {not_a_mapping}, not {type(raw).__name__}")
    try:
        return Config.from_dict(raw, source)
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:  # int([1]), float(10**400)…
        raise TunesmithError(f"{source}: a setting has a value of the wrong kind ({_first_line(exc)[:80]})") from None


class _PlainLoader(yaml.SafeLoader):
    """YAML without aliases: ``*name`` lets a 1 KB file expand into gigabytes (the "billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases (*name) are not read")
        return super().compose_node(parent, index)


def read_run_config(path: Path) -> Config:
    """A run's ``config.yaml``, read as a stranger's file: a bounded regular file of plain YAML settings."""
    text = read_bytes(path, max_bytes=MAX_CONFIG_BYTES)
    try:
        raw = yaml.load(text.decode("utf-8"), Loader=_PlainLoader)  # noqa: S506 - a SafeLoader, aliases refused
    except (UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise TunesmithError(f"cannot read {path}: not YAML settings ({reason})") from None
    return config_from({} if raw is None else raw, str(path))


def _representation(path: Path) -> Representation:
    try:
        rep = from_json(read_json(path))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise TunesmithError(f"{path}: not a representation's state ({' '.join(str(exc).split())[:120]})") from None
    if not isinstance(rep, (TokenRepresentation, FrameRepresentation)):
        raise TunesmithError(f"{path}: '{rep.name}' is neither a token nor a frame representation")
    return rep


def _check_choice(checkpoint: str) -> None:
    if checkpoint not in ("best", "last"):
        raise TunesmithError(f"--checkpoint {checkpoint!r} must be best or last")


def run_checkpoint(run: Path, which: str = "best") -> Path:
    """The checkpoint a run is sampled or exported from: ``best`` (falling back to ``last``) or ``last``."""
    folder = run / "checkpoints"
    names = ["best.ckpt", "last.ckpt"] if which == "best" else ["last.ckpt"]
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise TunesmithError(f"run {run} has no checkpoint yet ({' or '.join(names)}); train it first")


def _load_bundle(path: Path) -> LoadedModel:
    """Every check on the JSON, the config and the safetensors header comes before a weight is read."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    info, config = _read_info(path)
    rep = _representation(path / "representation.json")
    source = f"bundle {path}"
    declared = info.get("frame_dim" if isinstance(rep, FrameRepresentation) else "vocab_size")
    if declared is not None and declared != model_size(rep):
        raise TunesmithError(
            f"{source}: config.json is for size {declared!r:.20} but representation.json has {model_size(rep)}"
        )
    expected = _expected(config, rep, source)
    weights = path / "model.safetensors"
    regular_file_size(weights, max_bytes=_elements(expected) * 8 + MAX_HEADER_BYTES)  # float64 at most
    try:
        with safe_open(weights, framework="pt") as f:  # the header only: names, shapes and offsets
            found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118 - a safe_open handle
            stored = {k: str(f.get_slice(k).get_dtype()) for k in found}
    except (SafetensorError, OSError, ValueError) as exc:
        raise TunesmithError(f"{weights} is corrupt or truncated ({_first_line(exc)})") from None
    _compare(found, expected, source)
    odd = sorted(k for k, kind in stored.items() if kind not in FLOAT_KINDS)
    if odd:  # every model's weights are floats; 16-bit ones are copied into the float32 model below
        raise TunesmithError(f"{source}: weight {odd[0]!r:.80} is stored as {stored[odd[0]]:.20}, not as floats")
    try:
        state = load_file(weights)
    except (SafetensorError, OSError, ValueError) as exc:
        raise TunesmithError(f"{weights} is corrupt or truncated ({_first_line(exc)})") from None
    model = _build(config, state, model_size(rep), source)
    return LoadedModel(model, rep, config, path, "bundle", info, _profile(path, rep))


def _load_run(path: Path, checkpoint: str) -> LoadedModel:
    config = read_run_config(path / "config.yaml")
    rep = _representation(path / "representation.json")
    source = f"run {path}"
    expected = _expected(config, rep, source)
    ckpt_path = run_checkpoint(path, checkpoint)
    # weights, optimiser moments and a margin for Lightning's own records, in float64 at most
    regular_file_size(ckpt_path, max_bytes=_elements(expected) * 8 * 4 + MAX_CHECKPOINT_EXTRA)
    ckpt = load_checkpoint(ckpt_path)
    stored = ckpt.get("state_dict") if isinstance(ckpt, dict) else None
    if not isinstance(stored, dict):
        raise TunesmithError(f"checkpoint {ckpt_path} holds no state_dict")
    state = {k[len("model.") :]: v for k, v in stored.items() if isinstance(k, str) and k.startswith("model.")}
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TunesmithError(f"checkpoint {ckpt_path} holds weights that are not tensors")
    _compare({k: tuple(v.shape) for k, v in state.items()}, expected, f"checkpoint {ckpt_path}")
    callbacks = ckpt.get("callbacks")
    best = (callbacks.get("RunCheckpoint") or {}) if isinstance(callbacks, dict) else {}
    info = {
        "checkpoint": ckpt_path.name,
        "global_step": ckpt.get("global_step"),
        "epoch": ckpt.get("epoch"),
        "best_val_loss": best.get("best") if isinstance(best, dict) else None,
    }
    model = _build(config, state, model_size(rep), source)
    return LoadedModel(model, rep, config, path, "run", info, _profile(path, rep, recorded_data(path)))


def recorded_data(run: Path) -> Path | None:
    """The prepared folder a run's ``data.json`` names, where it names one."""
    try:
        folder = read_json(run / "data.json", max_bytes=MAX_CONFIG_BYTES).get("data")
    except TunesmithError:
        return None
    return Path(folder) if isinstance(folder, str) and folder else None


def _profile(path: Path, rep: Representation, data: Path | None = None) -> CorpusProfile | None:
    """An ABC model's corpus profile: its own ``corpus.json``, else (a run trained before profiles were kept
    with it) the one in the prepared folder it names, if that folder was prepared for the same vocabulary."""
    if rep.medium != "abc":
        return None
    profile = abc_corpus.read(path)
    if profile is None and data is not None and (data / PROFILE_FILE).is_file():
        try:
            same = from_json(read_json(data / "representation.json")).to_json() == rep.to_json()
        except (TunesmithError, ValueError, KeyError, TypeError):
            same = False
        profile = abc_corpus.read(data) if same else None
    return profile


def recipe(path: Path | str) -> tuple[Config, dict[str, tuple[int, ...]]]:
    """A run's or bundle's recipe and every weight's name and shape, checked as :func:`load` checks them but
    without reading a weight or building a model: what ``train --init`` holds its preset to first."""
    path = resolve(path)
    if is_bundle(path):
        config, source = _read_info(path)[1], f"bundle {path}"
    elif is_run(path):
        config, source = read_run_config(path / "config.yaml"), f"run {path}"
    else:
        raise TunesmithError(f"{path} is neither a run directory (config.yaml + checkpoints/) nor a bundle")
    return config, _expected(config, _representation(path / "representation.json"), source)


def load(path: Path | str, checkpoint: str = "best") -> LoadedModel:
    """A model ready to sample, from a run directory, a bundle or a built-in model's name
    (:func:`tunesmith.pretrained.resolve`).

    Both are a stranger's files: JSON and YAML go through bounded readers, the config is range-checked and
    the model sized on the meta device, and every weight's name and shape is compared with what the config
    builds before the real model is allocated. Any refusal is one line naming the file."""
    _check_choice(checkpoint)
    path = resolve(path)  # a path, or a built-in model's name
    if is_bundle(path):
        return _load_bundle(path)
    if is_run(path):
        return _load_run(path, checkpoint)
    raise TunesmithError(
        f"{path} is neither a run directory (config.yaml + checkpoints/) nor a bundle (model.safetensors)"
    )


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__


def library_versions() -> dict[str, str]:
    versions = {"tunesmith": __version__, "python": platform.python_version()}
    for name in VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def export(source: Path | str, out: Path | str, checkpoint: str = "best", dtype: str = "float32") -> Path:
    """Write a bundle for a run's best (or last) checkpoint, or a copy of a bundle (a built-in model by name).

    ``dtype`` ``float16`` (or ``bfloat16``) stores the floating-point weights in 16 bits: half the file, as the
    shipped models are; loading copies them into the float32 model again. A bundle's copy keeps what its
    ``config.json`` records (the training summary, what it started from, a held-out figure) and its model card."""
    from safetensors.torch import save_file

    if dtype not in DTYPES:
        raise TunesmithError(f"dtype {dtype!r} must be one of {', '.join(DTYPES)}")
    source, out = resolve(source), Path(out)
    if not is_run(source) and not is_bundle(source):
        raise TunesmithError(f"{source} is neither a run directory (config.yaml + checkpoints/) nor a bundle")
    from_bundle = is_bundle(source)
    if from_bundle and out.exists() and out.resolve() == source.resolve():
        raise TunesmithError(f"--out {out} is the bundle itself; choose another folder")
    loaded = load(source, checkpoint)
    card = read_bytes(source / CARD, max_bytes=MAX_CARD_BYTES) if from_bundle and (source / CARD).is_file() else None
    out.mkdir(parents=True, exist_ok=True)
    wanted = DTYPES[dtype]
    state = {
        k: (v.to(wanted) if v.is_floating_point() else v).detach().contiguous().clone()
        for k, v in loaded.model.state_dict().items()
    }
    # one metadata key: safetensors writes several in a random order, and the same weights should give the same
    # file (the shipped models are committed); versions.json says which tunesmith wrote it
    save_file(state, out / "model.safetensors", metadata={"format": "pt"})
    info = {
        "format": BUNDLE_FORMAT,
        "config": loaded.config.to_dict(),
        ("frame_dim" if loaded.representation.kind == "frames" else "vocab_size"): model_size(loaded.representation),
        "dtype": dtype,
    }
    if from_bundle:  # what the bundle itself records, as it recorded it
        kept = {k: v for k, v in loaded.info.items() if k not in (*info, "frame_dim", "vocab_size")}
        info = {**info, "trained": {}, **kept}
    else:
        info["trained"] = loaded.info
        started = read_record(source)  # a fine-tuned run: the model its weights started from
        if started is not None:
            info["initialised_from"] = started
    (out / "config.json").write_text(json.dumps(info, indent=2))
    (out / "representation.json").write_text(json.dumps(loaded.representation.to_json(), indent=1))
    (out / "versions.json").write_text(json.dumps(library_versions(), indent=2))
    for name in (PROFILE_FILE, CARD):  # an earlier bundle's, which would not describe this one
        (out / name).unlink(missing_ok=True)
    if loaded.corpus is not None:
        loaded.corpus.write(out)
    if card is not None:
        (out / CARD).write_bytes(card)
    return out
