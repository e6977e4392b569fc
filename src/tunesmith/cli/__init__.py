"""The ``tunesmith`` command: a few verbs a musician can remember.

Each verb lives in its own module below this package; :data:`VERBS` is the one list of them, and its
order is the order of ``tunesmith --help`` (the workflow first, then the tools that look at a run).
Heavy libraries are imported inside each verb, so ``tunesmith --help`` is instant. Every verb runs
inside one boundary (:class:`tunesmith.cli.boundary.Boundary`): problems the user can fix print one
``error:`` line and exit with status 2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from tunesmith.cli import (
    boundary,
    demo,
    evaluate,
    export,
    models,
    plot,
    prepare,
    presets,
    reconstruct,
    render,
    sample,
    serve,
    sweep,
    train,
)

app = typer.Typer(
    cls=boundary.Boundary,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Train neural networks on music and generate new music with them.",
)

VERBS: list[Callable[..., Any]] = [
    prepare.prepare,
    train.train,
    sample.sample,
    export.export,
    render.render,
    demo.demo,
    serve.serve,
    presets.presets,
    models.models,
    evaluate.evaluate,
    plot.plot,
    reconstruct.reconstruct,
    sweep.sweep,
]

for verb in VERBS:
    app.command()(verb)


def main() -> None:
    """The console-script entry point (``tunesmith = "tunesmith.cli:main"``)."""
    app()
