"""What the ABC grammar lets through, rule by rule: chord symbols, ties, the accompaniment's end, the corpus's
header and floor, spaces; and the promises the memo tables rely on (legality keys, classes, the way out)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tunesmith.constraints.abc import END, AbcGrammar
from tunesmith.constraints.abc_words import WAY_OUT
from tunesmith.errors import TunesmithError
from tunesmith.metrics.abc_corpus import GENERIC, from_json, measure
from tunesmith.render.midi import abc_to_midi

LEAD_SHEETS = Path(__file__).resolve().parents[1] / "fixtures" / "leadsheets.abc"
CHARS = sorted(set("".join(chr(i) for i in range(32, 127)) + "\n"))


@pytest.fixture(scope="module")
def lead_profile():
    from tunesmith.corpora.abc import read_tunes

    tunes, _ = read_tunes([LEAD_SHEETS])
    return measure([t.text for t in tunes])


def walk(grammar: AbcGrammar, text: str) -> tuple | int:
    """The state after ``text``, or the position of the first character refused."""
    state = grammar.start
    for pos, c in enumerate(text):
        state = grammar.step(state, c)
        if state is None:
            return pos
    return state


def refused_at(grammar: AbcGrammar, text: str) -> int | None:
    state = walk(grammar, text)
    return state if isinstance(state, int) else None


def finished(grammar: AbcGrammar, text: str) -> str:
    """``text`` and the grammar's way out of it."""
    state = walk(grammar, text)
    assert not isinstance(state, int), (text, state)
    while (c := grammar.finish(state)) != END:
        state, text = grammar.step(state, c), text + c
    return text


HEAD = "M:4/4\nL:1/8\nK:G\n"


def test_chord_symbols_abc2midi_knows_and_no_fingering() -> None:
    grammar = AbcGrammar(CHARS)
    assert refused_at(grammar, HEAD + '"Am"A2 "D7"B2 "G/B"c2 "Cmaj7" d2|"F#m7b5"e8|') is None
    assert refused_at(grammar, HEAD + '"Amin"A2') == len(HEAD) + 3  # abc2midi: unrecognized chord name
    assert refused_at(grammar, HEAD + '"4"A2') == len(HEAD) + 1  # fingering
    assert refused_at(grammar, HEAD + '"G"|') == len(HEAD) + 3  # a chord symbol belongs to a note
    assert refused_at(grammar, HEAD + 'A2 "^Segno"B2 ">"c2 d2|') is None  # annotations, which abc2midi ignores


def test_ties_join_equal_pitches() -> None:
    grammar = AbcGrammar(CHARS)
    for ok in ("A4-A4|", "A4-|A4", "A,4- A,4|", "^c4-c4|", "A4-\nA4|", 'A4-"D"A4|', "e2g2- (3gfe"):
        assert refused_at(grammar, HEAD + ok) is None, ok
    for bad in ("A4-B4", "A4-z4", "A4-^A4", "A,4-A4", "A4-:|", ".A4-A4"):
        assert refused_at(grammar, HEAD + bad) is not None, bad
    assert not grammar.accepting(walk(grammar, HEAD + "GABc defg|A8-\n"))  # a tie needs its note


def test_the_accompaniment_stops_in_a_silent_slot() -> None:
    """abc2midi plays 2/4 chords as 'fzcz' in eighths: music that stops inside the bass 'f' or the chord 'c' leaves
    a note sounding past the end, an error. The grammar ends such a tune only where the slots are silent."""
    grammar = AbcGrammar(CHARS)
    head = "M:2/4\nL:1/16\nK:G\n"
    for last, sounding in (("G4G", True), ("G4G3", False), ("G8", False)):
        for chords in ('"G"', ""):
            text = f"{head}{chords}GABc dedB|{chords}A2F2 D4|GABc dedB|{chords}{last}\n"
            errors = abc_to_midi("X:1\n" + text).errors
            assert grammar.accepting(walk(grammar, text)) == (not (sounding and chords)) == (errors == 0), text
    tune = finished(grammar, f'{head}"G"GABc dedB|"D"A2F2 D4|GABc dedB|"G"G4G')  # the way out fills the bar
    assert tune.endswith('"G"G4G4\n') and abc_to_midi("X:1\n" + tune).errors == 0


