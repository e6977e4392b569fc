"""Constrained sampling: an untrained model writes only valid ABC, in time, the same way twice."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tests.conftest import run_cli
from tunesmith import models
from tunesmith.constraints import MARGIN, AbcConstraint, GrammarTables
from tunesmith.errors import TunesmithError
from tunesmith.media.abc_samples import generate_tunes as generate
from tunesmith.media.abc_samples import tune_text, write_samples
from tunesmith.metrics.validity import check_many, summarize
from tunesmith.representations.abc_char import AbcChar
from tunesmith.sampling import SampleSettings


@pytest.fixture(scope="module")
def rep() -> AbcChar:
    """The built-in corpus's alphabet: letters, digits, ABC symbols and the accents in titles."""
    from tunesmith.corpora import builtin
    from tunesmith.corpora.abc import read_tunes

    tunes, _ = read_tunes(builtin("folk").files())
    return AbcChar.fit([t.text for t in tunes])


@pytest.fixture(scope="module")
def model(rep: AbcChar) -> torch.nn.Module:
    torch.manual_seed(0)
    return models.build("lstm", rep.vocab_size, hidden=32, layers=1, embed_dim=8).eval()


def _tunes(model: torch.nn.Module, rep: AbcChar, **kw) -> list[tuple[str, str]]:
    out = generate(model, rep, SampleSettings(constrain=True, **kw))
    return [(tune_text(rep, g.tokens, i + 1), g.ending) for i, g in enumerate(out)]


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_an_untrained_model_writes_only_well_formed_tunes(model, rep, temperature: float) -> None:
    tunes = _tunes(model, rep, num=64, temperature=temperature, max_length=300, seed=7)
    reports = check_many([t for t, _ in tunes], [e for _, e in tunes])
    bad = [(r.to_json(), t) for r, (t, _) in zip(reports, tunes, strict=True) if not r.well_formed]
    assert not bad, bad[0]
    assert summarize(reports)["bars_ok_share"] == 1.0
    assert all(len(t) - len("X:NN\n") < 300 for t, _ in tunes)
    # an untrained model's tunes are not music: the grammar makes them well formed, never valid when judged, as
    # every trained model is, against its corpus (the generic floor alone can let a junk header through)
    from tunesmith.corpora import builtin
    from tunesmith.corpora.abc import read_tunes
    from tunesmith.media.abc_baseline import baseline

    real, _ = read_tunes(builtin("folk").files(), max_tunes=400)
    profile, _ = baseline([t.text for t in real], {"train": np.arange(len(real))})
    judged = check_many([t for t, _ in tunes], [e for _, e in tunes], profile=profile)
    assert not any(r.valid for r in judged)


def test_tunes_end_before_a_tight_limit_and_say_their_ending_was_forced(model, rep) -> None:
    for limit in (27, 40, 90):  # 27: the shortest valid tune (see test_the_mask_never_empties)
        tunes = _tunes(model, rep, num=16, temperature=1.5, max_length=limit, seed=limit)
        reports = check_many([t for t, _ in tunes], [e for _, e in tunes])
        assert all(r.well_formed for r in reports), [r.to_json() for r in reports if not r.well_formed][:1]
        # the grammar's finish, not the model, closed these tunes: none counts as ended, none as valid
        assert all(ending == "forced" for _, ending in tunes), tunes
        assert all("forced" in r.reasons and not r.valid for r in reports)


def test_the_same_seed_gives_the_same_tunes(model, rep) -> None:
    first = _tunes(model, rep, num=8, seed=3, max_length=200, batch_size=3)
    assert first == _tunes(model, rep, num=8, seed=3, max_length=200, batch_size=3)
    assert first != _tunes(model, rep, num=8, seed=4, max_length=200, batch_size=3)


def test_a_primer_starts_every_tune_and_must_be_valid(model, rep) -> None:
    primer = "M:6/8\nK:G\nAB|c"
    for text, _ in _tunes(model, rep, num=4, primer=primer, max_length=200):
        assert text.split("\n", 1)[1].startswith(primer)
    cases = [
        ("M:6/8\nK:G\nABcdefg|", "at character 17 ('g' after"),  # the seventh eighth overflows 6/8
        ("X:1\nM:6/8\nK:G\n", "at character 1 ('X' after '') (the X: line is added"),
        ("K:G\nABc|", "at character 1 ('K'"),  # K: needs M: first
        ("M:7/5\nK:G\n", "at character 5 ('5'"),
        ("M:6/8\nK:G\nABc def|\n \n", "at character 21 ('\\n' after"),  # a line of spaces ends a tune
        ("M:6/8\nK:G\nABc  def|", "at character 15 (' ' after"),  # one space between elements, as corpora have
    ]
    for bad, message in cases:
        with pytest.raises(TunesmithError, match=re.escape("--primer is not valid ABC " + message)):
            generate(model, rep, SampleSettings(constrain=True, primer=bad, max_length=200))


def test_too_short_a_limit_and_other_representations_are_refused(model, rep) -> None:
    with pytest.raises(TunesmithError, match="needs at least 27"):  # the floor of 4 bars and 12 notes
        generate(model, rep, SampleSettings(constrain=True, max_length=8))
    with pytest.raises(TunesmithError, match="--constrain needs an ABC model"):
        AbcConstraint(SimpleNamespace(name="midi-remi", medium="midi", unit="token"), "", 100)


