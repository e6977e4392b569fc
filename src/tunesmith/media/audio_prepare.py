"""The audio medium's prepare: waves → a float16 frame dataset (or a mu-law token one), streamed.

The split is by file (or built-in piece), seeded, and made *before* any audio is decoded, from the
list of sources whose headers pass (built-in pieces are not even rendered yet): validation takes the
first 10% (``val_fraction``) of a seeded permutation, training the rest. A validation file that only
decoding shows to be unusable (silent, NaN samples, corrupt data) is replaced by the next file of the
permutation, so validation is not left empty by bad luck. Then each split is streamed: one piece is
read (or rendered), encoded, appended to ``{split}.bin`` by a
:class:`~tunesmith.data.prepared.SplitWriter` and dropped, so peak memory is one piece, whatever the
size of the corpus. The folder has the shape every prepare writes (``meta.json``,
``representation.json``, ``{split}.bin/.idx``, ``{split}_sources.json``, ``skipped.tsv``), so
``PreparedData`` and the frame and token loaders read it unchanged.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.data.prepared import SplitWriter, write_meta
from tunesmith.errors import TunesmithError
from tunesmith.media import PrepareRequest
from tunesmith.representations import TokenRepresentation, names_of
from tunesmith.representations import get as get_representation

MAX_PIECES = 1_000_000


def audio_sources(corpus: str | None, input_path: Path | str | None, max_pieces: int, report: Any) -> tuple[list, dict]:
    """The sources to prepare and where they came from: a built-in corpus, or the user's files or folder."""
    from tunesmith.corpora.audio import find_audio_files, user_sources
    from tunesmith.media.audio_builtin import builtin_sources

    if corpus is not None:
        sources, info = builtin_sources(corpus, report, max_pieces=max_pieces)
        return sources, {"source": f"builtin:{corpus}", **info}
    root = Path(input_path).expanduser()
    files = find_audio_files(root)
    if not files:
        raise TunesmithError(f"no audio files (.wav, .flac, .ogg, .aiff, .mp3…) found in {root}")
    base = root if root.is_dir() else root.parent
    return user_sources(files, report, base=base, max_pieces=max_pieces), {"source": str(root.resolve())}


def prepare_audio(request: PrepareRequest, workers: int = 0) -> tuple[dict[str, Any], float]:
    """Split the sources by file (seeded), then stream each split through the representation into
    ``request.out``; ``workers`` render built-in pieces in parallel (0: up to 4, one per core)."""
    from tunesmith.corpora.abc import ReadReport
    from tunesmith.corpora.audio import SKIP_REASONS, read_sources, reason_text
    from tunesmith.media.audio_builtin import read_builtin
    from tunesmith.stft import DEFAULT_SAMPLE_RATE

    started = time.perf_counter()
    out, corpus, input_path, representation = request.out, request.corpus, request.input_path, request.representation
    val_fraction, seed, max_pieces, sample_rate = (
        request.val_fraction,
        request.seed,
        request.max_tunes,
        request.sample_rate,
    )
    audio = sorted(names_of("audio"))
    if representation not in audio:
        raise TunesmithError(f"'{representation}' is not an audio representation: {', '.join(audio)}")
    if not 0 <= max_pieces <= MAX_PIECES:
        raise TunesmithError(f"--max-tunes {max_pieces} must be between 0 (all) and {MAX_PIECES}")
    rate = DEFAULT_SAMPLE_RATE if sample_rate is None else sample_rate
    rep = get_representation(representation).fit([], sample_rate=rate)  # checks the rate
    report = ReadReport()
    sources, info = audio_sources(corpus, input_path, max_pieces, report)
    if len(sources) < 2:
        raise TunesmithError(
            f"{len(sources)} usable audio files in {corpus or input_path} ({report.files} found, "
            f"{sum(report.skipped.values())} skipped); need at least two to split"
        )
    order = list(np.random.default_rng(seed).permutation(len(sources)))
    n_val = min(len(sources) - 1, max(1, round(len(sources) * val_fraction)))

    out.mkdir(parents=True, exist_ok=True)
    for stale in ("train.bin", "val.bin", "train.idx", "val.idx"):
        (out / stale).unlink(missing_ok=True)
    tokens = isinstance(rep, TokenRepresentation)
    dtype, width = (rep.dtype, None) if tokens else rep.storage()
    unit = "tokens" if tokens else "frames"
    counts: dict[str, Any] = {}
    cache: dict[str, Any] = {}

    def write(split: str, target: int | None) -> None:
        """Stream sources from the front of the seeded ``order`` into ``split``: read, encode, append, drop.

        Validation takes the first ``n_val`` of the order (``target``); one that turns out unusable
        (silent, corrupt data…) is replaced by the next, so it is never empty by bad luck while usable
        files remain, and at least one source is left for training. Training takes the rest."""
        kept, seconds = [], 0.0
        with SplitWriter(out, split, dtype, width) as writer:
            while order:
                take = len(order) if target is None else min(target - len(kept), len(order) - 1)
                if take <= 0:
                    break
                batch = sorted(order[:take])  # corpus order within a split, as the other prepares keep
                del order[:take]
                chosen = [sources[i] for i in batch]
                if corpus is None:
                    pieces = read_sources(chosen, rate, report)
                else:
                    pieces = read_builtin(chosen, rate, report, corpus=corpus, workers=workers, stats=cache)
                for piece in pieces:
                    writer.append(rep.encode(piece.wave))
                    kept.append([piece.source, piece.ref])
                    seconds += piece.seconds
        if not kept:
            raise TunesmithError(
                f"no usable audio left for the {split} split of {corpus or input_path}: "
                f"{len(sources)} files passed the header checks, but these were skipped: {dict(report.skipped)}"
            )
        counts[split] = {"pieces": len(kept), unit: writer.total, "seconds": round(seconds, 3)}
        (out / f"{split}_sources.json").write_text(json.dumps(kept))

    write("val", n_val)
    write("train", None)
    counts = {split: counts[split] for split in ("train", "val")}  # in the order the other prepares print
    report.write_tsv(out / "skipped.tsv", reason_text)
    audio_seconds = sum(c["seconds"] for c in counts.values())
    taken = time.perf_counter() - started
    skipped = {text: report.skipped.get(key, 0) for key, text in SKIP_REASONS.items()}
    skipped.update({reason_text(k): n for k, n in report.skipped.items() if k not in SKIP_REASONS})
    meta: dict[str, Any] = {
        "source": info.pop("source"),
        "files": report.files,
        "pieces_read": report.read,
        "pieces_kept": sum(c["pieces"] for c in counts.values()),
        "skipped": skipped,
        "split": {"seed": seed, "val_fraction": val_fraction, "by": "file"},
        "counts": counts,
        "dtype": np.dtype(dtype).name,
        "sample_rate": rate,
        "frames_per_second": rep.frames_per_second,
        "audio_seconds": round(audio_seconds, 3),
        "seconds": round(taken, 3),
        "audio_seconds_per_second": round(audio_seconds / taken, 1) if taken > 0 else 0.0,
        "loudness": "RMS to -20 dBFS, peak capped at -1 dBFS",
        "max_pieces": max_pieces,
    }
    if corpus is not None:
        meta["corpus_cache"] = {**cache, **info}
    if tokens:
        meta["vocab_size"] = rep.vocab_size
    else:
        meta.update({"frame_dim": rep.frame_dim, "frame_width": width})
    write_meta(out, rep, meta)
    return meta, taken
