"""Models that move between corpora: a trained model's vocabulary for a new corpus, its weights for a new run.

``prepare --vocab-from MODEL`` encodes a corpus with the representation a run or bundle was trained with
(:func:`vocabulary_of`), so the model can be measured on it and fine-tuned on it. ``train --init MODEL``
starts a new run from that model's weights with a fresh optimiser and schedule
(:func:`tunesmith.pipeline.starting_point.starting_point`, above the bundle it loads through): the data
must hold the model's own vocabulary, and every weight's name and shape must be the preset's,
compared on PyTorch's meta device before a weight is read or a model built. The run keeps what it
started from in ``init.json`` (the source, its step and a digest of the weights), which ``export``
carries into the bundle's ``config.json``.

A run folder or bundle named here is a stranger's: JSON and YAML go through the bounded readers, weights
through :func:`tunesmith.bundle.load` (safetensors, or a checkpoint read with ``weights_only``); nothing is
unpickled. Reading a vocabulary needs no torch, so ``prepare`` stays quick to start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunesmith.errors import TunesmithError
from tunesmith.pretrained import resolve
from tunesmith.representations import FrameRepresentation, Representation, TokenRepresentation, from_json
from tunesmith.untrusted import read_json

if TYPE_CHECKING:  # torch loads only when weights are read
    import torch

    from tunesmith.data import PreparedData

INIT_FILE = "init.json"  # in a run folder: what its weights started from
MAX_INIT_BYTES = 64 * 1024  # a few names and numbers
MAX_NAME = 4096  # characters of a path or digest copied from a source's own record
MEDIUM_NAMES = {"abc": "an ABC", "midi": "a MIDI", "audio": "an audio"}
MEDIUM_LABELS = {"abc": "ABC", "midi": "MIDI", "audio": "audio"}


@dataclass
class ModelSource:
    """A run folder or bundle, and the representation its model reads."""

    path: Path
    kind: str  # "run" or "bundle"
    representation: Representation


@dataclass
class Start:
    """What a new run starts from: the weights, and the record ``init.json`` keeps of them."""

    weights: dict[str, torch.Tensor]
    record: dict[str, Any]


def model_source(path: Path | str, option: str) -> ModelSource:
    """A run or bundle (or a built-in model's name) told apart as :mod:`tunesmith.bundle` tells them (without
    importing torch), with its representation read through the bounded JSON reader; anything else is one line
    naming ``option``."""
    path = resolve(path, option)  # a path, or a built-in model's name
    if (path / "model.safetensors").exists():
        kind = "bundle"
    elif (path / "config.yaml").exists() and (path / "checkpoints").is_dir():
        kind = "run"
    else:
        raise TunesmithError(
            f"{option} {path} is neither a run folder (config.yaml + checkpoints/) nor a bundle (model.safetensors)"
        )
    source = path / "representation.json"
    try:
        rep = from_json(read_json(source))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise TunesmithError(f"{source}: not a representation's state ({' '.join(str(exc).split())[:120]})") from None
    if not isinstance(rep, (TokenRepresentation, FrameRepresentation)):
        raise TunesmithError(f"{source}: '{rep.name}' is neither a token nor a frame representation")
    return ModelSource(path, kind, rep)


def vocabulary_of(path: Path | str) -> ModelSource:
    """``prepare --vocab-from``: an ABC model's token representation, to encode a new corpus with."""
    source = model_source(path, "--vocab-from")
    rep = source.representation
    if rep.medium != "abc" or not isinstance(rep, TokenRepresentation):
        raise TunesmithError(
            f"--vocab-from {source.path} is {MEDIUM_NAMES.get(rep.medium, rep.medium)} model ('{rep.name}'); "
            "only an ABC model's vocabulary encodes ABC tunes"
        )
    return source


def _size(rep: Representation) -> str:
    if isinstance(rep, TokenRepresentation):
        return f"{rep.vocab_size} symbols"
    return f"{getattr(rep, 'frame_dim', '?')} values a frame"


def check_data(source: ModelSource, data: PreparedData, option: str = "--init") -> None:
    """The data must hold the model's own representation, state and all (its vocabulary), so every id means
    to the new run what it meant to the model."""
    rep, mine = source.representation, data.representation
    if rep.medium != mine.medium:
        raise TunesmithError(
            f"{option} {source.path} is {MEDIUM_NAMES.get(rep.medium, rep.medium)} model ('{rep.name}') but "
            f"{data.folder} holds {MEDIUM_LABELS.get(mine.medium, mine.medium)} data "
            f"('{mine.name}'); a model is fine-tuned on music of its own medium"
        )
    if rep.to_json() != mine.to_json():
        if rep.medium == "abc":
            hint = f"prepare it with 'tunesmith prepare --vocab-from {source.path} --input YOUR_TUNES --out DIR'"
        else:
            hint = "prepare it with the representation settings the model was trained with"
        raise TunesmithError(
            f"{data.folder} was not prepared with the vocabulary of {option} {source.path} "
            f"('{mine.name}' with {_size(mine)}, the model's '{rep.name}' with {_size(rep)}); {hint}"
        )


def _shape(shape: tuple[int, ...]) -> str:
    return f"({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"


def check_shapes(found: dict[str, tuple[int, ...]], wanted: dict[str, tuple[int, ...]], what: str, preset: str) -> None:
    """Refuse, in one line, the first weight the model lacks, has extra, or holds in another shape than the
    preset's model: torch's many-line account never reaches the user."""
    for name in wanted:
        if name not in found:
            raise TunesmithError(
                f"{what} does not fit preset {preset}: the preset's model has a weight {name!r:.80} that it lacks"
            )
    for name in found:
        if name not in wanted:
            raise TunesmithError(
                f"{what} does not fit preset {preset}: its weight {name!r:.80} is not in the preset's model"
            )
    for name, shape in wanted.items():
        if tuple(found[name]) != tuple(shape):
            raise TunesmithError(
                f"{what} does not fit preset {preset}: weight {name!r} is {_shape(found[name])} in the model "
                f"but {_shape(shape)} in the preset's"
            )


def read_record(run: Path) -> dict[str, Any] | None:
    """A run's ``init.json`` (None: it started from scratch, or the file is not one)."""
    path = Path(run) / INIT_FILE
    if not path.exists():
        return None
    try:
        record = read_json(path, max_bytes=MAX_INIT_BYTES)
    except TunesmithError:
        return None
    return record if isinstance(record.get("source"), str) else None


def write_record(run: Path, record: dict[str, Any]) -> None:
    (Path(run) / INIT_FILE).write_text(json.dumps(record, indent=2))


def check_resume(run: Path, init: Path | str | None, has_checkpoint: bool) -> None:
    """An existing run resumes only as it started: from the same ``--init`` (or none). A run that started from
    a model and has a checkpoint resumes from that checkpoint, with or without ``--init`` repeated."""
    recorded = read_record(run)
    source = recorded["source"] if recorded else None
    if init is not None and str(Path(init).expanduser().resolve()) != source:
        was = f"from --init {source}" if source else "from scratch"
        raise TunesmithError(
            f"run {run} was started {was}; re-run the command it was started with to resume it, "
            f"or choose a new --run folder for --init {init}"
        )
    if init is None and source is not None and not has_checkpoint:
        raise TunesmithError(
            f"run {run} was started from --init {source} and has no checkpoint yet; add --init {source}"
        )
