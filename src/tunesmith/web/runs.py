"""The runs page's content: how far each run trained, its learning curves as inline SVG, the metrics table,
its latest evaluation and its latest samples.

The curves are drawn by :mod:`tunesmith.web.run_curves`. A run folder is a stranger's
(copied, half-written, damaged): every file goes through the bounded readers of :mod:`tunesmith.untrusted`,
and one that cannot be read is named on the page ("could not read …") rather than failing it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shlex
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.training.history import steps_per_epoch
from tunesmith.untrusted import finite, read_bytes, read_json
from tunesmith.web.run_curves import Rows, curve_svg, epochs_text

MAX_ROWS = 2000  # epochs read from metrics.csv
MAX_METRICS_BYTES = 4 * 1024 * 1024  # metrics.csv: 2,000 epochs of a dozen numbers is ~300 kB
MAX_SMALL_JSON_BYTES = 1024 * 1024  # status.json and data.json: a few kilobytes (as bundle.MAX_CONFIG_BYTES)
MAX_REPORT_BYTES = 32 * 1024 * 1024  # report.json: one record per tune; 200 tunes at 3 temperatures is ~2 MB
MAX_REPORT_FOLDERS = 200  # entries of a run folder looked at for an evaluation
MAX_COLUMNS = 10  # groups of an evaluation shown (temperatures, then the real held-out tunes)
MAX_SHAPES = 30  # shape features shown
MAX_SAMPLE_BYTES = 256 * 1024  # one sample tune read to show its first MAX_SAMPLE_CHARS
MAX_SAMPLES = 4  # tunes shown from the latest samples folder
MAX_SAMPLE_CHARS = 3000
NOT_REPORTS = {"checkpoints", "samples", "tensorboard", "plots"}  # run subfolders evaluate never writes to
EVALUATION_FOLDER = "evaluation"  # where the page's how-to line asks evaluate to write


# -- reading the run ---------------------------------------------------------------------------


def _unreadable(name: str, exc: TunesmithError, path: Path) -> str:
    """``could not read NAME: why``, with the server's path left out (the name says which file)."""
    why = " ".join(str(exc).replace(str(path), "it").split())[:200]
    return f"could not read {name}: {why}"


def read_metrics(run: Path) -> tuple[Rows, str | None]:
    """Rows of ``metrics.csv`` as numbers (blank cells become None), and what was wrong with the file if it
    could not be read. No file is no problem: a run writes its first row when its first epoch ends."""
    path = run / "metrics.csv"
    if not os.path.lexists(path):
        return [], None
    rows = []
    try:
        text = read_bytes(path, max_bytes=MAX_METRICS_BYTES).decode("utf-8")
        for i, row in enumerate(csv.DictReader(io.StringIO(text, newline=""))):
            if i >= MAX_ROWS:
                break
            rows.append({k: _number(v) for k, v in row.items() if isinstance(k, str) and k})
    except TunesmithError as exc:
        return [], _unreadable("metrics.csv", exc, path)
    except (csv.Error, UnicodeDecodeError):
        return [], "could not read metrics.csv: it is not a CSV text file"
    return rows, None


def read_small_json(run: Path, name: str) -> tuple[dict[str, Any], str | None]:
    """A run's ``status.json`` (what training wrote when it last stopped) or ``data.json``, else {} and what was
    wrong with it (nothing, when it is absent)."""
    if not os.path.lexists(run / name):
        return {}, None
    try:
        return read_json(run / name, max_bytes=MAX_SMALL_JSON_BYTES), None
    except TunesmithError as exc:
        return {}, _unreadable(name, exc, run / name)


def _number(value: Any) -> float | None:
    """A finite number, or None: NaN and infinity would draw nothing sensible."""
    try:
        number = float(value) if isinstance(value, str) and value else None
    except ValueError:
        return None
    return number if number is not None and finite(number) else None


def _count(value: Any) -> int | None:
    """A whole, non-negative number from a file (a step), or None."""
    return int(value) if finite(value) and value >= 0 and float(value).is_integer() else None


def positions(rows: Rows, status: dict[str, Any]) -> list[float | None]:
    """Where each ``metrics.csv`` row lies in training, in epochs: whole epochs, except a last epoch cut short
    (a step budget, a time budget), as :mod:`tunesmith.training.history` counts them."""
    per_epoch = steps_per_epoch([s for s in (_count(r.get("step")) for r in rows) if s is not None], status)
    out: list[float | None] = []
    for r in rows:
        epoch, step = _count(r.get("epoch")), _count(r.get("step"))
        whole = None if epoch is None else epoch + 1.0
        out.append(min(whole, step / per_epoch) if whole is not None and step is not None and per_epoch else whole)
    return out


