"""Loading a trained model from a run directory or a bundle, and exporting bundles.

A bundle is the unit of sharing::

    model.safetensors     the weights (no pickle: safe to load from a stranger)
    config.json           the resolved config, vocabulary size and training summary
    representation.json   the representation's state (vocabulary…)
    versions.json         library versions that wrote it

Loading a bundle reads JSON and safetensors only; nothing is unpickled. Loading a run reads
its Lightning checkpoint with ``weights_only=True``, which refuses arbitrary objects too.
"""

from __future__ import annotations

import contextlib
import json
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tunesmith import __version__, models
from tunesmith.config import Config, read_config, validate
from tunesmith.errors import TunesmithError
from tunesmith.representations import FrameRepresentation, Representation, TokenRepresentation, from_json
from tunesmith.training.checkpoint_io import load_checkpoint

BUNDLE_FORMAT = 1
VERSIONED = ("torch", "lightning", "numpy", "music21", "symusic", "safetensors")


@dataclass
class LoadedModel:
    model: nn.Module
    representation: Representation  # TokenRepresentation or FrameRepresentation: check ``kind``
    config: Config
    source: Path
    kind: str  # "run" or "bundle"
    info: dict[str, Any]


def is_run(path: Path) -> bool:
    return (path / "config.yaml").is_file() and (path / "checkpoints").is_dir()


def is_bundle(path: Path) -> bool:
    return (path / "model.safetensors").is_file()


def model_size(rep: Representation) -> int:
    """What ``models.build`` is sized by: the vocabulary for tokens, ``frame_dim`` for frames."""
    return rep.frame_dim if isinstance(rep, FrameRepresentation) else rep.vocab_size


def _build(config: Config, rep: Representation, state: dict[str, torch.Tensor], source: Path) -> nn.Module:
    validate(config)  # a shared config is untrusted input: sizes are bounded before anything is built
    m = config.model
    frames = isinstance(rep, FrameRepresentation)
    if (m.name in models.FRAME_REGISTRY) != frames:
        kind = "frame" if frames else "token"
        raise TunesmithError(f"{source}: model '{m.name}' does not read the {kind}s of '{rep.name}'")
    model = models.build(m.name, model_size(rep), **m.hyper())
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise TunesmithError(f"{source}: weights do not match the model in its config ({str(exc)[:200]})") from None
    return model.eval()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise TunesmithError(f"{path} is missing") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise TunesmithError(f"{path} is not valid JSON ({exc})") from None


def _representation(path: Path) -> Representation:
    rep = from_json(_read_json(path))
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


def load(path: Path | str, checkpoint: str = "best") -> LoadedModel:
    """A model ready to sample, from a run directory or a bundle."""
    path = Path(path)
    _check_choice(checkpoint)
    if not path.exists():
        raise TunesmithError(f"{path} does not exist (expected a run directory or a bundle)")
    if is_bundle(path):
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        info = _read_json(path / "config.json")
        if info.get("format") != BUNDLE_FORMAT:
            raise TunesmithError(f"{path}: bundle format {info.get('format')!r} is not {BUNDLE_FORMAT}")
        config = Config.from_dict(info["config"], str(path / "config.json"))
        rep = _representation(path / "representation.json")
        try:
            state = load_file(path / "model.safetensors")
        except (SafetensorError, OSError, ValueError) as exc:
            raise TunesmithError(f"{path / 'model.safetensors'} is corrupt or truncated ({exc})") from None
        return LoadedModel(_build(config, rep, state, path), rep, config, path, "bundle", info)
    if is_run(path):
        config = read_config(path / "config.yaml")
        rep = _representation(path / "representation.json")
        ckpt_path = run_checkpoint(path, checkpoint)
        ckpt = load_checkpoint(ckpt_path)
        state = {k[len("model.") :]: v for k, v in ckpt.get("state_dict", {}).items() if k.startswith("model.")}
        info = {
            "checkpoint": ckpt_path.name,
            "global_step": ckpt.get("global_step"),
            "epoch": ckpt.get("epoch"),
            "best_val_loss": (ckpt.get("callbacks", {}).get("RunCheckpoint") or {}).get("best"),
        }
        return LoadedModel(_build(config, rep, state, ckpt_path), rep, config, path, "run", info)
    raise TunesmithError(
        f"{path} is neither a run directory (config.yaml + checkpoints/) nor a bundle (model.safetensors)"
    )


def library_versions() -> dict[str, str]:
    versions = {"tunesmith": __version__, "python": platform.python_version()}
    for name in VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def export(run: Path | str, out: Path | str, checkpoint: str = "best") -> Path:
    """Write a bundle for a run's best (or last) checkpoint."""
    from safetensors.torch import save_file

    run, out = Path(run), Path(out)
    if not is_run(run):
        raise TunesmithError(f"{run} is not a run directory (expected config.yaml and checkpoints/)")
    loaded = load(run, checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in loaded.model.state_dict().items()}
    save_file(state, out / "model.safetensors", metadata={"format": "pt", "tunesmith": __version__})
    info = {
        "format": BUNDLE_FORMAT,
        "config": loaded.config.to_dict(),
        ("frame_dim" if loaded.representation.kind == "frames" else "vocab_size"): model_size(loaded.representation),
        "trained": loaded.info,
    }
    (out / "config.json").write_text(json.dumps(info, indent=2))
    (out / "representation.json").write_text(json.dumps(loaded.representation.to_json(), indent=1))
    (out / "versions.json").write_text(json.dumps(library_versions(), indent=2))
    return out
