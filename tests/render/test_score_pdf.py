"""The score as an A4 PDF: one sheet per SVG page, drawn by cairosvg onto one cairo PDF."""

from __future__ import annotations

import builtins
import re
from pathlib import Path
from typing import Any

import pytest

from tunesmith.errors import TunesmithError
from tunesmith.metrics.validity import check
from tunesmith.render import pdf
from tunesmith.render.pdf import MAX_PAGES, score_pdf
from tunesmith.render.score import engrave
from tunesmith.render.score_marks import mark_bars

TUNE = "X:1\nT:The Kesh\nM:6/8\nL:1/8\nK:G\nGAB cde|dBG A3 B|GAB c2d|e3 d3|]\n"
LONG = "X:1\nT:Long\nM:6/8\nL:1/8\nK:G\n" + "GAB cde|dBG A3|GAB c2d|e3 d3|\n" * 40 + "G6|]\n"
TINY = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 20"><rect width="100" height="20"/></svg>'


def _pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", data))  # not /Pages, the tree above them


def _media_boxes(data: bytes) -> list[list[float]]:
    return [[float(v) for v in box.split()] for box in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", data)]


def test_each_svg_page_is_one_a4_sheet(tmp_path: Path) -> None:
    pages = engrave(LONG, "abc", "long")
    assert len(pages) >= 2
    out = score_pdf(pages, tmp_path / "long.pdf", title="Long")
    data = out.read_bytes()
    assert out == tmp_path / "long.pdf" and data.startswith(b"%PDF-")
    assert _pages(data) == len(pages)
    boxes = _media_boxes(data)
    assert boxes and all(box == pytest.approx([0, 0, 595.28, 841.89], abs=0.5) for box in boxes)
    assert b"/Title (Long)" in data
    assert [p.name for p in tmp_path.iterdir()] == ["long.pdf"]  # no temporary file left beside it


def test_a_marked_score_prints_too(tmp_path: Path) -> None:
    report = check(TUNE, abc2midi=False)
    marked, ok = mark_bars(
        engrave(TUNE, "abc", "t"), {w["number"]: w["words"] for w in report.wrong_bars}, report.engraved_bars
    )
    assert ok
    data = score_pdf(marked, tmp_path / "sub" / "kesh.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and _pages(data) == 1


def test_too_many_pages_are_refused_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(TunesmithError, match=f"more than a PDF takes \\({MAX_PAGES}\\)"):
        score_pdf([TINY] * (MAX_PAGES + 1), tmp_path / "big.pdf")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("pages", [[], ["<html>not a score</html>"]])
def test_no_pages_or_no_svg_is_refused(tmp_path: Path, pages: list[str]) -> None:
    with pytest.raises(TunesmithError):
        score_pdf(pages, tmp_path / "x.pdf")
    assert not list(tmp_path.iterdir())


def test_an_svg_cairosvg_cannot_draw_is_one_error_and_no_file(tmp_path: Path) -> None:
    with pytest.raises(TunesmithError, match="page 2 of the score"):
        score_pdf([TINY, "<svg><g></svg>"], tmp_path / "x.pdf")
    assert not list(tmp_path.iterdir())


def test_without_libcairo_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_import = builtins.__import__

    def no_cairo(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in ("cairocffi", "cairosvg"):
            raise OSError("no library called 'cairo-2' was found")  # what cairocffi raises
        return real_import(name, *args, **kwargs)

    pdf._cairo.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_cairo)
    try:
        with pytest.raises(TunesmithError, match="^PDF needs the cairo library: apt-get install libcairo2$"):
            score_pdf([TINY], tmp_path / "x.pdf")
    finally:
        monkeypatch.undo()
        pdf._cairo.cache_clear()
    assert not list(tmp_path.iterdir())
