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
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.representations import Representation, from_json
from tunesmith.untrusted import read_json

SPLITS = ("train", "val")
FORMAT_VERSION = 1
MAX_META_BYTES = 1024 * 1024  # meta.json: counts and names, a few kilobytes


class SplitWriter:
    """Append sequences to ``{split}.bin`` one at a time, so a corpus is written while it is read.

    Used as a context manager: ``append`` writes one sequence (1-D tokens, or ``(T, width)`` frame
    rows) straight to the file and keeps only its end offset; leaving the block writes
    ``{split}.idx`` and moves both files into place. An error inside the block leaves neither, so
    a failed prepare never looks finished. Memory: one sequence, plus 8 bytes per sequence.
    """

    def __init__(self, folder: Path, split: str, dtype: np.dtype, width: int | None = None):
        self.folder, self.split, self.dtype, self.width = Path(folder), split, np.dtype(dtype), width
        self.offsets = [0]
        self._file: Any = None

    def _path(self, suffix: str) -> Path:
        return self.folder / f"{self.split}.{suffix}"

    def __enter__(self) -> SplitWriter:
        self._file = self._path("bin.tmp").open("wb")
        return self

    def append(self, sequence: np.ndarray) -> int:
        """Write one sequence; returns its length (tokens, or frame rows)."""
        array = np.ascontiguousarray(sequence, dtype=self.dtype)
        expected = 1 if self.width is None else 2
        if array.ndim != expected or (self.width is not None and array.shape[1] != self.width):
            shape = "(T,)" if self.width is None else f"(T, {self.width})"
            raise ValueError(f"{self.split}: a sequence must be shaped {shape}, not {array.shape}")
        self._file.write(array.tobytes())
        self.offsets.append(self.offsets[-1] + len(array))
        return len(array)

    @property
    def total(self) -> int:
        return self.offsets[-1]

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        self._file.close()
        if kind is not None:
            self._path("bin.tmp").unlink(missing_ok=True)
            return
        np.asarray(self.offsets, dtype=np.int64).tofile(self._path("idx.tmp"))
        os.replace(self._path("bin.tmp"), self._path("bin"))
        os.replace(self._path("idx.tmp"), self._path("idx"))


def write_split(folder: Path, split: str, sequences: list[np.ndarray], dtype: np.dtype) -> int:
    """Write ``sequences`` into ``{split}.bin`` with offsets in ``{split}.idx`` (see :class:`SplitWriter`).

    Token sequences are 1-D; frame sequences are ``(T, width)`` and their offsets count rows."""
    width = np.shape(sequences[0])[1] if sequences and np.ndim(sequences[0]) == 2 else None
    with SplitWriter(folder, split, dtype, width) as writer:
        for sequence in sequences:
            writer.append(sequence)
    return writer.total


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
        if not meta_path.exists():
            raise TunesmithError(f"{folder} is not a prepared dataset (no meta.json); run 'tunesmith prepare' first")
        meta = read_json(meta_path, max_bytes=MAX_META_BYTES)  # a copied dataset is a stranger's file
        try:
            rep = from_json(read_json(folder / "representation.json"))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            reason = " ".join(str(exc).split())[:120]
            raise TunesmithError(f"{folder / 'representation.json'}: not a representation's state ({reason})") from None
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
