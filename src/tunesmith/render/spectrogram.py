"""Spectrogram pictures: what a continuation or a reconstruction sounds like, at a glance.

Seed 001 judged its models by looking at the spectrogram of the seed followed by what was
generated, with the boundary in plain sight: a fade shows as darkness, a fixed point as flat
horizontal bands. Drawn with matplotlib's Agg backend into a PNG (no display needed), in the
style of :mod:`tunesmith.render.pianoroll`. The STFT is the audio measures' own
(:func:`tunesmith.stft.analysis_magnitude`: 1024-sample Hann window, hop 256, frames from sample 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tunesmith.render.png import save_png
from tunesmith.stft import ANALYSIS_HOP, analysis_magnitude

DYNAMIC_RANGE_DB = 80.0  # darkest colour: this far below the loudest bin


def _figure(width_seconds: float, panels: int = 1):  # noqa: ANN202 (matplotlib types stay lazy)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = min(14.0, max(5.0, 3.0 + 1.6 * width_seconds) + (panels - 1) * 2.0)
    return plt, *plt.subplots(1, panels, figsize=(width, 3.4), dpi=100, squeeze=False)


def _save(plt, fig, path: Path | str) -> Path:  # noqa: ANN001
    fig.tight_layout()
    return save_png(fig, path)


def spectrogram_png(
    wave: np.ndarray, sample_rate: int, path: Path | str, *, title: str = "", mark_seconds: float | None = None
) -> Path:
    """Draw the log-magnitude STFT of ``wave``; ``mark_seconds`` draws a line there (where a prime ends),
    with "prime" and "continuation" written either side of it."""
    magnitude = analysis_magnitude(wave)  # the view the audio measures (flux, stuck frames) take
    db = 20 * np.log10(np.maximum(magnitude, 1e-10))
    top = float(db.max()) if db.size else 0.0
    seconds = len(wave) / sample_rate
    plt, fig, axes = _figure(seconds)
    ax = axes[0, 0]
    extent = (0.0, len(magnitude) * ANALYSIS_HOP / sample_rate, 0.0, sample_rate / 2000)
    ax.imshow(db.T, origin="lower", aspect="auto", extent=extent, cmap="magma", vmin=top - DYNAMIC_RANGE_DB, vmax=top)
    if mark_seconds is not None:
        ax.axvline(mark_seconds, color="#63b3ed", linewidth=1.5)
        ymax = extent[3]
        labels = {"color": "white", "va": "top", "fontsize": 8, "clip_on": True, "in_layout": False}
        ax.text(mark_seconds, ymax * 0.97, "prime ", ha="right", **labels)
        ax.text(mark_seconds, ymax * 0.97, " continuation", ha="left", **labels)
    ax.set_xlim(0, max(extent[1], 1e-3))
    ax.set_xlabel("seconds")
    ax.set_ylabel("kHz")
    if title:
        ax.set_title(title, fontsize=9)
    return _save(plt, fig, path)


def mel_pair_png(
    original_db: np.ndarray,
    reconstructed_db: np.ndarray,
    frames_per_second: float,
    path: Path | str,
    *,
    titles: tuple[str, str] = ("original", "reconstruction"),
) -> Path:
    """Two log-mel spectrograms ``(frames, n_mels)`` in dB side by side, on one colour scale."""
    top = float(max(original_db.max(initial=-200.0), reconstructed_db.max(initial=-200.0)))
    seconds = max(len(original_db), len(reconstructed_db)) / frames_per_second
    plt, fig, axes = _figure(seconds, panels=2)
    for ax, db, name in zip(axes[0], (original_db, reconstructed_db), titles, strict=True):
        extent = (0.0, len(db) / frames_per_second, 0.0, float(db.shape[1]))
        ax.imshow(
            db.T, origin="lower", aspect="auto", extent=extent, cmap="magma", vmin=top - DYNAMIC_RANGE_DB, vmax=top
        )
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("seconds")
        ax.set_ylabel("mel band")
    return _save(plt, fig, path)
