"""The grid engine of ``tunesmith sweep``: every configuration of ``--grid key=v1,v2,…``, one after another.

The values are read with the config's own types, and every configuration is resolved and checked before
anything trains. The cartesian product (at most ``MAX_CONFIGS``) is trained in this process, each in its
own run folder ``OUT/runs/<slug>`` (``hidden-50_dropout-0.1``) with :func:`tunesmith.pipeline.train.train`
(checked: a fit after other fits gives the same metrics, to the last digit, as one in a fresh interpreter).
Re-running the same command resumes: finished runs are read, interrupted ones resume from their checkpoint.
"""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.pipeline.sweep_runs import (
    Axis,
    Echo,
    SweepResult,
    as_overrides,
    check_out,
    finish,
    parse_grid,
    slug,
    summary_line,
    train_one,
)
from tunesmith.pipeline.train import resolve_config

MAX_CONFIGS = 256


def configurations(axes: list[Axis]) -> list[dict[str, Any]]:
    """The cartesian product of the axes' values, in the order given (the last key varies fastest)."""
    total = math.prod(len(a.values or []) for a in axes)
    if total > MAX_CONFIGS:
        raise TunesmithError(f"the grid has {total} configurations; at most {MAX_CONFIGS} (or use --search N)")
    return [
        dict(zip([a.key for a in axes], combo, strict=True)) for combo in itertools.product(*(a.values for a in axes))
    ]


def run_grid(
    preset: str,
    data: Path | str,
    out: Path | str,
    *,
    grid: list[str],
    overrides: list[str] | None = None,
    max_minutes: float | None = None,
    echo: Echo = print,
) -> SweepResult:
    """Train every configuration of the grid (resuming), then write sweep.csv, sweep.md and sweep.png."""
    started = time.perf_counter()
    out, data, base = Path(out), Path(data), list(overrides or [])
    check_out(out)
    axes = parse_grid(grid)
    if not axes:
        raise TunesmithError("give at least one --grid key=v1,v2,… (or --search N with --grid/--range choices)")
    configs = configurations(axes)
    for params in configs:  # every configuration is checked before the first one trains
        resolve_config(preset, base + as_overrides(params), max_minutes)
    keys = [a.key for a in axes]
    rows, trained = [], 0
    for i, params in enumerate(configs, 1):
        name = slug(params)
        echo(f"[{i}/{len(configs)}] {name}")
        row, now = train_one(out / "runs" / name, preset, data, base + as_overrides(params), max_minutes, echo)
        trained += now
        rows.append({"name": name, **params, **row})
        echo(f"  {'trained' if now else 'read (finished earlier)'}: {summary_line(row)}")
    return finish(out, preset, keys, rows, trained, len(rows) - trained, started)