def test_the_header_is_the_corpus_s(lead_profile) -> None:
    grammar = AbcGrammar(CHARS, lead_profile)
    assert refused_at(grammar, "T:The Kesh\nR:jig\nM:6/8\nL:1/8\nK:G\nGAG GAB|") is None
    assert refused_at(grammar, "T:A\nR:reel\nM:4/4\nK:Gmaj\n") is None  # any spelling of a key it uses
    assert refused_at(grammar, "M:4/4\nK:G major\n") == 9  # within the longest K: value it has (4 characters)
    assert refused_at(grammar, "M:C\n") == 2  # C is no spelling of 4/4: a musician reads them apart
    for bad, at in (
        ("C:Trad\n", 0),  # a field the corpus does not use
        ("T:A\nT:B\n", 4),  # more lines than it gives one
        ("M:3/8\n", 4),  # a meter it does not use
        ("M:6/8\nK:Bb\n", 8),  # a key it does not use
        ("L:1/16\n", 4),  # a unit length it does not use
        ("R:polka\n", 2),  # a rhythm word it does not use
        ("T:The |Kesh\n", 6),  # text fields hold words, not music: no bar lines,
        ('T:The "Am" Kesh\n', 9),  # no chord symbols,
        ("T:Kesh ABc2\n", 10),  # no runs of notes
        ("T: Kesh\n", 2),  # and no spaces at their ends (values are stripped)
    ):
        assert refused_at(grammar, bad) == at, bad


def test_a_tune_has_the_corpus_s_floor_of_bars_and_notes(lead_profile) -> None:
    assert (lead_profile.min_bars, lead_profile.min_notes) == (8, 27)
    grammar = AbcGrammar(CHARS, lead_profile)
    text = "T:A\nM:4/4\nL:1/8\nK:G\nGABc dedB|A8|\n"
    assert not grammar.accepting(walk(grammar, text))
    tune = finished(grammar, text)
    assert tune.count("C") >= 27 - 9 and len(tune) - len(text) <= WAY_OUT


def test_one_space_between_elements_and_lines_go_on_after_a_backslash() -> None:
    grammar = AbcGrammar(CHARS)
    assert refused_at(grammar, HEAD + "AB  c") == len(HEAD) + 3
    assert refused_at(grammar, HEAD + "ABcd \\\nefga|") is None
    assert refused_at(grammar, HEAD + "ABcd efga|\n\n") == len(HEAD) + 11  # a blank line ends a tune


def test_the_profile_lists_values_and_reads_old_ones(lead_profile) -> None:
    assert lead_profile.values["L"] == ["1/8", "1/4"] and "jig" in lead_profile.values["R"]
    again = from_json(lead_profile.to_json())
    assert again.values == lead_profile.values
    old = {k: v for k, v in lead_profile.to_json().items() if k != "values"}  # a corpus.json from before
    assert from_json(old).values == {}
    assert AbcGrammar(CHARS, from_json(old)).units == ["1/1", "1/16", "1/2", "1/32", "1/4", "1/8"]  # the word list
    for values in ({"Z": ["x"]}, {"Q": "1/4=120"}, {"R": [""]}, {"L": ["1/8\nK:C"]}, {"I": ["x" * 201]}):
        with pytest.raises(TunesmithError, match="not a corpus profile"):
            from_json({**lead_profile.to_json(), "values": values})


@pytest.mark.parametrize("which", ["generic", "lead"])
def test_keys_classes_and_the_way_out_keep_their_promises(which: str, lead_profile) -> None:
    """The memo tables trust three things: states with one legality key allow the same classes; the characters
    of a class act alike (all legal or not, the same way out after them); no way out is longer than WAY_OUT."""
    profile = lead_profile if which == "lead" else replace(GENERIC)
    grammar = AbcGrammar(CHARS, None if which == "generic" else profile)
    rng, seen, longest = np.random.default_rng(3), {}, 0
    memo: dict[tuple, int] = {}

    def way_out(state: tuple) -> int:
        path = []
        while state not in memo:
            c = grammar.finish(state)
            if c == END:
                memo[state] = 0
                break
            path.append(state)
            state = grammar.step(state, c)
            assert state is not None
        for n, back in enumerate(reversed(path), 1):
            memo[back] = memo[state] + n
        return memo[path[0]] if path else memo[state]

    for _ in range(25):
        state = grammar.start
        for _ in range(int(rng.integers(20, 160))):
            classes = grammar.classes(state)
            legal = []
            for group in classes:
                after = [grammar.step(state, c) for c in group]
                assert len({a is None for a in after}) == 1, (state, group)
                assert len({way_out(a) for a in after if a is not None}) <= 1, (state, group)
                legal.append(after[0] is not None)
            key = grammar.legality_key(state)
            if key is not None:
                assert seen.setdefault(key, legal) == legal, (key, state)
            options = [c for c in CHARS if grammar.step(state, c) is not None]
            shared = grammar.delegate(state)  # a note or bar line: the other characters act as once it is done
            done = shared[0] is not None if shared else False
            assert all(any(c in g for g in classes) or (done and c not in shared[1]) for c in options), state
            state = grammar.step(state, options[int(rng.integers(len(options)))])
            longest = max(longest, way_out(state))
    assert longest <= WAY_OUT and len(seen) > 50
