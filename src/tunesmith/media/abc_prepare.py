"""The ABC medium's prepare: tunebooks → a token dataset folder, split by tune (seeded).

The representation is fitted to the tunes kept, or (``--vocab-from``) is a trained model's own: then a tune
holding a symbol the model lacks (``rep.missing``) is skipped before the split, counted under one reason,
and named in ``skipped.tsv`` with the symbols; ``meta.json`` counts the tunes each missing symbol cost."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunesmith import corpora
from tunesmith.corpora.abc import SKIP_REASONS, find_abc_files, read_tunes
from tunesmith.data.prepared import write_meta, write_split
from tunesmith.errors import TunesmithError
from tunesmith.media.abc_baseline import baseline
from tunesmith.representations import TokenRepresentation
from tunesmith.representations import get as get_representation

if TYPE_CHECKING:
    from tunesmith.training.init import ModelSource

VOCAB_SKIP = "not_in_vocabulary"
VOCAB_REASON = "a symbol the model's vocabulary lacks"
MAX_SHOWN_SYMBOLS = 10  # per tune in skipped.tsv
MAX_COUNTED_SYMBOLS = 200  # distinct missing symbols meta.json counts (the most costly first)


def _symbols(symbols: list[str], limit: int) -> str:
    shown = ", ".join(repr(s) for s in symbols[:limit])
    return shown + (f" and {len(symbols) - limit} more" if len(symbols) > limit else "")


def keep_known(tunes: list[Any], rep: TokenRepresentation, report: Any) -> tuple[list[Any], dict[str, int]]:
    """The tunes every symbol of which ``rep`` knows; each other one is recorded in ``report`` with its
    missing symbols. Returns the kept tunes and, per missing symbol, how many tunes it cost."""
    kept, cost = [], Counter()
    for tune in tunes:
        missing = rep.missing(tune.text)
        if not missing:
            kept.append(tune)
            continue
        cost.update(missing)
        report.skipped[VOCAB_SKIP] += 1
        report.records.append((tune.source, tune.ref, f"{VOCAB_REASON}: {_symbols(missing, MAX_SHOWN_SYMBOLS)}"))
    return kept, dict(cost.most_common(MAX_COUNTED_SYMBOLS))


def prepare_abc(request: Any, vocabulary: ModelSource | None = None) -> tuple[dict[str, Any], float]:
    """Read and clean the tunes (``--drop-fields``, ``--keep-comments``, ``--max-chars``), split them by
    tune, measure the corpus profile and its validity baseline (``corpus.json``; ``--only-valid`` keeps the
    tunes that pass), fit the representation on the tunes kept (or take ``vocabulary``'s, skipping the tunes
    it cannot encode) and encode each split: (meta.json, seconds)."""
    started = time.perf_counter()
    r = request
    if r.corpus is not None and corpora.builtin(r.corpus).kind != "abc":
        if vocabulary is not None:
            raise TunesmithError(f"corpus '{r.corpus}' is MIDI; --vocab-from {vocabulary.path} encodes ABC tunes")
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
    missing: dict[str, int] = {}
    if vocabulary is not None:
        assert isinstance(vocabulary.representation, TokenRepresentation)  # vocabulary_of made sure
        read = len(tunes)
        tunes, missing = keep_known(tunes, vocabulary.representation, report)
        if len(tunes) < 2:
            raise TunesmithError(
                f"only {len(tunes)} of {read} tunes in {r.corpus or r.input_path} can be written in the vocabulary "
                f"of --vocab-from {vocabulary.path} (missing: {_symbols(list(missing), 5)}); need at least two"
            )
    if len(tunes) < 2:
        raise TunesmithError(f"only one usable tune in {r.corpus or r.input_path}; need at least two to split")

    rng = np.random.default_rng(r.seed)
    order = rng.permutation(len(tunes))
    n_val = min(len(tunes) - 1, max(1, round(len(tunes) * r.val_fraction)))
    split_of = {"val": np.sort(order[:n_val]), "train": np.sort(order[n_val:])}

    profile, reports = baseline([t.text for t in tunes], split_of)
    if r.only_valid:
        split_of = {k: index[np.array([reports[i].valid for i in index], bool)] for k, index in split_of.items()}
        if not split_of["train"].size or not split_of["val"].size:
            left = ", ".join(f"{index.size} {name}" for name, index in split_of.items())
            raise TunesmithError(f"--only-valid leaves {left} tunes; a model needs both splits (drop --only-valid)")
        tunes_left = sorted(int(i) for index in split_of.values() for i in index)
    else:
        tunes_left = list(range(len(tunes)))
    if vocabulary is not None:
        rep = vocabulary.representation
    else:
        rep = get_representation(r.representation).fit([tunes[i].text for i in tunes_left])
    out = r.out
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("train.bin", "val.bin", "train.idx", "val.idx"):
        (out / stale).unlink(missing_ok=True)
    counts: dict[str, Any] = {}
    for split, index in split_of.items():
        tokens = write_split(out, split, [rep.encode(tunes[i].text) for i in index], rep.dtype)
        counts[split] = {"tunes": int(index.size), "tokens": tokens}
        (out / f"{split}_sources.json").write_text(json.dumps([[tunes[i].source, tunes[i].ref] for i in index]))
    report.write_tsv(out / "skipped.tsv", lambda reason: SKIP_REASONS.get(reason, reason))
    profile.write(out)
    meta = {
        "source": source,
        "files": report.files,
        "tunes_read": report.read,
        "tunes_kept": len(tunes_left),
        "skipped": {
            text: report.skipped.get(key, 0)
            for key, text in [*SKIP_REASONS.items(), *([(VOCAB_SKIP, VOCAB_REASON)] if vocabulary else [])]
        },
        "split": {"seed": r.seed, "val_fraction": r.val_fraction, "by": "tune"},
        "counts": counts,
        "baseline": {
            **{k: v for k, v in profile.baseline.items() if k != "reasons"},
            "only_valid": r.only_valid,
            "kept": {name: int(index.size) for name, index in split_of.items()},
        },
        "vocab_size": rep.vocab_size,
        "dtype": np.dtype(rep.dtype).name,
        "cleaning": {
            "drop_fields": sorted(r.drop_fields or []),
            "keep_comments": r.keep_comments,
            "max_chars": r.max_chars,
            "max_tunes": r.max_tunes,
        },
    }
    if vocabulary is not None:
        meta["vocab_from"] = {
            "model": str(vocabulary.path.resolve()),
            "kind": vocabulary.kind,
            "missing_symbols": missing,  # symbol -> tunes skipped for it
        }
    write_meta(out, rep, meta)
    return meta, time.perf_counter() - started
