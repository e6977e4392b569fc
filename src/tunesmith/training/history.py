"""A run's training history: what ``metrics.csv`` (and TensorBoard, where it has more) says.

Training writes these files, so reading them back lives here too; the pictures in
:mod:`tunesmith.render.curves` and the sweep table take the parsed :class:`History` and never read a
run folder themselves. Epochs are fractional where a validation ran inside an epoch
(``train.val_every_batches``) or where the run stopped part-way through one.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.untrusted import finite


@dataclass
class Curve:
    """One figure against training time: ``y`` at fractional epochs ``x``."""

    x: np.ndarray  # epochs, fractional
    y: np.ndarray


@dataclass
class History:
    """What a run's ``metrics.csv`` (and TensorBoard, where it has more) says about its training."""

    run: Path
    metrics: tuple[str, ...]  # loss, bpc, acc for token runs; loss, precision, recall, f1, onset_f1 for frames
    x: np.ndarray  # the epoch position of each metrics.csv row (the last may be a cut-short epoch)
    steps: np.ndarray
    columns: dict[str, np.ndarray]  # train_loss, val_acc… per row (nan where blank)
    val: dict[str, Curve]  # every validation: loss, acc… (TensorBoard's points when it has more than the rows)
    train_steps: Curve | None  # the per-step training loss TensorBoard kept (every 10 steps)
    seconds: float  # training time the rows cover, summed over resumes
    steps_per_epoch: float

    @property
    def epochs(self) -> float:
        return float(self.x[-1])

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / self.epochs if self.epochs > 0 else float("nan")

    def best(self) -> dict[str, float]:
        """The lowest validation loss, where it was reached, and the other validation figures there."""
        loss = self.val.get("loss")
        if loss is None or not np.isfinite(loss.y).any():
            return {}
        i = int(np.nanargmin(loss.y))
        out = {"val_loss": float(loss.y[i]), "epoch": float(loss.x[i])}
        for name, curve in self.val.items():
            if name != "loss" and curve.x.size == loss.x.size:
                out[f"val_{name}"] = float(curve.y[i])
        return out


def read_history(run: Path | str) -> History:
    """Read ``run/metrics.csv`` (one row per epoch) and the validations TensorBoard logged in between."""
    run = Path(run)
    path = run / "metrics.csv"
    if not path.is_file():
        raise TunesmithError(f"{path} does not exist: train the run first (tunesmith train --run {run})")
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            fields = reader.fieldnames or []
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise TunesmithError(f"cannot read {path}: {exc}") from None
    if "step" not in fields or "epoch" not in fields:
        raise TunesmithError(f"{path} is not a tunesmith metrics file (no epoch and step columns)")
    if not rows:
        raise TunesmithError(f"{path} has no rows yet: the run has not finished an epoch; train it longer first")
    metrics = tuple(f[6:] for f in fields if f.startswith("train_"))
    try:
        steps = np.array([int(r["step"]) for r in rows], dtype=np.int64)
        epochs = np.array([int(r["epoch"]) for r in rows], dtype=np.int64)
    except (TypeError, ValueError):
        raise TunesmithError(f"{path} has a row with a malformed epoch or step") from None
    columns = {name: _floats(rows, name) for name in fields if name.startswith(("train_", "val_"))}
    status = _status(run)
    per_epoch = steps_per_epoch(steps.tolist(), status) or float(max(steps[-1], 1))
    x = np.minimum(epochs + 1.0, steps / per_epoch)  # whole epochs, except a last one cut short
    seconds = _seconds(_floats(rows, "seconds"))
    val = _tensorboard_validations(run, per_epoch, metrics)
    if not val or val["loss"].x.size <= len(rows):
        val = {m: Curve(x, columns[f"val_{m}"]) for m in metrics if f"val_{m}" in columns}
        val = {m: c for m, c in val.items() if np.isfinite(c.y).any()}
    train_steps = _tensorboard_curve(run, "loss", per_epoch)
    return History(run, metrics, x, steps, columns, val, train_steps, seconds, per_epoch)


def _floats(rows: list[dict[str, str]], name: str) -> np.ndarray:
    out = []
    for r in rows:
        try:
            out.append(float(r.get(name) or "nan"))
        except ValueError:
            out.append(float("nan"))
    return np.array(out, dtype=np.float64)


def _status(run: Path) -> dict[str, Any]:
    try:
        return json.loads((run / "status.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def steps_per_epoch(steps: Sequence[int], status: dict[str, Any]) -> float | None:
    """Optimizer steps in a whole epoch, from ``metrics.csv``'s step column: the longest gap between rows
    (every row but the last is a whole epoch), or, with a single row, what status.json's fractional epoch
    count implies; None when neither says. The runs page counts epochs with it too."""
    if len(steps) >= 2:
        return float(max(max(b - a for a, b in zip([0, *steps], steps, strict=False)), 1))
    epochs = status.get("epochs")
    if steps and finite(epochs) and epochs > 0 and status.get("global_step") == steps[-1]:
        return max(float(steps[-1]) / float(epochs), 1.0)
    return None


def _seconds(column: np.ndarray) -> float:
    """Total training time: ``seconds`` counts from each (re)start, so a drop marks a resume."""
    total, previous = 0.0, 0.0
    for value in column:
        if not np.isfinite(value):
            continue
        total += value - previous if value >= previous else value
        previous = value
    return total


def _tensorboard_scalars(run: Path, tags: tuple[str, ...]) -> dict[str, list[tuple[int, float]]]:
    """(step, value) pairs per tag from the run's TensorBoard files; a resumed run's repeated steps keep
    their latest value."""
    folder = run / "tensorboard"
    if not any(folder.glob("events.out.tfevents.*")):
        return {}
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        acc.Reload()
        known = set(acc.Tags().get("scalars", []))
        out = {}
        for tag in tags:
            if tag in known:
                latest: dict[int, tuple[float, float]] = {}
                for e in acc.Scalars(tag):
                    if e.step not in latest or e.wall_time >= latest[e.step][0]:
                        latest[e.step] = (e.wall_time, e.value)
                out[tag] = sorted((s, v) for s, (_, v) in latest.items())
        return out
    except Exception:  # a damaged or foreign event file must not stop the plots: metrics.csv is enough
        return {}


def _tensorboard_curve(run: Path, tag: str, per_epoch: float) -> Curve | None:
    points = _tensorboard_scalars(run, (tag,)).get(tag)
    if not points:
        return None
    steps, values = np.array(points, dtype=np.float64).T
    return Curve((steps + 1) / per_epoch, values)  # Lightning logs a step's value at global_step - 1


def _tensorboard_validations(run: Path, per_epoch: float, metrics: tuple[str, ...]) -> dict[str, Curve]:
    found = _tensorboard_scalars(run, tuple(f"val_{m}" for m in metrics))
    if "val_loss" not in found:
        return {}
    steps = [s for s, _ in found["val_loss"]]
    out = {}
    for m in metrics:
        by_step = dict(found.get(f"val_{m}", []))
        if all(s in by_step for s in steps):
            out[m] = Curve((np.array(steps, dtype=np.float64) + 1) / per_epoch, np.array([by_step[s] for s in steps]))
    return out
