"""``tunesmith evaluate RUN_OR_BUNDLE``: likelihood, validity, musical statistics, novelty and a
temperature sweep, written as report.json, report.md and a self-contained report.html."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import path_option, table


def _progress(line: str) -> None:
    """Progress goes to stderr: stdout keeps the tables, for a reader or a pipe."""
    typer.echo(line, err=True)


def evaluate(
    model: Annotated[Path, typer.Argument(help="A run folder or a bundle folder.")],
    num: Annotated[int, typer.Option(help="Samples per temperature, and pieces in each reference draw.")] = 200,
    temperature: Annotated[
        list[float] | None,
        typer.Option(help="Sampling temperature; repeat for a sweep (default 0.5, 1.0 and 2.0)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Prepared folder the model was trained on (a run knows its own).", parser=path_option),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the samples and of the reference draws.")] = 0,
    max_length: Annotated[int, typer.Option(help="Cut samples at this many characters, tokens or frames.")] = 1000,
    batch_size: Annotated[int, typer.Option(help="Pieces sampled together, and windows per likelihood batch.")] = 64,
    max_batches: Annotated[
        int, typer.Option(help="Likelihood: stop after this many batches (0 = the whole held-out split).")
    ] = 0,
    copy_notes: Annotated[
        int, typer.Option(help="Near copy: a run of this many notes shared with one training piece.")
    ] = 32,
    copy_bars: Annotated[int, typer.Option(help="ABC: ... or of this many bars.")] = 4,
    checkpoint: Annotated[str, typer.Option(help="For runs: best or last.")] = "best",
    out: Annotated[Path, typer.Option(help="Folder for the report and the samples.", parser=path_option)] = Path(
        "report"
    ),
) -> None:
    """Measure a model: held-out likelihood, and per temperature validity, musical statistics against
    the training set, and how much of the training set the samples copy."""
    from tunesmith.metrics.novelty import NoveltySettings
    from tunesmith.pipeline.evaluate import DEFAULT_TEMPERATURES, EvaluateSettings
    from tunesmith.pipeline.evaluate import evaluate as run_evaluate
    from tunesmith.pipeline.report import likelihood_rows, main_table

    settings = EvaluateSettings(
        num=num,
        temperatures=tuple(temperature) if temperature else DEFAULT_TEMPERATURES,
        seed=seed,
        max_length=max_length,
        batch_size=batch_size,
        max_batches=max_batches,
        novelty=NoveltySettings(copy_notes=copy_notes, copy_bars=copy_bars),
    )
    settings.check()  # before the model loads
    result = run_evaluate(model, out, settings, data=data, checkpoint=checkpoint, progress=_progress)
    report = result.report
    typer.echo("")
    typer.echo(table(["held-out", "value"], likelihood_rows(report)))
    typer.echo("")
    if report.get("note_statistics"):
        typer.echo(f"statistics   {report['note_statistics']}")
    else:
        typer.echo(table(*main_table(report)))
    typer.echo("")
    typer.echo(f"wrote        {out}/report.html, report.md, report.json ({len(report['figures'])} figures)")
    if report.get("groups"):
        typer.echo(f"samples      {out}/samples/T*/  in {report['seconds']:.0f} s")
