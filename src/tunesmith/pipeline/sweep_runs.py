"""What both sweep engines share: the searched settings (``--grid``, ``--range``), one run trained,
resumed or read back, and the comparison table (``sweep.csv``, ``sweep.md``, ``sweep.png``).

The engines are :mod:`tunesmith.pipeline.sweep_grid` (every configuration of a grid) and
:mod:`tunesmith.pipeline.sweep_optuna` (an Optuna study); :mod:`tunesmith.pipeline.sweep` names both.
"""

from __future__ import annotations

import csv
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.config import all_keys
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.train import resolve_config, train
from tunesmith.render.curves import sweep_png
from tunesmith.training.history import read_history
from tunesmith.untrusted import finite, read_json

MAX_VALUES = 64  # values of one --grid key
DONE_STATES = ("finished", "stopped early", "time budget reached", "already stopped early")
CSV_FIELDS = [
    "name",
    "best_val_loss",
    "val_acc",
    "train_loss",
    "epochs",
    "seconds_per_epoch",
    "steps",
    "state",
]

Echo = Callable[[str], None]


@dataclass
class Axis:
    """One searched setting: a list of values (grid, or categorical choices), or a range (``--range``)."""

    key: str
    values: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    kind: type = float


@dataclass
class SweepResult:
    """What a sweep did, for the verb's summary: the rows best first and the files written."""

    out: Path
    keys: list[str]
    rows: list[dict[str, Any]]  # best first
    trained: int  # configurations trained (or resumed) by this call
    reused: int  # configurations read from finished runs
    files: list[Path]
    seconds: float


def check_out(out: Path) -> None:
    """The sweep folder must be a folder (or not exist yet): said before any configuration trains."""
    if out.exists() and not out.is_dir():
        raise TunesmithError(f"--out {out} is a file; give a folder for the sweep")


def read_status(run: Path) -> dict[str, Any]:
    """A run's ``status.json`` with only the fields a sweep reads, each of its type ({} when missing or
    unreadable: a copied or half-written run folder is a stranger's file)."""
    try:
        raw = read_json(run / "status.json")
    except TunesmithError:
        return {}
    status: dict[str, Any] = {}
    if isinstance(raw.get("state"), str):
        status["state"] = raw["state"]
    if finite(raw.get("best_val_loss")):
        status["best_val_loss"] = float(raw["best_val_loss"])
    return status


def _check_key(key: str, option: str) -> str:
    key = key.strip()
    known = all_keys()
    if key in known:
        return key
    same = [k for k in known if k.split(".")[-1] == key.split(".")[-1]]
    hint = f"; did you mean {' or '.join(same)}?" if same else "; settings look like model.hidden or train.lr"
    raise TunesmithError(f"{option} {key}: unknown setting{hint}")


def _type_of(key: str) -> type:
    from typing import get_type_hints

    from tunesmith.config import Config

    section, name = key.split(".")
    return get_type_hints(type(getattr(Config(), section)))[name]


def parse_grid(items: list[str], option: str = "--grid") -> list[Axis]:
    """``key=v1,v2,…`` strings → axes with values as the config reads them (duplicates dropped)."""
    axes: list[Axis] = []
    for item in items:
        if "=" not in item:
            raise TunesmithError(f"{option} {item!r}: expected key=v1,v2,… e.g. model.hidden=50,100")
        key, raw = item.split("=", 1)
        key = _check_key(key, option)
        if any(a.key == key for a in axes):
            raise TunesmithError(f"{option} {key} is given twice; list all its values once")
        texts = [v.strip() for v in raw.split(",") if v.strip()]
        if not texts or len(texts) > MAX_VALUES:
            raise TunesmithError(f"{option} {key}: give 1 to {MAX_VALUES} comma-separated values")
        values: list[Any] = []
        for text in texts:
            value = _coerce(key, text, option)
            if value not in values:
                values.append(value)
        axes.append(Axis(key, values=values, kind=_type_of(key)))
    return axes


