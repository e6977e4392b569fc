"""Composing as a folk musician would, in a real browser (Debian's chromium, as in test_web_browser): a kind of
tune from the menus, the tune opened large, printed and downloaded, edited and heard again, a list of every tune
since the page opened, mistakes refused at their field, and a page that fits a phone.

Each state is saved as a screenshot in ``$TUNESMITH_SCREENSHOTS`` (``make screenshots`` points it at
``docs/screenshots``, where the README's pictures come from), else in the test's tmp folder.
"""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_web_browser import browser, page  # noqa: F401  (fixtures: chromium, or a skip saying why)
from tunesmith.web.app import create_app
from tunesmith.web.server import running

# A jig whose second bar has seven eighths: the edit the page must explain by bar.
LONG_BAR = "X:1\nT:Edited\nR:jig\nM:6/8\nL:1/8\nK:G\nD|GAB cde|dBG AGFG|GAB c2d|e3 d2:|\n"
PHONE = {"width": 375, "height": 800}


def shot(page: Any, name: str, tmp_path: Path, full: bool = False) -> Path:  # noqa: F811
    """Save the page as ``name`` where the screenshots go, and check it is a PNG."""
    folder = Path(os.environ.get("TUNESMITH_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=full)
    assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return folder / name


@pytest.fixture(scope="module")
def studio_with_folk(trained_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """A studio with the built-in folk model and the debug run: (url, folk id, debug id)."""
    models = tmp_path_factory.mktemp("compose-models")
    shutil.copytree(trained_run, models / "debug")
    app = create_app([models], tmp_path_factory.mktemp("compose-store"))
    entries = app.state.catalog.entries()
    folk = next(e.id for e in entries if e.details.get("builtin") and e.name == "folk")
    debug = next(e.id for e in entries if e.name.endswith("/debug"))
    with running(app) as url:
        yield url, folk, debug


def menu(page: Any, name: str) -> list[str]:  # noqa: F811
    return page.locator(f"#{name} option").evaluate_all("options => options.map(o => o.value)")


def wait_done(page: Any) -> None:  # noqa: F811
    page.wait_for_selector("#progress[data-state=done]", timeout=180_000)


def test_a_jig_from_the_menus_opens_large_prints_and_is_edited_bar_by_bar(
    page: Any,  # noqa: F811
    studio_with_folk: tuple[str, str, str],
    tmp_path: Path,
) -> None:
    url, folk, debug = studio_with_folk
    page.goto(url + "/")
    page.wait_for_selector(f"#kind[data-ready='{folk}']")
    # the menus hold the folk corpus's own rhythms, meters and keys, commonest first
    assert {"jig", "reel", "hornpipe"} <= set(menu(page, "rhythm")) and menu(page, "rhythm")[0] == ""
    assert {"6/8", "2/4", "3/4"} <= set(menu(page, "meter")) and {"G", "D", "Ador"} <= set(menu(page, "key"))
    page.select_option("#model", debug)  # another model, other menus: the debug corpus has no R: lines
    page.wait_for_selector(f"#kind[data-ready='{debug}']")
    assert menu(page, "rhythm") == [""] and "6/8" in menu(page, "meter")
    page.select_option("#model", folk)
    page.wait_for_selector(f"#kind[data-ready='{folk}']")

    page.select_option("#rhythm", "jig")
    page.select_option("#key", "G")
    page.fill("#num", "1")
    page.select_option("#instrument", "fiddle")
    page.fill("#tempo", "110")
    page.click("details.more summary")
    page.fill("#seed", "3")
    page.click("#generate")
    wait_done(page)
    card = page.locator("#results .card").first
    text = card.locator(".abc pre").text_content()
    assert "R:jig\nM:6/8" in text and "\nK:G\n" in text
    assert card.locator(".badge").inner_text() == "valid"
    shot(page, "compose-desktop.png", tmp_path)

    # opened large: every page of the score at the viewer's width, and its downloads
    card.locator("button.scores").click()
    page.wait_for_selector("#viewer[open]")
    large = page.locator("#viewer-pages img.page").first
    large.evaluate("img => img.decode()")
    assert large.evaluate("img => img.getBoundingClientRect().width") > 900
    with page.expect_download() as svg:
        page.locator("#viewer-downloads a.svg").first.click()
    root = ET.parse(svg.value.path()).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and any(e.get("class") == "note" for e in root.iter())
    with page.expect_download() as pdf:
        page.locator("#viewer-downloads a.pdf").click()
    data = Path(pdf.value.path()).read_bytes()
    assert data[:5] == b"%PDF-" and b"/Type /Page" in data and pdf.value.suggested_filename.endswith(".pdf")
    shot(page, "tune-open.png", tmp_path)

    # edited with a bar too long: the page says which bar, in eighths, and marks it on the score
    page.fill("#edit-text", LONG_BAR)
    page.click("#render")
    page.wait_for_function("() => document.querySelector('#render-status').textContent.startsWith('rendered')")
    wrong = page.locator("#viewer-wrong li").all_inner_texts()
    assert wrong[0].startswith("Bar 3 has 7 eighths") and "6/8" in wrong[0], wrong
    assert "marked in red" in wrong[-1]
    assert page.locator("#viewer-badge").inner_text() == "not valid" and card.locator(".badge").inner_text() == (
        "not valid"
    )
    assert page.locator("#viewer-title").inner_text() == "Edited" == card.locator(".title").inner_text()
    assert "?v=1" in page.locator("#viewer-pages img.page").first.get_attribute("src")
    shot(page, "tune-edit.png", tmp_path, full=True)
    # fixed: valid again, nothing listed, and the sound is new
    page.fill("#edit-text", LONG_BAR.replace("AGFG|", "AGF|"))
    page.click("#render")
    page.wait_for_function("() => document.querySelector('#render-status').textContent === 'rendered: valid'")
    assert page.locator("#viewer-wrong li").count() == 0
    assert page.locator("#viewer-player").get_attribute("src").endswith("?v=2")


def test_history_keeps_every_tune_with_its_own_name_and_mistakes_are_refused_at_the_field(
    page: Any,  # noqa: F811
    studio_with_folk: tuple[str, str, str],
    tmp_path: Path,
) -> None:
    url, _, debug = studio_with_folk
    page.goto(url + "/")
    page.select_option("#model", debug)
    page.wait_for_selector(f"#kind[data-ready='{debug}']")
    page.fill("#num", "2")
    page.click("details.more summary")
    page.fill("#max_length", "120")
    page.fill("#primer", "M:6/8\nL:1/8\nK:G\n")
    page.click("#generate")
    wait_done(page)
    first = page.locator("#results .card").evaluate_all("cards => cards.map(c => c.dataset.id)")
    page.click("#generate")
    page.wait_for_function(f"() => document.querySelectorAll('#results .card').length === {len(first) + 2}")
    wait_done(page)
    ids = page.locator("#results .card").evaluate_all("cards => cards.map(c => c.dataset.id)")
    assert ids[2:] == first and not set(ids[:2]) & set(first)  # the second Generate's tunes come first
    titles = page.locator("#results .card .title").all_inner_texts()
    assert len(set(titles)) == 4, titles  # no two "Tune 1"s

    # a primer the model cannot go on from is refused before any job starts, beside the primer
    page.fill("#primer", "X:1\nK:G\n")
    page.click("#generate")
    message = page.locator("#error-primer")
    message.wait_for(state="visible")
    assert message.inner_text().startswith("Line 1, character 1") and "X:" in message.inner_text()
    assert page.locator("#primer").get_attribute("aria-invalid") == "true"
    page.fill("#primer", "")
    page.fill("#tempo", "5")
    page.click("#generate")
    page.locator("#error-tempo").wait_for(state="visible")
    assert "40 to 300" in page.locator("#error-tempo").inner_text()
    assert page.locator("#results .card").count() == 4

    # a phone: nothing scrolls sideways, with the list and with a tune open
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "compose-phone.png", tmp_path, full=True)
    page.locator("#results .card button.open").first.click()
    page.wait_for_selector("#viewer[open]")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("#viewer").evaluate("d => d.scrollWidth <= d.clientWidth")
    shot(page, "tune-phone.png", tmp_path)
    page.click("#viewer-close")
    page.click("#clear-history")
    assert page.locator("#results .card").count() == 0 and page.locator("#results-empty").is_visible()
