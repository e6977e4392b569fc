"""The ABC medium's prepare: tunebooks → a character dataset folder, split by tune (seeded)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith import corpora
from tunesmith.corpora.abc import SKIP_REASONS, find_abc_files, read_tunes
from tunesmith.data.prepared import write_meta, write_split
from tunesmith.errors import TunesmithError
from tunesmith.representations import get as get_representation


def prepare_abc(request: Any) -> tuple[dict[str, Any], float]:
    """Read and clean the tunes (``--drop-fields``, ``--keep-comments``, ``--max-chars``), split them by
    tune, fit the representation on all of them and encode each split: (meta.json's content, seconds)."""
    started = time.perf_counter()
    r = request
    if r.corpus is not None and corpora.builtin(r.corpus).kind != "abc":
        raise TunesmithError(
            f"corpus '{r.corpus}' is MIDI; choose a MIDI representation, e.g. --representation midi-remi"
        )
    if r.midi:
        raise TunesmithError(
            f"{', '.join('--' + k.replace('_', '-') for k in r.midi)} apply to MIDI representations only"
        )
    if r.corpus is not None:
        files, source, base = corpora.builtin(r.corpus).files(), f"builtin:{r.corpus}", corpora.music21_corpus_root()
    else:
        root = Path(r.input_path).expanduser()
        files, source, base = find_abc_files(root), str(root.resolve()), root if root.is_dir() else root.parent
        if not files:
            raise TunesmithError(f"no .abc files found in {root}")
    tunes, report = read_tunes(
        files,
        drop_fields=r.drop_fields or [],
        keep_comments=r.keep_comments,
        max_chars=r.max_chars,
        max_tunes=r.max_tunes,
        base=base,
    )
    if not tunes:
        where = r.corpus or r.input_path
        raise TunesmithError(
            f"no ABC tunes found in {where} ({report.files} files read, "
            f"{sum(report.skipped.values())} skipped); tunes need an X: line and a K: field"
        )
    if len(tunes) < 2:
        raise TunesmithError(f"only one usable tune in {r.corpus or r.input_path}; need at least two to split")

    rng = np.random.default_rng(r.seed)
    order = rng.permutation(len(tunes))
    n_val = min(len(tunes) - 1, max(1, round(len(tunes) * r.val_fraction)))
    split_of = {"val": np.sort(order[:n_val]), "train": np.sort(order[n_val:])}

    rep = get_representation(r.representation).fit([t.text for t in tunes])
    out = r.out
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
        "split": {"seed": r.seed, "val_fraction": r.val_fraction, "by": "tune"},
        "counts": counts,
        "vocab_size": rep.vocab_size,
        "dtype": np.dtype(rep.dtype).name,
        "cleaning": {
            "drop_fields": sorted(r.drop_fields or []),
            "keep_comments": r.keep_comments,
            "max_chars": r.max_chars,
            "max_tunes": r.max_tunes,
        },
    }
    write_meta(out, rep, meta)
    return meta, time.perf_counter() - started
