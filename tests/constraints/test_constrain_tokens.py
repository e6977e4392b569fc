"""Constrained sampling over tokens of several characters (abc-tokens): a token is allowed when every
character in it is, tunes still end in time, and the memo gives the same tunes for the same seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tunesmith import models
from tunesmith.constraints import AbcConstraint, GrammarTables
from tunesmith.media.abc_samples import generate_tunes, tune_text
from tunesmith.metrics.validity import check_many
from tunesmith.representations.abc_tokens import AbcTokens
from tunesmith.sampling import SampleSettings


@pytest.fixture(scope="module")
def rep() -> AbcTokens:
    from tunesmith.corpora import builtin
    from tunesmith.corpora.abc import read_tunes

    tunes, _ = read_tunes(builtin("folk").files(), max_tunes=2000)
    return AbcTokens.fit([t.text for t in tunes])


@pytest.fixture(scope="module")
def model(rep: AbcTokens) -> torch.nn.Module:
    torch.manual_seed(0)
    return models.build("lstm", rep.vocab_size, hidden=32, layers=1, embed_dim=8).eval()


def _tunes(model: torch.nn.Module, rep: AbcTokens, **kw) -> list[tuple[str, str, int]]:
    out = generate_tunes(model, rep, SampleSettings(constrain=True, **kw))
    return [(tune_text(rep, g.tokens, i + 1), g.ending, len(g.tokens)) for i, g in enumerate(out)]


def test_a_token_is_legal_exactly_when_each_of_its_characters_is(rep: AbcTokens) -> None:
    tables = GrammarTables(list(rep.tokens))
    grammar = tables.grammar
    state = grammar.start
    for c in "M:6/8\nL:1/8\nK:G\nGAB c2d|":
        state = grammar.step(state, c)
    row = tables.next.data[tables.rows(np.array([tables.id_of(state)]), tables.next)[0]]
    for token_id in range(2, rep.vocab_size):
        text, after = rep.token_text(token_id), state
        for c in text:
            after = after and grammar.step(after, c)
        assert (row[token_id] != -1) == (after is not None), text


def test_tokens_stay_legal_exactly_when_their_characters_are_all_through_real_tunes(rep: AbcTokens) -> None:
    """One memo over many tunes: states that differ only in what the end reads (notes and bars so far) share
    their walk of the tokens, and every row still says what the characters say; inside a header line, quoted text
    or grace notes, where the tokenizer spells, single characters only."""
    from tunesmith.corpora import builtin
    from tunesmith.corpora.abc import read_tunes
    from tunesmith.media.abc_baseline import baseline

    tunes, _ = read_tunes(builtin("folk").files())
    texts = [tunes[i].text for i in np.random.default_rng(5).choice(len(tunes), 60, replace=False)]
    profile, reports = baseline(texts, {"train": np.arange(len(texts))})
    tables = GrammarTables(list(rep.tokens), profile=profile)
    grammar, checked, whole = tables.grammar, 0, 0
    for body in [t for t, r in zip(texts, reports, strict=True) if r.valid][:12]:
        state = grammar.start
        for pos, c in enumerate(body):
            if pos % 5 == 0:
                at = tables.rows(np.array([tables.id_of(state)]), tables.next)[0]  # may grow .data: read it after
                row = tables.next.data[at]
                spelled = grammar.spelled(state)  # the tokenizer writes characters only there
                for token_id in range(2, rep.vocab_size):
                    after, text = state, rep.token_text(token_id)
                    for ch in text:
                        after = after and grammar.step(after, ch)
                    legal = after is not None and not (spelled and len(text) > 1)
                    assert (row[token_id] != -1) == legal, (body[:pos], text)
                checked += 1
            state = grammar.step(state, c)
            if state is None:
                break
        whole += state is not None
        if state is not None:  # the tune as the model reads it, token by token, is allowed all the way
            sid = tables.walk("")
            for token in rep.split(body):
                at = tables.rows(np.array([sid]), tables.next)[0]
                token_id = rep.ids(token)[0] if len(token) == 1 else rep.encode(token)[1]
                assert tables.next.data[at, token_id] != -1, (body, token)
                sid = tables.resolve(sid, at, token_id)
    assert whole >= 10 and checked > 300 and len(tables._walks) < len(tables.states) / 2  # walks are shared


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_an_untrained_token_model_writes_only_well_formed_tunes_in_time(model, rep, temperature: float) -> None:
    tunes = _tunes(model, rep, num=24, temperature=temperature, max_length=200, seed=5)
    reports = check_many([t for t, _, _ in tunes], [e for _, e, _ in tunes])
    bad = [(r.to_json(), t) for r, (t, _, _) in zip(reports, tunes, strict=True) if not r.well_formed]
    assert not bad, bad[0]
    assert all(steps < 200 for _, _, steps in tunes)


def test_tight_limits_end_in_time_with_the_way_out_spelled_in_single_characters(model, rep) -> None:
    for limit in (30, 60):
        tunes = _tunes(model, rep, num=8, temperature=1.5, max_length=limit, seed=limit)
        reports = check_many([t for t, _, _ in tunes], [e for _, e, _ in tunes])
        assert all(r.well_formed for r in reports), [
            t for r, (t, _, _) in zip(reports, tunes, strict=True) if not r.well_formed
        ]
        assert all(steps < limit for _, _, steps in tunes)


def test_the_same_seed_gives_the_same_token_tunes(model, rep) -> None:
    first = _tunes(model, rep, num=6, seed=3, max_length=150, batch_size=4)
    assert first == _tunes(model, rep, num=6, seed=3, max_length=150, batch_size=4)


def test_random_token_choices_always_leave_a_way_on(rep: AbcTokens) -> None:
    constraint = AbcConstraint(rep, "M:3/4\nK:D\n", 300)
    rng = np.random.default_rng(2)
    for budget in (20, 60, 140):
        batch = constraint.batch(12)
        active = 12
        for step in range(budget):
            allowed = batch.allowed(budget - step).numpy()
            assert allowed.any(axis=1).all()
            tokens = np.array([rng.choice(np.flatnonzero(row)) for row in allowed])
            batch.advance(torch.from_numpy(tokens))
            keep = np.flatnonzero(tokens != rep.end_id)
            active = keep.size
            if not keep.size:
                break
            batch.keep(torch.from_numpy(keep))
        assert active == 0
