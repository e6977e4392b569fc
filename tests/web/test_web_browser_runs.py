"""The runs page in a real browser (Debian's chromium, as in test_web_browser): nothing scrolls sideways on a
375 px phone, and on a laptop the latest evaluation's table is on screen. Screenshots of both are kept in
``$TUNESMITH_SCREENSHOTS`` (else the test's tmp folder) as runs-desktop.png and runs-phone.png."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_web_browser import browser  # noqa: F401  (the fixture: chromium, or a skip saying why)
from tests.web.test_web_compose_browser import shot  # a screenshot where $TUNESMITH_SCREENSHOTS says
from tests.web.test_web_runs import evaluate_tiny, train_short
from tunesmith.web.app import create_app
from tunesmith.web.server import running

PHONE, DESKTOP = {"width": 375, "height": 800}, {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def runs_url(trained_run: Path, small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A studio with an evaluated run, a short run and a run with a long name and no evaluation yet: the
    widest things the page draws (two tables, a long command, a one-measurement figure)."""
    models = tmp_path_factory.mktemp("browser-runs")
    shutil.copytree(trained_run, models / "evaluated")
    evaluate_tiny(models / "evaluated")
    train_short(small_data, models / "short")
    shutil.copytree(trained_run, models / "a-run-whose-name-is-much-longer-than-a-phone-is-wide-for-sure")
    app = create_app([models], tmp_path_factory.mktemp("browser-runs-store"), include_defaults=False)
    with running(app) as url:
        yield url + "/runs"


def open_runs(browser: Any, url: str, viewport: dict[str, int]) -> tuple[Any, Any, list[str]]:  # noqa: F811
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_load_state("load")
    return context, page, errors


def test_runs_page_on_a_phone_does_not_scroll_sideways(browser: Any, runs_url: str, tmp_path: Path) -> None:  # noqa: F811
    context, page, errors = open_runs(browser, runs_url, PHONE)
    try:
        assert page.locator("section.run").count() == 3
        assert page.locator("table.evaluation").count() == 1  # the widest table is there to be squeezed
        assert page.evaluate("getComputedStyle(document.querySelector('table.evaluation').parentElement).overflowX")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"
        for box in page.locator("svg.curve, .scroll, pre, code").all():  # each ends inside the screen
            right = box.evaluate("e => e.getBoundingClientRect().right")
            assert right <= PHONE["width"] + 0.5, (box.evaluate("e => e.outerHTML.slice(0, 80)"), right)
        shot(page, "runs-phone.png", tmp_path, full=True)
        assert errors == []
    finally:
        context.close()


def test_runs_page_on_a_laptop_shows_the_evaluation_table(browser: Any, runs_url: str, tmp_path: Path) -> None:  # noqa: F811
    context, page, errors = open_runs(browser, runs_url, DESKTOP)
    try:
        table = page.locator("table.evaluation")
        table.scroll_into_view_if_needed()
        assert table.is_visible()
        box = table.bounding_box()
        assert box is not None and box["width"] > 200 and box["x"] + box["width"] <= DESKTOP["width"]
        assert table.locator("thead th").all_inner_texts()[-1] == "real held-out tunes"
        assert "told apart from real tunes" in table.inner_text()
        assert page.locator("svg.curve.single").count() == 2  # the short run's one measurement, said in words
        assert page.locator("text=No evaluation yet").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
        shot(page, "runs-desktop.png", tmp_path, full=True)
        assert errors == []
    finally:
        context.close()
