"""``tunesmith sweep``: one run per configuration of a grid (or per trial of an Optuna study), compared."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import path_option, table
from tunesmith.errors import TunesmithError


def sweep(
    preset: Annotated[str, typer.Option(help="Preset name (see 'tunesmith presets') or a YAML file.")],
    data: Annotated[Path, typer.Option(help="Prepared dataset folder.", parser=path_option)],
    out: Annotated[
        Path,
        typer.Option(help="Sweep folder: runs/, sweep.csv, sweep.md, sweep.png (study.db).", parser=path_option),
    ],
    grid: Annotated[
        list[str] | None,
        typer.Option("--grid", help="A setting and its values, e.g. model.hidden=50,100; repeat for more."),
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="A setting for every run: key=value.")] = None,
    max_minutes: Annotated[float | None, typer.Option(help="Wall-clock budget of each configuration.")] = None,
    search: Annotated[
        int, typer.Option(help="Run an Optuna study of N trials over the --grid choices and --range ranges.")
    ] = 0,
    range_: Annotated[
        list[str] | None,
        typer.Option("--range", help="--search: a number range, key=low:high or key=low:high:log."),
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(help="--search: study storage (default sqlite OUT/study.db); postgresql://user@host/db."),
    ] = None,
    study: Annotated[str | None, typer.Option(help="--search: study name (default: the --out folder's name).")] = None,
    seed: Annotated[int | None, typer.Option(help="--search: seed of the TPE sampler (default 0).")] = None,
) -> None:
    """Train one run per configuration (re-running resumes) and write a comparison table and plot."""
    from tunesmith.pipeline.sweep import run_grid, run_search
    from tunesmith.pipeline.sweep import table as sweep_table

    if search < 0:
        raise TunesmithError(f"--search {search} must be 0 (a grid) or a number of trials")
    if not search and (range_ or storage or study or seed is not None):
        raise TunesmithError("--range, --storage, --study and --seed go with --search N")
    if search:
        result = run_search(
            preset,
            data,
            out,
            trials=search,
            grid=grid or [],
            ranges=range_ or [],
            overrides=set_ or [],
            max_minutes=max_minutes,
            storage=storage,
            study_name=study,
            seed=seed or 0,
            echo=typer.echo,
        )
    else:
        result = run_grid(
            preset, data, out, grid=grid or [], overrides=set_ or [], max_minutes=max_minutes, echo=typer.echo
        )
    headers, cells = sweep_table(result.keys, result.rows)
    typer.echo("")
    typer.echo(table(headers, cells))
    typer.echo(
        f"trained {result.trained}, read {result.reused} finished earlier, in {result.seconds:.0f} s; "
        f"wrote {', '.join(str(p) for p in result.files)}"
    )
