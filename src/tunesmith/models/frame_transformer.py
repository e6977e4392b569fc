"""A causal transformer over frames: the token transformer with a linear frame projection for
its embedding, an untied linear head back to ``frame_dim`` values, and the linear input-to-output
skip path of :mod:`tunesmith.models.frame_rnn` (the next frame is mostly the current one).

Everything else (pre-norm blocks, rotary positions, the sliding key/value cache used when
sampling) is :class:`tunesmith.models.transformer.TransformerLM` unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from tunesmith.models import register
from tunesmith.models.transformer import KVCache, TransformerLM


class FrameTransformer(TransformerLM):
    """``out, state = model(frames, state)``: frames ``(batch, time, frame_dim)`` float → out, same shape."""

    def __init__(self, frame_dim: int, input_noise: float = 0.0, **kwargs: Any):
        super().__init__(frame_dim, **kwargs)
        self.frame_dim, self.input_noise = frame_dim, input_noise
        self.embed = nn.Linear(frame_dim, self.dim)  # replaces the token embedding, and unties the head
        self.head = nn.Linear(self.dim, frame_dim)
        self.skip = nn.Linear(frame_dim, frame_dim, bias=False)
        for layer in (self.embed, self.head):
            nn.init.normal_(layer.weight, std=1.0 / math.sqrt(layer.in_features))
            nn.init.zeros_(layer.bias)

    def forward(self, frames: torch.Tensor, state: KVCache | None = None) -> tuple[torch.Tensor, KVCache | None]:
        if self.training and self.input_noise > 0:
            frames = frames + self.input_noise * torch.randn_like(frames)
        out, state = super().forward(frames, state)
        return out + self.skip(frames[:, -out.size(1) :]), state

    def _sparse_forward(self, frames: torch.Tensor, state: KVCache) -> tuple[torch.Tensor, KVCache]:
        """As the token model's, with dummy frames (zeros) for the dead cache rows."""
        rows = state.rows
        full = frames.new_zeros(state.keys[0].size(0), *frames.shape[1:])
        full[rows] = frames
        state.rows = None
        out, state = super().forward(full, state)
        state.rows = rows
        return out[rows], state


@register("frame-transformer", frames=True)
def build(name: str, vocab_size: int, **hyper: Any) -> FrameTransformer:
    """``vocab_size`` is the registry's name for the model's width: here ``frame_dim``."""
    return FrameTransformer(
        vocab_size,
        input_noise=hyper.get("input_noise", 0.0),
        dim=hyper.get("hidden", 256),
        layers=hyper.get("layers", 4),
        heads=hyper.get("heads", 8),
        context=hyper.get("context", 768),
        dropout=hyper.get("dropout", 0.1),
    )
