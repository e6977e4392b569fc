"""``tunesmith render PATH``: turn ABC or MIDI files into audio and scores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import path_option, table
from tunesmith.errors import TunesmithError


def render(
    path: Annotated[
        Path, typer.Argument(help="An .abc (tunebook) or .mid file, or a folder of them.", parser=path_option)
    ],
    to: Annotated[str, typer.Option("--to", help="Formats: wav, flac, ogg, svg, musicxml, mid.")] = "wav,svg",
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: beside each file).", parser=path_option)
    ] = None,
    soundfont: Annotated[
        Path | None, typer.Option(help="General MIDI .sf2/.sf3 for FluidSynth.", parser=path_option)
    ] = None,
    program: Annotated[str | None, typer.Option(help="Instrument: fiddle, violin, flute, piano… or 0-127.")] = None,
    tempo: Annotated[float | None, typer.Option(help="Quarter notes per minute (default: the tune's Q:).")] = None,
    sample_rate: Annotated[int, typer.Option(help="Audio sample rate in Hz (8000 to 96000).")] = 44100,
    synth: Annotated[str, typer.Option(help="auto, fluidsynth or builtin.")] = "auto",
) -> None:
    """Make tunes audible and readable: audio through FluidSynth, scores through verovio and music21."""
    from tunesmith.render.audio import AudioOptions, program_number
    from tunesmith.render.files import parse_formats, render_path

    formats = parse_formats(to)
    options = AudioOptions(soundfont, program_number(program), tempo, sample_rate, synth).check()
    report = render_path(path, formats, out, options)
    if not report.outputs and report.failures:
        first = report.failures[0].reason
        more = len(report.failures) - 1
        raise TunesmithError(first + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""))
    rows = [[o.paths[0], o.format, o.detail] for o in report.outputs]
    typer.echo(table(["wrote", "format", "detail"], rows))
    if report.failures:
        typer.echo("")
        typer.echo(table(["failed", "format", "problem"], [[f.source, f.format, f.reason] for f in report.failures]))
    files = sum(len(o.paths) for o in report.outputs)
    typer.echo(f"{files} file{'s' * (files != 1)} in {report.seconds:.1f} s")
    if report.failures:
        raise TunesmithError(f"{len(report.failures)} renders failed (listed above); the rest were written")
