"""Valid means music: tunes that game the old check fail, real held-out tunes pass, and the profile that
decides it is measured on the corpus, stored with it and read back as a stranger's JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tunesmith.errors import TunesmithError
from tunesmith.metrics import abc_corpus
from tunesmith.metrics.abc_corpus import CorpusProfile, music_in_text
from tunesmith.metrics.validity import check, summarize
from tunesmith.render.midi import abc_to_midi, check_tunebook

# A reel that plays as written: two 8-bar parts, like the corpus's.
BODY = (
    "|:GABc dBGB|ABcd ecAc|GABc dBGB|AcBA GBdB|GABc dBGB|ABcd ecAc|gfed cBAG|AcBA G4:|\n"
    "|:gfed cBAG|FGAB cdef|gfed cBAG|AcBA GBdg|gfed cBAG|FGAB cdef|gfed cBAG|AcBA G4:|\n"
)
REEL = "X:1\nT:The Test Reel\nR:reel\nM:4/4\nL:1/8\nK:G\n" + BODY


@pytest.fixture(scope="module")
def profile() -> CorpusProfile:
    """A profile of every 8th tune of the whole folk corpus (1,600 tunes of all five collections)."""
    from tunesmith.corpora import builtin
    from tunesmith.corpora.abc import read_tunes

    tunes, _ = read_tunes(builtin("folk").files())
    return abc_corpus.measure([t.text for t in tunes[::8]])


@pytest.fixture(scope="module")
def prepared(small_data: Path) -> CorpusProfile:
    """The profile `prepare` measured on the session's prepared folder (400 tunes of one collection)."""
    found = abc_corpus.read(small_data)
    assert found is not None and not found.generic
    return found


def _reasons(abc: str, profile: CorpusProfile, ending: str | None = "ended") -> list[str]:
    return check(abc, ending=ending, profile=profile).reasons


def test_the_profile_is_measured_on_the_training_tunes(prepared: CorpusProfile, small_data: Path) -> None:
    profile = prepared
    meta = json.loads((small_data / "meta.json").read_text())
    assert profile.tunes == meta["counts"]["train"]["tunes"]
    assert 2 <= profile.min_bars <= 16 and 8 <= profile.min_notes <= 80  # the shortest 1% of real folk tunes
    assert {"T", "M", "K"} <= set(profile.fields) and "6/8" in profile.meters and "G" in profile.keys
    assert sum(profile.meters.values()) == profile.tunes == sum(profile.keys.values())
    # the baseline: real tunes judged by the same check, per split and by reason
    assert profile.baseline["all"]["tunes"] == meta["tunes_kept"]
    assert 0.3 < profile.baseline_share() < 1.0
    assert meta["baseline"]["val"]["valid_share"] == profile.baseline_share()


def test_a_real_tune_passes(profile: CorpusProfile) -> None:
    assert _reasons(REEL, profile) == []


def test_tunes_that_game_the_old_check_fail(profile: CorpusProfile) -> None:
    head = "X:1\nT:Gamed\nM:4/4\nL:1/8\n"
    padded_header = head + "".join(f"{f}:{'fdAB cBAG ' * 18}\n" for f in "BAFDR") + "K:G\nG8|\n"
    assert len(padded_header) > 900
    reasons = _reasons(padded_header, profile)
    assert {"short", "fields", "field_text"} <= set(reasons), reasons
    assert _reasons(head + "K:G\nGAB z5|\n", profile) == ["short"]  # three notes
    spaced = REEL.replace("|:gfed", "|:gfed" + " " * 40)
    assert _reasons(spaced, profile) == ["spaces"]
    chords_in_title = REEL.replace("T:The Test Reel", 'T:"Cm"F"fdA|"G7"F3/2')
    assert _reasons(chords_in_title, profile) == ["field_text"]
    odd_meter = REEL.replace("M:4/4", "M:11/4").replace("G4:|", "G4 z14:|")
    assert "meter" in _reasons(odd_meter, profile)
    assert _reasons(REEL.replace("K:G", "K:C#loc"), profile) == ["key"]
    always_metered = replace(profile, meters={m: n for m, n in profile.meters.items() if m})  # a few folk tunes lack M:
    no_meter = check(REEL.replace("M:4/4\n", ""), ending="ended", profile=always_metered)
    assert no_meter.reasons == ["meter"] and no_meter.corpus_problems == [
        "meter: no M: field, where the corpus's tunes give one"
    ]
    assert _reasons(REEL.replace("R:reel\n", "U:T = !trill!\n"), profile) == ["fields"]  # a field it never uses


