"""``train --init``: the weights a fine-tuning run starts from, checked before anything loads.

It sits above :mod:`tunesmith.bundle` (which it loads the source through), so the layers run down:
``training.init`` holds the checks and records, this module the loading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunesmith.config import Config
from tunesmith.data.prepared import PreparedData
from tunesmith.training.init import MAX_NAME, Start, check_data, check_shapes, model_source, read_record


def starting_point(path: Path | str, config: Config, data: PreparedData) -> Start:
    """``train --init``: the model's weights for a new run of ``config`` on ``data``, and their record.

    The medium and vocabulary are checked first, then every weight's name and shape (from the source's own
    recipe, sized on the meta device) against the preset's; only then is a weight read, through
    :func:`tunesmith.bundle.load`, which holds the file to that same recipe."""
    from tunesmith.bundle import load, model_size, recipe
    from tunesmith.models.size import expected_shapes
    from tunesmith.training.checkpoint_io import checksum

    source = model_source(path, "--init")
    check_data(source, data)
    found = recipe(source.path)[1]
    wanted = expected_shapes(config.model.name, model_size(data.representation), config.model.hyper())
    check_shapes(found, wanted, f"--init {source.path}", config.preset)
    loaded = load(source.path, "best")
    weights = {k: v.detach().clone() for k, v in loaded.model.state_dict().items()}
    info = loaded.info
    if source.kind == "run":
        step, checkpoint, parent = info.get("global_step"), info.get("checkpoint"), read_record(source.path)
    else:
        trained = info.get("trained") if isinstance(info.get("trained"), dict) else {}
        step, checkpoint, parent = trained.get("global_step"), trained.get("checkpoint"), info.get("initialised_from")
    record: dict[str, Any] = {
        "source": str(source.path.resolve()),
        "kind": source.kind,
        "checkpoint": checkpoint if isinstance(checkpoint, str) else None,
        "global_step": step if isinstance(step, int) and not isinstance(step, bool) else None,
        "preset": loaded.config.preset,
        "representation": source.representation.name,
        "weights": {"algorithm": "blake2b-256", "digest": checksum(weights)},
    }
    if isinstance(parent, dict):  # one generation back: what the source itself started from
        record["source_started_from"] = _brief(parent)
    return Start(weights, record)


def _brief(parent: dict[str, Any]) -> dict[str, Any]:
    """The parts of a source's own record worth keeping, bounded: a stranger's bundle may say anything there."""
    brief: dict[str, Any] = {}
    for key in ("source", "kind"):
        if isinstance(parent.get(key), str):
            brief[key] = parent[key][:MAX_NAME]
    if isinstance(parent.get("global_step"), int) and not isinstance(parent.get("global_step"), bool):
        brief["global_step"] = parent["global_step"]
    weights = parent.get("weights")
    if isinstance(weights, dict) and all(isinstance(weights.get(k), str) for k in ("algorithm", "digest")):
        brief["weights"] = {k: weights[k][:MAX_NAME] for k in ("algorithm", "digest")}
    return brief
