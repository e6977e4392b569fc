"""A score to print: verovio's SVG pages as one A4 PDF, one sheet per page, the music as wide as the margins allow.

verovio draws only SVG; cairosvg draws SVG with cairo, and cairo writes PDF. cairosvg's own ``svg2pdf`` makes a
one-page PDF the size of the SVG, so several pages would need merging afterwards. Instead each page is drawn by
a cairosvg surface onto one shared cairo ``PDFSurface`` of A4 sheets (:class:`_Sheet` below hands it the
sheet instead of a new file), and ``show_page`` starts the next sheet: the PDF is cairo's own, text stays text
and the music stays vectors.

The music is scaled to the width between the margins; a page that would then be taller than the sheet is
scaled down to fit its height instead, centred across. The input is bounded before any drawing
(:data:`MAX_PAGES`, :data:`MAX_BYTES`). cairosvg reads SVG with defusedxml and fetches nothing outside it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError

A4 = (595.28, 841.89)  # points: 210 × 297 mm
MARGIN = 42.52  # points: 15 mm, inside what office printers can reach
MAX_PAGES = 100  # a folk tune is one or two pages; a hundred is a tunebook
MAX_BYTES = 32 * 1024 * 1024  # all SVG pages together
_PX = 0.75  # points per CSS pixel (cairosvg's user unit at 96 dpi)
_NO_CAIRO = "PDF needs the cairo library: apt-get install libcairo2"


@lru_cache(maxsize=1)
def _cairo() -> tuple[Any, Any, type]:
    """cairocffi, cairosvg's Tree and the sheet surface class, loaded on first use: a machine without
    libcairo can still do everything else, and hears how to get the PDF in one line."""
    try:
        import cairocffi
        from cairosvg.parser import Tree
        from cairosvg.surface import PDFSurface
    except OSError as exc:  # cairocffi found no libcairo
        raise TunesmithError(_NO_CAIRO) from exc
    except ImportError as exc:
        raise TunesmithError("PDF needs cairosvg: pip install 'cairosvg>=2.7'") from exc

    class _Sheet(PDFSurface):
        """A cairosvg surface that draws one SVG page onto an existing PDF sheet, inside ``box`` (points:
        left, top, width, height), rather than making a new PDF of the SVG's own size."""

        def __init__(self, tree: Any, sheet: Any, box: tuple[float, float, float, float]):
            self._sheet, self._box, self._placed = sheet, box, False
            super().__init__(tree, None, 96, output_width=box[2] / _PX)

        def _create_surface(self, width: float, height: float) -> tuple[Any, float, float]:
            return self._sheet, width, height

        def set_context_size(self, width: float, height: float, viewbox: Any, tree: Any) -> None:
            # Called for the page's outer <svg> first, then for each nested one (verovio's scaled inner svg);
            # only the first is placed in the box, the context then is in CSS pixels: shrunk if too tall, centred.
            if not self._placed:
                self._placed = True
                left, top, box_width, box_height = (v / _PX for v in self._box)
                fit = min(1.0, box_height / height) if height > 0 else 1.0
                self.context.translate(left + (box_width - width * fit) / 2, top)
                self.context.scale(fit, fit)
            super().set_context_size(width, height, viewbox, tree)

    return cairocffi, Tree, _Sheet


def _check(pages: Sequence[str]) -> None:
    if not pages:
        raise TunesmithError("a PDF needs at least one page of score")
    if len(pages) > MAX_PAGES:
        raise TunesmithError(f"a score of {len(pages)} pages is more than a PDF takes ({MAX_PAGES})")
    size = sum(len(page) for page in pages)
    if size > MAX_BYTES:
        raise TunesmithError(f"a score of {size >> 20} MiB of SVG is more than a PDF takes ({MAX_BYTES >> 20} MiB)")
    if not all(isinstance(page, str) and "<svg" in page[:2000] for page in pages):
        raise TunesmithError("a PDF is made of SVG pages, and one of these is not SVG")


def score_pdf(pages: Sequence[str], out: Path, title: str | None = None) -> Path:
    """Write ``pages`` (verovio's SVG) to ``out`` as an A4 PDF, one sheet per page; ``title`` goes in the PDF's
    metadata (what a viewer shows in its title bar). Written to a temporary file beside ``out`` and moved
    into place, so a failure leaves no half a PDF. Returns ``out``."""
    _check(pages)
    cairocffi, tree_of, sheet_surface = _cairo()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.{os.getpid()}.part")
    width, height = A4
    box = (MARGIN, MARGIN, width - 2 * MARGIN, height - 2 * MARGIN)
    sheet = None
    try:
        sheet = cairocffi.PDFSurface(str(part), width, height)
        if title:
            sheet.set_metadata(cairocffi.PDF_METADATA_TITLE, title[:300])
        sheet.set_metadata(cairocffi.PDF_METADATA_CREATOR, "tunesmith (verovio, cairosvg)")
        for number, page in enumerate(pages, start=1):
            try:
                sheet_surface(tree_of(bytestring=page.encode("utf-8")), sheet, box)
            except MemoryError:
                raise
            except Exception as exc:  # cairosvg raises many types (and cairo's CairoError) on SVG it cannot draw
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                raise TunesmithError(f"page {number} of the score could not be drawn as PDF ({first})") from None
            sheet.show_page()
        sheet.finish()
        part.replace(out)
    finally:
        if sheet is not None:
            sheet.finish()  # idempotent; after a failure it closes the file before it goes
        part.unlink(missing_ok=True)
    return out
