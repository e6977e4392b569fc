"""``tunesmith export RUN``: a bundle that others can load without the run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export(
    run: Annotated[Path, typer.Argument(help="A run folder.")],
    out: Annotated[Path, typer.Option(help="Bundle folder to write.")],
    checkpoint: Annotated[str, typer.Option(help="best or last.")] = "best",
) -> None:
    """Write a shareable bundle: model.safetensors + config, representation and versions as JSON."""
    from tunesmith.bundle import export as run_export

    path = run_export(run, out, checkpoint)
    typer.echo(f"wrote bundle {path}  (" + ", ".join(sorted(p.name for p in path.iterdir())) + ")")
