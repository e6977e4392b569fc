"""Attention pictures: which earlier positions each position of a transformer reads.

One map per layer (heads averaged, axes labelled with the characters where they fit) and a grid of
every (layer, head). The weights are the model's own (``TransformerLM.attention_maps``), handed in.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from tunesmith.render.png import pyplot, save_png

DPI = 100


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
    plt = pyplot()
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
    return save_png(fig, path, DPI)


def attention_heads_png(weights: np.ndarray, path: Path | str, *, title: str) -> Path:
    """A grid of small maps, one per (layer, head): ``weights`` is (layers, heads, T, T)."""
    plt = pyplot()
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
    return save_png(fig, path, DPI)
