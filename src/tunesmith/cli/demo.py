"""``tunesmith demo``: good tunes from the shipped model at once, then what training buys, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import path_option, print_pieces, table


def demo(
    steps: Annotated[
        int, typer.Option(help="Training budget in optimiser steps: the same on any machine, busy or not.")
    ] = 600,
    minutes: Annotated[
        float | None, typer.Option(help="Also stop training after this many minutes (it resumes on the next run).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where data, the run and the tunes go.", parser=path_option)] = Path(
        "demo-output"
    ),
    num: Annotated[int, typer.Option(help="Tunes per rhythm (1 to 10).")] = 1,
    preset: Annotated[str, typer.Option(help="Preset to train.")] = "abc-lstm-demo",
) -> None:
    """Write one tune per rhythm from the shipped folk model, then prepare the folk corpus, train the demo preset
    for a budget of steps, sample it the same way and print both models' figures side by side."""
    from tunesmith.pipeline.demo import run_demo
    from tunesmith.pipeline.train import TrainingInterrupted
    from tunesmith.training.deadline import INTERRUPTED_STATUS

    try:
        run_demo(
            steps=steps,
            minutes=minutes,
            out=out,
            num=num,
            preset=preset,
            echo=typer.echo,
            show=print_pieces,
            show_table=lambda headers, rows: typer.echo(table(headers, rows)),
        )
    except TrainingInterrupted as stop:
        typer.echo(stop.message.replace("run the same command", "run the same demo command"))
        raise typer.Exit(INTERRUPTED_STATUS) from None
