"""Piano-roll pictures of a score: time across, pitch up, one bar per note.

A musician sees range, density, voicing and rhythm at a glance, which a token dump hides.
Drawn with matplotlib's Agg backend into a PNG (no display needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.render.png import save_png
from tunesmith.representations.midi_tokens import score_notes

MAX_NOTES_DRAWN = 50_000


def pianoroll_png(score: Any, path: Path | str, *, title: str = "", mark_quarters: float | None = None) -> Path:
    """Draw ``score``'s notes to ``path`` (PNG); ``mark_quarters`` draws a line there (e.g. where a primer ends)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    notes = score_notes(score)
    n = min(len(notes), MAX_NOTES_DRAWN)
    end = float((notes.onset[:n] + notes.duration[:n]).max()) if n else 4.0
    fig, ax = plt.subplots(figsize=(min(14.0, 3.0 + end / 6.0), 3.2), dpi=100)
    if n:
        x0, x1 = notes.onset[:n], notes.onset[:n] + notes.duration[:n]
        y0, y1 = notes.pitch[:n] - 0.4, notes.pitch[:n] + 0.4
        boxes = np.stack(
            [np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1), np.stack([x0, y1], 1)], 1
        )
        ax.add_collection(PolyCollection(boxes, facecolors="#2b6cb0", edgecolors="#1a365d", linewidths=0.3))
        low, high = int(notes.pitch[:n].min()), int(notes.pitch[:n].max())
    else:
        low, high = 55, 79
    num, den = notes.meter
    bar = num * 4.0 / den
    for x in np.arange(0.0, end + bar, bar):
        ax.axvline(x, color="#cbd5e0", linewidth=0.5, zorder=0)
    for c in range(low - low % 12, high + 12, 12):  # every C
        ax.axhline(c - 0.5, color="#edf2f7", linewidth=0.5, zorder=0)
    if mark_quarters is not None:
        ax.axvline(mark_quarters, color="#c53030", linewidth=1.2)
    ax.set_xlim(0, end)
    ax.set_ylim(low - 2, high + 2)
    ax.set_xlabel("quarter notes")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_png(fig, path)
