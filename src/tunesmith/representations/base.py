"""The representation interface: music in, arrays out, and back again.

A representation is fitted to a corpus (a vocabulary, a frame size…), saved as JSON next
to every prepared dataset, run and bundle, and restored from that JSON alone, so a model
can always be read back without the corpus it was trained on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from tunesmith.errors import TunesmithError

REGISTRY: dict[str, type[Representation]] = {}


def register(cls: type[Representation]) -> type[Representation]:
    """Class decorator: make a representation available by its ``name``."""
    REGISTRY[cls.name] = cls
    return cls


MEDIA = ("abc", "midi", "audio")  # what a representation's pieces are, whatever its arrays look like


class Representation(ABC):
    """Music in, arrays out, and back. ``kind`` says what the model reads (token ids or frames), ``medium``
    what the music is (ABC text, MIDI scores, audio): the sampler asks the first, every workflow the second
    (through :func:`tunesmith.media.of`), so no code above this layer tests names to find out."""

    name: ClassVar[str]
    kind: ClassVar[str]  # "tokens" (a vocabulary) or "frames" (vectors)
    medium: ClassVar[str]  # one of MEDIA
    unit: ClassVar[str]
    learns_merges: ClassVar[bool] = False  # fit(..., vocab_size=N) trains BPE merges (MidiTok's schemes)
    can_transpose: ClassVar[bool] = False  # frames: ``transpose(frames, shift)`` works (training-time augmentation)

    @classmethod
    @abstractmethod
    def fit(cls, items: list[Any]) -> Representation:
        """Build the representation's state (e.g. its vocabulary) from a corpus."""

    @abstractmethod
    def encode(self, item: Any) -> np.ndarray:
        """One piece of music as an array, with its start/end markers."""

    @abstractmethod
    def decode(self, array: np.ndarray) -> Any:
        """An array (a generated one included) back to music."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """The JSON-safe state that ``from_state`` needs."""

    @classmethod
    @abstractmethod
    def from_state(cls, state: dict[str, Any]) -> Representation: ...

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, **self.state()}


class TokenRepresentation(Representation):
    """A representation whose arrays are integer token ids with start and end markers."""

    kind = "tokens"
    unit: ClassVar[str] = "token"  # what one id is, as loss units and speeds name it ("char" for characters)
    reads_text: ClassVar[bool] = False  # one id per character of text: ``ids(text)`` reads a text primer
    start_id: int
    end_id: int

    @property
    @abstractmethod
    def vocab_size(self) -> int: ...

    def ids(self, text: str, what: str = "text") -> np.ndarray:
        """A text primer as ids (no markers). Only text representations read text; the rest refuse."""
        raise TunesmithError(f"{what} is text; this {self.name} model reads no text primer")

    def char_counts(self) -> np.ndarray | None:
        """Characters of text each id stands for (the markers count one each), for representations of text:
        a model's bits per character are its total bits over a split's targets divided by their sum, so models
        of characters and of longer tokens compare on one scale. None: not text (bits per token)."""
        return None

    def missing(self, item: Any) -> list[str]:
        """The symbols of ``item`` this vocabulary lacks, in order of first appearance (none: it encodes).
        ``prepare --vocab-from`` skips, and counts, the pieces that have any."""
        return []

    @property
    def dtype(self) -> np.dtype:
        """The narrowest unsigned type that holds every id: a char vocabulary fits in one byte."""
        return np.dtype(np.uint8 if self.vocab_size <= 256 else np.uint16 if self.vocab_size <= 65536 else np.uint32)


class FrameRepresentation(Representation):
    """A representation whose arrays are frames: one row of ``frame_dim`` values per time step.

    Frames are stored compactly on disk (``storage``: bit-packed for piano rolls, float16 for
    audio) and widened to float32 rows only for the model (``to_model``), so a prepared corpus
    costs a fraction of what one-hot or float32 matrices would (seed 000 ran out of memory).
    ``loss`` tells training which objective fits: "bce" for on/off frames, "mse" for values.
    """

    kind = "frames"
    unit: ClassVar[str] = "bit"  # what one predicted value is, for a loss per value
    loss: ClassVar[str]

    @property
    @abstractmethod
    def frame_dim(self) -> int:
        """Values per frame as the model sees them."""

    @abstractmethod
    def storage(self) -> tuple[np.dtype, int]:
        """(dtype, width) of one stored frame row."""

    @abstractmethod
    def to_model(self, stored: np.ndarray) -> np.ndarray:
        """Stored rows ``(T, width)`` → float32 frames ``(T, frame_dim)``."""

    # Hooks the frame sampler and the loaders call; the defaults suit frames with no markers.
    end_index: int | None = None  # the column whose 1 ends a piece, if the frames have one

    def start_frame(self) -> np.ndarray:
        """The frame fed first, before any primer: silence by default."""
        return np.zeros(self.frame_dim, dtype=np.float32)

    def tidy(self, bits: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Drawn on/off frames made to look encoded (``bce`` frames); as they are by default."""
        return bits.astype(np.uint8)

    def onset_mask(self) -> np.ndarray | None:
        """Columns that hold onsets (a trained onset weight is taken back out there), or None."""
        return None

    def transpose(self, frames: np.ndarray, shift: int) -> np.ndarray:
        raise TunesmithError(f"data.transpose: '{self.name}' frames cannot be transposed; set it to 0")


def from_json(data: dict[str, Any]) -> Representation:
    name = data.get("name")
    if name not in REGISTRY:
        raise TunesmithError(f"unknown representation '{name}'; known: {', '.join(sorted(REGISTRY))}")
    try:
        return REGISTRY[name].from_state(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise TunesmithError(f"representation '{name}' has a malformed state: {exc}") from None