def test_a_forced_ending_is_never_valid(profile: CorpusProfile) -> None:
    report = check(REEL, ending="forced", profile=profile)
    assert report.well_formed and not report.valid and report.reasons == ["forced"]
    assert report.to_json()["ended_cleanly"] is False and report.to_json()["ending"] == "forced"
    assert check(REEL, profile=profile).valid  # a file: its ending is not known, and not held against it
    with pytest.raises(ValueError):
        check(REEL, ending="cut", abc2midi=False)


def test_real_held_out_tunes_pass_unless_they_break_the_rules(prepared: CorpusProfile, small_data: Path) -> None:
    """The corpus checks reject no well-formed real tune for its header or its length, save the rare one."""
    profile = prepared
    from tunesmith.data.prepared import PreparedData

    data = PreparedData.open(small_data)
    rep, val = data.representation, data.sequences("val")
    tunes = [rep.decode(val[i]) for i in range(len(val))]
    conversions = check_tunebook(tunes)  # it numbers the tunes itself
    reports = [check(f"X:1\n{t}", conversion=c, profile=profile) for t, c in zip(tunes, conversions, strict=True)]
    formed = [r for r in reports if r.well_formed]
    assert len(formed) >= len(reports) // 2
    assert sum(r.valid for r in formed) >= 0.9 * len(formed), [r.corpus_problems for r in formed if not r.valid]
    assert summarize(reports)["valid_share"] == pytest.approx(profile.baseline["val"]["valid_share"], abs=1e-4)


def test_text_fields_hold_words() -> None:
    for words in ("The Silver Spear", "Bd3, Metz 1933", "Dad and Bed", '"Gunhilde"', "E0973A", "Jig (6/8) in G"):
        assert music_in_text(words) is None, words
    for music in ("fdAB cBAG", "F3/2G/A", "^f2e2d2", "a |b", 'The "G7" tune', '"Am/C"', '+(!8;M]T"_H[_jgw57fr!1:u*'):
        assert music_in_text(music) is not None, music


def test_the_tunebook_check_agrees_with_one_tune_at_a_time() -> None:
    tunes = [REEL.split("\n", 1)[1], "T:tie\nM:4/4\nL:1/8\nK:G\n-ABcd efga|\n", "T:empty\nK:G\n", "T:x\nK:Q\nab|\n"]
    one_by_one = [abc_to_midi(f"X:1\n{t}") for t in tunes]
    book = check_tunebook(tunes)
    assert [(c.converted, c.errors > 0, c.notes) for c in book] == [
        (c.converted, c.errors > 0, c.notes) for c in one_by_one
    ]
    assert book[0].converted and not book[0].errors and any(c.errors for c in book[1:])


def test_a_profile_is_read_as_a_strangers_json(prepared: CorpusProfile, tmp_path: Path) -> None:
    profile = prepared
    profile.write(tmp_path)
    assert abc_corpus.read(tmp_path) == profile
    assert abc_corpus.read(tmp_path / "nowhere") is None
    raw = profile.to_json()
    for bad in (
        [],
        {**raw, "min_bars": -1},
        {**raw, "min_notes": 1e999},
        {**raw, "meters": {"6/8": "many"}},
        {**raw, "fields": {"TT": {"tunes": 1, "max_lines": 1, "max_length": 9}}},
        {**raw, "keys": {f"K{i}": 1 for i in range(5000)}},
        {**raw, "rhythms": {"6/8": ["x" * 500]}},
    ):
        (tmp_path / "corpus.json").write_text(json.dumps(bad))
        with pytest.raises(TunesmithError, match="corpus.json"):
            abc_corpus.read(tmp_path)
