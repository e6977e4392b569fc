"""Pictures of training and of what a model learned: learning curves, sweep summaries, neuron heat
maps, attention maps, activation rasters and spectrograms.

Everything is drawn with matplotlib's Agg backend into small PNGs (a few tens of KB), so plots can be
made on a server and kept beside a run. This module reads a run's ``metrics.csv`` and TensorBoard
scalars but never imports models or training: the arrays it draws are handed to it.

The x axis of learning curves is in epochs, fractional where a validation ran inside an epoch
(``train.val_every_batches``) or where the run stopped part-way through one.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.render.png import pyplot, save_png

DPI = 100
MAX_TEXT_CHARS = 4000  # characters drawn in a text heat map (the figure grows with the text)
TEXT_COLUMNS = 100  # longer lines wrap, as an editor would


_pyplot = pyplot


def _save(fig: Any, path: Path | str, dpi: int = DPI) -> Path:
    return save_png(fig, path, dpi)


@dataclass
class Curve:
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
    per_epoch = _steps_per_epoch(steps, status)
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


def _steps_per_epoch(steps: np.ndarray, status: dict[str, Any]) -> float:
    """Optimizer steps in a whole epoch: the longest gap between rows (every row but the last is a whole
    epoch), or, with a single row, what status.json's fractional epoch count implies."""
    gaps = np.diff(np.concatenate([[0], steps]))
    if steps.size >= 2:
        return float(max(gaps.max(), 1))
    epochs = status.get("epochs")
    if isinstance(epochs, (int, float)) and epochs > 0 and status.get("global_step") == int(steps[-1]):
        return max(float(steps[-1]) / float(epochs), 1.0)
    return float(max(steps[-1], 1))


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


def _second_metric(metrics: tuple[str, ...]) -> str | None:
    """The figure drawn beside the loss: accuracy for token runs, F1 for piano rolls."""
    return next((m for m in ("acc", "f1") if m in metrics), None)


def _mid_epochs(x: np.ndarray) -> np.ndarray:
    """An epoch's mean training figure belongs half-way through it, not at its end (where it would look
    worse than the validation made with the end-of-epoch weights)."""
    return (np.concatenate([[0.0], x[:-1]]) + x) / 2


def _smooth(y: np.ndarray, weight: float = 0.8) -> np.ndarray:
    out, last = np.empty_like(y), y[0]
    for i, v in enumerate(y):
        last = weight * last + (1 - weight) * v
        out[i] = last
    return out


