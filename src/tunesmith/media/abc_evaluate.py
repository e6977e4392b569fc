"""The ABC medium in ``tunesmith evaluate``: tunes written as ``NNN.abc`` (+ ``NNN.mid``) and checked by
:mod:`tunesmith.metrics.validity`, real tunes read as their melody through abc2midi, novelty by whole bars."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.media import clear_numbered, numbered
from tunesmith.media.abc_samples import generate_tunes, tune_text
from tunesmith.metrics.abc_corpus import CorpusProfile
from tunesmith.metrics.abc_shape import SHAPE_FEATURES, shape
from tunesmith.metrics.novelty import Runs, bar_tokens, compare_runs
from tunesmith.metrics.pieces import Group, Piece, notes_of
from tunesmith.metrics.two_sample import two_sample_test
from tunesmith.metrics.validity import check, check_many, summarize
from tunesmith.render.midi import convert_many, convert_tunebook
from tunesmith.representations.midi_tokens import Notes
from tunesmith.sampling import SampleSettings


def tunebook_notes(texts: list[str]) -> list[Notes | None]:
    """The melody notes of many ABC tunes from a single abc2midi run over one tunebook (0.6 s for
    the 11,600 folk training tunes, where one process per tune takes minutes). A tune abc2midi
    cannot convert gives None; if abc2midi crashes, the tunes it did not reach go one by one."""
    with tempfile.TemporaryDirectory(prefix="tunesmith-book-") as tmp:
        return [read_melody(path) if path else None for path in convert_tunebook(texts, Path(tmp))]


def read_melody(path: Path) -> Notes | None:
    """The melody of a MIDI file abc2midi wrote; None for one symusic cannot read or without notes."""
    import symusic

    try:
        return notes_of(symusic.Score(str(path)), melody_only=True)
    except Exception:  # symusic raises plain RuntimeError/ValueError on bad MIDI
        return None


def real_pieces(data: Any, split: str, indices: np.ndarray) -> list[Piece]:
    """Tunes of a prepared split as the samples are read: their text, converted by abc2midi."""
    rep = data.representation
    sequences = data.sequences(split)
    texts = [rep.decode(sequences[i]) for i in indices]
    return [Piece(n, t) for n, t in zip(tunebook_notes(texts), texts, strict=True)]


def evaluation_group(loaded: Any, chunks: list[SampleSettings], temperature: float, folder: Path) -> Group:
    """Sample ABC tunes, write ``NNN.abc`` (and ``NNN.mid`` where abc2midi converts), check each."""
    started = time.perf_counter()
    clear_numbered(folder, (".abc", ".mid"))
    rep = loaded.representation
    generated = [g for chunk in chunks for g in generate_tunes(loaded.model, rep, chunk, loaded.corpus)]
    names = numbered(len(generated))
    texts = [tune_text(rep, g.tokens, i + 1) for i, g in enumerate(generated)]
    for name, text in zip(names, texts, strict=True):
        (folder / f"{name}.abc").write_text(text, encoding="utf-8")
    conversions = convert_many(texts, [folder / f"{n}.mid" for n in names])
    profile = getattr(loaded, "corpus", None)
    reports = [
        check(t, ending=g.ending, conversion=c, profile=profile)
        for t, g, c in zip(texts, generated, conversions, strict=True)
    ]
    pieces = []
    for name, text, g, conv, v in zip(names, texts, generated, conversions, reports, strict=True):
        notes = read_melody(folder / f"{name}.mid") if conv.converted else None
        record = {
            "file": f"{name}.abc",
            "length": len(rep.decode(g.tokens)),  # characters, whatever the model's unit
            "tokens": int(g.tokens.size),
            "ending": g.ending,
            "converts": v.converts,
            "abc2midi_errors": v.abc2midi_errors,
            "header_ok": v.header_ok,
            "bars": v.bars,
            "bars_ok": v.bars_ok,
            "valid": v.valid,
            "reasons": v.reasons,
        }
        pieces.append(Piece(notes, text, record))
    validity = {**summarize(reports), "converts_share": sum(v.converts for v in reports) / len(reports)}
    return Group(f"T={temperature:g}", temperature, pieces, validity, time.perf_counter() - started)


def held_out_validity(pieces: list[Piece], profile: CorpusProfile | None = None) -> dict[str, Any]:
    """The validity shares of real held-out tunes, for the reference row (abc2midi per tune, and the same corpus
    profile, as for samples)."""
    texts = [f"X:{i + 1}\n{p.text}" for i, p in enumerate(pieces)]
    reports = check_many(texts, profile=profile)
    for piece, v in zip(pieces, reports, strict=True):
        piece.record.update(converts=v.converts, bars=v.bars, bars_ok=v.bars_ok, valid=v.valid, reasons=v.reasons)
    return {**summarize(reports), "converts_share": sum(v.converts for v in reports) / max(1, len(reports))}


def bar_runs(queries: list[Piece], corpus: list[Piece]) -> list[Runs]:
    """The longest run of whole bars (as written) each query shares with a corpus tune."""
    vocabulary: dict[str, int] = {}
    corpus_bars = [bar_tokens(p.text or "", vocabulary) for p in corpus]
    return compare_runs([bar_tokens(p.text or "", vocabulary) for p in queries], corpus_bars)


def _tune(piece: Piece) -> str:
    """A piece's ABC without the ``X:`` line a sample is written with (a real tune has none): the two sides of a
    comparison must not differ by bookkeeping."""
    text = piece.text or ""
    return text.split("\n", 1)[1] if text.startswith("X:") else text


def shape_values(pieces: list[Piece], profile: CorpusProfile | None) -> dict[str, np.ndarray]:
    """The shape of each tune (:mod:`tunesmith.metrics.abc_shape`), common rhythms by the corpus's table."""
    rows = [shape(_tune(p), profile.rhythms if profile is not None else None) for p in pieces]
    return {name: np.array([row[name] for row in rows], dtype=np.float64) for name in SHAPE_FEATURES}


def tell_apart(real: list[Piece], other: list[Piece], seed: int) -> dict[str, Any] | None:
    """The classifier two-sample test of :mod:`tunesmith.metrics.two_sample` (None below 10 tunes a side)."""
    if min(len(real), len(other)) < 10:
        return None
    return two_sample_test([_tune(p) for p in real], [_tune(p) for p in other], seed=seed).to_json()
