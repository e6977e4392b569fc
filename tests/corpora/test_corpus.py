"""Reading ABC: splitting, cleaning, skip reasons, and the seeded split by tune."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunesmith.abc_text import clean_tune, header_fields, split_tunebook
from tunesmith.corpora.abc import read_tunes
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.prepare import prepare

BOOK = """% a tunebook
Free text before the first tune is not music.

X: 1
T: First
% a comment
M: 6/8
K: G
GAB c2d|e3 d3|]

X:2
T:No key here
M:2/4
ab|

X:3
T:Empty
K:D

X:4
T:Second
M:3/4
L:1/8
K:Am
A2 B2 c2|e6|]
"""


def test_split_and_clean() -> None:
    raw = split_tunebook(BOOK)
    assert len(raw) == 4
    ref, text = clean_tune(raw[0], frozenset(), keep_comments=False)
    assert ref == "1"
    assert text == "T:First\nM:6/8\nK:G\nGAB c2d|e3 d3|]\n"
    _, dropped = clean_tune(raw[0], frozenset({"T"}), keep_comments=True)
    assert dropped == "% a comment\nM:6/8\nK:G\nGAB c2d|e3 d3|]\n"
    assert header_fields(text) == {"T": "First", "M": "6/8", "K": "G"}


def test_skips_are_counted_by_reason(tmp_path: Path) -> None:
    (tmp_path / "book.abc").write_text(BOOK)
    (tmp_path / "copy.abc").write_text("X:9\nT:Second\nM:3/4\nL:1/8\nK:Am\nA2 B2 c2|e6|]\n")
    (tmp_path / "latin1.abc").write_bytes("X:1\nT:Caf\xe9\nK:C\nCDE|\n".encode("latin-1"))
    (tmp_path / "binary.abc").write_bytes(b"X:1\x00\x01\x02\xff")
    (tmp_path / "long.abc").write_text("X:1\nK:C\n" + "CDEF|" * 2000 + "\n")
    (tmp_path / "notes.txt").write_text("X:1\nK:C\nC|\n")  # not .abc: ignored
    tunes, report = read_tunes(sorted(tmp_path.glob("*.abc")), max_chars=5000, base=tmp_path)
    assert [t.text.split("\n")[0] for t in tunes] == ["T:First", "T:Second"]
    assert dict(report.skipped) == {"no_key": 1, "empty": 1, "not_text": 2, "too_long": 1, "duplicate": 1}
    assert ("binary.abc", "", "not_text") in report.records


def test_prepare_user_folder_reports_and_writes_skips(tmp_path: Path) -> None:
    folder = tmp_path / "mine" / "nested"
    folder.mkdir(parents=True)
    (folder / "book.abc").write_text(BOOK)
    (folder / "more.abc").write_text("X:1\nT:Third\nK:D\ndefg|\n\nX:2\nT:Fourth\nK:E\nEFGA|\n")
    (folder / "junk.abc").write_bytes(bytes(range(256)))
    result = prepare(tmp_path / "out", input_path=tmp_path / "mine", val_fraction=0.25, seed=1)
    meta = result.meta
    assert (meta["tunes_read"], meta["tunes_kept"]) == (6, 4)
    assert meta["skipped"] == {
        "no K: field": 1,
        "empty (no music after K:)": 1,
        "not text (binary or not UTF-8); counts files": 1,
        "over the length limit": 0,
        "exact duplicate of a kept tune": 0,
        "larger than 64 MiB (skipped unread); counts files": 0,
        "more than 200,000 tunes in one file; counts files": 0,
        "no tune in it (no X: line); counts files": 0,
    }
    assert meta["counts"]["val"]["tunes"] == 1 and meta["counts"]["train"]["tunes"] == 3
    skipped = (tmp_path / "out" / "skipped.tsv").read_text().splitlines()
    assert skipped[0] == "source\tref\treason" and len(skipped) == 4
    assert json.loads((tmp_path / "out" / "meta.json").read_text())["split"] == {
        "seed": 1,
        "val_fraction": 0.25,
        "by": "tune",
    }


def test_split_is_seeded_and_by_tune(tmp_path: Path) -> None:
    a = prepare(tmp_path / "a", corpus="folk", max_tunes=200, seed=3)
    b = prepare(tmp_path / "b", corpus="folk", max_tunes=200, seed=3)
    prepare(tmp_path / "c", corpus="folk", max_tunes=200, seed=4)
    val = {k: json.loads((tmp_path / k / "val_sources.json").read_text()) for k in "abc"}
    assert val["a"] == val["b"] != val["c"]
    assert a.meta["counts"]["val"]["tunes"] == 20
    train = json.loads((tmp_path / "a" / "train_sources.json").read_text())
    assert not {tuple(x) for x in train} & {tuple(x) for x in val["a"]}
    assert (tmp_path / "a" / "train.bin").stat().st_size == a.meta["counts"]["train"]["tokens"]  # one byte each
    assert b.meta["counts"] == a.meta["counts"]


def test_prepare_refuses_to_write_into_an_unrelated_folder(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(TunesmithError, match="exists and is not a prepared dataset"):
        prepare(tmp_path, corpus="folk", max_tunes=10)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_folder_without_tunes_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.abc").write_text("just some words\n")
    with pytest.raises(TunesmithError, match="no ABC tunes found in"):
        prepare(tmp_path / "out", input_path=tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TunesmithError, match="no .abc files found in"):
        prepare(tmp_path / "out", input_path=empty)
