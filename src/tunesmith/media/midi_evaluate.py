"""The MIDI medium in ``tunesmith evaluate``: pieces decoded and written as ``NNN.mid``, token models
checked for syntax errors; real pieces read through the same decoder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.media import clear_numbered, numbered
from tunesmith.media.midi_samples import decode_piece
from tunesmith.metrics.pieces import Group, Piece, notes_of
from tunesmith.representations import FrameRepresentation
from tunesmith.sampling import SampleSettings, generate_arrays


def real_pieces(data: Any, split: str, indices: np.ndarray) -> list[Piece]:
    """Pieces of a prepared split through the representation's decoder, so that a training piece is
    quantised exactly as a generated one."""
    rep = data.representation
    sequences = data.sequences(split)
    pieces = []
    for i in indices:
        array = rep.to_model(np.asarray(sequences[i])) if isinstance(rep, FrameRepresentation) else sequences[i]
        pieces.append(Piece(notes_of(rep.decode(array))))
    return pieces


def evaluation_group(loaded: Any, chunks: list[SampleSettings], temperature: float, folder: Path) -> Group:
    """Sample MIDI tokens or piano-roll frames, decode and write ``NNN.mid``; count syntax errors."""
    started = time.perf_counter()
    clear_numbered(folder, (".mid",))
    rep = loaded.representation
    onset_weight = loaded.config.train.onset_weight
    arrays = [a for chunk in chunks for a in generate_arrays(loaded.model, rep, chunk, None, onset_weight)]
    pieces = []
    for name, (array, ended) in zip(numbered(len(arrays)), arrays, strict=True):
        score, syntax = decode_piece(rep, array)
        score.dump_midi(str(folder / f"{name}.mid"))
        notes = notes_of(score)
        record: dict[str, Any] = {
            "file": f"{name}.mid",
            "length": int(len(array)),
            "ended": bool(ended),
            "notes": len(notes or []),
        }
        if syntax is not None:
            record.update(tokens=syntax.tokens, syntax_errors=len(syntax.errors))
        pieces.append(Piece(notes, None, record))
    n = len(pieces)
    validity: dict[str, float | None] = {
        "ended_share": sum(p.record["ended"] for p in pieces) / n,
        "notes_share": sum(p.notes is not None for p in pieces) / n,
        "syntax_error_rate": None,
        "clean_share": None,
    }
    if pieces and "syntax_errors" in pieces[0].record:
        tokens = sum(p.record["tokens"] for p in pieces)
        validity["syntax_error_rate"] = sum(p.record["syntax_errors"] for p in pieces) / tokens if tokens else 0.0
        validity["clean_share"] = sum(p.record["syntax_errors"] == 0 for p in pieces) / n
    return Group(f"T={temperature:g}", temperature, pieces, validity, time.perf_counter() - started)
