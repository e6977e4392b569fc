"""``tunesmith demo``: the whole path from corpus to heard tunes in one command, for a first try."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import path_option, print_pieces


def demo(
    minutes: Annotated[
        float, typer.Option(help="Budget for the whole demo (prepare, train, sample) in minutes.")
    ] = 5.0,
    out: Annotated[Path, typer.Option(help="Where data, the run and the tunes go.", parser=path_option)] = Path(
        "demo-output"
    ),
    num: Annotated[int, typer.Option(help="Tunes to sample.")] = 5,
    preset: Annotated[str, typer.Option(help="Preset to train.")] = "abc-lstm-demo",
) -> None:
    """Prepare the built-in folk corpus, train briefly, sample tunes and write ABC, MIDI, WAV and SVG."""
    from tunesmith.pipeline.demo import run_demo
    from tunesmith.pipeline.train import TrainingInterrupted
    from tunesmith.training.deadline import INTERRUPTED_STATUS, process_start

    started = process_start()  # the budget counts the whole command, imports included
    try:
        run_demo(minutes=minutes, out=out, num=num, preset=preset, echo=typer.echo, show=print_pieces, started=started)
    except TrainingInterrupted as stop:
        typer.echo(stop.message.replace("run the same command", "run the same demo command"))
        raise typer.Exit(INTERRUPTED_STATUS) from None
