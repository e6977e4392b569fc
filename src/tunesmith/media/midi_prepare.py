"""The MIDI medium's prepare: scores → a token or piano-roll dataset folder.

The split is by piece and made *before* augmentation, so a transposed copy of a validation
piece never lands in the training split; only the training split is augmented.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.data.prepared import write_meta, write_split
from tunesmith.errors import TunesmithError
from tunesmith.media import PrepareRequest
from tunesmith.representations import REGISTRY, FrameRepresentation
from tunesmith.representations import get as get_representation
from tunesmith.representations.midi_tokens import MidiTokenRepresentation

MAX_TRANSPOSE = 12
MAX_VOCAB_SIZE = 65536


def read_pieces(corpus: str | None, input_path: Path | str | None, max_pieces: int) -> tuple[list[Any], Any, dict]:
    """Pieces from a built-in MIDI corpus or the user's folder, with the skip report."""
    from tunesmith.corpora.midi import find_midi_files, read_midi_files
    from tunesmith.corpora.midi_builtin import builtin_pieces

    if corpus is not None:
        pieces, report, info = builtin_pieces(corpus, max_pieces=max_pieces)
        return pieces, report, {"source": f"builtin:{corpus}", **info}
    root = Path(input_path).expanduser()
    files = find_midi_files(root)
    if not files:
        raise TunesmithError(f"no .mid or .midi files found in {root}")
    pieces, report = read_midi_files(files, base=root if root.is_dir() else root.parent, max_pieces=max_pieces)
    return pieces, report, {"source": str(root.resolve())}


def prepare_midi(request: PrepareRequest) -> tuple[dict[str, Any], float]:
    """Read, split by piece (seeded), augment the training split, fit and encode into ``request.out``.

    ``request.midi`` holds the MIDI options: transpose, tempo_factors, normalize_key, vocab_size."""
    from tunesmith.corpora.augment import augmented
    from tunesmith.corpora.augment import normalize_key as to_c
    from tunesmith.corpora.midi import SKIP_REASONS, Piece

    started = time.perf_counter()
    out, corpus, input_path, representation = request.out, request.corpus, request.input_path, request.representation
    val_fraction, seed, max_pieces = request.val_fraction, request.seed, request.max_tunes
    options = dict(request.midi)
    transpose, normalize_key = int(options.pop("transpose", 0)), bool(options.pop("normalize_key", False))
    tempo_factors, vocab_size = tuple(options.pop("tempo_factors", ())), int(options.pop("vocab_size", 0))
    if options:
        raise TunesmithError(f"unknown MIDI options: {', '.join(sorted(options))}")
    if not 0 <= transpose <= MAX_TRANSPOSE:
        raise TunesmithError(f"--transpose {transpose} must be between 0 and {MAX_TRANSPOSE} semitones")
    if any(not 0.5 <= f <= 2.0 for f in tempo_factors) or len(tempo_factors) > 8:
        raise TunesmithError(f"--tempo-stretch {tempo_factors} takes up to 8 factors between 0.5 and 2")
    if not 0 <= vocab_size <= MAX_VOCAB_SIZE:
        raise TunesmithError(f"--vocab-size {vocab_size} must be between 0 (no BPE) and {MAX_VOCAB_SIZE}")
    cls = get_representation(representation)
    if vocab_size and not cls.learns_merges:
        bpe = [n for n, c in REGISTRY.items() if c.learns_merges]
        raise TunesmithError(f"--vocab-size (BPE) applies to {' and '.join(sorted(bpe))} only")
    pieces, report, info = read_pieces(corpus, input_path, max_pieces)
    if len(pieces) < 2:
        raise TunesmithError(
            f"{len(pieces)} usable MIDI pieces in {corpus or input_path} ({report.files} files, "
            f"{sum(report.skipped.values())} skipped); need at least two to split"
        )
    shifts: list[int] = []
    if normalize_key:
        normalized = [to_c(p.score) for p in pieces]
        pieces = [Piece(score, p.source, p.ref) for (score, _), p in zip(normalized, pieces, strict=True)]
        shifts = [shift for _, shift in normalized]

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pieces))
    n_val = min(len(pieces) - 1, max(1, round(len(pieces) * val_fraction)))
    split_of = {"val": np.sort(order[:n_val]), "train": np.sort(order[n_val:])}
    chosen = {
        "train": augmented(
            [pieces[i] for i in split_of["train"]], transpose_range=transpose, tempo_factors=tempo_factors
        ),
        "val": [pieces[i] for i in split_of["val"]],
    }
    rep = (
        cls.fit([p.score for p in chosen["train"]], vocab_size=vocab_size)
        if vocab_size
        else cls.fit([p.score for p in chosen["train"]])
    )
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("train.bin", "val.bin", "train.idx", "val.idx", "tokenizer.json"):
        (out / stale).unlink(missing_ok=True)
    frames = isinstance(rep, FrameRepresentation)
    dtype, width = rep.storage() if frames else (rep.dtype, 1)
    counts: dict[str, Any] = {}
    unit = "frames" if frames else "tokens"
    for split, items in chosen.items():
        n = write_split(out, split, [rep.encode(p.score) for p in items], dtype)
        counts[split] = {"pieces": len(items), unit: n}
        (out / f"{split}_sources.json").write_text(json.dumps([[p.source, p.ref] for p in items]))
    report.write_tsv(out / "skipped.tsv", lambda reason: SKIP_REASONS.get(reason, reason))
    tokenizer = rep.tokenizer_file() if isinstance(rep, MidiTokenRepresentation) else None
    if tokenizer is not None:  # MidiTok's own file, for people and tools that read it
        (out / "tokenizer.json").write_text(json.dumps(tokenizer, indent=1))
    meta = {
        "source": info.pop("source"),
        "files": report.files,
        "pieces_read": len(pieces) + sum(report.skipped.values()),  # found: kept plus skipped
        "pieces_kept": len(pieces),
        "skipped": {text: report.skipped.get(key, 0) for key, text in SKIP_REASONS.items()},
        "split": {"seed": seed, "val_fraction": val_fraction, "by": "piece"},
        "counts": counts,
        "dtype": np.dtype(dtype).name,
        "augmentation": {
            "transpose": transpose,
            "tempo_factors": list(tempo_factors),
            "normalize_key": normalize_key,
            "key_shifts": shifts[:10000],
            "applies_to": "train",
        },
        "corpus_cache": {k: v for k, v in info.items() if k in ("cached", "converted", "seconds", "cache_dir")},
    }
    if frames:
        meta.update({"frame_dim": rep.frame_dim, "frame_width": width})
    else:
        meta["vocab_size"] = rep.vocab_size
    write_meta(out, rep, meta)
    return meta, time.perf_counter() - started
