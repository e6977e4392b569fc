"""The grammar covers the ABC real corpora use (issue 18): every valid tune of a corpus walks through it character
by character, and what it writes is valid by the same corpus's profile, abc2midi included."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tunesmith.constraints.abc import END, AbcGrammar
from tunesmith.constraints.abc_words import WAY_OUT
from tunesmith.media.abc_baseline import baseline
from tunesmith.metrics.abc_corpus import CorpusProfile, header_lines, music_in_text
from tunesmith.metrics.validity import check_many

LEAD_SHEETS = Path(__file__).resolve().parents[1] / "fixtures" / "leadsheets.abc"
FOLK_SAMPLE = 400  # valid folk tunes drawn for the acceptance test (the whole corpus: see test docstring)


def _read(files: list[Path], sample: int = 0) -> tuple[list[str], CorpusProfile, list[bool]]:
    """Tunes, the profile ``prepare`` would measure on them, and which are valid by it (abc2midi included)."""
    from tunesmith.corpora.abc import read_tunes

    tunes, _ = read_tunes(files)
    texts = [t.text for t in tunes]
    if sample:
        texts = [texts[i] for i in np.sort(np.random.default_rng(18).choice(len(texts), sample, replace=False))]
    profile, reports = baseline(texts, {"train": np.arange(len(texts))})
    return texts, profile, [r.valid for r in reports]


@pytest.fixture(scope="module")
def folk() -> tuple[list[str], CorpusProfile, list[bool]]:
    from tunesmith.corpora import builtin

    return _read(builtin("folk").files(), sample=FOLK_SAMPLE * 2)  # about 57% are valid


@pytest.fixture(scope="module")
def leadsheets() -> tuple[list[str], CorpusProfile, list[bool]]:
    return _read([LEAD_SHEETS])


def _refused_at(grammar: AbcGrammar, text: str) -> int | None:
    """Where the grammar first refuses ``text`` (its length if it may not end there), or None: accepted."""
    state = grammar.start
    for pos, c in enumerate(text):
        state = grammar.step(state, c)
        if state is None:
            return pos
    return None if grammar.accepting(state) else len(text)


def _left_out(text: str) -> str | None:
    """What the grammar leaves out on purpose, with the reason (see the module docstrings of constraints/)."""
    lines = header_lines(text)
    body = text.partition("\nK:")[2].partition("\n")[2]
    if any(name in "PVU" for name, _ in lines):
        return "P:, V: or U: (parts, voices, symbols: abc2midi plays them otherwise)"
    if any("%" in value for _, value in lines):
        return "a % comment in a header line"
    if any(name == "N" and music_in_text(value) for name, value in lines):
        return "music in N: (every text field holds words)"
    if re.search(r'"[0-9]', body):
        return 'fingering ("4"): abc2midi reads "6" to "9" as bad chords'
    if re.search(r"^[A-Za-z]:|\[[A-Za-z]:", body, re.MULTILINE):
        return "fields in the body"
    if re.search(r"![^!\n]*!|\t", body):
        return "!decorations! or tabs"
    return None


def test_every_lead_sheet_is_valid_and_accepted(leadsheets) -> None:
    texts, profile, valid = leadsheets
    assert len(texts) == 20 and all(valid)
    chords, bars = sum(len(re.findall(r'"[A-G][^"]*"', t)) for t in texts), sum(t.count("|") for t in texts)
    assert chords > 0.75 * bars  # a chord symbol on most bars
    grammar = AbcGrammar(sorted(set("".join(texts))), profile)
    refused = {t.split("\n")[0]: at for t in texts if (at := _refused_at(grammar, t)) is not None}
    assert not refused


def test_the_folk_corpus_s_valid_tunes_are_accepted(folk) -> None:
    """A seeded sample; on the whole corpus (7,380 valid tunes of 12,914, 10 s) the grammar accepts 92.7% and all
    but 2.2% of the rest use what it leaves out on purpose (fingering 2.4%, N: music 1.1%, P:/V: 0.9%...)."""
    texts, profile, valid = folk
    grammar = AbcGrammar(sorted(set("".join(texts))), profile)
    tunes = [t for t, ok in zip(texts, valid, strict=True) if ok]
    assert len(tunes) > 300
    refused = [(t, at) for t in tunes if (at := _refused_at(grammar, t)) is not None]
    unexplained = [(t[max(0, at - 20) : at + 1], at) for t, at in refused if _left_out(t) is None]
    assert len(refused) <= 0.1 * len(tunes), refused[:3]
    assert len(unexplained) <= 0.04 * len(tunes), unexplained


def _walk(grammar: AbcGrammar, chars: list[str], rng: np.random.Generator, steps: int) -> tuple[str, int]:
    """A random walk through the grammar, then its way out to an end: the tune and its longest way out."""
    state, text, longest = grammar.start, "", 0
    for i in range(steps):
        legal = [c for c in chars if grammar.step(state, c) is not None]
        if state[0] == "T" and "\n" in legal and rng.random() < 0.2:
            legal = ["\n"]  # shorter header text: more of the walk is music
        c = legal[int(rng.integers(len(legal)))]
        state, text = grammar.step(state, c), text + c
        if i % 7 == 0:
            longest = max(longest, _way_out(grammar, state)[0])
    n, rest = _way_out(grammar, state)
    return text + rest, max(longest, n)


def _way_out(grammar: AbcGrammar, state: tuple) -> tuple[int, str]:
    out = ""
    while (c := grammar.finish(state)) != END:
        state = grammar.step(state, c)
        assert state is not None and len(out) < 200, out
        out += c
    return len(out), out


@pytest.mark.parametrize("corpus", ["folk", "leadsheets"])
def test_random_walks_end_in_valid_tunes(corpus: str, request: pytest.FixtureRequest) -> None:
    """Random legal characters, then the grammar's way out: every tune is valid by the corpus's profile (floors of
    bars and notes, fields, meters and keys, abc2midi with no error, bars the right length)."""
    texts, profile, _ = request.getfixturevalue(corpus)
    chars = sorted(set("".join(texts)))
    grammar = AbcGrammar(chars, profile)
    rng = np.random.default_rng(7)
    walks = [_walk(grammar, chars, rng, int(rng.integers(20, 260))) for _ in range(30)]
    assert max(n for _, n in walks) <= WAY_OUT
    reports = check_many([f"X:{i + 1}\n{t}" for i, (t, _) in enumerate(walks)], profile=profile)
    bad = [(r.reasons, r.corpus_problems, r.messages[:3], t) for r, (t, _) in zip(reports, walks, strict=True)]
    assert not [b for b, r in zip(bad, reports, strict=True) if not r.valid]
