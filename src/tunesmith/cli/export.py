"""``tunesmith export RUN``: a bundle that others can load without the run folder (or a copy of a bundle, a
built-in model's by name, e.g. to keep it beside your own or store it in another precision)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import path_option, refuse_file
from tunesmith.errors import TunesmithError

# what export writes
BUNDLE_FILES = (
    "model.safetensors",
    "config.json",
    "representation.json",
    "versions.json",
    "corpus.json",
    "MODEL_CARD.md",
)


def check_out(out: Path) -> None:
    """A bundle gets a folder of its own: a new or empty one, or an earlier bundle (exported again). Never the
    current folder or the run itself, whose files would sit beside the bundle's."""
    refuse_file(out, "the bundle")
    if not out.is_dir():
        return
    others = sorted(p.name for p in out.iterdir() if p.name not in BUNDLE_FILES)
    if others:
        shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
        raise TunesmithError(
            f"--out {out} already holds files that are not a bundle's ({shown}); choose a new or empty folder"
        )


def export(
    run: Annotated[Path, typer.Argument(help="A run folder (or a bundle, or a built-in model's name, to copy).")],
    out: Annotated[
        Path, typer.Option(help="Bundle folder to write (new, empty, or an earlier bundle).", parser=path_option)
    ],
    checkpoint: Annotated[str, typer.Option(help="best or last.")] = "best",
    half: Annotated[
        bool, typer.Option("--half", help="Store the weights as 16-bit floats (float16): half the size.")
    ] = False,
) -> None:
    """Write a shareable bundle: model.safetensors + config, representation and versions as JSON."""
    from tunesmith.bundle import export as run_export
    from tunesmith.pretrained import resolve

    check_out(out)
    source = resolve(run)
    path = run_export(source, out, checkpoint, dtype="float16" if half else "float32")
    typer.echo(f"wrote bundle {path}  (" + ", ".join(sorted(p.name for p in path.iterdir())) + ")")
    from tunesmith.training.init import read_record

    started = read_record(source)  # a fine-tuned run: config.json says what its weights started from
    if started is not None:
        step = started.get("global_step")
        typer.echo(f"initialised from {started['source']}" + (f" (step {step})" if step is not None else ""))