def learning_curves_png(history: History, path: Path | str, title: str = "") -> Path:
    """Two panels: train against validation loss, and accuracy (or F1) against epoch."""
    plt = _pyplot()
    second = _second_metric(history.metrics)
    fig, axes = plt.subplots(1, 2 if second else 1, figsize=(9.0 if second else 5.0, 3.3), squeeze=False)
    ax = axes[0, 0]
    if history.train_steps is not None and history.train_steps.x.size > 2:
        steps = history.train_steps
        ax.plot(steps.x, _smooth(steps.y), color="#90cdf4", linewidth=0.8, label="train (per step, smoothed)")
    mid = _mid_epochs(history.x)
    train = history.columns.get("train_loss")
    if train is not None:
        ax.plot(mid, train, "o-", color="#2b6cb0", markersize=3, linewidth=1.2, label="train (epoch mean)")
    if "loss" in history.val:
        v = history.val["loss"]
        ax.plot(v.x, v.y, "s-", color="#c05621", markersize=3, linewidth=1.2, label="validation")
        best = history.best()
        if best:
            ax.axhline(best["val_loss"], color="#c05621", linewidth=0.5, linestyle=":")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (nats per step)")
    ax.set_title("loss", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    ax.grid(alpha=0.25)
    if second:
        ax = axes[0, 1]
        column = history.columns.get(f"train_{second}")
        if column is not None:
            ax.plot(mid, column, "o-", color="#2b6cb0", markersize=3, linewidth=1.2, label="train (epoch mean)")
        if second in history.val:
            v = history.val[second]
            ax.plot(v.x, v.y, "s-", color="#c05621", markersize=3, linewidth=1.2, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel({"acc": "next-symbol accuracy", "f1": "frame F1"}[second])
        ax.set_title({"acc": "accuracy", "f1": "F1"}[second], fontsize=10)
        ax.legend(fontsize=7, frameon=False)
        ax.grid(alpha=0.25)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def sweep_png(rows: list[dict[str, Any]], histories: dict[str, History], path: Path | str, title: str = "") -> Path:
    """Left: every configuration's training loss (per step, smoothed: lines) and validation loss (dots)
    against epoch; right: best validation loss per configuration, best at the top. ``rows`` need ``name``
    and ``best_val_loss``; ``histories`` maps names to runs read here (trials run elsewhere have none)."""
    plt = _pyplot()
    done = sorted((r for r in rows if _finite(r.get("best_val_loss"))), key=lambda r: r["best_val_loss"])
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(10.0, max(3.2, 1.2 + 0.22 * len(done))), gridspec_kw={"width_ratios": [1.1, 1]}
    )
    cmap = plt.get_cmap("viridis")
    for rank, row in enumerate(done):
        history = histories.get(row["name"])
        if history is None:
            continue
        colour, width = cmap(rank / max(1, len(done) - 1) * 0.9), 1.6 if rank == 0 else 0.9
        steps = history.train_steps
        if steps is not None and steps.x.size > 2:
            left.plot(steps.x, _smooth(steps.y), "-", color=colour, linewidth=width, alpha=0.8)
        if "loss" in history.val:
            val = history.val["loss"]
            left.plot(val.x, val.y, "o--", color=colour, linewidth=width * 0.7, markersize=4)
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    left.set_title("training (lines, smoothed) and validation loss (dots);\ncolours as on the right", fontsize=9)
    left.grid(alpha=0.25)
    if done:
        names = [r["name"] for r in done][::-1]
        values = [r["best_val_loss"] for r in done][::-1]
        colours = [cmap(i / max(1, len(done) - 1) * 0.9) for i in range(len(done))][::-1]
        right.barh(range(len(done)), values, color=colours)
        right.set_yticks(range(len(done)))
        right.set_yticklabels(names, fontsize=7)
        low, high = min(values), max(values)
        pad = max((high - low) * 0.15, 0.01 * max(abs(high), 1e-9))
        right.set_xlim(low - pad * 2, high + pad)
        for i, v in enumerate(values):
            right.text(v, i, f" {v:.4f}", va="center", fontsize=7)
    right.set_xlabel("best validation loss")
    right.set_title("best validation loss per configuration", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


@dataclass
class TextLayout:
    """Where each character of a text sits in a monospace grid: its line and column."""

    rows: np.ndarray
    cols: np.ndarray
    shape: tuple[int, int]


def layout_text(text: str, columns: int = TEXT_COLUMNS) -> TextLayout:
    """Lay ``text`` out line by line (a newline keeps its cell at the end of its line), wrapping long lines."""
    rows, cols = np.zeros(len(text), dtype=np.int64), np.zeros(len(text), dtype=np.int64)
    r = c = 0
    for i, ch in enumerate(text):
        if c >= columns:
            r, c = r + 1, 0
        rows[i], cols[i] = r, c
        if ch == "\n":
            r, c = r + 1, 0
        else:
            c += 1
    width = int(cols.max()) + 1 if len(text) else 1
    return TextLayout(rows, cols, (int(rows.max()) + 1 if len(text) else 1, width))


def _limit(values: np.ndarray) -> float:
    """A symmetric colour range around zero that a few outliers cannot flatten."""
    finite = np.abs(values[np.isfinite(values)])
    return float(max(np.percentile(finite, 99) if finite.size else 1.0, 1e-6))


def text_heatmap_png(text: str, values: np.ndarray, path: Path | str, *, title: str, label: str = "activation") -> Path:
    """The text in monospace cells, each cell's background coloured by ``values`` (one per character) on
    a diverging colormap centred at zero (blue positive, red negative, as in seed 002's Figure 20)."""
    plt = _pyplot()
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(text),):
        raise ValueError(f"need one value per character: {values.shape} for {len(text)} characters")
    text, values = text[:MAX_TEXT_CHARS], values[:MAX_TEXT_CHARS]
    cell_w, cell_h = 0.074, 0.17  # inches: a monospace character at 7.5 pt is about 0.065 in wide
    grid = layout_text(text)
    n_rows, n_cols = grid.shape[0], max(grid.shape[1], 68)  # a short text keeps its cell size
    image = np.full((n_rows, n_cols), np.nan)
    image[grid.rows, grid.cols] = values
    text_w, text_h = n_cols * cell_w, n_rows * cell_h
    width, height = text_w + 1.1, text_h + 0.65  # room for the colour bar and a two-line title
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0.1 / width, 0.1 / height, text_w / width, text_h / height))
    limit = _limit(values)
    cmap = plt.get_cmap("RdBu").with_extremes(bad="white")
    shown = ax.imshow(image, cmap=cmap, vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    for ch, r, c, v in zip(text, grid.rows, grid.cols, values, strict=True):
        if ch not in "\n ":
            shown_ch = ch if ch.isprintable() else "·"  # generated text can hold control characters
            ink = "white" if abs(v) > 0.6 * limit else "#1a202c"  # readable on the darkest cells
            ax.text(c, r, shown_ch, ha="center", va="center", fontsize=7.5, family="monospace", color=ink)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, fontsize=9, loc="left")
    bar = fig.add_axes(((text_w + 0.25) / width, 0.1 / height, 0.12 / width, text_h / height))
    fig.colorbar(shown, cax=bar).set_label(label, fontsize=8)
    bar.tick_params(labelsize=7)
    return _save(fig, path, dpi=90)  # a page of text is the largest picture here: keep it under ~100 KB


