"""Learning-curve pictures: one run's loss and accuracy against epoch, and a sweep's runs side by side.

The histories are handed in already read (:func:`tunesmith.training.history.read_history` reads a run
folder); render draws, and never imports training, so anything shaped like :class:`RunHistory` will do.
The x axis is in epochs, fractional where a validation ran inside an epoch or a run stopped part-way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tunesmith.render.png import pyplot, save_png

DPI = 100


class Series(Protocol):
    """A figure against fractional epochs (``tunesmith.training.history.Curve``)."""

    @property
    def x(self) -> np.ndarray: ...

    @property
    def y(self) -> np.ndarray: ...


class RunHistory(Protocol):
    """What the curves need of a run's history (``tunesmith.training.history.History``)."""

    @property
    def metrics(self) -> tuple[str, ...]: ...

    @property
    def x(self) -> np.ndarray: ...

    @property
    def columns(self) -> Mapping[str, np.ndarray]: ...

    @property
    def val(self) -> Mapping[str, Series]: ...

    @property
    def train_steps(self) -> Series | None: ...

    def best(self) -> dict[str, float]: ...


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


def learning_curves_png(history: RunHistory, path: Path | str, title: str = "") -> Path:
    """Two panels: train against validation loss, and accuracy (or F1) against epoch."""
    plt = pyplot()
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
    return save_png(fig, path, DPI)


def sweep_png(
    rows: list[dict[str, Any]], histories: Mapping[str, RunHistory], path: Path | str, title: str = ""
) -> Path:
    """Left: every configuration's training loss (per step, smoothed: lines) and validation loss (dots)
    against epoch; right: best validation loss per configuration, best at the top. ``rows`` need ``name``
    and ``best_val_loss``; ``histories`` maps names to runs read here (trials run elsewhere have none)."""
    plt = pyplot()
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
    return save_png(fig, path, DPI)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
