"""The runs page's content: learning curves drawn as inline SVG, the metrics table and the latest samples.

The curves are drawn here as a few SVG lines from ``metrics.csv`` rather than with a plotting
library: they must appear instantly, scale with the page and need nothing but the browser.
"""

from __future__ import annotations

import contextlib
import csv
import io
from html import escape
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.untrusted import finite, read_bytes, read_json

MAX_ROWS = 2000  # epochs read from metrics.csv
MAX_METRICS_BYTES = 4 * 1024 * 1024  # metrics.csv: 2,000 epochs of a dozen numbers is ~300 kB
MAX_SAMPLE_BYTES = 256 * 1024  # one sample tune read to show its first MAX_SAMPLE_CHARS
MAX_SAMPLES = 4  # tunes shown from the latest samples folder
MAX_SAMPLE_CHARS = 3000
COLOURS = {"train": "#2b6cb0", "val": "#c05621"}


def read_metrics(run: Path) -> list[dict[str, float | None]]:
    """Rows of ``metrics.csv`` as numbers (blank cells become None); an absent, damaged, special (a FIFO,
    ``/dev/zero``) or oversized file gives none."""
    rows = []
    try:
        text = read_bytes(run / "metrics.csv", max_bytes=MAX_METRICS_BYTES).decode("utf-8")
        for i, row in enumerate(csv.DictReader(io.StringIO(text, newline=""))):
            if i >= MAX_ROWS:
                break
            rows.append({k: _number(v) for k, v in row.items() if isinstance(k, str) and k})
    except (TunesmithError, csv.Error, UnicodeDecodeError):
        return []
    return rows


def _number(value: Any) -> float | None:
    """A finite number, or None: NaN and infinity would draw nothing sensible."""
    try:
        number = float(value) if isinstance(value, str) and value else None
    except ValueError:
        return None
    return number if number is not None and finite(number) else None


def curve_svg(rows: list[dict[str, float | None]], metric: str, label: str, width: int = 420, height: int = 220) -> str:
    """A line chart of ``train_<metric>`` and ``val_<metric>`` by epoch; only numbers reach the markup."""
    series = {
        split: [(r["epoch"], r.get(f"{split}_{metric}")) for r in rows if r.get("epoch") is not None]
        for split in ("train", "val")
    }
    points = [(x, y) for s in series.values() for x, y in s if y is not None]
    if not points:
        return f'<p class="muted">No {escape(label)} recorded yet.</p>'
    left, right, top, bottom = 52, 12, 24, 34
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
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
    for x in sorted({int(x) for x in xs})[:: max(1, len(set(xs)) // 8)]:
        parts.append(f'<text x="{sx(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">{x}</text>')
    parts.append(f'<text x="{(left + width) / 2:.0f}" y="{height - 4}" text-anchor="middle">epoch</text>')
    for n, (split, pts) in enumerate(series.items()):
        pts = [(x, y) for x, y in pts if y is not None]
        if not pts:
            continue
        colour = COLOURS[split]
        line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"/>' for x, y in pts]
        x = width - right - 90 + 48 * n  # the key, above the plot: a short line and the name
        parts.append(f'<line x1="{x}" x2="{x + 14}" y1="12" y2="12" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{x + 18}" y="16" fill="{colour}">{split}</text>')
    parts.append("</svg>")
    return "".join(parts)


def latest_samples(run: Path) -> dict[str, Any] | None:
    """The newest ``samples/epoch_NNN`` folder that has tunes: its epoch, and a few tunes with their verdicts."""
    from tunesmith.pipeline.train import epoch_sample_folders

    for folder in epoch_sample_folders(run)[:50]:
        files = sorted(folder.glob("[0-9]*.abc"))[:MAX_SAMPLES]
        if not files:
            continue
        verdicts: dict[Any, dict[str, Any]] = {}
        with contextlib.suppress(TunesmithError):
            listed = read_json(folder / "samples.json", max_bytes=MAX_METRICS_BYTES).get("tunes")
            verdicts = (
                {t["file"]: t for t in listed if isinstance(t, dict) and isinstance(t.get("file"), str)}
                if isinstance(listed, list)
                else {}
            )
        tunes = []
        for path in files:
            try:
                text = read_bytes(path, max_bytes=MAX_SAMPLE_BYTES).decode("utf-8", errors="replace")
            except TunesmithError:
                continue
            t = verdicts.get(path.name, {})
            tunes.append(
                {
                    "name": path.name,
                    "text": text[:MAX_SAMPLE_CHARS] + ("…" if len(text) > MAX_SAMPLE_CHARS else ""),
                    "valid": t.get("valid"),
                    "converts": t.get("converts_to_midi"),
                    "ended": t.get("ended_cleanly"),
                }
            )
        return {"epoch": int(folder.name[6:]), "tunes": tunes}
    return None


def run_view(entry: Any) -> dict[str, Any]:
    """Everything the runs page shows for one run (a ``catalog.ModelEntry`` of kind run)."""
    rows = read_metrics(entry.path)
    columns = ["epoch", "step", "train_loss", "train_bpc", "train_acc", "val_loss", "val_bpc", "val_acc", "lr"]
    columns = [c for c in columns if any(r.get(c) is not None for r in rows)] + (["seconds"] if rows else [])
    return {
        "entry": entry,
        "curves": [
            curve_svg(rows, "loss", "loss (nats per symbol)"),
            curve_svg(rows, "acc", "accuracy"),
        ],
        "columns": columns,
        "rows": [[_cell(r.get(c), c) for c in columns] for r in rows[-50:]],
        "epochs": len(rows),
        "samples": latest_samples(entry.path),
    }


def _cell(value: float | None, column: str) -> str:
    if value is None:
        return ""
    if column in ("epoch", "step"):
        return str(int(value))
    if column == "seconds":
        return f"{value:.1f}"
    return f"{value:.4g}" if column == "lr" else f"{value:.4f}"
