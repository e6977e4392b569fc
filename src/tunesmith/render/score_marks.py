"""Wrong bars marked on verovio's engraved score: a red wash over the bar, its number above, its words as a tooltip.

:func:`tunesmith.metrics.validity.check` lists the bars whose length does not fit the meter
(``Validity.wrong_bars``, numbered among the bars that hold music or rests, see
:mod:`tunesmith.metrics.bar_words`); verovio draws each such bar as one ``<g class="measure">`` group whose
``<g class="staff">`` starts with the five staff lines, ``<path d="M x1 y L x2 y"/>``. When the pages hold
exactly as many measures as the tune has bars, the n-th measure *is* bar n, and :func:`mark_bars` marks it:

- the group's class becomes ``measure wrong-bar`` (for the studio's CSS and tests);
- a ``<title>`` with the words (a browser's tooltip when the SVG is opened on its own);
- a translucent red rectangle from the first to the last x of its staff lines, half a staff space above the
  top line to half below the bottom, drawn first so the notes stay black on top of it;
- the bar number, small and red, above the staff at the bar's left.

The marks live inside the measure group, so they use its units (verovio's scaled inner ``<svg>``) and
move with it. The pages are edited as text, by regular expressions bounded to each measure's opening, and
every edited page is parsed back with :mod:`xml.etree` before it is returned.

When the counts differ (verovio split or merged a bar, a second voice, a tune the bar counter reads
otherwise) the n-th measure may not be bar n, and marking it would point at the wrong music: the pages come
back unchanged with False, and the page lists the wrong bars only in words. Any page the marks cannot be
placed on safely (not an SVG, too large, staff lines not where verovio puts them) does the same.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

MAX_PAGES = 200  # a long tune engraves to a few pages; 200 is a tunebook, not one tune's score
MAX_BYTES = 32 * 1024 * 1024  # all pages together; verovio writes about 20 KB a bar line of music
MAX_WORDS = 300  # characters of one bar's tooltip
_SEARCH = 4000  # characters after a measure's opening searched for its staff and five lines
_COLOR = "#d62728"

_MEASURE = re.compile(r'<g\b[^<>]*?\bclass="measure"[^<>]*>')
_STAFF = re.compile(r'<g\b[^<>]*?\bclass="staff"[^<>]*>')
_NUMBER = r"(-?\d+(?:\.\d+)?)"
_LINE = re.compile(rf'\s*<path d="M{_NUMBER} {_NUMBER} L{_NUMBER} {_NUMBER}"[^<>]*/>')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _staff_box(page: str, start: int, stop: int) -> tuple[float, float, float, float] | None:
    """``(left, top, right, bottom)`` of the five staff lines of the measure opening at ``start`` (its staff
    must begin before ``stop``, the next measure), or None when they are not where verovio draws them."""
    staff = _STAFF.search(page, start, min(stop, start + _SEARCH))
    if staff is None:
        return None
    xs: list[float] = []
    ys: list[float] = []
    at = staff.end()
    for _ in range(5):
        line = _LINE.match(page, at)
        if line is None:
            return None
        x1, y1, x2, y2 = (float(v) for v in line.groups())
        if y1 != y2:  # a staff line is level
            return None
        xs += [x1, x2]
        ys.append(y1)
        at = line.end()
    left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
    if right <= left or bottom <= top:
        return None
    return left, top, right, bottom


def _marks(number: int, words: str, box: tuple[float, float, float, float]) -> str:
    """The title, wash and number put first in a wrong bar's measure group."""
    left, top, right, bottom = box
    space = (bottom - top) / 4  # one staff space
    words = escape(_CONTROL.sub("", words)[:MAX_WORDS], {'"': "&quot;"})
    # style="stroke:none": verovio's own CSS strokes every rect with currentColor, and CSS beats attributes.
    return (
        f"<title>{words}</title>"
        f'<rect class="wrong-bar-mark" x="{left:g}" y="{top - space / 2:g}" width="{right - left:g}" '
        f'height="{bottom - top + space:g}" fill="{_COLOR}" fill-opacity="0.18" style="stroke:none" />'
        f'<text class="wrong-bar-number" x="{left + space / 2:g}" y="{top - space * 1.5:g}" '
        f'font-size="{space * 1.6:g}" font-weight="bold" fill="{_COLOR}">{number}</text>'
    )


def _is_svg(page: str) -> bool:
    head = page[:2000].lstrip()
    if head.startswith("<?xml"):
        head = head[head.find("?>") + 2 :].lstrip()
    return head.startswith("<svg") and "<!DOCTYPE" not in page[:2000] and "<!ENTITY" not in page[:2000]


def mark_bars(pages: Sequence[str], wrong: Mapping[int, str], bars: int) -> tuple[list[str], bool]:
    """``pages`` with each wrong bar marked, and True; or the pages unchanged, and False.

    ``wrong`` maps a bar's number (1-based, as in ``Validity.wrong_bars``) to its words; ``bars`` is how many
    bars the tune has that hold music or rests (``Validity.engraved_bars``). Marks go on
    only when the pages together hold exactly ``bars`` measures, so that measure n is bar n. Otherwise, or on
    a page that is not verovio's SVG as expected, nothing is marked (False) and the caller lists the wrong
    bars in words only. True with an empty ``wrong``: the counts agree and there was nothing to mark."""
    original = list(pages)
    try:
        return _mark(original, wrong, bars)
    except (ValueError, TypeError, ET.ParseError, RecursionError):
        return original, False


def _mark(pages: list[str], wrong: Mapping[int, str], bars: int) -> tuple[list[str], bool]:
    if not pages or len(pages) > MAX_PAGES or sum(len(p) for p in pages) > MAX_BYTES:
        return pages, False
    if not all(isinstance(p, str) and _is_svg(p) for p in pages):
        return pages, False
    if any(not isinstance(n, int) or not 1 <= n <= bars for n in wrong):
        return pages, False
    openings = [list(_MEASURE.finditer(page)) for page in pages]
    if sum(len(found) for found in openings) != bars:
        return pages, False
    out: list[str] = []
    number = 0
    for page, found in zip(pages, openings, strict=True):
        pieces: list[str] = []
        done = 0
        for index, opening in enumerate(found):
            number += 1
            if number not in wrong:
                continue
            tag = opening.group(0)
            if tag.endswith("/>"):
                return pages, False  # an empty measure: no staff to mark
            stop = found[index + 1].start() if index + 1 < len(found) else len(page)
            box = _staff_box(page, opening.end(), stop)
            if box is None:
                return pages, False
            pieces += [page[done : opening.start()], tag.replace('class="measure"', 'class="measure wrong-bar"', 1)]
            pieces.append(_marks(number, str(wrong[number]), box))
            done = opening.end()
        if not pieces:
            out.append(page)
            continue
        pieces.append(page[done:])
        marked = "".join(pieces)
        ET.fromstring(marked)  # still one well-formed XML document, or ParseError: unchanged
        out.append(marked)
    return out, True
