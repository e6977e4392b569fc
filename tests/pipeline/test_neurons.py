"""Neurons and attention: labels of an ABC tune, unit ranking on a hand-built LSTM with planted units,
recomputed attention weights, and the pictures drawn from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tunesmith.errors import TunesmithError
from tunesmith.models.rnn import RecurrentLM
from tunesmith.models.transformer import TransformerLM
from tunesmith.pipeline.attention import attention, attention_figures
from tunesmith.pipeline.neurons import (
    abc_labels,
    abc_neuron_figures,
    parse_unit,
    rank_abc,
    rank_units,
    raster_figure,
    record,
    record_tunes,
)
from tunesmith.representations.abc_char import AbcChar

# "Kesh" in the title: a unit that latched on any K would leave the header too early.
TUNE = (
    "T:The Kesh\nT:The Kesh Jig\nR:jig\nM:6/8\nL:1/8\nQ:3/8=120\nZ:Transcribed by hand for a test\n"
    "K:G\n"
    '|:"G"GAG GAB|"D"ABA ABd|"G"edd gdd|"C"edB dBA|GAG GAB|ABA ABd|edd gdB|1 AGF G2D:|2 AGF G3||\n'
    "|:BAB dBd|ege dBA|BAB dBG|ABA AGA|BAB dBd|ege dBd|gfg aga|1 bgf g2d:|2 bgf g3|]\n"
)
SECOND = (
    "T:Drowsy Maggie\nR:reel\nM:4/4\nL:1/8\nK:Edor\n"
    "|:E2BE dEBE|E2BE AFDF|E2BE dEBE|1 BABc dAFD:|2 BABc dAFA||\n|:d2fd c2ec|defg afge|d2fd c2ec|BABc dAFA:|\n"
)
TUNES = [TUNE, SECOND]
H, HIDDEN = 8, 8  # the toy LSTM's units
NEWLINE, SEEN_K, HEADER, BAR = 0, 1, 2, 3  # planted units; 4-7 keep random weights


def _gate(weights: torch.Tensor, gate: int, unit: int) -> int:
    """Row of ``unit``'s ``gate`` in PyTorch's stacked LSTM weights (gates i, f, g, o)."""
    return gate * H + unit


def planted_lstm(rep: AbcChar, seed: int, wired: bool = True) -> RecurrentLM:
    """A one-layer LSTM reading one-hot characters, with units wired by hand:

    - NEWLINE: h = +0.76 right after a newline, −0.76 after anything else (i = 1, f = 0, g = ±1);
    - SEEN_K: latches to c = 1 at a ``K`` that starts a line (it reads NEWLINE's previous h);
    - HEADER: c = 0 through the header; at the first character after the ``K:`` line (previous char a
      newline, and SEEN_K on) its input gate opens with g = −1, and it forgets only at <start>: c ≤ −1 in
      the body (SEEN_K forgets at <start> too);
    - BAR: h = +0.76 on ``|``, ``:``, ``]``, −0.76 elsewhere.

    The other four units (and every weight the planted rows do not set) are random."""
    model = RecurrentLM(rep.vocab_size, cell="lstm", embed_dim=0, hidden=HIDDEN, layers=1)
    gen = torch.Generator().manual_seed(seed)
    rnn = model.rnn
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            p = getattr(rnn, name)
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        w_ih, w_hh, b = rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0
        rnn.bias_hh_l0.zero_()
        for unit in (NEWLINE, SEEN_K, HEADER, BAR):
            for gate in range(4):
                w_ih[_gate(w_ih, gate, unit)] = 0
                w_hh[_gate(w_hh, gate, unit)] = 0
        i, f, g, o = 0, 1, 2, 3
        char = {c: int(rep.ids(c)[0]) for c in "\nK|:]"}
        # NEWLINE
        b[_gate(b, i, NEWLINE)], b[_gate(b, f, NEWLINE)], b[_gate(b, o, NEWLINE)] = 10, -10, 10
        b[_gate(b, g, NEWLINE)] = -10
        w_ih[_gate(w_ih, g, NEWLINE), char["\n"]] = 20
        # SEEN_K: input gate opens for K after a newline
        w_ih[_gate(w_ih, i, SEEN_K), char["K"]] = 20
        w_hh[_gate(w_hh, i, SEEN_K), NEWLINE] = 13
        b[_gate(b, i, SEEN_K)] = -20
        b[_gate(b, f, SEEN_K)], b[_gate(b, g, SEEN_K)], b[_gate(b, o, SEEN_K)] = 10, 10, 10
        w_ih[_gate(w_ih, f, SEEN_K), rep.start_id] = -20
        # HEADER: opens when the previous character was a newline and K: has been seen
        w_hh[_gate(w_hh, i, HEADER), NEWLINE] = 13
        b[_gate(b, i, HEADER)] = -20
        if wired:  # unwired, the unit only drifts (its input gate leaks 5e-5 a step) and never resets
            w_hh[_gate(w_hh, i, HEADER), SEEN_K] = 26
            w_ih[_gate(w_ih, f, HEADER), rep.start_id] = -20
        b[_gate(b, f, HEADER)], b[_gate(b, g, HEADER)], b[_gate(b, o, HEADER)] = 10, -10, 10
        # BAR
        b[_gate(b, i, BAR)], b[_gate(b, f, BAR)], b[_gate(b, o, BAR)], b[_gate(b, g, BAR)] = 10, -10, 10, -10
        for c in "|:]":
            w_ih[_gate(w_ih, g, BAR), char[c]] = 20
    return model.eval()


def test_abc_labels_mark_header_body_bars_and_notes() -> None:
    labels = abc_labels(TUNE)
    body_start = TUNE.index("K:G\n") + 4
    assert labels["header"][:body_start].all() and not labels["header"][body_start:].any()
    assert (labels["body"] == ~labels["header"]).all()
    bars = "".join(c for c, m in zip(TUNE, labels["bar"], strict=True) if m)
    assert set(bars) == set("|:]") and TUNE[body_start:].count("|") == bars.count("|")
    notes = "".join(c for c, m in zip(TUNE, labels["note"], strict=True) if m)
    assert "G" in notes and "3" in notes and '"' not in notes  # letters with lengths, no chord symbols
    chord = TUNE.index('"D"') + 1
    assert not labels["note"][chord]  # the D of the chord symbol "D" is not a note
    second = abc_labels("T:A\nK:D\nABc|\nT:B\nK:G\nGAB|\n")
    assert second["header"].tolist() == [True] * 8 + [False] * 5 + [True] * 8 + [False] * 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rank_units_finds_the_planted_header_and_bar_units(seed: int) -> None:
    rep = AbcChar.fit(TUNES)
    text, acts = record_tunes(planted_lstm(rep, seed), rep, TUNES)
    assert text == TUNE + SECOND
    assert acts.values.shape == (len(text), 2 * HIDDEN)  # h and c of every unit, per character
    rankings = rank_abc(acts, text)
    header, bar = rankings["header"], rankings["bar"]
    assert header[0].unit in (f"h0:{HEADER}", f"c0:{HEADER}"), [s.unit for s in header[:4]]
    assert header[0].score > 0.99 and header[0].auc > 0.99  # 0 in the header, below 0 in the body: higher there
    assert bar[0].unit in (f"h0:{BAR}", f"c0:{BAR}"), [s.unit for s in bar[:4]]
    assert bar[0].score > 0.99
    assert sorted(s.unit for s in header) == sorted(acts.names)  # every unit is scored
    assert [s.score for s in header] == sorted((s.score for s in header), key=lambda v: -round(v, 2))


def test_a_unit_that_only_drifts_passes_for_a_header_unit_in_one_tune_but_not_in_two() -> None:
    rep = AbcChar.fit(TUNES)
    model = planted_lstm(rep, 0, wired=False)
    _, one = record_tunes(model, rep, [TUNE])
    drifting = {s.unit: s for s in rank_abc(one, TUNE)["header"]}[f"c0:{HEADER}"]
    assert drifting.score > 0.99  # early against late: any drift separates a single tune's header and body
    text, two = record_tunes(model, rep, TUNES)
    header = rank_abc(two, text)["header"]
    assert {s.unit: s for s in header}[f"c0:{HEADER}"].score < 0.8
    assert header[0].unit not in (f"h0:{HEADER}", f"c0:{HEADER}")


def test_recording_matches_the_model_run_on_the_whole_sequence() -> None:
    rep = AbcChar.fit(TUNES)
    model = planted_lstm(rep, 0)
    ids = torch.as_tensor(rep.ids(TUNE))
    acts = record(model, ids, prefix=torch.tensor([rep.start_id]))
    with torch.no_grad():
        out, _ = model.features(torch.cat([torch.tensor([rep.start_id]), ids])[None])
    np.testing.assert_allclose(acts.values[:, :HIDDEN], out[0, 1:].numpy(), atol=1e-5)  # top-layer h
    _, both = record_tunes(model, rep, TUNES)
    np.testing.assert_allclose(both.values[: len(TUNE)], acts.values, atol=1e-6)


def test_rank_units_auc_matches_a_direct_count() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(60, 3))
    inside = np.arange(60) < 20
    values[inside, 1] += 3.0
    values[:, 2] = np.round(values[:, 2])  # many ties, counted half
    scores = {s.unit: s for s in rank_units(values, inside, ~inside, ["a", "b", "c"])}
    for col, name in enumerate("abc"):
        a, b = values[inside, col], values[~inside, col]
        direct = ((a[:, None] > b[None, :]).sum() + 0.5 * (a[:, None] == b[None, :]).sum()) / (a.size * b.size)
        assert scores[name].auc == pytest.approx(direct)
    assert rank_units(values, inside, ~inside, ["a", "b", "c"])[0].unit == "b"
    with pytest.raises(TunesmithError, match="0 positions inside"):
        rank_units(values, np.zeros(60, bool), ~inside, ["a", "b", "c"])


def test_parse_unit() -> None:
    assert parse_unit("auto") is None
    assert parse_unit("1:21") == "h1:21" and parse_unit("c0:5") == "c0:5"
    with pytest.raises(TunesmithError, match="--unit"):
        parse_unit("layer1")


def _tiny_transformer(vocab: int) -> TransformerLM:
    torch.manual_seed(0)
    model = TransformerLM(vocab, dim=16, layers=2, heads=4, context=48, dropout=0.0)
    with torch.no_grad():  # weights larger than the init, so attention is far from uniform
        for block in model.blocks:
            block.qkv.weight.normal_(0, 0.5)
    return model.eval()


def test_attention_weights_are_causal_distributions_and_rebuild_the_blocks() -> None:
    rep = AbcChar.fit(TUNES)
    model = _tiny_transformer(rep.vocab_size)
    ids = torch.as_tensor(np.concatenate([[rep.start_id], rep.ids(TUNE[:40])]))
    rec = attention(model, ids)
    n = len(ids)
    assert rec.weights.shape == (2, 4, n, n)
    np.testing.assert_allclose(rec.weights.sum(-1), 1.0, atol=1e-5)
    assert (rec.weights[..., np.triu_indices(n, 1)[0], np.triu_indices(n, 1)[1]] == 0).all()
    assert rec.weights.std() > 0.05  # not uniform: the check below would not notice wrong weights otherwise
    assert rec.max_error < 1e-5
    with torch.no_grad():  # the last block's output gives the model's own logits
        logits, _ = model(ids[None])
        np.testing.assert_allclose(model.head(model.norm(rec.outputs[-1])).numpy(), logits.numpy(), atol=1e-4)
    with pytest.raises(TunesmithError, match="not a transformer"):
        attention(planted_lstm(rep, 0), ids)


def _image(path: Path) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(str(path))


def _assert_real_picture(path: Path, min_size: tuple[int, int]) -> np.ndarray:
    image = _image(path)
    assert image.shape[0] >= min_size[0] and image.shape[1] >= min_size[1], image.shape
    rgb = image[..., :3].reshape(-1, 3)
    assert rgb.std() > 0.05 and len(np.unique((rgb * 255).astype(int), axis=0)) > 50  # not blank
    assert path.stat().st_size < 150_000
    return image


def test_heat_map_and_attention_pictures(tmp_path: Path) -> None:
    rep = AbcChar.fit(TUNES)
    figures, rankings = abc_neuron_figures(planted_lstm(rep, 0), rep, TUNES, tmp_path, None)
    assert [f.path.name for f in figures] == ["neuron_header.png", "neuron_bar.png"]
    lines = (TUNE + SECOND).count("\n")
    for f in figures:
        image = _assert_real_picture(f.path, (int(lines * 0.17 * 90), int(68 * 0.074 * 90)))
        assert abs(image.shape[0] - (lines * 0.17 + 0.65) * 90) <= 1  # a row of cells per line of the tunes
    assert figures[0].detail.startswith(rankings["header"][0].unit)
    csv_rows = (tmp_path / "neurons.csv").read_text().splitlines()
    assert len(csv_rows) == 1 + 2 * HIDDEN and csv_rows[0].startswith("unit,header_rank")
    chosen, _ = abc_neuron_figures(planted_lstm(rep, 0), rep, TUNES, tmp_path, "c0:2")
    assert chosen[0].path.name == "neuron_c0-2.png" and chosen[0].path.is_file()
    with pytest.raises(TunesmithError, match="no such unit"):
        abc_neuron_figures(planted_lstm(rep, 0), rep, TUNES, tmp_path, "h3:0")

    model = _tiny_transformer(rep.vocab_size)
    ids = torch.as_tensor(np.concatenate([[rep.start_id], rep.ids(TUNE[:40])]))
    maps = attention_figures(model, ids, ["▸", *TUNE[:40]], tmp_path, "character")
    assert [f.path.name for f in maps] == ["attention_layer0.png", "attention_layer1.png", "attention_heads.png"]
    for f in maps:
        _assert_real_picture(f.path, (200, 200))


def test_heat_maps_without_text_for_token_and_frame_models(tmp_path: Path) -> None:
    from tunesmith import models

    torch.manual_seed(0)
    tokens = models.build("gru", 20, embed_dim=8, hidden=12, layers=2)
    ids = torch.randint(2, 20, (50,))
    figure = raster_figure(tokens, ids, tmp_path, None, "token", prefix=torch.tensor([0]))
    assert (
        figure.path.name == "activations.png" and "16 most variable of 24 hidden units over 50 tokens" in figure.detail
    )
    _assert_real_picture(figure.path, (300, 800))
    frames = models.build("frame-lstm", 6, embed_dim=0, hidden=5, layers=1)
    acts = record(frames, torch.rand(30, 6))
    assert acts.values.shape == (30, 10) and acts.names[:2] == ["h0:0", "h0:1"] and acts.names[5] == "c0:0"
    chosen = raster_figure(frames, torch.rand(30, 6), tmp_path, "c0:4", "frame")
    assert chosen.path.name == "neuron_c0-4.png" and chosen.path.is_file()
