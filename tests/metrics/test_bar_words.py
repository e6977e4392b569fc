"""Wrong bars in a musician's words: counted in the meter's own unit, numbered as the score numbers them."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from tunesmith.metrics.abc_bars import Bar
from tunesmith.metrics.bar_words import MAX_WRONG_BARS, amount, counting, wrong_bars
from tunesmith.metrics.validity import check


def _head(meter: str) -> str:
    return f"X:1\nT:t\nM:{meter}\nL:1/8\nK:G\n"


def _wrong(abc: str) -> list[dict]:
    return check(abc, abc2midi=False).wrong_bars


def test_a_jig_bar_of_seven_eighths() -> None:
    found = _wrong(_head("6/8") + "GAB cde|dBG A3 B|GAB c2d|e3 d3|]\n")
    assert found == [{"number": 2, "line": 6, "words": "bar 2 has 7 eighths; a bar of 6/8 holds 6"}]


def test_a_long_bar_of_common_time_counts_quarters() -> None:
    found = _wrong(_head("4/4") + "GABc dedc|BAGA B2 A2|GABc d2 e2 f2|g8|]\n")
    assert [w["words"] for w in found] == ["bar 3 has 5 quarters; a bar of 4/4 holds 4"]


def test_a_bar_of_exactly_two_bars_asks_for_the_missing_bar_line() -> None:
    found = _wrong(_head("2/4") + "GA Bc|dedc BAGA|B2 A2|]\n")
    assert [w["words"] for w in found] == [
        "bar 2 has 4 quarters; a bar of 2/4 holds 2 (two bars' worth: a bar line missing?)"
    ]


@pytest.mark.parametrize(
    ("meter", "spoken"),
    [("C", "4/4"), ("C|", "2/2"), ("2/2", "2/2")],
)
def test_c_and_cut_time_are_said_as_musicians_count_them(meter: str, spoken: str) -> None:
    # Nine eighths: a whole number of neither quarters nor halves, so the count goes down to eighths.
    found = _wrong(_head(meter) + "GABc dedc|BAGA B2 A2 G|g8|]\n")
    assert [w["words"] for w in found] == [f"bar 2 has 9 eighths; a bar of {spoken} holds 8"]


def test_a_short_bar_in_the_middle_of_a_part() -> None:
    found = _wrong(_head("6/8") + "GAB cde|dB|GAB c2d|e3 d3|]\n")
    assert [w["number"] for w in found] == [2]
    assert found[0]["words"].startswith("bar 2 has 2 eighths; a bar of 6/8 holds 6, and only a pickup")


def test_a_pickup_of_more_than_half_a_bar_inside_the_tune() -> None:
    found = _wrong(_head("6/8") + "GAB cde|dBG A3|GAB c2d|e3 d3||GAB cd|dBG A3|GAB c2d|e3 d3|]\n")
    assert [w["number"] for w in found] == [5]
    assert "half a bar at most" in found[0]["words"]


def test_a_pickup_and_a_closing_bar_are_not_wrong() -> None:
    assert _wrong(_head("6/8") + "D|GAB cde|dBG A3|GAB c2d|e3 d2:|\n") == []


def test_a_valid_tune_has_no_wrong_bars_and_says_so_in_json() -> None:
    report = check(_head("6/8") + "D|GAB cde|dBG A3|GAB c2d|e3 d2|]\n", abc2midi=False)
    assert report.wrong_bars == [] and report.bad_bars == []
    assert json.loads(json.dumps(report.to_json()))["wrong_bars"] == []


def test_a_length_between_units_goes_down_to_sixteenths() -> None:
    found = _wrong(_head("3/4") + "G2 A2 B2|c2 d2 e2 f/|g6|]\n")
    assert [w["words"] for w in found] == ["bar 2 has 13 sixteenths; a bar of 3/4 holds 12"]


def test_a_broken_triplet_is_counted_in_thirds() -> None:
    # (3AB d2: three notes in the time of two, so A, B and d2 last 2/3, 2/3 and 4/3 eighths.
    found = _wrong(_head("4/4") + "GABc dedc|(3AB d2 e2 f2 g|g8|]\n")
    assert [w["words"] for w in found] == [
        "bar 2 has 7⅔ eighths; a bar of 4/4 holds 8, and only a pickup or a part's last bar may be short"
    ]


def test_a_multi_bar_rest_with_a_note_too_many() -> None:
    found = _wrong(_head("6/8") + "GAB cde|Z2 A|GAB c2d|e3 d3|]\n")
    assert [w["words"] for w in found] == ["bar 2 has a 2-bar rest and 13 eighths in all; 2 bars of 6/8 hold 12"]


def test_a_bar_that_takes_no_time() -> None:
    found = _wrong(_head("6/8") + "GAB cde|z0|GAB c2d|e3 d3|]\n")
    assert [w["words"] for w in found] == ["bar 2 takes no time; a bar of 6/8 holds 6 eighths"]


def test_an_inline_meter_change_counts_in_its_own_unit() -> None:
    # [M:2/2] is the same Fraction as C; its bar is counted in halves, down to eighths here.
    found = _wrong(_head("6/8") + "GAB cde|[M:2/2]GABc dedc e|GABc dedc|]\n")
    assert [w["words"] for w in found] == ["bar 2 has 9 eighths; a bar of 2/2 holds 8"]


def test_numbers_count_every_bar_with_music_and_lines_are_abc_lines() -> None:
    abc = _head("6/8") + "GAB cde|dBG A3|\nGAB c2d|e3 d3 e|\n|GAB cde|dBG A3 B|]\n"
    found = _wrong(abc)
    assert [(w["number"], w["line"]) for w in found] == [(4, 7), (6, 8)]
    assert check(abc, abc2midi=False).engraved_bars == 6


def test_at_most_fifty_are_listed() -> None:
    found = _wrong(_head("6/8") + "GAB cdef|" * 80 + "]\n")
    assert len(found) == MAX_WRONG_BARS == 50 and found[-1]["number"] == 50


def test_the_fraction_is_used_when_the_text_is_not_this_meter() -> None:
    assert counting(Fraction(3, 4), "6/8") == ("6/8", 8)
    assert counting(Fraction(3, 4), "2/4") == ("3/4", 4)
    assert counting(Fraction(3, 4)) == ("3/4", 4)
    assert counting(Fraction(1)) == ("4/4", 4)
    assert counting(Fraction(5, 8), "(2+3)/8") == ("2+3/8", 8)


def test_odd_lengths_fall_back_to_fractions_of_a_whole_note() -> None:
    # (7:2:2AB: A and B of a septuplet, 2/7 of an eighth each: no unit counts it, nor a simple fraction.
    found = _wrong(_head("4/4") + "GABc dedc|(7:2:2AB d2 e2 f|g8|]\n")
    assert found[0]["words"].startswith("bar 2 has 39/56 of a whole note; a bar of 4/4 holds 1 whole note, and ")
    assert amount(Fraction(1, 8), Fraction(3, 4), 8) == ("1 eighth", "6")
    assert amount(Fraction(7, 12), Fraction(3, 2), 2) == ("2⅓ quarters", "6")
    assert amount(Fraction(5, 7), Fraction(3, 2), 2) == ("5/7 of a whole note", "3/2 of a whole note")


def test_free_meter_bars_are_never_wrong() -> None:
    bar = Bar(start=False, line=6, length=Fraction(7, 8), music=True, meter=None)
    assert wrong_bars([bar], "none") == []
    assert _wrong(_head("none") + "GAB cdef|dBG|]\n") == []
