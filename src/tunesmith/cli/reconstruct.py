"""``tunesmith reconstruct RUN FILE``: a recording through a mel autoencoder, with the distances printed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import path_option, refuse_file, table


def reconstruct(
    model: Annotated[Path, typer.Argument(help="A run or bundle folder of an autoencoder (mel-cae).")],
    audio: Annotated[Path, typer.Argument(help="An audio file (.wav, .flac, .ogg…), at most 10 minutes.")],
    out: Annotated[
        Path, typer.Option(help="Folder for reconstruction.wav, .png and reconstruct.json.", parser=path_option)
    ] = Path("reconstruction"),
    checkpoint: Annotated[str, typer.Option(help="For runs: best or last.")] = "best",
) -> None:
    """Encode and decode a recording with a mel autoencoder; write the result and how far it is."""
    from tunesmith.pipeline.reconstruct import reconstruct as run_reconstruct

    refuse_file(out, "the reconstruction")
    report = run_reconstruct(model, audio, out, checkpoint)
    typer.echo(table(["distance", "model + Griffin-Lim", "Griffin-Lim alone"], report.rows()))
    typer.echo(f"model alone  mel RMS error {report.model['mel_rmse_db']:.2f} dB (its output frames against its input)")
    typer.echo(
        f"speed        {report.realtime:.1f}x real time for {report.seconds:.1f} s of audio "
        "(mel analysis + encode + decode + Griffin-Lim)"
    )
    typer.echo(f"wrote        {out}/  (reconstruction.wav, reconstruction.png, reconstruct.json)")
