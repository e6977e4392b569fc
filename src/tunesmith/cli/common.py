"""What the verbs share: plain-text tables and the lines that report generated pieces.

Verb modules import these and never each other, so each verb reads on its own. Nothing here
imports a heavy library, so ``tunesmith --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def path_option(text: str) -> Path:
    """The parser of every path option: ``--out ""`` would become ``.`` (the current folder) and write there."""
    if not str(text).strip():
        raise typer.BadParameter("the path is empty; name a file or folder")
    return Path(text)


def refuse_file(out: Path, what: str) -> None:
    """Say so before a model loads when ``--out`` names a file where a folder for ``what`` belongs."""
    if out.exists() and not out.is_dir():
        from tunesmith.errors import TunesmithError

        raise TunesmithError(f"--out {out} is a file; give a folder for {what}")


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
