"""``tunesmith serve``: the studio web page over the user's runs and bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    models: Annotated[
        list[Path] | None, typer.Option("--models", help="A folder of runs and bundles; repeat for more.")
    ] = None,
    store: Annotated[Path | None, typer.Option(help="Folder for results (~/.cache/tunesmith/studio).")] = None,
    queue: Annotated[int, typer.Option("--queue", help="Generation requests that may wait at once.")] = 8,
) -> None:
    """Open the studio: a web page to generate, hear, see and download tunes (models from --models, runs/,
    bundles/ and demo-output/)."""
    from tunesmith.web.server import serve as run_serve

    run_serve(host, port, models or [], store, queue_size=queue, echo=typer.echo)