def trained(rows: Rows, xs: list[float | None], status: dict[str, Any]) -> tuple[float | None, int | None]:
    """Epochs (fractional) and optimizer steps the run has trained: the trainer's own count in ``status.json``
    unless ``metrics.csv`` has got further since (a resumed run still training)."""
    last_step = next((_count(r.get("step")) for r in reversed(rows) if _count(r.get("step")) is not None), None)
    epochs, step = status.get("epochs"), _count(status.get("global_step"))
    if finite(epochs) and epochs >= 0 and step is not None and (last_step is None or step >= last_step):
        return float(epochs), step
    last_x = next((x for x in reversed(xs) if x is not None), None)
    return last_x, last_step if last_x is not None else None


# -- the latest evaluation ---------------------------------------------------------------------

_summaries: dict[tuple[str, int, int], dict[str, Any]] = {}  # report.json (path, mtime, size) → what is shown
_summaries_lock = threading.Lock()


def latest_report(run: Path) -> Path | None:
    """The newest ``report.json`` in the run folder or one folder inside it (``evaluate --out RUN/evaluation``);
    only a bounded number of entries is looked at, and linked folders are not followed."""
    found = [run / "report.json"]
    with contextlib.suppress(OSError), os.scandir(run) as entries:
        for i, entry in enumerate(entries):
            if i >= MAX_REPORT_FOLDERS:
                break
            with contextlib.suppress(OSError):
                if entry.name not in NOT_REPORTS and entry.is_dir(follow_symlinks=False):
                    found.append(Path(entry.path) / "report.json")
    stamped = []
    for path in found:
        with contextlib.suppress(OSError):
            stamped.append((path.stat().st_mtime, str(path), path))
    return max(stamped)[2] if stamped else None


