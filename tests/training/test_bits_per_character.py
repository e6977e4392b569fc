"""Bits per character for every ABC model: a token model's total bits over the characters its target tokens
stand for, so abc-char and abc-tokens compare on one scale (and abc-char's figure is its bits per token)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from tunesmith import models
from tunesmith.data import PreparedData
from tunesmith.training.evaluate import held_out

SEQ_LEN = 32


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tunesmith.pipeline.prepare import prepare

    root = tmp_path_factory.mktemp("bpc")
    return {
        name: prepare(root / name, corpus="folk", representation=name, max_tunes=30).out
        for name in ("abc-char", "abc-tokens")
    }


def _by_hand(model: torch.nn.Module, data: PreparedData) -> tuple[float, float, int]:
    """Total nats, characters and tokens over the validation windows, one window at a time."""
    stream = torch.as_tensor(data.stream("val").astype("int64"))
    rep = data.representation
    windows = (stream.numel() - SEQ_LEN) // SEQ_LEN
    nats = chars = 0.0
    for i in range(windows):
        chunk = stream[i * SEQ_LEN : (i + 1) * SEQ_LEN + 1]
        logits, _ = model(chunk[None, :-1])
        nats += float(F.cross_entropy(logits[0].float(), chunk[1:], reduction="sum"))
        chars += sum(1 if t < 2 else len(rep.decode([t])) for t in chunk[1:].tolist())  # markers count one
    return nats, chars, windows * SEQ_LEN


@pytest.mark.parametrize("name", ["abc-char", "abc-tokens"])
def test_held_out_bits_are_per_character_of_the_validation_text(folders: dict[str, Path], name: str) -> None:
    data = PreparedData.open(folders[name])
    torch.manual_seed(0)
    model = models.build("lstm", data.representation.vocab_size, hidden=16, layers=1, embed_dim=8).eval()
    figures = held_out(model, data, SEQ_LEN, batch_size=4)
    with torch.inference_mode():
        nats, chars, tokens = _by_hand(model, data)
    assert figures["tokens"] == tokens and figures["chars"] == pytest.approx(chars)
    assert figures["loss"] == pytest.approx(nats / tokens, rel=1e-4)
    assert figures["bpc"] == pytest.approx(nats / chars / math.log(2), rel=1e-4)
    if name == "abc-char":
        assert chars == tokens  # one character per token: bits per character are bits per token
    else:
        assert chars > 1.4 * tokens  # tokens of notes, bars and header lines stand for several characters
