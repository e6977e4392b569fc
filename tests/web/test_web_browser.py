"""The compose page in a real browser: Playwright drives Debian's chromium against a real studio server.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (``.ci/run`` installs it).
In CI (``CI`` set) these tests must run; on a machine without chromium they skip, saying why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tunesmith.web.app import create_app
from tunesmith.web.server import running

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PRIMER = "M:6/8\nL:1/8\nK:G\n"


def _need(ok: bool, why: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{why}: CI must run the browser tests (.ci/run installs chromium)")
        pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    _need(sync_playwright is not None, "playwright is not installed (pip install -e '.[dev]')")
    _need(Path(CHROMIUM).is_file(), f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def studio(trained_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A studio on a free loopback port with the debug run (and a second model to choose it from)."""
    from tunesmith.bundle import export

    models = tmp_path_factory.mktemp("browser-models")
    shutil.copytree(trained_run, models / "debug")
    export(trained_run, models / "another-bundle")
    app = create_app([models], tmp_path_factory.mktemp("browser-store"), include_defaults=False)
    debug = next(e.id for e in app.state.catalog.entries() if e.name.endswith("/debug"))
    with running(app) as url:
        yield url, debug


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], errors  # no JavaScript error on the way


def compose(page: Any, url: str, model: str, num: int = 2) -> None:
    page.goto(url + "/")
    page.select_option("#model", model)
    page.fill("#num", str(num))
    if not page.locator("details.more").evaluate("d => d.open"):
        page.click("details.more summary")  # primer, seed and length are under "More settings"
    page.fill("#primer", PRIMER)
    page.fill("#max_length", "120")
    page.fill("#seed", "1")
    page.check("#constrain")  # the debug model writes valid ABC, so every tune converts and sounds
    page.click("#generate")
    page.wait_for_selector("#progress[data-state=done]", timeout=120_000)


def test_compose_two_tunes_see_hear_download_and_fix_a_mistake(
    page: Any, studio: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    url, debug = studio
    # 1-3: open the page, pick the debug model, generate 2 tunes
    compose(page, url, debug)
    assert page.locator("#progress-text").inner_text().startswith("done: 2 of 2")
    cards = page.locator("#results .card")
    assert cards.count() == 2
    # 4: two SVG scores and two playable audio players; the WAV downloads are WAV files
    scores = page.locator("#results img.score")
    assert scores.count() == 2
    for i in range(2):
        assert scores.nth(i).get_attribute("src").endswith(".svg")
        scores.nth(i).evaluate("img => img.decode()")  # rejects if the SVG does not load as an image
        assert scores.nth(i).evaluate("img => img.naturalWidth") > 0
    players = page.locator("#results audio.player")
    assert players.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results audio.player')].every(a => a.readyState >= 1)", timeout=30_000
    )
    for i in range(2):
        assert players.nth(i).evaluate("a => a.duration") > 1.0
        assert players.nth(i).evaluate("a => a.canPlayType('audio/wav')") != ""
        with page.expect_download() as download:
            cards.nth(i).locator("a.download.audio").click()
        path = download.value.path()
        assert Path(path).read_bytes()[:4] == b"RIFF" and download.value.suggested_filename.endswith(".wav")
    badge = cards.nth(0).locator(".badge")  # the verdict is always shown, coloured as it reads
    verdict, classes = badge.inner_text(), badge.get_attribute("class").split()
    assert (verdict, "ok" in classes, "bad" in classes) in (("valid", True, False), ("not valid", False, True))
    # 5: an invalid temperature is refused, with the message next to the field
    page.fill("#temperature", "-1")
    page.click("#generate")
    message = page.locator("#error-temperature")
    message.wait_for(state="visible")
    assert "above 0" in message.inner_text() and "-1" in message.inner_text()
    assert page.locator("#temperature").get_attribute("aria-invalid") == "true"
    assert cards.count() == 2  # the earlier tunes stay
    # 6: a screenshot, kept as an artifact of the test run
    shot = tmp_path_factory.getbasetemp() / "artifacts" / "studio.png"
    shot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"\nscreenshot: {shot}")


def test_keep_survives_a_reload_and_reroll_replaces_the_tune(page: Any, studio: tuple[str, str]) -> None:
    url, debug = studio
    compose(page, url, debug, num=1)
    card = page.locator("#results .card").first
    first_id = card.get_attribute("data-id")
    card.locator("button.keep").click()
    page.wait_for_selector(f"#kept .card[data-id='{first_id}']")
    assert card.locator("button.keep").inner_text() == "Kept ✓"
    page.reload()
    page.wait_for_selector(f"#kept .card[data-id='{first_id}']")  # kept results come back with the page
    page.locator(f"#kept .card[data-id='{first_id}'] button.keep").click()  # let it go again
    page.wait_for_selector("#kept .card", state="detached")

    compose(page, url, debug, num=1)
    before = page.locator("#results .card").first.get_attribute("data-id")
    page.locator("#results .card button.reroll").first.click()
    page.wait_for_function(f"() => document.querySelector('#results .card').dataset.id !== '{before}'", timeout=60_000)
    # the new tune comes first and the re-rolled one stays below it, with another name
    ids = page.locator("#results .card").evaluate_all("cards => cards.map(c => c.dataset.id)")
    assert ids[1] == before and len(ids) == 2
    assert page.locator("#results .card").first.locator("img.score").count() == 1
    titles = page.locator("#results .card .title").all_inner_texts()
    assert len(set(titles)) == len(titles), titles


def test_the_studio_opens_on_the_shipped_model_with_constrain_on_and_only_for_abc(
    page: Any, trained_run: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A first visit: the built-in folk model is chosen and Constrain is ticked; a model that is not ABC greys
    the box out, and coming back to an ABC model gives back the person's choice."""
    import json

    from tunesmith.bundle import export

    models = tmp_path_factory.mktemp("first-visit-models")
    midi = export(trained_run, models / "a-midi-model")
    info = json.loads((midi / "config.json").read_text())
    info["config"]["data"]["representation"] = "midi-notes"  # read as a MIDI model by the catalog, never loaded
    (midi / "config.json").write_text(json.dumps(info))
    app = create_app([models], tmp_path_factory.mktemp("first-visit-store"))
    entries = app.state.catalog.entries()
    folk = next(e.id for e in entries if e.details.get("builtin") and e.name == "folk")
    other = next(e.id for e in entries if e.name.endswith("a-midi-model"))
    with running(app) as url:
        page.goto(url + "/")
        assert page.locator("#model").input_value() == folk
        assert page.is_checked("#constrain") and page.is_enabled("#constrain")
        page.select_option("#model", other)
        assert not page.is_enabled("#constrain") and not page.is_checked("#constrain")
        page.select_option("#model", folk)
        assert page.is_checked("#constrain")
        page.uncheck("#constrain")  # the person's choice holds across models
        page.select_option("#model", other)
        page.select_option("#model", folk)
        assert not page.is_checked("#constrain")
