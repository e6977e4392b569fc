"""Results on disk: one folder per generated tune, with its files and a ``result.json``.

Plain folders rather than SQLite: every result is a handful of files a musician may want to open
anyway, and ``result.json`` beside them is all the index there is. A result id is 32 hex
characters (a random UUID); anything else is refused before a path is built, and a file is served
only if the result's own record lists it, so neither can reach outside the store.

Kept results survive a restart. Loose (not kept) ones are cleared when the studio starts and
capped while it runs, so the store does not grow without bound.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.untrusted import finite, read_json
from tunesmith.web.generate import MEDIA_TYPES, Piece

RESULT_ID = r"^[0-9a-f]{32}$"
FILE_NAME = r"^[A-Za-z0-9_-]{1,64}\.[a-z0-9]{1,8}$"
RECORD = "result.json"
MAX_LOOSE = 500  # results not kept, before the oldest go
MAX_RECORD_BYTES = 4 * 1024 * 1024  # one result.json: a tune's text and a few facts


def default_store() -> Path:
    return Path.home() / ".cache" / "tunesmith" / "studio"


class ResultStore:
    def __init__(self, root: Path, max_loose: int = MAX_LOOSE):
        self.root = Path(root).expanduser()
        self.folder = self.root / "results"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_loose = max_loose
        self._lock = threading.Lock()
        self._loose: list[str] = []  # ids of results not kept, oldest first
        self.clear_loose()
        self._names = {r["title"] for r in self.kept(limit=MAX_LOOSE * 10)}  # every name in use: no two alike
        self._count = len(self._names)

    def _path(self, rid: str) -> Path | None:
        return self.folder / rid if re.fullmatch(RESULT_ID, rid) else None

    def clear_loose(self) -> int:
        """Remove every result that was not kept (and any half-written folder); returns how many went."""
        gone = 0
        for path in self.folder.iterdir():
            record = _read(path / RECORD) if path.is_dir() else None
            if path.is_dir() and re.fullmatch(RESULT_ID, path.name) and not (record and record.get("kept")):
                shutil.rmtree(path, ignore_errors=True)
                gone += 1
        return gone

    def new_folder(self) -> Path:
        path = self.folder / uuid.uuid4().hex
        path.mkdir()
        return path

    def _name(self, piece: Piece) -> str:
        """A name no other result has: the tune's title, else "Tune 12" counted over the store; "(2)" where a
        title is taken (two "Tune 1"s side by side, or two reels the model titled alike, are hard to tell apart)."""
        with self._lock:
            self._count += 1
            base = piece.title or f"{piece.untitled} {self._count}"
            name, n = base, 2
            while name in self._names:
                name, n = f"{base} ({n})", n + 1
            self._names.add(name)
            return name

    def save(self, piece: Piece, about: dict[str, Any]) -> dict[str, Any]:
        """Write ``result.json`` for a finished piece; ``about`` says which model, settings and job made it."""
        rid = piece.folder.name
        record = {"id": rid, "created": time.time(), "kept": False, **about, "number": piece.number}
        record.update(_facts(piece, rid), title=self._name(piece))
        _write(piece.folder / RECORD, record)
        with self._lock:
            self._loose.append(rid)
            drop, self._loose = self._loose[: -self.max_loose], self._loose[-self.max_loose :]
        for old in drop:
            self._drop_if_loose(old)
        return record

    def replace(self, rid: str, piece: Piece) -> dict[str, Any] | None:
        """The record of a result rendered again from a person's edit (same id, kept or not as before); its name
        changes only with its ``T:`` line."""
        record = self.get(rid)
        if record is None:
            return None
        old_title = record["title"]
        record.update(_facts(piece, rid), title=old_title, edits=int(record.get("edits", 0)) + 1)
        if piece.title and piece.title != old_title and not old_title.startswith(f"{piece.title} ("):
            record["title"] = self._name(piece)
        with self._lock:
            _write(piece.folder / RECORD, record)
        return record

    def _drop_if_loose(self, rid: str) -> None:
        path = self._path(rid)
        record = self.get(rid)
        if path is not None and record is not None and not record.get("kept"):
            shutil.rmtree(path, ignore_errors=True)

    def get(self, rid: str) -> dict[str, Any] | None:
        path = self._path(rid)
        return _read(path / RECORD) if path is not None else None

    def file(self, rid: str, name: str) -> tuple[Path, str] | None:
        """The path and media type of a file the result lists; None for anything else."""
        record = self.get(rid)
        if record is None or not re.fullmatch(FILE_NAME, name):
            return None
        listed = next((f for f in record["files"] if f["name"] == name), None)
        path = self.folder / rid / name
        return (path, listed["media_type"]) if listed and path.is_file() else None

    def set_kept(self, rid: str, kept: bool) -> dict[str, Any] | None:
        path = self._path(rid)
        with self._lock:
            record = self.get(rid)
            if path is None or record is None:
                return None
            record["kept"] = kept
            _write(path / RECORD, record)
            if kept and rid in self._loose:
                self._loose.remove(rid)
            elif not kept and rid not in self._loose:
                self._loose.append(rid)
        return record

    def kept(self, limit: int = 200) -> list[dict[str, Any]]:
        """Kept results, newest first."""
        records = []
        for path in self.folder.iterdir():
            record = _read(path / RECORD) if re.fullmatch(RESULT_ID, path.name) else None
            if record and record.get("kept"):
                records.append(record)
        return sorted(records, key=lambda r: r["created"], reverse=True)[:limit]


def _facts(piece: Piece, rid: str) -> dict[str, Any]:
    """What a record says about the piece itself: its checks, text and files."""
    return {
        "valid": piece.valid,
        "facts": [{"label": k, "value": v} for k, v in piece.facts],
        "checks": piece.checks,
        "problems": piece.problems,
        "text": piece.text,
        "files": [_file(piece.folder, rid, kind, name) for kind, name in piece.files],
        **piece.details,
    }


def _file(folder: Path, rid: str, kind: str, name: str) -> dict[str, Any]:
    path = folder / name
    return {
        "kind": kind,
        "name": name,
        "media_type": MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
        "bytes": path.stat().st_size,
        "url": f"/api/results/{rid}/files/{name}",
    }


def _read(path: Path) -> dict[str, Any] | None:
    """A result's record, or None when it is absent or not one we could have written (read as untrusted JSON:
    the store is a folder on disk, and a damaged or planted record must cost that result, not the page)."""
    try:
        record = read_json(path, max_bytes=MAX_RECORD_BYTES)
    except TunesmithError:
        return None
    from pydantic import ValidationError

    from tunesmith.web.schemas import Result

    try:  # the shape every page and API answer relies on: a record missing a field is not served as a 500
        Result.model_validate(record)
    except ValidationError:
        return None
    return record if finite(record.get("created")) else None


def _write(path: Path, record: dict[str, Any]) -> None:
    """Write-then-rename, so a reader never sees half a record and a crash leaves the old one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(path)
