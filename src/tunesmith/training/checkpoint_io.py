"""Reading and checksumming checkpoints, without importing Lightning.

Every checkpoint a run writes carries a digest of its whole contents (:func:`add_checksum`, the last
step of saving): a BLAKE2b hash over every tensor's dtype, shape and bytes and every other value, in
a fixed key order. :func:`load_checkpoint`, the one reader (resume, sample, export, evaluate), computes
it again and refuses a file whose bytes changed since it was written: a bit flipped inside a weight
tensor still unpickles cleanly, so without the digest it would be trained on or sampled from silently.
Checkpoints written before digests existed still load.
"""

from __future__ import annotations

import hashlib
import math
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from tunesmith.errors import TunesmithError

CHECKSUM_KEY = "tunesmith_checksum"
ALGORITHM = "blake2b-256"


def _feed(h: Any, value: Any) -> None:
    """Hash ``value`` canonically: the same contents give the same bytes before saving and after loading."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        if t.numel():
            flat = t.to("cpu").contiguous().reshape(-1)
            h.update(flat.view(torch.uint8).numpy())
    elif isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: (type(kv[0]).__name__, repr(kv[0])))
        h.update(f"M{len(items)}".encode())
        for k, v in items:
            _feed(h, k)
            _feed(h, v)
    elif isinstance(value, (list, tuple)):
        h.update(f"L{len(value)}".encode())
        for v in value:
            _feed(h, v)
    elif isinstance(value, (bytes, bytearray)):
        h.update(f"B{len(value)}:".encode() + bytes(value))
    elif isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
        h.update(f"S{len(raw)}:".encode() + raw)
    elif isinstance(value, float):
        h.update(f"F{value.hex() if math.isfinite(value) else repr(value)};".encode())
    elif value is None or isinstance(value, (bool, int, torch.dtype, torch.device)):
        h.update(f"{type(value).__name__}:{value!r};".encode())  # bool before int: repr True vs 1
    else:  # any other type that loads safely: its type is hashed, not a repr that may hold an address
        h.update(f"O{type(value).__qualname__};".encode())


def checksum(checkpoint: Mapping[str, Any]) -> str:
    """The digest of everything in ``checkpoint`` except the stored digest itself."""
    h = hashlib.blake2b(digest_size=32)
    _feed(h, {k: v for k, v in checkpoint.items() if k != CHECKSUM_KEY})
    return h.hexdigest()


def add_checksum(checkpoint: dict[str, Any]) -> None:
    """Store the digest in ``checkpoint``: call it last, once nothing else will be added."""
    checkpoint[CHECKSUM_KEY] = {"algorithm": ALGORITHM, "digest": checksum(checkpoint)}


def verify(checkpoint: Mapping[str, Any], path: Path) -> None:
    """Refuse a checkpoint whose contents no longer match the digest written with it (none: an older file)."""
    stored = checkpoint.get(CHECKSUM_KEY)
    if stored is None:
        return
    if not isinstance(stored, Mapping) or stored.get("algorithm") != ALGORITHM:
        raise TunesmithError(f"checkpoint {path} is damaged (its checksum record is unreadable)")
    if checksum(checkpoint) != stored.get("digest"):
        raise TunesmithError(
            f"checkpoint {path} is damaged (checksum mismatch): its bytes changed after it was written"
        )


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint without unpickling arbitrary objects and verify its checksum; a damaged file is named."""
    path = Path(path)
    if not path.is_file():
        raise TunesmithError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, KeyError) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise TunesmithError(f"checkpoint {path} is corrupt or truncated ({reason})") from None
    except Exception as exc:  # an unpickling refusal means the file is not one of ours
        raise TunesmithError(f"checkpoint {path} cannot be read safely ({type(exc).__name__})") from None
    if not isinstance(checkpoint, dict):
        raise TunesmithError(
            f"checkpoint {path} is not a tunesmith checkpoint (it holds a {type(checkpoint).__name__})"
        )
    verify(checkpoint, path)
    return checkpoint


def fsync_file(path: Path) -> None:
    """Push a written file's bytes to the disk before it is renamed into place."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable; a system that cannot open folders is left as it is."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
