"""``tunesmith plot RUN``: learning curves, piano rolls, spectrograms and neuron heat maps in ``RUN/plots/``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import table


def plot(
    run: Annotated[Path, typer.Argument(help="A run folder.")],
    unit: Annotated[
        str,
        typer.Option(help="auto: the units that best separate header/body and bar lines/notes; or L:I, cL:I."),
    ] = "auto",
    tune: Annotated[
        Path | None, typer.Option(help="ABC runs: look at the tunes of this file instead of generated ones.")
    ] = None,
    tunes: Annotated[int, typer.Option(help="ABC runs: tunes in the heat maps, read one after another (1-8).")] = 2,
    num: Annotated[int, typer.Option(help="Piano rolls or spectrograms to draw (1 to 16).")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the generated tune and pieces.")] = 0,
    fresh: Annotated[bool, typer.Option(help="Generate new pieces instead of using the run's samples.")] = False,
    checkpoint: Annotated[str, typer.Option(help="best or last.")] = "best",
    max_length: Annotated[int, typer.Option(help="Length of the generated tune, in symbols.")] = 1000,
    attention_length: Annotated[int, typer.Option(help="Transformers: positions in the attention maps.")] = 96,
) -> None:
    """Draw what a run learned: learning curves, piano rolls or spectrograms, neuron heat maps or attention."""
    from tunesmith.pipeline.plot import plot_run

    report = plot_run(
        run,
        unit=unit,
        tune=tune,
        num=num,
        seed=seed,
        fresh=fresh,
        checkpoint=checkpoint,
        max_length=max_length,
        attention_length=attention_length,
        tunes=tunes,
    )
    rows = [[f.path, f.what, f.detail] for f in report.figures]
    typer.echo(table(["wrote", "what", "detail"], rows))
    for what, why in report.skipped:
        typer.echo(f"skipped      {what}: {why}")
    if report.rankings:
        typer.echo(f"ranking      {report.out / 'neurons.csv'} (every unit's separation score per contrast)")
