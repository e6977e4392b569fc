"""``tunesmith prepare``: corpus files → a prepared dataset folder.

The checks every corpus shares happen here; then the representation's medium reads, cleans, splits
and encodes its own kind of files (:meth:`tunesmith.media.Medium.prepare`).

``vocab_from`` (``--vocab-from RUN_OR_BUNDLE``) encodes an ABC corpus with a trained model's own
representation instead of fitting one (:mod:`tunesmith.training.init`): the ABC medium's prepare is
given that vocabulary and skips, and counts, each tune with a symbol the model lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith import media
from tunesmith.errors import TunesmithError
from tunesmith.media.abc_prepare import prepare_abc
from tunesmith.metrics.abc_corpus import PROFILE_FILE
from tunesmith.representations import MEDIA, REGISTRY, names_of
from tunesmith.training.init import vocabulary_of

MAX_TUNE_CHARS = 100_000


@dataclass
class PrepareResult:
    out: Path
    meta: dict[str, Any]
    seconds: float


def known_representations() -> str:
    """Every registered representation by medium, for messages: the registry is the only list."""
    labels = {"abc": "ABC", "midi": "MIDI", "audio": "audio"}
    return "; ".join(f"{', '.join(names_of(m))} ({labels[m]})" for m in MEDIA if names_of(m))


def prepare(
    out: Path | str,
    *,
    corpus: str | None = None,
    input_path: Path | str | None = None,
    representation: str | None = None,
    drop_fields: list[str] | None = None,
    keep_comments: bool = False,
    val_fraction: float = 0.1,
    seed: int = 0,
    max_chars: int = 5000,
    max_tunes: int = 0,
    midi: dict[str, Any] | None = None,
    sample_rate: int | None = None,
    only_valid: bool = False,
    vocab_from: Path | str | None = None,
) -> PrepareResult:
    """Read, clean, split by tune (seeded) and encode a corpus into ``out``.

    ``midi`` holds the MIDI options (transpose, tempo_factors, normalize_key, vocab_size); ``max_tunes``
    caps pieces of any medium; only audio takes ``sample_rate``, only ABC ``only_valid`` (keep the tunes that pass
    the validity check, measured against the corpus itself). Each medium refuses the options that
    are not its own, naming them. ``representation`` is ``abc-char`` unless named, or the model's own with
    ``vocab_from``, which refuses another name."""
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
    vocabulary = vocabulary_of(vocab_from) if vocab_from is not None else None
    if vocabulary is not None:
        if representation is not None and representation != vocabulary.representation.name:
            raise TunesmithError(
                f"--representation {representation} disagrees with --vocab-from {vocab_from}, whose model reads "
                f"'{vocabulary.representation.name}'; drop --representation"
            )
        representation = vocabulary.representation.name
    representation = representation or "abc-char"
    if representation not in REGISTRY:
        raise TunesmithError(
            f"representation '{representation}' cannot be prepared; choose one of {known_representations()}"
        )
    request = media.PrepareRequest(
        out=out,
        representation=representation,
        corpus=corpus,
        input_path=input_path,
        val_fraction=val_fraction,
        seed=seed,
        max_tunes=max_tunes,
        drop_fields=list(drop_fields or []),
        keep_comments=keep_comments,
        max_chars=max_chars,
        midi=dict(midi or {}),
        sample_rate=sample_rate,
        only_valid=only_valid,
    )
    if out.is_dir():  # a profile left by an earlier ABC preparation must not pass for this corpus
        (out / PROFILE_FILE).unlink(missing_ok=True)
    if vocabulary is not None:  # ABC alone reads a model's vocabulary (vocabulary_of refused the rest)
        meta, seconds = prepare_abc(request, vocabulary)
    else:
        meta, seconds = media.of(representation).prepare(request)
    return PrepareResult(out, meta, seconds)