def _at(value: Any, *keys: str) -> Any:
    """``value[k1][k2]…`` where each level is an object, else None: a report's fields may be missing."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _fixed(value: Any) -> str:
    return f"{value:.2f}" if finite(value) else "–"


def _pct(value: Any) -> str:
    return f"{100 * value:.0f}%" if finite(value) else "–"


def _told_apart(test: Any) -> str:
    """A two-sample accuracy with its 95% interval, as ``report.md`` writes it."""
    acc, low, high = _at(test, "accuracy"), _at(test, "low"), _at(test, "high")
    if not finite(acc):
        return "–"
    return f"{acc:.2f} [{low:.2f}, {high:.2f}]" if finite(low) and finite(high) else f"{acc:.2f}"


def _column(group: dict[str, Any]) -> str:
    t = group.get("temperature")
    if finite(t):
        return f"T = {t:g}"
    return "real held-out tunes" if group.get("name") == "held-out" else str(group.get("name"))[:24]


def evaluation_table(report: dict[str, Any]) -> dict[str, Any]:
    """Columns (each temperature's tunes, then the real held-out ones) and rows (each shape feature's overlap,
    the told-apart accuracy, the valid share) of a ``report.json`` as ``tunesmith evaluate`` writes it."""
    groups = report.get("groups")
    if not isinstance(groups, list):
        raise ValueError("it holds no list of groups: not a report of 'tunesmith evaluate'")
    groups = [g for g in groups if isinstance(g, dict)][:MAX_COLUMNS]
    shapes = report.get("shape_features")
    shapes = shapes if isinstance(shapes, dict) else {}
    rows = []
    for key, meta in list(shapes.items())[:MAX_SHAPES]:
        label = _at(meta, "label")
        label = (label if isinstance(label, str) else str(key))[:60]
        rows.append({"label": label, "kind": "shape", "cells": [_fixed(_at(g, "shape", key, "oa")) for g in groups]})
    if rows:
        rows.append(
            {"label": "shape, all features", "kind": "mean", "cells": [_fixed(g.get("mean_shape_oa")) for g in groups]}
        )
    elif any(finite(g.get("mean_oa")) for g in groups):  # pieces without a tune's shape (MIDI): note statistics
        rows.append({"label": "note statistics", "kind": "mean", "cells": [_fixed(g.get("mean_oa")) for g in groups]})
    told = [_told_apart(g.get("two_sample")) for g in groups]
    if rows or any(cell != "–" for cell in told):  # ABC tunes get the test (from 10 tunes a side)
        rows.append({"label": "told apart from real tunes", "kind": "told", "cells": told})
    valid = [_pct(_at(g, "validity", "valid_share")) for g in groups]
    if any(cell != "–" for cell in valid):
        rows.append({"label": "valid tunes", "kind": "valid", "cells": valid})
    why = report.get("note_statistics")
    return {
        "columns": [_column(g) for g in groups],
        "rows": rows,
        "without": str(why)[:200] if why and not rows else None,
        "checkpoint": str(report.get("checkpoint") or "unknown checkpoint")[:40],
        "num": _count(_at(report, "settings", "num")),
    }


def _summary(path: Path, run: Path) -> dict[str, Any]:
    """The evaluation in ``path`` as the page shows it, or ``problem``; cached while the file is unchanged."""
    shown = str(path.relative_to(run))
    try:
        info = path.stat()
    except OSError:
        return {"problem": f"could not read {shown}: it is gone"}
    key = (str(path), info.st_mtime_ns, info.st_size)
    with _summaries_lock:
        if key in _summaries:
            return _summaries[key]
    try:
        summary = evaluation_table(read_json(path, max_bytes=MAX_REPORT_BYTES))
    except TunesmithError as exc:
        summary = {"problem": _unreadable(shown, exc, path)}
    except (ValueError, TypeError, AttributeError) as exc:
        summary = {"problem": f"could not read {shown}: {' '.join(str(exc).split())[:200]}"}
    summary["file"] = shown
    summary["when"] = datetime.fromtimestamp(info.st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    summary["mtime"] = info.st_mtime
    with _summaries_lock:
        if len(_summaries) >= 64:
            _summaries.clear()
        _summaries[key] = summary
    return summary


def evaluation(run: Path, name: str) -> dict[str, Any]:
    """The run's latest evaluation (``found``), why it could not be read (``problem``), and the command that
    makes one (``command``). ``name`` is the run as the page names it; server paths are never shown."""
    folder = f"{name}/{EVALUATION_FOLDER}"
    command = f"tunesmith evaluate {shlex.quote(name)} --out {shlex.quote(folder)}"
    recorded = read_small_json(run, "data.json")[0].get("data")
    needs_data = not (isinstance(recorded, str) and Path(recorded).is_dir())  # its data is not on this machine
    command += " --data DATA" if needs_data else ""
    path = latest_report(run)
    view = {"command": command, "needs_data": needs_data, "found": None, "problem": None, "stale": False}
    if path is None:
        return view
    summary = _summary(path, run)
    if summary.get("problem"):
        view["problem"] = summary["problem"]
        return view
    view["found"] = summary
    ckpt = summary["checkpoint"]
    if ckpt == Path(ckpt).name:  # a plain file name: is the checkpoint newer than the evaluation?
        with contextlib.suppress(OSError, ValueError):
            view["stale"] = (run / "checkpoints" / ckpt).stat().st_mtime > summary["mtime"]
    return view


# -- samples and the whole view ----------------------------------------------------------------


def latest_samples(run: Path) -> dict[str, Any] | None:
    """The newest ``samples/epoch_NNN`` folder that has tunes: its epoch, and a few tunes with their verdicts."""
    from tunesmith.pipeline.train import epoch_sample_folders

    for folder in epoch_sample_folders(run)[:50]:
        files = sorted(folder.glob("[0-9]*.abc"))[:MAX_SAMPLES]
        if not files:
            continue
        listed: Any = None
        with contextlib.suppress(TunesmithError):
            listed = read_json(folder / "samples.json", max_bytes=MAX_METRICS_BYTES).get("tunes")
        listed = listed if isinstance(listed, list) else []
        verdicts = {t["file"]: t for t in listed if isinstance(t, dict) and isinstance(t.get("file"), str)}
        tunes = []
        for path in files:
            try:
                text = read_bytes(path, max_bytes=MAX_SAMPLE_BYTES).decode("utf-8", errors="replace")
            except TunesmithError:
                continue
            more = "…" if len(text) > MAX_SAMPLE_CHARS else ""
            tunes.append(
                {"name": path.name, "text": text[:MAX_SAMPLE_CHARS] + more, "valid": _at(verdicts, path.name, "valid")}
            )
        return {"epoch": int(folder.name[6:]), "tunes": tunes}
    return None


def run_view(entry: Any) -> dict[str, Any]:
    """Everything the runs page shows for one run (a ``catalog.ModelEntry`` of kind run)."""
    rows, metrics_problem = read_metrics(entry.path)
    status, status_problem = read_small_json(entry.path, "status.json")
    xs = positions(rows, status)
    epochs, steps = trained(rows, xs, status)
    columns = ["step", "train_loss", "train_bpc", "train_acc", "val_loss", "val_bpc", "val_acc", "lr"]
    columns = [c for c in columns if any(r.get(c) is not None for r in rows)]
    columns = ["epochs", *columns, "seconds"] if rows else []
    cells = [[_cell(x, "epochs"), *(_cell(r.get(c), c) for c in columns[1:])] for x, r in zip(xs, rows, strict=True)]
    return {
        "entry": entry,
        "trained": epochs_text(epochs) + (f" ({steps:,} step{'' if steps == 1 else 's'})" if steps is not None else ""),
        "problems": [p for p in (metrics_problem, status_problem) if p],
        "curves": [
            curve_svg(rows, xs, "loss", "loss (nats per symbol)"),
            curve_svg(rows, xs, "acc", "accuracy"),
        ],
        "columns": columns,
        "rows": cells[-50:],
        "recorded": len(rows),
        "evaluation": evaluation(entry.path, entry.name),
        "samples": latest_samples(entry.path),
    }


def _cell(value: float | None, column: str) -> str:
    if value is None:
        return ""
    if column == "epochs":
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if column == "step":
        return str(int(value))
    if column == "seconds":
        return f"{value:.1f}"
    return f"{value:.4g}" if column == "lr" else f"{value:.4f}"
