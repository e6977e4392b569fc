"""Read ABC tunebooks into clean, one-tune-per-string text.

A tunebook is split on ``X:`` lines; a tune ends at the next ``X:`` or at a blank line,
as the ABC standard says. Cleaning is deliberately light and stated:

- full-line ``%`` comments and ``%%`` directives are dropped (unless ``keep_comments``);
- the ``X:`` line is dropped: its number is bookkeeping, and decoding writes a fresh one;
- fields named in ``drop_fields`` are dropped (seed 000 removed titles and notes);
- ``T: Title`` becomes ``T:Title``, trailing spaces go and a run of spaces in the music becomes one
  (ABC beams alike after one space or ten), so the model does not have to learn each transcriber's
  spacing habits.

Every tune that is not kept is counted under one reason. Splitting and cleaning are plain text work,
in :mod:`tunesmith.abc_text`; this module reads files and keeps the counts.

A file is held to the ABC limits of :mod:`tunesmith.abc_text` before it is split: one larger than
:data:`~tunesmith.abc_text.MAX_ABC_BYTES` is skipped unread (``too_big``, from its size alone), and one
with more than :data:`~tunesmith.abc_text.MAX_FILE_TUNES` ``X:`` lines is skipped whole
(``too_many_tunes``), so every skip record stands for real text. A file with no ``X:`` line at all
is reported too (``no_tunes``). The rest of the corpus is read.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tunesmith.abc_text import (
    MAX_ABC_BYTES,
    MAX_FILE_TUNES,
    clean_tune,
    count_tunes,
    read_bounded,
    size_text,
    split_tunebook,
)
from tunesmith.errors import TunesmithError

ABC_SUFFIXES = (".abc",)

# Reasons a tune (or a whole file) is skipped; the keys appear in reports and skipped.tsv.
SKIP_REASONS = {
    "no_key": "no K: field",
    "empty": "empty (no music after K:)",
    "not_text": "not text (binary or not UTF-8); counts files",
    "too_long": "over the length limit",
    "duplicate": "exact duplicate of a kept tune",
    "too_big": f"larger than {size_text(MAX_ABC_BYTES)} (skipped unread); counts files",
    "too_many_tunes": f"more than {MAX_FILE_TUNES:,} tunes in one file; counts files",
    "no_tunes": "no tune in it (no X: line); counts files",
}


@dataclass
class Tune:
    """One cleaned tune and where it came from."""

    text: str
    source: str
    ref: str  # the X: number as written, for finding it again


@dataclass
class ReadReport:
    """What reading a corpus found: counts for people, records for ``skipped.tsv``."""

    files: int = 0
    read: int = 0
    skipped: Counter = field(default_factory=Counter)
    records: list[tuple[str, str, str]] = field(default_factory=list)  # (source, ref, reason)

    def skip(self, source: str, ref: str, reason: str) -> None:
        self.skipped[reason] += 1
        self.records.append((source, ref, reason))

    def write_tsv(self, path: Path, describe: Callable[[str], str]) -> None:
        """``skipped.tsv``: one row per skipped file or tune, its reason in words (``describe(key)``)."""
        with path.open("w") as f:
            f.write("source\tref\treason\n")
            for source, ref, reason in self.records:
                f.write(f"{source}\t{ref}\t{describe(reason)}\n")


def find_files(root: Path, suffixes: Iterable[str]) -> list[Path]:
    """``root`` itself if it is a file, else every file below it whose suffix (any case) is one of
    ``suffixes``, sorted: how every corpus reader finds a user's files."""
    root, suffixes = Path(root), frozenset(suffixes)
    if not root.exists():
        raise TunesmithError(f"input {root} does not exist")
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file())


def source_name(path: Path, base: Path | None) -> str:
    """How a file is named in reports and ``*_sources.json``: relative to ``base`` where it lies below it."""
    return path.relative_to(base).as_posix() if base and path.is_relative_to(base) else str(path)


def find_abc_files(root: Path) -> list[Path]:
    """``root`` itself if it is a file, else every ``.abc`` file below it, sorted."""
    return find_files(root, ABC_SUFFIXES)


def _body_after_key(text: str) -> str | None:
    """The music after the first ``K:`` line, or None if there is no ``K:`` field."""
    match = re.search(r"^K:.*$", text, re.MULTILINE)
    return None if match is None else text[match.end() :]


def read_tunes(
    files: Iterable[Path],
    *,
    drop_fields: Iterable[str] = (),
    keep_comments: bool = False,
    max_chars: int = 5000,
    max_tunes: int = 0,
    base: Path | None = None,
) -> tuple[list[Tune], ReadReport]:
    """Read, split and clean every tune in ``files``; keep at most ``max_tunes`` (0 = all)."""
    drop = frozenset(f.strip().upper() if len(f.strip()) == 1 else f.strip() for f in drop_fields if f.strip())
    report = ReadReport()
    tunes: list[Tune] = []
    seen: set[bytes] = set()
    for path in files:
        report.files += 1
        source = str(path.relative_to(base)) if base and path.is_relative_to(base) else str(path)
        data = read_bounded(path, MAX_ABC_BYTES)  # a TunesmithError if it cannot be read at all
        if data is None:
            report.skip(source, "", "too_big")
            continue
        try:
            if b"\x00" in data:
                raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            report.skip(source, "", "not_text")
            continue
        del data
        count = count_tunes(text)
        if count == 0 or count > MAX_FILE_TUNES:  # an empty file is reported too, not passed over in silence
            report.skip(source, "", "no_tunes" if count == 0 else "too_many_tunes")
            continue
        for raw in split_tunebook(text):
            report.read += 1
            ref, tune = clean_tune(raw, drop, keep_comments)
            body = _body_after_key(tune)
            if body is None:
                report.skip(source, ref, "no_key")
            elif not body.strip():
                report.skip(source, ref, "empty")
            elif len(tune) > max_chars:
                report.skip(source, ref, "too_long")
            else:
                digest = hashlib.blake2b(tune.encode(), digest_size=16).digest()
                if digest in seen:
                    report.skip(source, ref, "duplicate")
                    continue
                seen.add(digest)
                tunes.append(Tune(tune, source, ref))
                if max_tunes and len(tunes) >= max_tunes:
                    return tunes, report
    return tunes, report
