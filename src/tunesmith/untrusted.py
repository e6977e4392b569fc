"""One reader for JSON we did not write ourselves: bundles, run folders, the studio's requests.

A shared model or a copied run folder is a stranger's file. Before ``json`` sees a byte, the file
must be a regular file (not a FIFO or ``/dev/zero`` behind a link), no larger than ``max_bytes``,
and nested no deeper than ``max_depth``; NaN and Infinity are refused, and the top level must be
the type the caller expects. Every refusal is a :class:`TunesmithError` naming the file, so the
CLI prints one line and the studio fails only the request that touched it.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError

MAX_JSON_BYTES = 16 * 1024 * 1024  # a representation.json with a 100k-token BPE vocabulary is ~3 MB
MAX_JSON_DEPTH = 32  # ours nest 4 deep; Python's parser recurses, so depth is checked before it runs
MAX_JSON_ITEMS = 2_000_000  # values in one document (a 100k-merge vocabulary is ~300k)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _depth_and_items(text: str) -> tuple[int, int]:
    """Deepest bracket nesting and a rough value count, by a scan that skips string contents."""
    depth = deepest = items = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            items += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
        elif ch == ",":
            items += 1
    return deepest, items


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
    deepest, items = _depth_and_items(text)
    if deepest > max_depth:
        raise TunesmithError(f"{source} nests {deepest} levels deep; at most {max_depth} are read")
    if items > MAX_JSON_ITEMS:
        raise TunesmithError(f"{source} holds more than {MAX_JSON_ITEMS:,} values")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise TunesmithError(f"{source} is not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(value, expect):
        names = {dict: "an object", list: "a list"}
        raise TunesmithError(f"{source} must hold {names.get(expect, expect.__name__)}, not {type(value).__name__}")
    return value


def read_json(
    path: Path | str,
    *,
    expect: type = dict,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """Read and parse ``path`` as untrusted JSON; a missing, special, huge or malformed file is refused."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise TunesmithError(f"{path} is missing") from None
    except OSError as exc:
        raise TunesmithError(f"cannot read {path} ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise TunesmithError(f"{path} is not a regular file")
        if info.st_size > max_bytes:
            raise TunesmithError(f"{path} is {info.st_size:,} bytes; at most {max_bytes:,} are read")
        try:
            data = f.read(max_bytes + 1)  # a file that grows while read stops here too
        except OSError as exc:
            raise TunesmithError(f"cannot read {path} ({exc.strerror or exc})") from None
    return parse_json(data, str(path), expect=expect, max_bytes=max_bytes, max_depth=max_depth)


def finite(value: float) -> bool:
    """True for a real, finite number: what every float setting and request field must be."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
