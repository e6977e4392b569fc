"""Neuron heat maps: what single units do along a piece, as coloured text or as a raster.

A text heat map lays the tune out in monospace cells and colours each character's cell by one unit's
activation there (seed 002's Figure 20); where there is no text (MIDI tokens, frames) the raster puts
units in rows and positions in columns. The activations are handed in; nothing here runs a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tunesmith.render.png import pyplot, save_png

DPI = 100
MAX_TEXT_CHARS = 4000  # characters drawn in a text heat map (the figure grows with the text)
TEXT_COLUMNS = 100  # longer lines wrap, as an editor would


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
    plt = pyplot()
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
    return save_png(fig, path, 90)  # a page of text is the largest picture here: keep it under ~100 KB


def activation_raster_png(
    values: np.ndarray, names: list[str], path: Path | str, *, title: str, axis: str = "token"
) -> Path:
    """Units (rows) against position (columns): the generic heat map where there is no text to lay out."""
    plt = pyplot()
    values = np.asarray(values, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(9.0, 1.2 + 0.22 * len(names)))
    limit = _limit(values)
    shown = ax.imshow(values.T, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(len(names)), names, fontsize=7, family="monospace")
    ax.set_xlabel(f"{axis} index")
    ax.set_title(title, fontsize=9)
    fig.colorbar(shown, ax=ax, fraction=0.03).set_label("activation", fontsize=8)
    fig.tight_layout()
    return save_png(fig, path, DPI)
