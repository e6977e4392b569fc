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
    rich_markup_mode=None,  # plain help: no <bool>/<str> placeholders, no boxes; reads the same in any terminal
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


def _summary(verb: Callable[..., Any]) -> str:
    """The docstring's first paragraph on one line: the command list shows it whole (plain help cuts at 45)."""
    return " ".join((verb.__doc__ or "").strip().split("\n\n")[0].split())


for verb in VERBS:
    app.command(short_help=_summary(verb))(verb)


def main() -> None:
    """The console-script entry point (``tunesmith = "tunesmith.cli:main"``)."""
    app()