def test_the_mask_never_empties(rep) -> None:
    """Drive the masks with random choices, budgets short and long: a way on always remains."""
    constraint = AbcConstraint(rep, "", 400)
    rng = np.random.default_rng(0)
    # 27: "M:C\nK:A\nCCCCCCCC|CC||C|C8\n" and <end>, the generic floor of 12 notes in 4 bars; a part's last bar
    # is short only after a full bar, so the pickup after || leads into a full one
    for budget in (27, 30, 60, 150, MARGIN + 40):
        batch = constraint.batch(24)
        active = np.arange(24)
        for step in range(budget):
            allowed = batch.allowed(budget - step).numpy()
            assert allowed.any(axis=1).all()
            tokens = np.array([rng.choice(np.flatnonzero(row)) for row in allowed])
            batch.advance(torch.from_numpy(tokens))
            keep = np.flatnonzero(tokens != rep.end_id)
            active = active[keep]
            if not keep.size:
                break
            batch.keep(torch.from_numpy(keep))
        assert active.size == 0  # every row wrote <end> within its budget


def test_the_way_out_is_always_allowed_and_short(rep) -> None:
    """Random walks through the grammar: finish() names a legal character everywhere, and no way out
    is longer than MARGIN (what lets the sampler skip the budget check far from the limit)."""
    tables = GrammarTables(list(rep.chars))
    grammar, chars = tables.grammar, sorted(rep.chars)
    rng = np.random.default_rng(1)
    longest = 0
    for walk in range(60):
        state = grammar.start
        for c in ("M:6/8\nK:G\n", "M:4/1\nL:1/32\nK:C\n", "M:3/4\nL:1/16\nK:Ador\n")[walk % 3]:
            state = grammar.step(state, c)
        for _ in range(int(rng.integers(5, 150))):
            legal = [c for c in chars if grammar.step(state, c) is not None]
            if not legal:
                break
            state = grammar.step(state, legal[int(rng.integers(len(legal)))])
            longest = max(longest, tables.to_end(state))
        for _ in range(MARGIN):
            if grammar.accepting(state):
                break
            state = grammar.step(state, grammar.finish(state))
            assert state is not None
        assert grammar.accepting(state)
    assert 10 < longest <= MARGIN


def test_states_with_one_legality_key_allow_the_same_characters(rep) -> None:
    """The tables share legality rows by AbcGrammar.legality_key: check that sharing is sound."""
    grammar = GrammarTables(list(rep.chars)).grammar
    chars, rng, seen = sorted(rep.chars), np.random.default_rng(2), {}
    for walk in range(40):
        state = grammar.start
        for c in ("", "M:6/8\nK:G\n", "M:C|\nL:1/16\nK:D\n")[walk % 3]:
            state = grammar.step(state, c)
        for _ in range(200):
            key = grammar.legality_key(state)
            if key is not None:
                legal = [grammar.step(state, group[0]) is not None for group in grammar.classes(state)]
                assert seen.setdefault(key, legal) == legal, (key, state)
            options = [c for c in chars if grammar.step(state, c) is not None]
            if not options:
                break
            state = grammar.step(state, options[int(rng.integers(len(options)))])
    assert len(seen) > 100


def test_samples_json_reports_validity(model, rep, tmp_path: Path) -> None:
    settings = SampleSettings(num=3, max_length=150, constrain=True, seed=2)
    report = write_samples(model, rep, settings, tmp_path / "s")
    summary = json.loads((tmp_path / "s" / "samples.json").read_text())
    assert summary["settings"]["constrain"] is True and summary["valid_share"] == report.valid_share
    forced = sum(t["ending"] == "forced" for t in summary["tunes"]) / 3
    assert summary["bars_ok_share"] == 1.0 and summary["forced_share"] == forced
    for tune in summary["tunes"]:
        assert tune["validity"]["bars_ok"] == tune["validity"]["bars"] and tune["ending"] in ("ended", "forced")
        assert tune["valid"] == (tune["validity"]["reasons"] == [])
        assert set(tune["validity"]) >= {"header_ok", "bars_ok_share", "out_of_range", "bad_bars"}


def test_the_cli_constrains_and_prints_validity(model, rep, tmp_path: Path) -> None:
    """`tunesmith sample --constrain` on a bundle of the untrained model."""
    from safetensors.torch import save_file

    from tunesmith.bundle import BUNDLE_FORMAT
    from tunesmith.config import load_preset

    config = load_preset("abc-lstm-debug")
    net = models.build(config.model.name, rep.vocab_size, **config.model.hyper())
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, bundle / "model.safetensors")
    info = {"format": BUNDLE_FORMAT, "config": config.to_dict(), "vocab_size": rep.vocab_size, "trained": {}}
    (bundle / "config.json").write_text(json.dumps(info))
    (bundle / "representation.json").write_text(json.dumps(rep.to_json()))
    proc = run_cli("sample", bundle, "--num", "3", "--max-length", "120", "--constrain", "--out", tmp_path / "s")
    assert proc.returncode == 0, proc.stderr
    assert "bars ok" in proc.stdout and "100.0% of bars the right length" in proc.stdout
    assert "0% valid" in proc.stdout and "not valid: " in proc.stdout  # an untrained model writes no music
    bad = run_cli("sample", bundle, "--constrain", "--primer", r"M:6/8\nK:G\nABcdefg", "--out", tmp_path / "s")
    assert bad.returncode == 2 and "--primer is not valid ABC at character 17" in bad.stderr
