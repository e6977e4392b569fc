"""Which models the studio offers, under ids a browser can never turn into a path.

Runs and bundles are found by walking the given folders (and the usual ``runs/``, ``bundles/``
and ``demo-output/`` of the working directory) a few levels deep, with a cap on how many folders
are looked at, so pointing the studio at a home directory cannot hang it. Each model gets an
opaque id (a hash of its resolved path); the server maps ids back to paths, and a client only
ever names an id from the list. Loaded models are kept in a small LRU cache.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tunesmith.bundle import is_bundle, is_run
from tunesmith.errors import TunesmithError

DEFAULT_DIRS = ("runs", "bundles", "demo-output")
MAX_DEPTH = 3  # levels below each folder searched
MAX_FOLDERS = 5000  # folders looked at per search root
MAX_MODELS = 200
SKIP = {"checkpoints", "tensorboard", "samples", "node_modules", "__pycache__", "site-packages"}
ID_PATTERN = r"^[0-9a-f]{12}$"


def model_id(path: Path) -> str:
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]


@dataclass
class ModelEntry:
    id: str
    name: str  # shown to people: the folder relative to where it was found
    path: Path
    kind: str  # "run" or "bundle"
    preset: str = ""
    representation: str = ""
    architecture: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """What ``/api/models`` shows; the path is there to read, never to send back."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "preset": self.preset,
            "representation": self.representation,
            "architecture": self.architecture,
            "path": str(self.path),
            **self.details,
        }


def _describe(path: Path, kind: str, name: str) -> ModelEntry:
    """Read the model's recipe without loading it: a damaged file leaves the fields blank (loading will say why)."""
    entry = ModelEntry(model_id(path), name, path.resolve(), kind)
    try:
        if kind == "run":
            config = yaml.safe_load((path / "config.yaml").read_text()) or {}
            status_file = path / "status.json"
            if status_file.is_file():
                status = json.loads(status_file.read_text())
                entry.details = {"state": status.get("state"), "epochs": status.get("epochs")}
        else:
            config = json.loads((path / "config.json").read_text()).get("config", {})
        entry.preset = str(config.get("preset", ""))
        entry.representation = str((config.get("data") or {}).get("representation", ""))
        model = config.get("model") or {}
        entry.architecture = f"{model.get('name', '?')} {model.get('layers', '?')} × {model.get('hidden', '?')}"
    except (OSError, ValueError, AttributeError, yaml.YAMLError):
        pass
    return entry


def discover(folders: list[Path]) -> list[ModelEntry]:
    """Runs and bundles in ``folders`` (each may itself be one), breadth-first, bounded in depth and count."""
    found: dict[str, ModelEntry] = {}
    for root in folders:
        if not root.is_dir():
            continue
        queue, looked = [(root, 0)], 0
        while queue and looked < MAX_FOLDERS and len(found) < MAX_MODELS:
            folder, depth = queue.pop(0)
            looked += 1
            kind = "bundle" if is_bundle(folder) else "run" if is_run(folder) else None
            if kind:
                name = root.name if folder == root else f"{root.name}/{folder.relative_to(root).as_posix()}"
                entry = _describe(folder, kind, name)
                found.setdefault(entry.id, entry)
                continue  # a model's own folders hold no further models
            if depth >= MAX_DEPTH:
                continue
            try:
                children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
            except OSError:
                continue
            queue += [(c, depth + 1) for c in children if not c.name.startswith(".") and c.name not in SKIP]
    return sorted(found.values(), key=lambda e: e.name)


class ModelCatalog:
    """Found models by id (rescanned at most every few seconds) and a bounded cache of loaded ones."""

    def __init__(self, folders: list[Path], *, include_defaults: bool = True, cache_size: int = 2, rescan_s=3.0):
        extra = [Path.cwd() / d for d in DEFAULT_DIRS] if include_defaults else []
        self.folders = list(dict.fromkeys([*(Path(f).expanduser() for f in folders), *extra]))
        self.cache_size, self.rescan_s = cache_size, rescan_s
        self._entries: dict[str, ModelEntry] = {}
        self._scanned = float("-inf")
        self._loaded: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def entries(self) -> list[ModelEntry]:
        with self._lock:
            if time.monotonic() - self._scanned > self.rescan_s:
                self._entries = {e.id: e for e in discover(self.folders)}
                self._scanned = time.monotonic()
            return list(self._entries.values())

    def get(self, mid: str) -> ModelEntry | None:
        return next((e for e in self.entries() if e.id == mid), None)

    def load(self, mid: str) -> Any:
        """The loaded model (``tunesmith.bundle.LoadedModel``); raises TunesmithError if it will not load."""
        from tunesmith.bundle import load

        entry = self.get(mid)
        if entry is None:
            raise TunesmithError(f"model {mid} is no longer there; reload the page")
        stamp = _stamp(entry)
        with self._lock:
            hit = self._loaded.get(mid)
            if hit is not None and hit[0] == stamp:  # retrained since? then load again
                self._loaded.move_to_end(mid)
                return hit[1]
        loaded = load(entry.path)
        with self._lock:
            self._loaded[mid] = (stamp, loaded)
            self._loaded.move_to_end(mid)
            while len(self._loaded) > self.cache_size:
                self._loaded.popitem(last=False)
        return loaded


def _stamp(entry: ModelEntry) -> tuple[float, ...]:
    """Modification times of the files a load reads, so a retrained or replaced model is not served stale."""
    names = ["model.safetensors"] if entry.kind == "bundle" else ["checkpoints/best.ckpt", "checkpoints/last.ckpt"]
    return tuple((entry.path / n).stat().st_mtime if (entry.path / n).exists() else 0.0 for n in names)