def parse_ranges(items: list[str]) -> list[Axis]:
    """``key=lo:hi[:log]`` strings → range axes for ``--search`` (int or float settings only)."""
    axes = []
    for item in items:
        key, _, raw = item.partition("=")
        key = _check_key(key, "--range")
        kind = _type_of(key)
        parts = raw.split(":")
        if kind not in (int, float) or len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
            raise TunesmithError(f"--range {item!r}: expected key=low:high or key=low:high:log for a number setting")
        low, high = (_coerce(key, p.strip(), "--range") for p in parts[:2])
        log = len(parts) == 3
        if not low < high or (log and low <= 0):
            raise TunesmithError(f"--range {item!r}: need low < high" + (", both above 0 for :log" if log else ""))
        axes.append(Axis(key, low=low, high=high, log=log, kind=kind))
    return axes


def _coerce(key: str, text: str, option: str) -> Any:
    """A value as the config reads it (``--set`` rules), so 0 and 0.0 are the same dropout. Ranges are
    checked later, with the preset, for each whole configuration."""
    from tunesmith.config import Config

    section, name = key.split(".")
    cfg = Config.from_dict({section: {name: text}}, option)
    return getattr(getattr(cfg, section), name)


def _short(keys: list[str]) -> dict[str, str]:
    """``model.hidden`` → ``hidden`` unless two keys share that name."""
    names = [k.split(".")[-1] for k in keys]
    return {k: (n if names.count(n) == 1 else k.replace(".", "-")) for k, n in zip(keys, names, strict=True)}


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def slug(params: dict[str, Any]) -> str:
    """A short, readable, filesystem-safe run folder name: ``hidden-50_dropout-0.1``."""
    short = _short(list(params))
    parts = [f"{short[k]}-{re.sub(r'[^A-Za-z0-9.+-]', '', _text(v)) or 'x'}" for k, v in params.items()]
    name = "_".join(parts)
    if len(name) > 100:
        import hashlib

        name = name[:88] + "_" + hashlib.sha1(name.encode()).hexdigest()[:10]
    return name


def as_overrides(params: dict[str, Any]) -> list[str]:
    """``--set`` strings for one configuration; floats keep every digit, so the run's recipe is exact."""
    return [f"{k}={v!r}" if isinstance(v, float) else f"{k}={_text(v)}" for k, v in params.items()]


def _is_done(run: Path) -> bool:
    """True when the run ended (``status.json``) after its last checkpoint was written: nothing to resume."""
    status, last = run / "status.json", run / "checkpoints" / "last.ckpt"
    if not status.is_file():
        return False
    state = read_status(run).get("state")
    return state in DONE_STATES and (not last.exists() or status.stat().st_mtime >= last.stat().st_mtime)


def _check_same_recipe(run: Path, preset: str, overrides: list[str], max_minutes: float | None) -> None:
    """A finished run is only reused for the same recipe (budget settings aside), as ``train`` would insist."""
    from tunesmith.pipeline.train import _merge_with_saved

    _merge_with_saved(run, resolve_config(preset, overrides, max_minutes))


def summarize(run: Path) -> dict[str, Any]:
    """A run's row: best validation loss (status.json), the accuracy at that validation, the last epoch's
    training loss, epochs, seconds per epoch (train + validation + samples), steps and how it ended."""
    history = read_history(run)
    status = read_status(run)
    best = history.best()
    train_loss = history.columns.get("train_loss")
    return {
        "best_val_loss": status.get("best_val_loss", best.get("val_loss")),
        "val_acc": _rounded(best.get("val_acc", best.get("val_f1"))),
        "train_loss": float(train_loss[-1]) if train_loss is not None else None,
        "epochs": round(history.epochs, 3),
        "seconds_per_epoch": round(history.seconds_per_epoch, 2),
        "steps": int(history.steps[-1]),
        "state": status.get("state", "interrupted"),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 5)  # as metrics.csv writes it


