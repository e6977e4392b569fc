"""Prepared datasets on disk: one flat memmapped token stream per split plus ``meta.json``.

Layout of a prepared folder::

    meta.json             counts, split seed, source, the representation's name
    representation.json   the fitted representation (vocabulary…)
    train.bin, val.bin    every sequence of the split, concatenated, in the narrowest dtype
    train.idx, val.idx    int64 start offset of each sequence, plus the end (len = n + 1)
    skipped.tsv           every file or tune that was not kept, with its reason

Streams are opened lazily with ``np.memmap``, so a corpus costs no memory until read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.representations import Representation, from_json

SPLITS = ("train", "val")
FORMAT_VERSION = 1


def write_split(folder: Path, split: str, sequences: list[np.ndarray], dtype: np.dtype) -> int:
    """Concatenate ``sequences`` into ``{split}.bin`` with offsets in ``{split}.idx``.

    Token sequences are 1-D; frame sequences are ``(T, width)`` and their offsets count rows."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    stream = np.concatenate(sequences).astype(dtype, copy=False) if sequences else np.zeros(0, dtype)
    stream.tofile(folder / f"{split}.bin")
    offsets.tofile(folder / f"{split}.idx")
    return int(offsets[-1])


def write_meta(folder: Path, representation: Representation, meta: dict[str, Any]) -> None:
    (folder / "representation.json").write_text(json.dumps(representation.to_json(), indent=1))
    meta = {"format": FORMAT_VERSION, "representation": representation.name, **meta}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))


@dataclass
class PreparedData:
    """A prepared folder, opened read-only."""

    folder: Path
    meta: dict[str, Any]
    representation: Representation

    @classmethod
    def open(cls, folder: Path | str) -> PreparedData:
        folder = Path(folder)
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            raise TunesmithError(f"{folder} is not a prepared dataset (no meta.json); run 'tunesmith prepare' first")
        try:
            meta = json.loads(meta_path.read_text())
            rep = from_json(json.loads((folder / "representation.json").read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise TunesmithError(f"cannot read prepared dataset {folder}: {exc}") from None
        return cls(folder, meta, rep)

    def dtype(self) -> np.dtype:
        return np.dtype(self.meta["dtype"])

    def stream(self, split: str) -> np.ndarray:
        """The split's whole stream as a read-only memmap: tokens ``(N,)``, or frame rows ``(N, width)``
        when ``meta["frame_width"]`` is set."""
        path = self.folder / f"{split}.bin"
        size = path.stat().st_size if path.is_file() else 0
        width = self.meta.get("frame_width")
        if width is None:
            return np.memmap(path, dtype=self.dtype(), mode="r") if size else np.zeros(0, dtype=self.dtype())
        row = int(width) * self.dtype().itemsize
        if int(width) < 1 or size % row:
            raise TunesmithError(f"{path} holds {size} bytes, not whole frames of {row} bytes; prepare it again")
        if size == 0:
            return np.zeros((0, int(width)), dtype=self.dtype())
        return np.memmap(path, dtype=self.dtype(), mode="r", shape=(size // row, int(width)))

    def offsets(self, split: str) -> np.ndarray:
        return np.fromfile(self.folder / f"{split}.idx", dtype=np.int64)

    def sequences(self, split: str) -> list[np.ndarray]:
        """Every sequence of a split (views into the memmap)."""
        stream, offsets = self.stream(split), self.offsets(split)
        return [stream[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=False)]
