"""What ``tunesmith evaluate`` measures: pieces (notes, text, a JSON record) gathered into groups.

A medium reads its pieces (generated or real) into :class:`Piece`; the evaluation fills each
:class:`Group`'s feature values, comparisons against the training draw and novelty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunesmith.metrics.distributions import Comparison
from tunesmith.metrics.features import piece_notes
from tunesmith.metrics.novelty import PieceNovelty
from tunesmith.representations.midi_tokens import Notes


@dataclass
class Piece:
    """One piece of a group: its notes (None if it has none to read), ABC text, and its JSON record."""

    notes: Notes | None
    text: str | None = None
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class Group:
    """Pieces evaluated together: the samples at one temperature, or a draw of real pieces."""

    name: str
    temperature: float | None
    pieces: list[Piece]
    validity: dict[str, float | None] = field(default_factory=dict)
    seconds: float = 0.0
    values: dict[str, np.ndarray] = field(default_factory=dict)  # feature → one value per piece
    comparisons: dict[str, Comparison] = field(default_factory=dict)  # against the training draw
    novelty: list[PieceNovelty] = field(default_factory=list)
    two_sample: dict[str, Any] | None = None  # how well a classifier tells these pieces from real held-out ones
    folder: str | None = None  # where its files were written, relative to the report


def notes_of(score: Any, *, melody_only: bool = False) -> Notes | None:
    """A score's notes (its melody only, for ABC read through abc2midi), or None when it has none."""
    notes = piece_notes(score, melody_only=melody_only)
    return notes if len(notes) else None
