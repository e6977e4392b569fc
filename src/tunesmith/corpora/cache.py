"""The user cache folder, and writes into it that a reader never sees half done.

The built-in corpora convert (music21 → MIDI) or render (MIDI → audio) their sources once and keep
the result here, so both need the same folder and the same atomic writes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    """The user cache: ``$TUNESMITH_CACHE``, else ``$XDG_CACHE_HOME/tunesmith``, else ``~/.cache/tunesmith``."""
    if os.environ.get("TUNESMITH_CACHE"):
        return Path(os.environ["TUNESMITH_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "tunesmith"


def atomic_write(path: Path, data: bytes) -> None:
    """Write through a temporary file renamed into place: a reader never sees half a file."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as tmp:
        tmp.write(data)
    os.chmod(tmp.name, 0o644)  # a temporary file is created private; the cache need not be
    os.replace(tmp.name, path)