def _tick_labels(labels: list[str] | None, n: int, most: int = 64) -> tuple[list[int], list[str]]:
    """Every position's label when they fit, else every k-th position's index."""
    if labels is not None and n <= most:
        return list(range(n)), [{"\n": "⏎", " ": "␣"}.get(s, s) for s in labels[:n]]
    step = max(1, math.ceil(n / 16))
    ticks = list(range(0, n, step))
    return ticks, [str(t) for t in ticks]


def attention_png(
    weights: np.ndarray, path: Path | str, *, labels: list[str] | None, title: str, axis: str = "character"
) -> Path:
    """One attention map (query rows attend to key columns), heads averaged; axes labelled with the
    characters where they fit."""
    plt = _pyplot()
    n = weights.shape[-1]
    size = 3.0 + min(n, 160) * 0.045
    fig, ax = plt.subplots(figsize=(size + 0.8, size))
    shown = ax.imshow(weights, cmap="magma", vmin=0.0, vmax=max(float(np.quantile(weights, 0.995)), 1e-6))
    ticks, names = _tick_labels(labels, n)
    mono = labels is not None and n <= 64
    ax.set_xticks(ticks, names, fontsize=6 if mono else 7, family="monospace" if mono else None)
    ax.set_yticks(ticks, names, fontsize=6 if mono else 7, family="monospace" if mono else None)
    ax.set_xlabel(f"attended {axis} (key)")
    ax.set_ylabel(f"reading {axis} (query)")
    ax.set_title(title, fontsize=9)
    fig.colorbar(shown, ax=ax, fraction=0.04).set_label("attention weight", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def attention_heads_png(weights: np.ndarray, path: Path | str, *, title: str) -> Path:
    """A grid of small maps, one per (layer, head): ``weights`` is (layers, heads, T, T)."""
    plt = _pyplot()
    layers, heads = weights.shape[:2]
    fig, axes = plt.subplots(layers, heads, figsize=(1.15 * heads + 0.6, 1.15 * layers + 0.6), squeeze=False)
    for layer in range(layers):
        for head in range(heads):
            ax = axes[layer, head]
            w = weights[layer, head]
            ax.imshow(w, cmap="magma", vmin=0.0, vmax=max(float(np.quantile(w, 0.995)), 1e-6))
            ax.set_xticks([])
            ax.set_yticks([])
            if layer == 0:
                ax.set_title(f"head {head}", fontsize=7)
            if head == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def activation_raster_png(
    values: np.ndarray, names: list[str], path: Path | str, *, title: str, axis: str = "token"
) -> Path:
    """Units (rows) against position (columns): the generic heat map where there is no text to lay out."""
    plt = _pyplot()
    values = np.asarray(values, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(9.0, 1.2 + 0.22 * len(names)))
    limit = _limit(values)
    shown = ax.imshow(values.T, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(len(names)), names, fontsize=7, family="monospace")
    ax.set_xlabel(f"{axis} index")
    ax.set_title(title, fontsize=9)
    fig.colorbar(shown, ax=ax, fraction=0.03).set_label("activation", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def spectrogram_png(wav: Path | str, path: Path | str, *, title: str = "", max_seconds: float = 30.0) -> Path:
    """The spectrogram of (the first ``max_seconds`` of) an audio file, drawn as ``tunesmith sample`` draws
    continuations (:func:`tunesmith.render.spectrogram.spectrogram_png`), so the two pictures compare."""
    import soundfile as sf

    from tunesmith.render.spectrogram import spectrogram_png as draw

    try:
        with sf.SoundFile(str(wav)) as f:
            rate = f.samplerate
            y = f.read(frames=int(max_seconds * rate), dtype="float32", always_2d=True).mean(axis=1)
    except (RuntimeError, OSError) as exc:  # soundfile's LibsndfileError is a RuntimeError
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TunesmithError(f"cannot read {wav}: {reason}") from None
    if y.size == 0:
        raise TunesmithError(f"{wav} holds no audio")
    return draw(y, rate, path, title=title or Path(wav).name)
