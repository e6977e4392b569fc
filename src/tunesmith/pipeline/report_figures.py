"""The evaluation report's pictures: per shape feature, the density of each model's tunes against the training
draw, and a histogram of the longest run each tune copies from a training tune. matplotlib's Agg backend,
small files (under 100 KB each)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.metrics.distributions import bandwidth_floor, density, finite, scott_bandwidth
from tunesmith.render.png import pyplot as _pyplot
from tunesmith.render.png import save_png

DPI = 90


def _colors(groups: list[Any]) -> list[str]:
    """Cool to warm with temperature; black for the held-out reference."""
    plt = _pyplot()
    temps = [g.temperature for g in groups if g.temperature is not None]
    low, high = (min(temps), max(temps)) if temps else (0.0, 1.0)
    cmap = plt.get_cmap("plasma")
    out = []
    for g in groups:
        if g.temperature is None:
            out.append("#1a202c")
        else:
            out.append(cmap(0.1 + 0.75 * ((g.temperature - low) / (high - low) if high > low else 0.5)))
    return out


def feature_png(name: str, label: str, unit: str, groups: list[Any], training: Any, path: Path) -> Path:
    """Densities of one feature: the training draw shaded, each group a line (held-out dashed)."""
    plt = _pyplot()
    series = [(g, finite(g.values[name])) for g in groups]
    reference = finite(training.values[name])
    pooled = [x for _, x in series if x.size] + ([reference] if reference.size else [])
    fig, ax = plt.subplots(figsize=(4.4, 2.6), dpi=DPI)
    if pooled:
        everything = np.concatenate(pooled)
        floor = bandwidth_floor(everything, everything)  # each curve its own Scott bandwidth, at least this
        width = max(max(scott_bandwidth(x), floor) for x in pooled)
        grid = np.linspace(everything.min() - 3 * width, everything.max() + 3 * width, 400)
        if reference.size:
            d = density(reference, grid, max(scott_bandwidth(reference), floor))
            ax.fill_between(grid, d, color="#cbd5e0", label="training")
        for (g, x), color in zip(series, _colors([g for g, _ in series]), strict=True):
            if x.size:
                d = density(x, grid, max(scott_bandwidth(x), floor))
                ax.plot(
                    grid, d, color=color, linewidth=1.4, linestyle="--" if g.temperature is None else "-", label=g.name
                )
        ax.legend(fontsize=7, frameon=False)
    ax.set_xlabel(f"{label} ({unit})", fontsize=8)
    ax.set_ylabel("density", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(label, fontsize=9)
    fig.tight_layout()
    return save_png(fig, path, DPI)


def novelty_png(groups: list[Any], copy_notes: int, path: Path) -> Path:
    """Histogram of the longest run of notes each piece shares with a training piece, per group."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 2.8), dpi=DPI)
    runs = [np.array([n.longest_run_notes for n in g.novelty], dtype=float) for g in groups]
    top = max([copy_notes * 2, *[int(r.max()) + 1 for r in runs if r.size]])
    top = min(top, 4 * copy_notes)  # longer runs pile into the last bin
    bins = np.linspace(0, top, min(top, 48) + 1)
    for g, r, color in zip(groups, runs, _colors(groups), strict=True):
        if r.size:
            ax.hist(
                np.minimum(r, top - 1e-9),
                bins=bins,
                histtype="step",
                linewidth=1.4,
                color=color,
                linestyle="--" if g.temperature is None else "-",
                label=g.name,
            )
    ax.axvline(copy_notes, color="#c53030", linewidth=1.0)
    ax.text(copy_notes, ax.get_ylim()[1] * 0.95, " near copy", color="#c53030", fontsize=7, va="top")
    ax.set_xlabel(f"longest run of notes shared with a training piece (last bin: ≥ {top:g})", fontsize=8)
    ax.set_ylabel("pieces", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return save_png(fig, path, DPI)


# -- files -------------------------------------------------------------------------------------
