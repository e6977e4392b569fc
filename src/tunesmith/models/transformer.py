"""A decoder-only, causal transformer over tokens, in the nanoGPT mould.

Pre-norm blocks, rotary positions, weight tying, residual dropout, and PyTorch's
``scaled_dot_product_attention`` (fused flash/memory-efficient kernels where the hardware
has them). Sampling keeps a key/value cache, so each new token costs attention over the
cached keys instead of a pass over the whole tune.

Rotary positions encode only the distance between two tokens, which is what lets the cache
slide: once a tune outgrows the context, the oldest quarter of the cache is dropped and
generation goes on with no re-encoding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.models import register
from tunesmith.models.base import SequenceModel


def rotary(x: torch.Tensor, start: int, base: float = 10000.0) -> torch.Tensor:
    """Rotate ``x`` (batch, heads, time, head_dim) by its absolute positions ``start …``."""
    half = x.size(-1) // 2
    freqs = base ** (-torch.arange(half, device=x.device, dtype=torch.float32) / half)
    positions = torch.arange(start, start + x.size(-2), device=x.device, dtype=torch.float32)
    angles = positions[:, None] * freqs[None, :]
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(weights, output) of causal attention with the weights kept: softmax(q·kᵀ/√d) under the causal mask,
    in float32, times ``v``. What ``scaled_dot_product_attention(is_causal=True)`` computes, unfused."""
    t = q.size(-2)
    scores = (q.float() @ k.float().transpose(-1, -2)) / math.sqrt(q.size(-1))
    causal = torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
    weights = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
    return weights, weights.to(v.dtype) @ v