def train_one(
    run: Path, preset: str, data: Path, overrides: list[str], max_minutes: float | None, echo: Echo
) -> tuple[dict[str, Any], bool]:
    """Train (or resume, or read) one run; returns its row and whether it trained now."""
    if _is_done(run):
        _check_same_recipe(run, preset, overrides, max_minutes)
        return summarize(run), False
    result = train(preset, data, run, overrides=overrides, max_minutes=max_minutes, progress=False)
    if result.resumed_from_step is not None:
        echo(f"  resumed from step {result.resumed_from_step}")
    return summarize(run), True


def summary_line(row: dict[str, Any]) -> str:
    """One run's result in the words both engines print after it."""
    loss = row.get("best_val_loss")
    return f"best val loss {loss:.4f}, {row['epochs']} epochs, {row['state']}" if loss is not None else row["state"]


def finish(
    out: Path, preset: str, keys: list[str], rows: list[dict[str, Any]], trained: int, reused: int, started: float
) -> SweepResult:
    """Sort the rows best first and write sweep.csv, sweep.md and sweep.png (histories read from the runs)."""
    rows = sorted(rows, key=lambda r: (r.get("best_val_loss") is None, r.get("best_val_loss") or 0.0))
    out.mkdir(parents=True, exist_ok=True)
    files = [write_csv(out / "sweep.csv", keys, rows), write_markdown(out / "sweep.md", preset, keys, rows)]
    runs = {row["name"]: out / "runs" / row["name"] for row in rows}
    histories = {name: read_history(run) for name, run in runs.items() if (run / "metrics.csv").is_file()}
    files.append(sweep_png(rows, histories, out / "sweep.png", title=f"{preset}: {len(rows)} configurations"))
    return SweepResult(out, keys, rows, trained, reused, files, time.perf_counter() - started)


def write_csv(path: Path, keys: list[str], rows: list[dict[str, Any]]) -> Path:
    """``sweep.csv``: one row per configuration; a ``trial`` column only for an Optuna study."""
    fields = ["name", *keys, *CSV_FIELDS[1:], *(["trial"] if any("trial" in r for r in rows) else [])]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in fields})
    return path


def table(keys: list[str], rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Headers and cells of the comparison table (best first), shared by sweep.md and the console."""
    short = _short(keys)
    headers = ["rank", *(short[k] for k in keys), "val loss", "val acc", "train loss", "epochs", "s/epoch", "state"]
    cells = []
    for rank, r in enumerate(rows, 1):
        loss, acc, train_loss = r.get("best_val_loss"), r.get("val_acc"), r.get("train_loss")
        cells.append(
            [
                str(rank),
                *(_text(r.get(k)) for k in keys),
                f"{loss:.4f}" if loss is not None else "-",
                f"{100 * acc:.1f}%" if acc is not None else "-",
                f"{train_loss:.4f}" if train_loss is not None else "-",
                f"{r['epochs']:.2f}" if r.get("epochs") is not None else "-",
                _seconds(r.get("seconds_per_epoch")),
                str(r.get("state", "-")),
            ]
        )
    return headers, cells


def _seconds(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def write_markdown(path: Path, preset: str, keys: list[str], rows: list[dict[str, Any]]) -> Path:
    """``sweep.md``: the comparison table, best first, with what its columns mean."""
    headers, cells = table(keys, rows)
    lines = [
        f"# Sweep of {preset}: {len(rows)} configurations, best first",
        "",
        "Validation loss is the best one the run reached (nats per symbol); accuracy is the validation",
        "accuracy (F1 for piano rolls) at that validation; time per epoch covers training, validation and",
        "in-training samples.",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if h not in ("state",) else "---" for h in headers) + "|",
        *("| " + " | ".join(c) + " |" for c in cells),
        "",
    ]
    path.write_text("\n".join(lines))
    return path
