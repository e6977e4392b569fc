"""``tunesmith models``: the built-in models and the runs and bundles found here, with what tells them apart.

The same search as the studio's (:mod:`tunesmith.web.catalog`), so both show the same models: the built-in
ones by name, then runs and bundles under ``--dir`` folders (default: ``runs/``, ``bundles/`` and
``demo-output/`` of the working directory). A model whose files cannot be read is still listed, with ``?``
where a figure would be and a note below the table saying why.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from tunesmith.cli.common import path_option, table
from tunesmith.errors import TunesmithError


def _size(nbytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


def _disk(path: Path, kind: str) -> int:
    """A bundle: all its files (what is shipped). A run: the checkpoint a load reads (best, else last)."""
    if kind == "run":
        from tunesmith.bundle import run_checkpoint

        return run_checkpoint(path, "best").stat().st_size
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file() and not p.is_symlink())


def _best_val_bpc(run: Path) -> float | None:
    """The lowest validation bits per character ``metrics.csv`` records (token runs; None for frames)."""
    try:
        with (run / "metrics.csv").open(newline="") as f:
            values = [float(r["val_bpc"]) for r in csv.DictReader(f) if r.get("val_bpc")]
    except (OSError, csv.Error, UnicodeDecodeError, ValueError, KeyError):
        return None
    values = [v for v in values if math.isfinite(v)]
    return min(values) if values else None


def _figure(path: Path, kind: str, rep: Any) -> str:
    """The held-out figure the model's own files record, with its unit; ``-`` where none is recorded."""
    from tunesmith import media
    from tunesmith.pretrained import held_out_bpc
    from tunesmith.untrusted import read_json

    if kind == "run":
        bpc = _best_val_bpc(path)
        if bpc is not None:
            return f"{bpc:.3f} bpc (best val)"
        status = read_json(path / "status.json") if (path / "status.json").is_file() else {}
        loss = status.get("best_val_loss")
    else:
        info = read_json(path / "config.json")
        if (bpc := held_out_bpc(info)) is not None:
            return f"{bpc:.3f} bpc (whole val split)"
        trained = info.get("trained") if isinstance(info.get("trained"), dict) else {}
        loss = trained.get("best_val_loss")
    if isinstance(loss, (int, float)) and not isinstance(loss, bool) and math.isfinite(loss):
        return f"{media.of(rep).describe_loss(rep, loss)} (best val)"
    return "-"


def _row(entry: Any) -> tuple[list[str], str | None]:
    """One table row for a found model, and a note when part of it could not be read."""
    from tunesmith.bundle import recipe
    from tunesmith.training.init import MEDIUM_LABELS, model_source

    kind = "built-in" if entry.details.get("builtin") else entry.kind
    row, note = [entry.name, kind, "?", "?", "?", "?"], entry.problem
    if note is not None:
        return row, note
    try:
        rep = model_source(entry.path, "").representation
        row[2] = f"{rep.name} ({MEDIUM_LABELS.get(rep.medium, rep.medium)})"
        row[3] = f"{sum(math.prod(s) for s in recipe(entry.path)[1].values()):,}"
        row[4] = _size(_disk(entry.path, entry.kind))
        row[5] = _figure(entry.path, entry.kind, rep)
    except (TunesmithError, OSError) as exc:
        note = " ".join(str(exc).split())[:200].replace(str(entry.path), entry.name)
    return row, note


def models(
    dirs: Annotated[
        list[Path] | None,
        typer.Option(
            "--dir",
            help="A folder to search for runs and bundles; repeat for more (default: runs, bundles, demo-output).",
            parser=path_option,
        ),
    ] = None,
) -> None:
    """List the built-in models and the runs and bundles found, with representation, size and held-out figure."""
    from tunesmith.web.catalog import DEFAULT_DIRS, builtin_entries, discover

    for folder in dirs or []:
        if not folder.is_dir():
            raise TunesmithError(f"--dir {folder} is not a folder")
    folders = list(dirs) if dirs else [Path(d) for d in DEFAULT_DIRS]
    entries, seen = [], set()
    for entry in [*builtin_entries(), *discover(folders)]:
        if entry.id not in seen:
            seen.add(entry.id)
            entries.append(entry)
    if not entries:
        searched = ", ".join(str(f) for f in folders)
        typer.echo(f"no models: none built in, none in {searched}; train one (tunesmith demo) or pass --dir FOLDER")
        return
    rows, notes = [], []
    for entry in entries:
        row, note = _row(entry)
        rows.append(row)
        if note:
            notes.append(f"note: {entry.name}: {note}")
    typer.echo(table(["model", "kind", "representation", "parameters", "size", "held-out"], rows))
    for line in notes:
        typer.echo(line)
