"""One reader for JSON we did not write ourselves: bundles, run folders, the studio's requests.

A shared model or a copied run folder is a stranger's file. Before ``json`` sees a byte, the file
must be a regular file (not a FIFO or ``/dev/zero`` behind a link), no larger than ``max_bytes``,
and nested no deeper than ``max_depth``; NaN, Infinity and numbers too large for a float (``1e999``)
are refused, and the top level must be the type the caller expects. :func:`read_bytes` and
:func:`regular_file_size` give the same guarantees to other files we read (YAML, CSV, weights).
Every refusal is a :class:`TunesmithError` naming the file, so the
CLI prints one line and the studio fails only the request that touched it.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from itertools import accumulate
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError

MAX_JSON_BYTES = 16 * 1024 * 1024  # a representation.json with a 100k-token BPE vocabulary is ~3 MB
MAX_JSON_DEPTH = 32  # ours nest 4 deep; Python's parser recurses, so depth is checked before it runs
MAX_JSON_ITEMS = 2_000_000  # values in one document (a 100k-merge vocabulary is ~300k)


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # a JSON string, escapes and all; linear time
_NOT_STRUCTURE = re.compile(r"[^\[\]{},]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to inf without ever meeting parse_constant
        raise ValueError(f"{text[:20]} is too large for a number")
    return value


def _depth_and_items(text: str) -> tuple[int, int]:
    """Deepest bracket nesting and a rough value count, with string contents skipped.

    Strings are cut out and everything but brackets and commas dropped by two regular expressions,
    so a 16 MB vocabulary is scanned in a fraction of a second; only the brackets are walked."""
    structure = _NOT_STRUCTURE.sub("", _STRING.sub("", text))
    items = structure.count(",") + structure.count("[") + structure.count("{")
    deepest = max(accumulate(_STEP.get(ch, 0) for ch in structure), default=0)
    return max(deepest, 0), items


def parse_json(
    text: str | bytes,
    source: str,
    *,
    expect: type = dict,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """Parse a JSON document from an untrusted source, bounded in size, depth and type."""
    if len(text) > max_bytes:
        raise TunesmithError(f"{source} is larger than {max_bytes:,} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise TunesmithError(f"{source} is not UTF-8 text (a binary file?)") from None
    if "\x00" in text:
        raise TunesmithError(f"{source} holds NUL bytes (a binary file?)")
    deepest, items = _depth_and_items(text)
    if deepest > max_depth:
        raise TunesmithError(f"{source} nests {deepest} levels deep; at most {max_depth} are read")
    if items > MAX_JSON_ITEMS:
        raise TunesmithError(f"{source} holds more than {MAX_JSON_ITEMS:,} values")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise TunesmithError(f"{source} is not valid JSON ({reason})") from None
    if not isinstance(value, expect):
        names = {dict: "an object", list: "a list"}
        raise TunesmithError(f"{source} must hold {names.get(expect, expect.__name__)}, not {type(value).__name__}")
    return value


class TooLarge(TunesmithError):
    """A file over its size limit: readers that skip such files (a corpus) tell it from other refusals."""


def _regular(path: Path, name: str, info: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise TunesmithError(f"{name} is not a regular file")
    if info.st_size > max_bytes:
        raise TooLarge(f"{name} is {info.st_size:,} bytes; at most {max_bytes:,} are read")


def regular_file_size(path: Path | str, *, max_bytes: int, what: str = "") -> int:
    """The size of a regular file no larger than ``max_bytes`` (weights a library will read itself)."""
    path = Path(path)
    name = f"{what} {path}" if what else str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise TunesmithError(f"{name} is missing") from None
    except OSError as exc:
        raise TunesmithError(f"cannot read {name} ({exc.strerror or exc})") from None
    _regular(path, name, info, max_bytes)
    return info.st_size


def read_bytes(path: Path | str, *, max_bytes: int, what: str = "") -> bytes:
    """The bytes of a regular file no larger than ``max_bytes``; anything else is refused, naming the file.

    The path is looked at (through any link) before it is opened, so a FIFO or a device is never opened
    at all; the open file is looked at again, so a swap in between is caught too. A file over the limit
    raises :class:`TooLarge`, before a byte of it is read."""
    path = Path(path)
    name = f"{what} {path}" if what else str(path)
    regular_file_size(path, max_bytes=max_bytes, what=what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise TunesmithError(f"cannot read {name} ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as f:
        _regular(path, name, os.fstat(f.fileno()), max_bytes)
        try:
            data = f.read(max_bytes + 1)  # a file that grows while read stops here too
        except OSError as exc:
            raise TunesmithError(f"cannot read {name} ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise TooLarge(f"{name} is larger than {max_bytes:,} bytes")
    return data


def read_json(
    path: Path | str,
    *,
    expect: type = dict,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """Read and parse ``path`` as untrusted JSON; a missing, special, huge or malformed file is refused."""
    data = read_bytes(path, max_bytes=max_bytes)
    return parse_json(data, str(path), expect=expect, max_bytes=max_bytes, max_depth=max_depth)


def finite(value: float) -> bool:
    """True for a real, finite number: what every float setting and request field must be."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
