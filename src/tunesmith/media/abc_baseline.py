"""The corpus baseline of the ABC validity check, measured by ``tunesmith prepare``.

Every tune of the corpus goes through abc2midi (one run per chunk of a tunebook) and the bar walker once;
the training split's tunes give the corpus profile (:mod:`tunesmith.metrics.abc_corpus`); then every tune
is judged by that profile, so "valid" means the same for a real tune as for a generated one. The shares,
per split and by reason, are the baseline each validity figure stands beside.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tunesmith.metrics.abc_corpus import CorpusProfile, measure
from tunesmith.metrics.validity import REASONS, Validity, check, judge, summarize
from tunesmith.render.midi import check_tunebook

# The commonest bar rhythms per meter are counted on a seeded draw of this many training tunes, which costs a
# sixth of counting them all: in the folk corpus such a draw shares 43-47 of its 50 patterns per common meter
# with a table of 6,500 tunes (the ones that differ are rare, near the cut) and 8-10 of the top 10.
RHYTHM_TUNES = 2000


def figures(reports: Sequence[Validity]) -> dict[str, Any]:
    """The baseline figures of some real tunes: how many, the share valid, the share failing each reason."""
    summary = summarize(reports)
    return {
        "tunes": len(reports),
        "valid_share": round(summary["valid_share"], 4),
        "by_reason": {k: round(v, 4) for k, v in summary["by_reason"].items() if v},
    }


def baseline(texts: Sequence[str], splits: dict[str, np.ndarray]) -> tuple[CorpusProfile, list[Validity]]:
    """The profile of the ``train`` split and every tune's validity against it; ``profile.baseline`` holds the
    figures for all tunes and per split."""
    from tunesmith.metrics.abc_shape import common_rhythms

    books = [f"X:{i + 1}\n{text}" for i, text in enumerate(texts)]
    conversions = check_tunebook(list(texts))
    reports = [check(book, conversion=c) for book, c in zip(books, conversions, strict=True)]
    train = splits["train"]
    sizes = [(reports[i].tune_bars, reports[i].notes) for i in train]
    drawn = train if train.size <= RHYTHM_TUNES else np.random.default_rng(0).choice(train, RHYTHM_TUNES, replace=False)
    profile = measure([texts[i] for i in train], sizes, rhythms=common_rhythms(texts[i] for i in np.sort(drawn)))
    reports = [judge(report, book, profile) for report, book in zip(reports, books, strict=True)]
    profile.baseline = {"all": figures(reports)}
    for name, index in splits.items():
        profile.baseline[name] = figures([reports[i] for i in index])
    profile.baseline["reasons"] = dict(REASONS)
    return profile, reports
