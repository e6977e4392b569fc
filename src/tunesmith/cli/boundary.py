"""The one place where the CLI turns an expected failure into one ``error:`` line and exit status 2.

Every verb runs inside :class:`Boundary`, the command group ``tunesmith`` is built from. What a
person can fix never shows a traceback: our own :class:`TunesmithError`, a usage mistake (Click's
boxed text becomes one line), an operating-system refusal on a path (``--out /proc/x``, a file
where a folder belongs, a full disk), and the allocator saying no. Anything else is a bug and
keeps its traceback, so it gets reported rather than hidden.
"""

from __future__ import annotations

import contextlib
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
        return os_failure(exc)
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return "out of memory; lower data.batch_size, data.seq_len or the model's size"
    if isinstance(exc, RuntimeError) and any(s in str(exc) for s in _ALLOCATOR):
        return f"out of memory ({one_line(str(exc))[:160]}); lower data.batch_size, data.seq_len or the model's size"
    return None


# What an operating-system refusal on a path means for the person who typed it, by errno.
_PATH_REASONS = {
    errno.EEXIST: "a file of that name is in the way (a folder is needed)",
    errno.ENOTDIR: "part of that path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.EACCES: "permission denied",
    errno.EPERM: "not permitted",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is used up",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ELOOP: "too many symbolic links (a loop?)",
}


def os_failure(exc: OSError) -> str:
    """One line for an operating-system refusal, naming the path when there is one."""
    if exc.errno == errno.ENOMEM:
        return "out of memory; lower data.batch_size, data.seq_len or the model's size"
    reason = _PATH_REASONS.get(exc.errno or 0) or (exc.strerror or type(exc).__name__)
    reason = one_line(reason)
    if exc.filename is None:
        return reason
    return f"cannot use {exc.filename}: {reason}"


def _tolerant_output() -> None:
    """Echo what a user typed even when the terminal cannot encode it (an undecodable file name under a
    strict UTF-8 locale): a stray byte prints as an escape instead of ending the command in a traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError, TypeError):  # an unusual stream keeps its own rules
                reconfigure(errors="backslashreplace")


class Boundary(TyperGroup):
    """``tunesmith``'s command group: runs a verb and keeps its expected failures to one line."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        _tolerant_output()
        argv = kwargs.get("args", args[0] if args else None)
        argv = sys.argv[1:] if argv is None else list(argv)
        try:
            for arg in argv:  # no file name, host or setting holds one; the OS would refuse it deep inside
                if "\x00" in str(arg):
                    raise TunesmithError(f"argument {str(arg).replace(chr(0), '<NUL>')!r} holds a NUL character")
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
