"""Built-in models: trained bundles shipped inside the package, addressable by name.

Each lives in ``pretrained/<name>/``: a normal bundle folder (``model.safetensors``, ``config.json``,
``representation.json``…, see :mod:`tunesmith.bundle`) plus ``MODEL_CARD.md``, written by ``make pretrained``
(:mod:`tunesmith.pipeline.pretrained`). Only folders that hold weights count, so an install without them
lists none and every name is refused with the same one line.

:func:`resolve` is the one place a model named on the command line becomes a folder: ``bundle.load``,
``bundle.recipe`` and ``training.init.model_source`` (``train --init``, ``prepare --vocab-from``) all call it.
It reads no file and imports nothing heavy: it sits on the ground floor beside ``presets``.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path

from tunesmith.errors import TunesmithError

ROOT = Path(__file__).resolve().parent  # tests point this at a temporary folder
CARD = "MODEL_CARD.md"
WEIGHTS = "model.safetensors"


def builtin_models() -> dict[str, Path]:
    """The built-in models that are actually installed, by name (their folders hold weights)."""
    if not ROOT.is_dir():
        return {}
    found = (p for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    return {p.name: p for p in sorted(found) if (p / WEIGHTS).is_file()}


def held_out_bpc(info: object) -> float | None:
    """The held-out bits per character a bundle's parsed ``config.json`` records (``make pretrained`` writes it
    under ``held_out``), or None where it records none."""
    held = info.get("held_out") if isinstance(info, dict) else None
    bpc = held.get("bpc") if isinstance(held, dict) else None
    ok = isinstance(bpc, (int, float)) and not isinstance(bpc, bool) and math.isfinite(bpc)
    return float(bpc) if ok else None


def _is_model(path: Path) -> bool:
    """A run or a bundle, told apart as :mod:`tunesmith.bundle` tells them (without importing it)."""
    return (path / WEIGHTS).exists() or (path / "config.yaml").exists() and (path / "checkpoints").is_dir()


def resolve(model: str | Path, option: str = "") -> Path:
    """The folder ``model`` names: an existing run or bundle first, then a built-in model's name, then any
    existing path (the caller says what is wrong with it); anything else is one line naming the built-ins.

    ``option`` (``--init``…) starts the message, so the user sees which of their arguments was wrong."""
    path = Path(model).expanduser()
    if _is_model(path):
        return path
    known = builtin_models()
    name = str(model)
    if name in known:
        return known[name]
    if path.exists():
        return path
    prefix = f"{option} " if option else ""
    if not known:
        raise TunesmithError(
            f"{prefix}{path} does not exist (expected a run folder or a bundle; no built-in models are installed)"
        )
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise TunesmithError(
        f"{prefix}{path} does not exist (expected a run folder, a bundle or a built-in model: {', '.join(known)}){hint}"
    )
