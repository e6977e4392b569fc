"""What the verbs share: friendly errors and plain-text tables.

Verb modules import these and never each other, so each verb reads on its own. Nothing here
imports a heavy library, so ``tunesmith --help`` stays instant.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer

from tunesmith.errors import TunesmithError


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a TunesmithError into one line on stderr and exit status 2: the user can fix it, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TunesmithError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


def printable(text: str) -> str:
    """Generated titles can hold control characters (the corpus has a few); keep columns aligned."""
    return "".join(c if c.isprintable() else "?" for c in text)


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """Left-aligned columns under a dashed rule, wide enough for the longest cell: readable in any terminal."""
    cells = [[printable(str(c)) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, cells)])


def print_pieces(report: Any) -> None:
    """Any medium's report of generated pieces: one row per piece, its summary line, and what ``--render`` wrote."""
    typer.echo(table(*report.table()))
    typer.echo(report.summary())
    print_rendered(report.items)


def print_rendered(items: list[dict[str, Any]]) -> None:
    """One line for ``--render``: files written per format and how many tunes failed (reasons in samples.json)."""
    tunes = [t for t in items if "rendered" in t]
    if not tunes:
        return
    counts: dict[str, int] = {}
    for t in tunes:
        for name in t["rendered"]:
            ext = name.rsplit(".", 1)[-1]
            counts[ext] = counts.get(ext, 0) + 1
    failed = sum(bool(t["render_errors"]) for t in tunes)
    made = ", ".join(f"{n} {ext}" for ext, n in counts.items()) or "nothing"
    typer.echo(f"rendered     {made}" + (f"; {failed} tunes not fully rendered (see samples.json)" if failed else ""))
