"""Which models the studio offers, under ids a browser can never turn into a path.

The built-in models (:mod:`tunesmith.pretrained`) come first, under their names. Runs and bundles are
found by walking the given folders (and the usual ``runs/``, ``bundles/`` and ``demo-output/`` of the
working directory) a few levels deep, with a cap on how many folders are looked at, so pointing the
studio at a home directory cannot hang it. Each model gets an opaque id (a hash of its resolved path);
the server maps ids back to paths, and a client only ever names an id from the list. Loaded models are
kept in a small LRU cache.

Every model folder is a stranger's: its JSON and YAML are read through bounded readers, and a model
whose files cannot be read is listed as unusable, with the reason, rather than stopping the studio.
Clients never see the server's absolute paths: models are named relative to the folder they were
found in, and :meth:`ModelCatalog.redact` rewrites any error message the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunesmith.bundle import MAX_CONFIG_BYTES, config_from, is_bundle, is_run, read_run_config
from tunesmith.errors import TunesmithError
from tunesmith.pretrained import builtin_models
from tunesmith.untrusted import finite, read_json

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
    problem: str | None = None  # why the model's files could not be read; None when they could

    def to_json(self) -> dict[str, Any]:
        """What ``/api/models`` shows: the name, never the server's path."""
        return {
            **self.details,
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "preset": self.preset,
            "representation": self.representation,
            "architecture": self.architecture,
            "usable": self.problem is None,
            "problem": self.problem,
        }


def _describe(path: Path, kind: str, name: str) -> ModelEntry:
    """Read the model's recipe without loading it. A file that cannot be read leaves the fields blank and says
    why in ``problem``, with the path written as the model's name; loading would refuse it with the same words."""
    entry = ModelEntry(model_id(path), name, path.resolve(), kind)
    try:
        if kind == "run":
            config = read_run_config(path / "config.yaml")
        else:
            info = read_json(path / "config.json", max_bytes=MAX_CONFIG_BYTES)
            config = config_from(
                info.get("config"), str(path / "config.json"), "'config' must be an object of settings"
            )
    except TunesmithError as exc:
        entry.problem = _shown(str(exc), path, name)
        return entry
    if kind == "run" and (path / "status.json").is_file():  # how training went: shown when it can be read
        with contextlib.suppress(TunesmithError):
            status = read_json(path / "status.json", max_bytes=MAX_CONFIG_BYTES)
            entry.details = {"state": _short(status.get("state")), "epochs": _short(status.get("epochs"))}
    entry.preset = config.preset
    entry.representation = config.data.representation
    m = config.model
    entry.architecture = f"{m.name} {m.layers} × {m.hidden}"
    return entry


def _short(value: Any) -> Any:
    """A status field as shown: nothing, a number, or at most 40 characters of text."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and finite(value)):
        return value
    return str(value)[:40]


def _shown(message: str, path: Path, name: str) -> str:
    """``message`` with the model folder's absolute path (as given and resolved) written as its name."""
    for full in sorted({str(path.absolute()), str(path.resolve())}, key=len, reverse=True):
        message = message.replace(full, name)
    return " ".join(message.split())


def builtin_entries() -> list[ModelEntry]:
    """The installed built-in models, named as the command line names them (``details.builtin`` is true)."""
    entries = []
    for name, path in builtin_models().items():
        entry = _describe(path, "bundle", name)
        entry.details = {**entry.details, "builtin": True}
        entries.append(entry)
    return entries


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
        """``include_defaults``: also the built-in models and the working directory's usual folders."""
        self.include_builtin = include_defaults
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
                found = [*(builtin_entries() if self.include_builtin else []), *discover(self.folders)]
                self._entries = {}
                for entry in found:  # a built-in model found again in a searched folder keeps its name
                    self._entries.setdefault(entry.id, entry)
                self._scanned = time.monotonic()
            return list(self._entries.values())

    def shown_folders(self) -> list[str]:
        """The searched folders as a page may show them: by name, not by the server's path."""
        return [f.name or str(f) for f in self.folders]

    def redact(self, message: str) -> str:
        """``message`` with every searched folder's absolute path replaced by the folder's name (the start of
        every model's shown name) and the home folder by ``~``, for anything a client may read."""
        pairs = []
        for folder in self.folders:
            for full in {str(folder.absolute()), str(folder.resolve())}:
                if folder.name and full != "/":
                    pairs.append((full, folder.name))
        for full, name in sorted(pairs, key=lambda p: len(p[0]), reverse=True):
            message = message.replace(full, name)
        home = str(Path.home())
        return message.replace(home, "~") if len(home) > 1 else message

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
        try:
            loaded = load(entry.path)
        except TunesmithError as exc:  # a bad model fails its own request, and names no server path
            raise TunesmithError(self.redact(_shown(str(exc), entry.path, entry.name))) from None
        except (OSError, MemoryError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise TunesmithError(f"{entry.name} could not be loaded ({reason})") from None
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
