"""abc-tokens: one token per musical symbol, an exact round trip for every built-in folk tune, and a
vocabulary that spells what it lacks instead of failing."""

from __future__ import annotations

import numpy as np
import pytest

from tunesmith import corpora, representations
from tunesmith.corpora.abc import read_tunes
from tunesmith.errors import TunesmithError
from tunesmith.representations.abc_tokens import MIN_COUNT, AbcTokens

JIG = 'T:The Kesh\nM:6/8\nL:1/8\nR:jig\nK:Gmaj\n|:"G"GAG GAB|"D"ABA ABd|(3efg ^f3/2e/ d2B|[1 G3 G2:|[2 G3 G2|]\n'


def corpus(tune: str, times: int = MIN_COUNT) -> list[str]:
    return [tune] * times


def test_a_note_with_its_accidental_octave_and_length_is_one_token() -> None:
    rep = AbcTokens.fit(corpus(JIG))
    tokens = rep.split(JIG)
    for symbol in ("M:6/8\n", "K:Gmaj\n", "R:jig\n", '"G"', "^f3/2", "e/", "d2", "(3", "|:", "|[1 ", ":|[2 ", "|]"):
        assert symbol in tokens, symbol
    assert "".join(tokens) == JIG
    assert len(tokens) < len(JIG) / 1.5


def test_a_title_is_spelled_after_its_field_unless_the_corpus_repeats_the_line() -> None:
    other = JIG.replace("The Kesh", "Another One")
    rep = AbcTokens.fit(corpus(JIG) + [other])
    assert rep.split(JIG)[0] == "T:The Kesh\n"
    assert rep.split(other)[:3] == ["T:", "A", "n"]


def test_a_symbol_the_vocabulary_lacks_is_spelled_from_smaller_tokens() -> None:
    rep = AbcTokens.fit(corpus(JIG))
    rare = "M:6/8\nK:G\n^f7/4 ^f3/2|\n"
    tokens = rep.split(rare)
    assert "".join(tokens) == rare
    assert tokens[tokens.index("^f") + 1 : tokens.index("^f") + 4] == ["7", "/", "4"]
    assert rep.decode(rep.encode(rare)) == rare


def test_unknown_characters_are_named_by_missing_and_refused_with_their_position() -> None:
    rep = AbcTokens.fit(corpus(JIG))
    assert rep.missing("K:G\nCDE|\n") == []
    assert rep.missing("T:Ä§Ä\nK:G\n") == ["Ä", "§"]
    with pytest.raises(TunesmithError, match=r"character '§' at position 4"):
        rep.ids("K:G\n§", "--primer")


def test_the_state_restores_the_same_ids_and_is_checked() -> None:
    rep = AbcTokens.fit(corpus(JIG))
    restored = representations.from_json(rep.to_json())
    assert np.array_equal(restored.encode(JIG), rep.encode(JIG))
    for bad in ({"tokens": ["a", "a"]}, {"tokens": "abc"}, {"tokens": [""]}, {"tokens": ["x" * 65]}):
        with pytest.raises(TunesmithError, match="malformed state"):
            representations.from_json({"name": "abc-tokens", **bad})


def test_every_printable_character_is_a_token_so_the_grammar_can_always_spell_its_way_out() -> None:
    rep = AbcTokens.fit(["K:C\nC|\n"])
    assert set("\n :|CKM/123456789[]{}()E") <= set(rep.chars)


def test_every_builtin_folk_tune_round_trips_exactly_in_fewer_steps_than_characters() -> None:
    tunes, report = read_tunes(corpora.builtin("folk").files(), base=corpora.music21_corpus_root())
    texts = [t.text for t in tunes]
    assert len(texts) > 12_800
    rep = AbcTokens.fit(texts)
    char_rep = representations.get("abc-char").fit(texts)
    tokens = chars = 0
    for text in texts:
        encoded = rep.encode(text)
        assert rep.decode(encoded) == text
        tokens += encoded.size
        chars += char_rep.encode(text).size
    assert chars / tokens > 1.5  # the folk corpus: 1.65 characters per token (docs/representations.md)
    assert rep.vocab_size < 1200 and rep.dtype == np.uint16
