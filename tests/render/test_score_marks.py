"""Wrong bars marked on verovio's real SVG: the right measure, within its staff, and still one XML document."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tunesmith.metrics.validity import check
from tunesmith.render.score import engrave
from tunesmith.render.score_marks import mark_bars

SVG = "{http://www.w3.org/2000/svg}"
# Bar 2 has seven eighths in 6/8; the other three are right.
ONE_WRONG = "X:1\nT:t\nM:6/8\nL:1/8\nK:G\nGAB cde|dBG A3 B|GAB c2d|e3 d3|]\n"
# Long enough for verovio to need a second page (a page holds about 100 such bars); bar 161 is a bar of 4/4.
LONG = (
    "X:1\nT:Long\nM:6/8\nL:1/8\nK:G\n" + "GAB cde|dBG A3|GAB c2d|e3 d3|\n" * 40 + "GABc dedc|" + "e3 d3|" * 20 + "]\n"
)


@pytest.fixture(scope="module")
def one_wrong() -> tuple[list[str], dict[int, str], int]:
    report = check(ONE_WRONG, abc2midi=False)
    return engrave(ONE_WRONG, "abc", "t"), {w["number"]: w["words"] for w in report.wrong_bars}, report.engraved_bars


def _measures(page: str) -> list[ET.Element]:
    return [g for g in ET.fromstring(page).iter(f"{SVG}g") if (g.get("class") or "").split()[:1] == ["measure"]]


def _staff_x(measure: ET.Element) -> tuple[float, float]:
    staff = next(g for g in measure.iter(f"{SVG}g") if g.get("class") == "staff")
    xs = [float(v) for p in staff.findall(f"{SVG}path")[:5] for v in re.findall(r"[ML](-?[\d.]+)", p.get("d", ""))]
    return min(xs), max(xs)


def test_the_wrong_bar_is_marked_within_its_staff(one_wrong: tuple[list[str], dict[int, str], int]) -> None:
    pages, wrong, bars = one_wrong
    assert wrong == {2: "bar 2 has 7 eighths; a bar of 6/8 holds 6"} and bars == 4
    marked, ok = mark_bars(pages, wrong, bars)
    assert ok and len(marked) == len(pages) == 1
    measures = _measures(marked[0])  # parses: still one XML document
    assert len(measures) == 4
    flagged = [i for i, g in enumerate(measures) if g.get("class") == "measure wrong-bar"]
    assert flagged == [1]  # the second measure, and no other
    measure = measures[1]
    assert measure[0].tag == f"{SVG}title" and measure[0].text == wrong[2]
    rect = measure.find(f"{SVG}rect")
    assert rect is not None and rect.get("class") == "wrong-bar-mark"
    left, right = _staff_x(measure)
    x, width = float(rect.get("x", "nan")), float(rect.get("width", "nan"))
    assert left <= x < x + width <= right and width > 0
    number = measure.find(f"{SVG}text")
    assert number is not None and number.text == "2" and left <= float(number.get("x", "nan")) <= right
    assert marked[0].count("wrong-bar-mark") == 1


def test_marks_sit_above_and_below_the_staff(one_wrong: tuple[list[str], dict[int, str], int]) -> None:
    pages, wrong, bars = one_wrong
    measure = _measures(mark_bars(pages, wrong, bars)[0][0])[1]
    staff = next(g for g in measure.iter(f"{SVG}g") if g.get("class") == "staff")
    ys = [float(re.findall(r"-?[\d.]+", p.get("d", ""))[1]) for p in staff.findall(f"{SVG}path")[:5]]
    rect, number = measure.find(f"{SVG}rect"), measure.find(f"{SVG}text")
    assert rect is not None and number is not None
    top, height = float(rect.get("y", "nan")), float(rect.get("height", "nan"))
    assert top < min(ys) and top + height > max(ys)
    assert float(number.get("y", "nan")) < top  # the number is over the wash, not on the staff


def test_a_count_that_differs_leaves_the_pages_alone(one_wrong: tuple[list[str], dict[int, str], int]) -> None:
    pages, wrong, bars = one_wrong
    assert mark_bars(pages, wrong, bars + 1) == (pages, False)
    assert mark_bars(pages, wrong, bars - 1) == (pages, False)
    assert mark_bars(pages, {9: "bar 9 is not in this tune"}, bars) == (pages, False)


def test_nothing_wrong_and_the_counts_agree(one_wrong: tuple[list[str], dict[int, str], int]) -> None:
    pages, _, bars = one_wrong
    assert mark_bars(pages, {}, bars) == (pages, True)


def test_words_are_escaped(one_wrong: tuple[list[str], dict[int, str], int]) -> None:
    pages, _, bars = one_wrong
    marked, ok = mark_bars(pages, {3: 'a <b> & "c"\x00'}, bars)
    assert ok
    title = _measures(marked[0])[2].find(f"{SVG}title")
    assert title is not None and title.text == 'a <b> & "c"'


@pytest.mark.parametrize(
    "pages",
    [
        [],
        ["not svg at all"],
        ['<svg xmlns="http://www.w3.org/2000/svg"><g class="measure"><g class="staff"></g></g></svg>'],
        ['<svg><g class="measure"><g class="staff"><path d="M0 0 L10 0"/></g></g></svg>'],  # one line, not five
        ['<svg><g class="measure"><g class="staff">' + '<path d="M0 0 L10 5"/>' * 5 + "</g></g></svg>"],  # slanted
        ['<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "b">]><svg><g class="measure"></g></svg>'],
        ['<svg><g class="measure" />'],
    ],
)
def test_garbage_comes_back_unchanged(pages: list[str]) -> None:
    assert mark_bars(pages, {1: "bar 1 has 7 eighths"}, 1) == (pages, False)


def test_a_page_that_would_not_parse_is_not_returned_marked() -> None:
    lines = "".join(f'<path d="M0 {y} L100 {y}" />' for y in (0, 10, 20, 30, 40))
    broken = f'<svg><g id="m" class="measure"><g class="staff">{lines}</g></svg>'  # a </g> short
    assert mark_bars([broken], {1: "words"}, 1) == ([broken], False)


def test_bars_are_counted_across_pages() -> None:
    report = check(LONG, abc2midi=False)
    assert [w["number"] for w in report.wrong_bars] == [161]
    pages = engrave(LONG, "abc", "long")
    marked, ok = mark_bars(pages, {w["number"]: w["words"] for w in report.wrong_bars}, report.engraved_bars)
    assert ok and len(pages) >= 2
    (page,) = [i for i, text in enumerate(marked) if "wrong-bar" in text]
    assert page >= 1  # the test is about a later page
    first = sum(len(_measures(p)) for p in marked[:page])
    flagged = [i for i, g in enumerate(_measures(marked[page])) if g.get("class") == "measure wrong-bar"]
    assert [first + i + 1 for i in flagged] == [161]
    assert all(a == b for i, (a, b) in enumerate(zip(pages, marked, strict=True)) if i != page)
