"""``report.json``'s records: a group's figures and one record per piece, JSON-safe."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tunesmith.metrics.novelty import summarize as summarize_novelty
from tunesmith.metrics.pieces import Group


def json_safe(value: Any) -> Any:
    """JSON-safe: NaN → None, numpy scalars → Python, floats rounded for people."""
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _mean(values: list[float]) -> float | None:
    kept = [v for v in values if not math.isnan(v)]
    return round(sum(kept) / len(kept), 4) if kept else None


def profile_json(profile: Any) -> dict[str, Any] | None:
    """What a report says of the corpus profile its validity figures were judged by."""
    if profile is None:
        return {"generic": True, "min_bars": None, "min_notes": None, "real_valid_share": None}
    return {
        "generic": profile.generic,
        "min_bars": profile.min_bars,
        "min_notes": profile.min_notes,
        "meters": len(profile.meters),
        "keys": len(profile.keys),
        "real_valid_share": profile.baseline_share(),
    }


def group_json(
    group: Group, shown: list[str], names: list[str] | None, corpus_index: np.ndarray, shapes: list[str] | None = None
) -> dict[str, Any]:
    """A group's figures and one record per piece, as report.json holds them."""
    shapes = shapes or []

    def closest(index: int | None) -> str | None:
        if index is None or index < 0:
            return None
        return names[int(corpus_index[index])] if names else f"training piece {int(corpus_index[index])}"

    oas = [group.comparisons[f].oa for f in shown if f in group.comparisons]
    oas = [v for v in oas if not math.isnan(v)]
    pieces = []
    for i, piece in enumerate(group.pieces):
        record = {**piece.record, "features": {f: json_safe(group.values[f][i]) for f in [*shown, *shapes]}}
        if group.novelty:
            novelty = group.novelty[i].to_json()
            novelty["closest"] = closest(group.novelty[i].closest)
            novelty["closest_bars"] = closest(group.novelty[i].closest_bars)
            record["novelty"] = novelty
        pieces.append(record)
    return {
        "name": group.name,
        "temperature": group.temperature,
        "folder": group.folder,
        "pieces": len(group.pieces),
        "with_notes": sum(p.notes is not None for p in group.pieces),
        "seconds": round(group.seconds, 2),
        "validity": {k: json_safe(v) for k, v in group.validity.items()},
        "novelty": summarize_novelty(group.novelty) if group.novelty else None,
        "features": {f: group.comparisons[f].to_json() for f in shown if f in group.comparisons},
        "mean_oa": round(sum(oas) / len(oas), 4) if oas else None,
        "shape": {f: group.comparisons[f].to_json() for f in shapes if f in group.comparisons},
        "mean_shape_oa": _mean([group.comparisons[f].oa for f in shapes if f in group.comparisons]),
        "two_sample": group.two_sample,
        "samples": pieces,
    }
