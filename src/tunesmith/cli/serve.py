"""``tunesmith serve``: the studio web page over the user's runs and bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import path_option
from tunesmith.errors import TunesmithError

DEFAULT_HOST = "127.0.0.1"  # this machine only; another address is the user's explicit choice


def check_host(host: str) -> None:
    """An empty ``--host`` would bind every interface (the socket library reads "" as "any"): refuse it, and
    anything with spaces, rather than open the studio to the network by accident."""
    if not host.strip():
        raise TunesmithError(f"--host is empty; give an address to listen on, e.g. {DEFAULT_HOST} (this machine only)")
    try:  # the socket library needs an IDNA name or an address; anything else fails inside bind()
        host.encode("idna")
    except UnicodeError:
        raise TunesmithError(f"--host {host!r} is not a host name or address; e.g. {DEFAULT_HOST}") from None
    if host != host.strip() or any(c.isspace() for c in host):
        raise TunesmithError(f"--host {host!r} has spaces; give an address such as {DEFAULT_HOST}")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on (1 to 65535).")] = 8000,
    models: Annotated[
        list[Path] | None,
        typer.Option("--models", help="A folder of runs and bundles; repeat for more.", parser=path_option),
    ] = None,
    store: Annotated[
        Path | None, typer.Option(help="Folder for results (~/.cache/tunesmith/studio).", parser=path_option)
    ] = None,
    queue: Annotated[int, typer.Option("--queue", help="Generation requests that may wait at once (1 to 1000).")] = 8,
) -> None:
    """Open the studio: a web page to generate, hear, see and download tunes (models from --models, runs/,
    bundles/ and demo-output/)."""
    check_host(host)
    from tunesmith.web.server import serve as run_serve

    run_serve(host, port, models or [], store, queue_size=queue, echo=typer.echo)
