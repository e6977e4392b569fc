"""``tunesmith presets [NAME]``: the names to pass to ``train --preset``, each with its description wrapped to
the terminal; with a NAME, that preset's whole recipe."""

from __future__ import annotations

import shutil
import textwrap
from typing import Annotated

import typer

GAP = 2  # spaces between a name and its description


def presets(
    name: Annotated[str, typer.Argument(help="A preset to show in full (its settings, as written).")] = "",
) -> None:
    """List the built-in presets, or show one."""
    from tunesmith.config import load_preset, preset_names, preset_text

    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))
    if name:
        text = preset_text(name)  # an unknown name: one line, with the near miss
        typer.echo(text.rstrip())
        typer.echo(f"\n# train it: tunesmith train --preset {name} --data DIR --run DIR")
        return
    names = preset_names()
    column = max(len(n) for n in names) + GAP  # the longest name still leaves a gap before its description
    for preset in names:
        description = " ".join(load_preset(preset).description.split())
        lines = textwrap.wrap(description, width - column, break_on_hyphens=False) or [""]
        typer.echo(f"{preset:<{column}}{lines[0]}")
        for line in lines[1:]:
            typer.echo(" " * column + line)
