"""The README keeps its promises: a one-screen quick start, no links out, links that resolve, the origins
named once, and commands whose verbs, options and settings exist.

Running the commands takes minutes (``make readme-check``); this test reads them against the CLI itself
in a second, so a renamed option or setting fails ``make test`` at once.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer

from tunesmith.cli import app
from tunesmith.config import all_keys

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
QUICK_START_LINES = 40
STUDIO_ADDRESS = "http://127.0.0.1:8000/"
ORIGINS = re.compile(r"\bseeds?\s+0\d\d", re.IGNORECASE)  # the four reports, never `--seed 0` or "the same seed"
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
SETTING_OPTIONS = {"--set", "--grid", "--range"}
# A value the parser cannot check here (a folder an earlier command makes, a required option left to the
# reader): not the README's mistake. Any other usage error is.
VALUE_ERRORS = {"BadParameter", "MissingParameter"}


def _script() -> ModuleType:
    """scripts/readme_commands.py, whose extractor decides what a command is for the check and this test."""
    spec = importlib.util.spec_from_file_location("readme_commands", ROOT / "scripts" / "readme_commands.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


COMMANDS = _script().extract_commands(README.read_text())


def _prose(text: str) -> str:
    """``text`` without fenced blocks and inline code: what a reader sees as words and links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", FENCE.sub("", path.read_text()), re.MULTILINE)}


def _section(text: str, title: str) -> str:
    """The lines of the ``## title`` section of ``text``, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"no '## {title}' section"
    return match.group(1)


def _inline_commands(path: Path) -> list[str]:
    """``tunesmith …`` written in the prose's inline code, less the ``…`` that stands for the rest."""
    spans = (m.group(2) for m in CODE_SPAN.finditer(FENCE.sub("", path.read_text())))
    return [span.replace("…", " ").strip() for span in spans if span.startswith("tunesmith ")]


def test_the_quick_start_fits_on_one_screen() -> None:
    lines = README.read_text().splitlines()
    headings = [i for i, line in enumerate(lines) if line.startswith("## ")]
    assert headings and lines[headings[0]] == "## Quick start", "the first section is the quick start"
    deeper = next(i for i in headings if lines[i] != "## Quick start")
    assert deeper <= QUICK_START_LINES, f"{deeper} lines before '{lines[deeper]}', at most {QUICK_START_LINES}"


def test_the_studio_and_troubleshooting_have_their_sections() -> None:
    text = README.read_text()
    for title in ("Reading the numbers", "Troubleshooting", "The studio", "Origins"):
        _section(text, title)
    lines = text.splitlines()
    explained = lines.index("## Reading the numbers")
    assert explained < _first_table(lines), "the numbers are explained before the first table"


def _first_table(lines: list[str]) -> int:
    """The first line of a Markdown table or of shown output (an untagged fence): where figures begin."""
    inside = False
    for number, line in enumerate(lines):
        if line.startswith("```"):
            if not inside and line == "```":
                return number
            inside = not inside
        elif not inside and line.startswith("|"):
            return number
    return len(lines)


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_no_link_leaves_the_repository(path: Path) -> None:
    text = path.read_text()
    assert not re.search(r"https?://", _prose(text)), "a web address outside code"
    for url in re.findall(r"https?://[^\s`)\"']+", text):
        assert url == STUDIO_ADDRESS, f"{url}: only the local studio address {STUDIO_ADDRESS} may appear"


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_resolves(path: Path) -> None:
    for target in LINK.findall(_prose(path.read_text())):
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        assert dest.exists(), f"{target}: no such file"
        assert dest.is_relative_to(ROOT), f"{target}: outside the repository"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest), f"{target}: no heading with that anchor"


def test_the_origins_are_named_once() -> None:
    text = README.read_text()
    assert len(ORIGINS.findall(text)) == 1, "the origins are named once, in '## Origins'"
    assert ORIGINS.search(_section(text, "Origins"))
    for path in DOCS:
        assert not ORIGINS.search(path.read_text()), f"{path.name} names the origins: describe the thing instead"
    assert "../shared" not in text and not any("../shared" in p.read_text() for p in DOCS)


@functools.cache
def _verbs() -> dict[str, Any]:
    """The verbs' click commands (Typer's own copy of click), by name."""
    return dict(typer.main.get_command(app).commands)


def _check_tunesmith(words: list[str], verbs: dict[str, Any]) -> None:
    """Parse ``tunesmith VERB ARGS`` with the verb's own parser: unknown verbs, options or settings fail."""
    assert len(words) > 1 and words[1] in verbs, f"no verb {words[1:2]}"
    command = verbs[words[1]]
    try:  # unknown options and options without their value fail here, before any value is read
        command.make_context(words[1], words[2:])
    except Exception as exc:  # click's UsageError family (Typer's own copy of click)
        if type(exc).__name__ not in VALUE_ERRORS:
            raise AssertionError(f"{shlex.join(words)}: {exc}") from exc
    ctx = command.make_context(words[1], words[2:], resilient_parsing=True)  # reads past values it cannot check
    assert not ctx.args, f"{shlex.join(words)}: unexpected arguments {ctx.args}"
    keys = set(all_keys())
    for option, value in zip(words, words[1:], strict=False):
        if option in SETTING_OPTIONS:
            key = value.split("=", 1)[0]
            assert key in keys, f"{shlex.join(words)}: no setting {key}"


def _check(text: str, verbs: dict[str, Any], targets: set[str]) -> None:
    words = shlex.split(text)
    if words[0] == "tunesmith":
        _check_tunesmith(words, verbs)
    elif words[0] == "make":
        assert all(w in targets for w in words[1:] if "=" not in w), f"{text}: no such make target"


@pytest.fixture(scope="module")
def make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def test_the_readme_has_commands_to_run() -> None:
    assert any(c.text.startswith("tunesmith ") for c in COMMANDS)
    assert COMMANDS[0].text == "make demo"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: f"line{c.line}")
def test_readme_commands_match_the_cli(command, make_targets: set[str]) -> None:  # noqa: ANN001
    _check(command.text, _verbs(), make_targets)


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_commands_in_prose_and_docs_match_the_cli(path: Path, make_targets: set[str]) -> None:
    verbs = _verbs()
    written = _inline_commands(path)
    if path != README:
        written += [c.text for c in _script().extract_commands(path.read_text())]
    for text in written:
        if text.startswith(("tunesmith ", "make ")):
            _check(text, verbs, make_targets)


def test_a_renamed_option_is_caught(make_targets: set[str]) -> None:
    with pytest.raises(AssertionError, match="--stepz"):
        _check("tunesmith train --preset abc-lstm-demo --data d --run r --stepz 3", _verbs(), make_targets)
    with pytest.raises(AssertionError, match="no setting"):
        _check("tunesmith train --data d --run r --set train.max_stepz=3", _verbs(), make_targets)
    with pytest.raises(AssertionError, match="make target"):
        _check("make demoo", _verbs(), make_targets)
