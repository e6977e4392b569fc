"""``tunesmith prepare``: corpus files → a prepared dataset folder."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith import corpora
from tunesmith.corpora.abc import SKIP_REASONS, find_abc_files, read_tunes
from tunesmith.data.prepared import write_meta, write_split
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.prepare_audio import AUDIO_REPRESENTATIONS, prepare_audio
from tunesmith.pipeline.prepare_midi import MIDI_REPRESENTATIONS, prepare_midi
from tunesmith.representations import get as get_representation

MAX_TUNE_CHARS = 100_000


@dataclass
class PrepareResult:
    out: Path
    meta: dict[str, Any]
    seconds: float


def prepare(
    out: Path | str,
    *,
    corpus: str | None = None,
    input_path: Path | str | None = None,
    representation: str = "abc-char",
    drop_fields: list[str] | None = None,
    keep_comments: bool = False,
    val_fraction: float = 0.1,
    seed: int = 0,
    max_chars: int = 5000,
    max_tunes: int = 0,
    midi: dict[str, Any] | None = None,
    sample_rate: int | None = None,
) -> PrepareResult:
    """Read, clean, split by tune (seeded) and encode a corpus into ``out``.

    MIDI representations go to :func:`prepare_midi`; ``midi`` holds its options (transpose,
    tempo_factors, normalize_key, vocab_size), and ``max_tunes`` caps pieces there. Audio
    representations go to :func:`prepare_audio`, the only ones that take ``sample_rate``."""
    started = time.perf_counter()
    out = Path(out)
    if (corpus is None) == (input_path is None):
        raise TunesmithError("give exactly one of --corpus NAME or --input PATH")
    if not 0.0 < val_fraction < 1.0:
        raise TunesmithError(f"--val-fraction {val_fraction} must be between 0 and 1")
    if not 1 <= max_chars <= MAX_TUNE_CHARS:
        raise TunesmithError(f"--max-chars {max_chars} must be between 1 and {MAX_TUNE_CHARS}")
    if max_tunes < 0:
        raise TunesmithError(f"--max-tunes {max_tunes} must be 0 (all) or positive")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "meta.json").is_file())):
        raise TunesmithError(f"--out {out} exists and is not a prepared dataset; choose an empty or new folder")
    if representation in AUDIO_REPRESENTATIONS:
        flags = {"transpose": "--transpose", "tempo_factors": "--tempo-stretch", "normalize_key": "--normalize-key"}
        ignored = [flags.get(key, "--" + key.replace("_", "-")) for key in (midi or {})]
        ignored += [name for name, used in (("--drop-fields", drop_fields), ("--keep-comments", keep_comments)) if used]
        ignored += ["--max-chars"] if max_chars != 5000 else []
        if ignored:
            verb = "does" if len(ignored) == 1 else "do"
            raise TunesmithError(
                f"{', '.join(ignored)} {verb} not apply to audio representations like {representation}"
            )
        meta, seconds = prepare_audio(
            out,
            corpus=corpus,
            input_path=input_path,
            representation=representation,
            val_fraction=val_fraction,
            seed=seed,
            max_pieces=max_tunes,
            sample_rate=sample_rate,
        )
        return PrepareResult(out, meta, seconds)
    if sample_rate is not None:
        raise TunesmithError(f"--sample-rate applies to audio representations ({', '.join(AUDIO_REPRESENTATIONS)})")
    if representation in MIDI_REPRESENTATIONS:
        if corpus is not None and corpora.builtin(corpus).kind != "midi":
            raise TunesmithError(f"corpus '{corpus}' is ABC; {representation} reads MIDI (try --corpus bach)")
        meta, seconds = prepare_midi(
            out,
            corpus=corpus,
            input_path=input_path,
            representation=representation,
            val_fraction=val_fraction,
            seed=seed,
            max_pieces=max_tunes,
            **(midi or {}),
        )
        return PrepareResult(out, meta, seconds)
    if representation != "abc-char":
        known = ", ".join(("abc-char", *MIDI_REPRESENTATIONS, *AUDIO_REPRESENTATIONS))
        raise TunesmithError(f"representation '{representation}' cannot be prepared; choose one of {known}")
    if corpus is not None and corpora.builtin(corpus).kind != "abc":
        raise TunesmithError(
            f"corpus '{corpus}' is MIDI; choose a MIDI representation, e.g. --representation midi-remi"
        )
    if midi:
        raise TunesmithError(
            f"{', '.join('--' + k.replace('_', '-') for k in midi)} apply to MIDI representations only"
        )

    if corpus is not None:
        files, source, base = corpora.builtin(corpus).files(), f"builtin:{corpus}", corpora.music21_corpus_root()
    else:
        root = Path(input_path).expanduser()
        files, source, base = find_abc_files(root), str(root.resolve()), root if root.is_dir() else root.parent
        if not files:
            raise TunesmithError(f"no .abc files found in {root}")
    tunes, report = read_tunes(
        files,
        drop_fields=drop_fields or [],
        keep_comments=keep_comments,
        max_chars=max_chars,
        max_tunes=max_tunes,
        base=base,
    )
    if not tunes:
        where = corpus or input_path
        raise TunesmithError(
            f"no ABC tunes found in {where} ({report.files} files read, "
            f"{sum(report.skipped.values())} skipped); tunes need an X: line and a K: field"
        )
    if len(tunes) < 2:
        raise TunesmithError(f"only one usable tune in {corpus or input_path}; need at least two to split")

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(tunes))
    n_val = min(len(tunes) - 1, max(1, round(len(tunes) * val_fraction)))
    split_of = {"val": np.sort(order[:n_val]), "train": np.sort(order[n_val:])}

    rep = get_representation(representation).fit([t.text for t in tunes])
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("train.bin", "val.bin", "train.idx", "val.idx"):
        (out / stale).unlink(missing_ok=True)
    counts: dict[str, Any] = {}
    for split, index in split_of.items():
        tokens = write_split(out, split, [rep.encode(tunes[i].text) for i in index], rep.dtype)
        counts[split] = {"tunes": int(index.size), "tokens": tokens}
        (out / f"{split}_sources.json").write_text(json.dumps([[tunes[i].source, tunes[i].ref] for i in index]))
    report.write_tsv(out / "skipped.tsv", lambda reason: SKIP_REASONS[reason])
    meta = {
        "source": source,
        "files": report.files,
        "tunes_read": report.read,
        "tunes_kept": len(tunes),
        "skipped": {text: report.skipped.get(key, 0) for key, text in SKIP_REASONS.items()},
        "split": {"seed": seed, "val_fraction": val_fraction, "by": "tune"},
        "counts": counts,
        "vocab_size": rep.vocab_size,
        "dtype": np.dtype(rep.dtype).name,
        "cleaning": {
            "drop_fields": sorted(drop_fields or []),
            "keep_comments": keep_comments,
            "max_chars": max_chars,
            "max_tunes": max_tunes,
        },
    }
    write_meta(out, rep, meta)
    return PrepareResult(out, meta, time.perf_counter() - started)
