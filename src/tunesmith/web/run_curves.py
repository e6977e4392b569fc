"""The runs page's learning curves, drawn as a few lines of inline SVG from ``metrics.csv``.

No plotting library: the curves must appear instantly, scale with the page and need nothing but the
browser. A run with one measurement gets that measurement in words, not a lone dot on empty axes.
"""

from __future__ import annotations

import math
from html import escape

Rows = list[dict[str, float | None]]
COLOURS = {"train": "#2b6cb0", "val": "#c05621"}


def epochs_text(epochs: float | None) -> str:
    """``0.61 epochs``, ``1 epoch``, ``12 epochs``: a run's length as people say it."""
    if epochs is None:
        return "no epoch recorded yet"
    number = f"{epochs:.2f}".rstrip("0").rstrip(".") if epochs < 1e6 else f"{epochs:.3g}"
    return f"{number} epoch" + ("" if number == "1" else "s")


# -- learning curves ---------------------------------------------------------------------------


def _ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Round numbers between ``lo`` and ``hi`` for an axis: steps of 1, 2, 2.5 or 5 times a power of ten."""
    unit = 10 ** math.floor(math.log10((hi - lo) / most))
    step = next(m * unit for m in (1, 2, 2.5, 5, 10) if (hi - lo) / (m * unit) <= most)
    return [k * step for k in range(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1)]


def curve_svg(rows: Rows, xs: list[float | None], metric: str, label: str, width: int = 420, height: int = 220) -> str:
    """A line chart of ``train_<metric>`` and ``val_<metric>`` against epochs; a single measurement is said in
    words, not drawn as a lone dot. Only numbers and escaped text reach the markup."""
    series = {
        split: [(x, r.get(f"{split}_{metric}"), r.get("step")) for x, r in zip(xs, rows, strict=True) if x is not None]
        for split in ("train", "val")
    }
    series = {s: [(x, y, step) for x, y, step in pts if y is not None] for s, pts in series.items()}
    points = [(x, y) for pts in series.values() for x, y, _ in pts]
    if not points:
        return f'<p class="muted">No {escape(label)} recorded yet.</p>'
    if len({x for x, _ in points}) == 1:
        return _one_measurement(series, label, width)
    left, right, top, bottom = 52, 12, 24, 34
    xs_, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs_), max(xs_)
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.08 or abs(y1) * 0.1 or 1.0
    y0, y1 = y0 - pad, y1 + pad

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

    parts = [
        f'<svg class="curve" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)} by epoch">',
        f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" class="plot"/>',
    ]
    for i in range(5):
        y = y0 + (y1 - y0) * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.3g}</text>')
    for x in _ticks(x0, x1):
        parts.append(f'<text x="{sx(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">{round(x, 6):g}</text>')
    parts.append(f'<text x="{(left + width) / 2:.0f}" y="{height - 4}" text-anchor="middle">epochs</text>')
    for n, (split, pts) in enumerate(series.items()):
        if not pts:
            continue
        colour = COLOURS[split]
        line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y, _ in pts)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"/>' for x, y, _ in pts]
        x = width - right - 90 + 48 * n  # the key, above the plot: a short line and the name
        parts.append(f'<line x1="{x}" x2="{x + 14}" y1="12" y2="12" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{x + 18}" y="16" fill="{colour}">{split}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _one_measurement(series: dict[str, list[tuple[float, float, float | None]]], label: str, width: int) -> str:
    """The figure of a curve with one point so far: where it was measured and its values, in words."""
    x, _, step = next(p for pts in series.values() for p in pts)
    where = f"at step {int(step)} ({epochs_text(x)})" if step is not None else f"after {epochs_text(x)}"
    said = f"One measurement so far, {where}"
    values = [f'<tspan fill="{COLOURS[s]}">{s} {pts[0][1]:.4g}</tspan>' for s, pts in series.items() if pts]
    return (
        f'<svg class="curve single" viewBox="0 0 {width} 110" role="img" aria-label="{escape(label)}: '
        f'{escape(said.lower())}"><rect x="1" y="1" width="{width - 2}" height="108" class="plot"/>'
        f'<text x="{width / 2:.0f}" y="36" text-anchor="middle" class="said">{escape(said)}</text>'
        f'<text x="{width / 2:.0f}" y="64" text-anchor="middle" class="said">{" · ".join(values)}</text>'
        f'<text x="{width / 2:.0f}" y="90" text-anchor="middle">a curve is drawn from the second one on</text></svg>'
    )