@dataclass
class KVCache:
    """Keys and values of every layer for the tunes being sampled.

    ``rows`` maps the sampler's batch (live tunes, in order) onto cache rows. A finished tune
    only leaves ``rows``; the cache is compacted once a quarter of its rows are dead, so the
    copying stays a small constant factor of one full copy.
    """

    keys: list[torch.Tensor]  # per layer: (rows, heads, capacity, head_dim)
    values: list[torch.Tensor]
    length: int = 0  # filled positions
    position: int = 0  # absolute position of the next token: the rotary phase
    rows: torch.Tensor | None = None
    evictions: int = field(default=0)

    @property
    def capacity(self) -> int:
        return self.keys[0].size(2)

    def make_room(self, new: int) -> None:
        """Drop the oldest entries so ``new`` more fit; keeps 3/4 of the context when sliding."""
        if self.length + new <= self.capacity:
            return
        keep = min(self.length, max(self.capacity * 3 // 4, 1), self.capacity - new)
        for cache in (*self.keys, *self.values):
            cache[:, :, :keep] = cache[:, :, self.length - keep : self.length].clone()
        self.length, self.evictions = keep, self.evictions + 1


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def attend(
        self, x: torch.Tensor, cache: KVCache | None, layer: int, maps: list[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Self-attention of the (normed) input; with ``maps`` (no cache), the weights are made explicit and
        appended there, since the fused kernel does not return them."""
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        start = cache.position if cache is not None else 0
        q, k = rotary(q, start), rotary(k, start)
        if maps is not None:
            if cache is not None:
                raise ValueError("attention maps are read over a whole sequence, without a cache")
            weights, out = causal_attention(q, k, v)
            maps.append(weights)
        elif cache is None:  # no dropout on the attention weights: it would force the slow unfused path on a CPU
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            past = cache.length
            cache.keys[layer][:, :, past : past + t] = k
            cache.values[layer][:, :, past : past + t] = v
            keys, values = cache.keys[layer][:, :, : past + t], cache.values[layer][:, :, : past + t]
            if t == 1:  # one new token sees everything cached
                out = F.scaled_dot_product_attention(q, keys, values)
            elif past == 0:
                out = F.scaled_dot_product_attention(q, keys, values, is_causal=True)
            else:  # several new tokens after a cached prefix: causal among themselves
                mask = torch.ones(t, past + t, dtype=torch.bool, device=x.device).tril(past)
                out = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
        return self.drop(self.proj(out.transpose(1, 2).reshape(b, t, d)))

    def forward(
        self, x: torch.Tensor, cache: KVCache | None, layer: int, maps: list[torch.Tensor] | None = None
    ) -> torch.Tensor:
        x = x + self.attend(self.norm1(x), cache, layer, maps)
        return x + self.mlp(self.norm2(x))


class TransformerLM(SequenceModel):
    def __init__(
        self, vocab_size: int, dim: int = 256, layers: int = 4, heads: int = 8, context: int = 768, dropout: float = 0.1
    ):
        super().__init__()
        if dim % heads or (dim // heads) % 2:
            raise ValueError(f"hidden ({dim}) must split into {heads} heads of an even size")
        self.vocab_size, self.dim, self.heads, self.context = vocab_size, dim, heads, context
        self.embed = nn.Embedding(vocab_size, dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab_size, bias=False)
        self.head.weight = self.embed.weight  # weight tying
        self.apply(self._init)
        for block in self.blocks:  # scaled residual projections, as in GPT-2
            for proj in (block.proj, block.mlp[2]):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * layers))

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def init_state(self, batch: int, device: torch.device | str = "cpu") -> KVCache:
        """An empty cache for ``batch`` sequences; pass it to ``forward`` to fill it."""
        p = next(self.parameters())
        shape = (batch, self.heads, self.context, self.dim // self.heads)
        make = [torch.zeros(shape, dtype=p.dtype, device=device) for _ in range(2 * len(self.blocks))]
        return KVCache(make[: len(self.blocks)], make[len(self.blocks) :])

    def forward(self, tokens: torch.Tensor, state: KVCache | None = None) -> tuple[torch.Tensor, KVCache | None]:
        """Logits for every position. Without a cache this is the training path; with one, the
        tokens continue the cached ones (only the last ``context`` of a longer prefix are kept)."""
        if state is not None and state.rows is not None and state.rows.numel() < state.keys[0].size(0):
            return self._sparse_forward(tokens, state)
        if state is None and tokens.size(1) > self.context:
            raise ValueError(f"{tokens.size(1)} tokens exceed the model's context of {self.context}")
        if state is not None:
            if tokens.size(1) > self.context:
                state.position += tokens.size(1) - self.context
                tokens = tokens[:, -self.context :]
            state.make_room(tokens.size(1))
        x = self.drop(self.embed(tokens))
        for layer, block in enumerate(self.blocks):
            x = block(x, state, layer)
        if state is not None:
            state.length += tokens.size(1)
            state.position += tokens.size(1)
        return self.head(self.norm(x)), state

    def _sparse_forward(self, tokens: torch.Tensor, state: KVCache) -> tuple[torch.Tensor, KVCache]:
        """Run every cache row (dead rows get a dummy token) and return the live rows' logits."""
        rows = state.rows
        full = torch.zeros(state.keys[0].size(0), tokens.size(1), dtype=tokens.dtype, device=tokens.device)
        full[rows] = tokens
        state.rows = None
        logits, state = self.forward(full, state)
        state.rows = rows
        return logits[rows], state

    def attention_maps(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        """The attention weights of every layer over ``inputs`` (batch, time) token ids (frames for a frame
        model), without a cache: one tensor (batch, heads, time, time) per layer, row = query, column = key.

        The blocks run with their weights made explicit (the fused kernel keeps them to itself), so these
        are the weights this pass really computed its outputs with; they match ``forward``'s outputs to
        float rounding. For the neuron and attention plots, which must not re-derive the model."""
        if inputs.size(1) > self.context:
            raise ValueError(f"{inputs.size(1)} positions exceed the model's context of {self.context}")
        maps: list[torch.Tensor] = []
        x = self.drop(self.embed(inputs))
        for layer, block in enumerate(self.blocks):
            x = block(x, None, layer, maps)
        return maps

    def step(self, tokens: torch.Tensor, state: KVCache) -> tuple[torch.Tensor, KVCache]:
        """Logits for one new token per sequence, ``tokens`` shaped ``(batch,)``; for sampling."""
        logits, state = self(tokens[:, None], state)
        return logits[:, -1], state

    @staticmethod
    def select_state(state: KVCache | None, rows: torch.Tensor) -> KVCache | None:
        """Keep the sampler's batch ``rows``. Until a quarter of the cache is dead the new state
        shares its buffers with the old one (use only the new one); then it is compacted."""
        if state is None:
            return None
        live = (state.rows if state.rows is not None else torch.arange(state.keys[0].size(0)))[rows.cpu()]
        if live.numel() * 4 > state.keys[0].size(0) * 3:
            return replace(state, keys=list(state.keys), values=list(state.values), rows=live)
        index, used = live.to(state.keys[0].device), slice(0, state.length)

        def compact(cache: torch.Tensor) -> torch.Tensor:
            out = torch.zeros((live.numel(), *cache.shape[1:]), dtype=cache.dtype, device=cache.device)
            out[:, :, used] = cache[:, :, used].index_select(0, index)
            return out

        return replace(
            state, keys=[compact(c) for c in state.keys], values=[compact(c) for c in state.values], rows=None
        )


class Uncached(SequenceModel):
    """The same model sampled without a cache: every step re-reads the whole tune so far.

    Only for measuring what the cache is worth and for checking that it changes nothing.
    """

    def __init__(self, model: TransformerLM):
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        history = tokens if state is None else torch.cat([state, tokens], dim=1)
        logits, _ = self.model(history[:, -self.model.context :])
        return logits[:, -tokens.size(1) :], history

    def step(self, tokens: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, state = self(tokens[:, None], state)
        return logits[:, -1], state

    @staticmethod
    def select_state(state: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return state.index_select(0, rows.to(state.device))


@register("transformer")
def build(name: str, vocab_size: int, **hyper: Any) -> TransformerLM:
    return TransformerLM(
        vocab_size,
        dim=hyper.get("hidden", 256),
        layers=hyper.get("layers", 4),
        heads=hyper.get("heads", 8),
        context=hyper.get("context", 768),
        dropout=hyper.get("dropout", 0.1),
    )
