"""``tunesmith presets``: the names to pass to ``train --preset``, with one line each."""

from __future__ import annotations

import typer


def presets() -> None:
    """List the built-in presets."""
    from tunesmith.config import load_preset, preset_names

    for name in preset_names():
        typer.echo(f"{name:<24} {' '.join(load_preset(name).description.split())[:100]}")
