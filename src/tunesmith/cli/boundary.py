"""The one place where the CLI turns an expected failure into one ``error:`` line and exit status 2.

Every verb runs inside :class:`Boundary`, the command group ``tunesmith`` is built from. What a
person can fix never shows a traceback: our own :class:`TunesmithError`, a usage mistake (Click's
boxed text becomes one line), an operating-system refusal on a path (``--out /proc/x``, a file
where a folder belongs, a full disk), and the allocator saying no. Anything else is a bug and
keeps its traceback, so it gets reported rather than hidden.
"""

from __future__ import annotations

import errno
import sys
from typing import Any

import typer
from typer._click.exceptions import ClickException, UsageError  # Typer 0.2x vendors Click here
from typer.core import TyperGroup

from tunesmith.errors import TunesmithError

USAGE_STATUS = 2  # Click's own status for usage errors; every fixable mistake shares it
INTERRUPTED_STATUS = 130  # 128 + SIGINT, what shells expect after Ctrl-C
_ALLOCATOR = ("can't allocate memory", "out of memory", "not enough memory", "DefaultCPUAllocator")


def one_line(text: str) -> str:
    """Collapse a message onto one line: the contract is one line, whatever the library wrote."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def expected_failure(exc: BaseException) -> str | None:
    """The message for a failure the user can fix, or None for a bug (which keeps its traceback)."""
    if isinstance(exc, TunesmithError):
        return one_line(str(exc))
    if isinstance(exc, UsageError):
        where = exc.ctx.command_path if exc.ctx is not None else "tunesmith"
        return f"{one_line(exc.format_message())} (see '{where} --help')"
    if isinstance(exc, ClickException):
        return one_line(exc.format_message())
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOMEM:
            return "out of memory; lower data.batch_size, data.seq_len or the model's size"
        reason = exc.strerror or type(exc).__name__
        return f"cannot use {exc.filename}: {reason}" if exc.filename else f"{reason}"
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return "out of memory; lower data.batch_size, data.seq_len or the model's size"
    if isinstance(exc, RuntimeError) and any(s in str(exc) for s in _ALLOCATOR):
        return f"out of memory ({one_line(str(exc))[:160]}); lower data.batch_size, data.seq_len or the model's size"
    return None


class Boundary(TyperGroup):
    """``tunesmith``'s command group: runs a verb and keeps its expected failures to one line."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            status = super().main(*args, standalone_mode=False, **kwargs)
        except typer.Abort:
            typer.echo("interrupted", err=True)
            status = INTERRUPTED_STATUS
        except UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare ``tunesmith``: the help is the answer
                if exc.format_message().strip():
                    typer.echo(exc.format_message())
                status = 0
            else:
                typer.echo(f"error: {expected_failure(exc)}", err=True)
                status = USAGE_STATUS
        except Exception as exc:  # noqa: BLE001 - sorted into "the user can fix it" and "a bug" right here
            message = expected_failure(exc)
            if message is None:
                raise
            typer.echo(f"error: {message}", err=True)
            status = USAGE_STATUS
        else:
            status = status if isinstance(status, int) else 0
            if status == INTERRUPTED_STATUS:
                typer.echo("interrupted", err=True)
        if not standalone_mode:
            return status
        sys.exit(status)
