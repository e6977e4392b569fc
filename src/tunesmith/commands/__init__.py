"""CLI verbs that live in their own files: each module here defines ``register(app)``.

``tunesmith.cli`` keeps the core verbs (prepare, train, sample, export, render, demo, serve) and
calls :func:`register_all` once, so a capability's command sits beside nothing but itself and the
main CLI file stays short. Modules import their heavy libraries inside the command, as cli.py does.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def register_all(app: typer.Typer) -> None:
    """Add every command module's verbs to ``app``, in name order (so ``--help`` is stable)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(app)
