"""Validity reports: one hand-made tune per defect, the durations ABC allows, and the folk corpus."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from tunesmith.abc_text import parse_key, parse_meter, parse_unit
from tunesmith.metrics.abc_bars import length_of
from tunesmith.metrics.validity import check, check_many, summarize

HEAD = "X:1\nT:t\nM:6/8\nL:1/8\nK:G\n"

# Everything the bar check must count right, in one tune that abc2midi plays without an error.
GOOD = """X:1
T:Everything
M:6/8
L:1/8
Q:3/8=120
K:D
"D"A|:d2e f>ed|(3def g2 f e/d/|[d2f2]A {g}B3|!trill!c3 ~d2 .e|
[M:9/8]A2B c3 d3|[L:1/16]a4b4c4 d6|
M:6/8
L:1/8
^C,=c_c' z3|x6|Z|
|1 d3 d2A:|2 d3 d2||
"""


def _bad(abc: str) -> list[str]:
    return check(abc, abc2midi=False).bad_bars


def test_a_tune_with_every_feature_is_valid() -> None:
    report = check(GOOD, ending="ended")
    assert report.header_ok and report.converts and report.abc2midi_errors == 0, report.to_json()
    assert report.bad_bars == [] and report.bars == 12 and report.bars_ok == 12
    assert report.valid and report.unreadable == []
    assert json.loads(json.dumps(report.to_json()))["valid"] is True


def test_written_lengths() -> None:
    assert [length_of(t) for t in ("", "2", "3/2", "/", "//", "/4", "3/", "3//")] == [
        Fraction(1),
        Fraction(2),
        Fraction(3, 2),
        Fraction(1, 2),
        Fraction(1, 4),
        Fraction(1, 4),
        Fraction(3, 2),
        Fraction(3, 4),
    ]


def test_meters_units_and_keys() -> None:
    assert parse_meter("6/8") == Fraction(3, 4) and parse_meter("C") == 1 and parse_meter("C|") == 1
    assert parse_meter("2+3/8") == Fraction(5, 8) and parse_meter("none") is None
    assert parse_meter("9/8 % Aird bars it in 6/8") == Fraction(9, 8)
    assert parse_unit("1/16") == Fraction(1, 16)
    assert parse_key("D") == {"F": 1, "C": 1} and parse_key("Ddor") == {} and parse_key("E Minor") == {"F": 1}
    assert parse_key("Bb") == {"B": -1, "E": -1}
    for bad, reader in (("6/x", parse_meter), ("FREI4/4", parse_meter), ("1/3", parse_unit), ("Hxx", parse_key)):
        with pytest.raises(ValueError):
            reader(bad)


@pytest.mark.parametrize(
    ("abc", "problem"),
    [
        ("T:t\nM:6/8\nK:G\nABc def|\n", "the first line is not X:<number>"),
        ("X:1\nT:t\nM:6/8\nABc def|\n", "music before the K: field"),
        ("X:1\nT:t\nM:6/8\n", "no K: field ends the header"),
        ("X:1\nM:6/x\nK:G\nABc def|\n", "meter '6/x'"),
        ("X:1\nM:6/8\nL:1/3\nK:G\nABc def|\n", "power-of-two"),
        ("X:1\nM:6/8\nK:Hxx\nABc def|\n", "key 'Hxx'"),
        ("X:1\nT:t\n\nM:6/8\nK:G\nABc def|\n", "a blank line ends the tune before K:"),
    ],
)
def test_header_defects_are_named(abc: str, problem: str) -> None:
    report = check(abc, abc2midi=False)
    assert not report.header_ok and not report.valid
    assert any(problem in p for p in report.header_problems), report.header_problems


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ("ABc def|ABc defg|\n", ["line 6: a bar of 7/8 in 3/4 time"]),  # one note too many
        ("ABc def|ABc de|ABc def|\n", ["line 6: a bar of 5/8 in 3/4 time"]),  # short, not at an edge
        ("A>B c def|\n", []),  # broken rhythm moves time, keeps the sum
        ("A>>B c def|\n", []),
        ("ABc def|A>B>c def|ABc def|\n", ["line 6: a bar of 23/32 in 3/4 time"]),  # B halved, then dotted
        ("(3ABc B2 c3|\n", ["line 6: a bar of 7/8 in 3/4 time"]),  # a triplet of eighths is a quarter
        ("(3ABc c4|\n", []),
        ("(3:2:3ABc c4|\n", []),
        ("(2AB c3|\n", []),  # two in the time of three
        ("[ceg]2 [c2e] d2|\n", []),  # a chord lasts as long as its first note
        ("[c2eg] d4|\n", []),
        ("{gag}A2 B4|\n", []),  # grace notes take no time
        ('"G"~A2 !trill!B2 .c2|\n', []),  # chord symbols and decorations take none either
        ("A3/2 B/ c// d// e/ f2|\n", []),
        ("Z2|ABc def|\n", []),  # a multi-measure rest fills its bars
        ("Z2 A|ABc def|\n", ["line 6: a bar of 13/8 in 3/4 time"]),
        ("ABc def|[M:2/4]AB cd|M:3/8\nABc|\n", []),  # meter changes, inline and as a line
        ("ABc def|[L:1/16]A2B2c2 d2e2f2|\n", []),  # unit change
        ("ABc def|\\\nABc def|\n", []),  # a line continuation
        ("ABc d\nef|ABc def|\n", []),  # a bar may run over a line break
        ("ABc def|ABc def % a comment\n|\n", []),
    ],
)
def test_bar_lengths(body: str, bad: list[str]) -> None:
    assert _bad(HEAD + body) == bad


def test_pickups_and_closing_bars() -> None:
    # A pickup at the top and at each part; short bars before :| || |] and at the very end are fine.
    assert _bad(HEAD + "A|BAB c3|BAB c2:|\nd|BAB c3|BAB c2||e|BAB c3|BA\n") == []
    assert _bad(HEAD + "|:A|BAB c3|BAB c2:|\n") == []
    assert _bad(HEAD + "A|BAB c3|1 BAB c2:|2 BAB c3|]\n") == []
    # …but a short bar in the middle of a part is not.
    assert _bad(HEAD + "A|BAB c3|BAB|c3 BAB|c2:|\n") == ["line 6: a bar of 3/8 in 3/4 time"]
    # A pickup closed by |: or || (the tune's first, or at most half a bar) and a second ending's short bar.
    assert _bad(HEAD + "(g/f/)|:e2A ABA|e2A Bcd:|\n") == []
    assert _bad(HEAD + "d/B || cAF G2 G | ABc AdB || g | fed efg | age d2 |]\n") == []
    assert _bad(HEAD + "|:B|cAF G2G|ABc AdB|1 cAF G2:|2 cAF G3|]\n") == []


def test_short_bars_made_to_look_like_pickups_and_closings_are_not_bars() -> None:
    """Every bar here is some section's first or last, but none is a bar of 6/8. A part's closing bar is short
    only after a full bar, so the three closing bars fail; a pickup is at most half a bar, so "ABc d" fails too
    (the tune's opening "ABc" and the half-bar "Bcd" pass)."""
    reel = "ABc|AB cd||Bcd|ABc Bc||ABc d|cBA G||\n"
    assert _bad(HEAD + reel) == [f"line 6: a bar of {n} in 3/4 time" for n in ("1/2", "5/8", "1/2", "1/2")]
    assert _bad(HEAD + "ABc d2||ABc d2||ABc d2||\n") == ["line 6: a bar of 5/8 in 3/4 time"] * 2  # not pickups
    assert not check(HEAD + reel, ending="ended", abc2midi=False).valid


def test_free_meter_checks_no_bars() -> None:
    report = check("X:1\nM:none\nL:1/8\nK:G\nABcdefgab|cde|\n", abc2midi=False)
    assert report.bars == 0 and report.bars_ok_share == 1.0


def test_default_unit_length_follows_the_meter() -> None:
    assert _bad("X:1\nM:2/4\nK:G\nABcdefga|\n") == []  # 1/16 below 3/4
    assert _bad("X:1\nM:3/4\nK:G\nABcdef|\n") == []  # 1/8 from 3/4 up
    assert _bad("X:1\nM:2/4\nK:G\nABcd|ABcdefga|\n") == []  # a short first bar is a pickup


def test_notes_out_of_the_playable_range_are_counted() -> None:
    # G3 (G,) to E7 (e'') by default; F, and f'' are out, and so is G, in G flat (a G flat).
    report = check(HEAD + "F,G,A,B,C2|e''f''g ^d''=e''z|\n", abc2midi=False)
    assert report.notes == 10 and report.out_of_range == 2
    assert check("X:1\nM:6/8\nL:1/8\nK:Gb\nG,6|\n", abc2midi=False).out_of_range == 1
    assert check(HEAD + "^d'' d''4 z|\n", abc2midi=False).out_of_range == 0
    carried = check(HEAD + "^e''e''4 z|\n", abc2midi=False)  # an accidental lasts to the bar line
    assert carried.out_of_range == 2
    assert check(HEAD + "F,6|\n", playable=(40, 100), abc2midi=False).out_of_range == 0


def test_abc2midi_errors_and_cut_tunes_make_a_tune_invalid() -> None:
    missing_repeat = check(HEAD + "|:ABc def|ABc def|\n")
    assert missing_repeat.abc2midi_errors and not missing_repeat.valid
    assert any("Missing :|" in m for m in missing_repeat.messages)
    cut = check(HEAD + "ABc def|\n", ending="forced")
    assert cut.bars_ok == cut.bars and not cut.valid
    assert not check("X:1\nM:6/8\nK:G\nz6|\n").valid  # no notes: no MIDI worth the name


def test_summaries_over_many_tunes() -> None:
    reports = check_many([GOOD, HEAD + "ABc defg|\n"], endings=["ended", "ended"])
    summary = summarize(reports)
    assert summary["valid_share"] == 0.5 and summary["zero_error_share"] == 1.0
    assert summary["bars_ok_share"] == pytest.approx(12 / 13)


def test_most_of_the_folk_corpus_passes_the_bar_check() -> None:
    """The built-in corpus, bars and headers only (abc2midi over 12,900 tunes is a benchmark)."""
    from tunesmith.corpora import builtin
    from tunesmith.corpora.abc import read_tunes

    tunes, _ = read_tunes(builtin("folk").files())
    sample = tunes[::10]  # every tenth: all five collections, in a second or two
    reports = [check("X:1\n" + t.text, abc2midi=False) for t in sample]
    assert sum(r.header_ok for r in reports) / len(reports) > 0.99
    assert summarize(reports)["bars_ok_share"] > 0.88
    dance = [r for r, t in zip(reports, sample, strict=True) if "essenFolksong" not in t.source]
    assert sum(r.bars_ok == r.bars for r in dance) / len(dance) > 0.85  # Essen's songs change meter unmarked


def test_absurd_lengths_are_read_without_a_giant_integer() -> None:
    """A note of 5,000 digits, a 5,000-digit multi-bar rest or 10,000 slashes: a wrong bar, never a crash."""
    tune = HEAD + "A" + "9" * 5000 + "|Z" + "9" * 5000 + "|B" + "/" * 10000 + "|\n"
    report = check(tune, abc2midi=False)
    assert report.bars == 3 and report.bars_ok == 2 and not report.valid  # Z fills its bars; a last bar may be short
    assert report.bad_bars == ["line 6: a bar of 999999999/8 in 3/4 time"]
