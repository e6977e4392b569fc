"""A transformer's attention maps: which earlier positions each position reads, per layer and head.

``scaled_dot_product_attention`` does not return its weights, so the model is asked for them
(:meth:`tunesmith.models.transformer.TransformerLM.attention_maps`, the same pass with the weights made
explicit), and its own fused forward pass is run beside it: the two blocks' outputs must agree
(``AttentionRecord.max_error``). Recurrent units are in :mod:`tunesmith.pipeline.neurons`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tunesmith.errors import TunesmithError
from tunesmith.models.transformer import TransformerLM
from tunesmith.pipeline.neurons import Figure


@dataclass
class AttentionRecord:
    """A transformer's attention over one sequence, as the model reports it (``attention_maps``)."""

    weights: np.ndarray  # (layers, heads, T, T): row = query position, column = key position
    outputs: list[torch.Tensor]  # each block's output in the pass that made the weights explicit
    model_outputs: list[torch.Tensor]  # each block's output in the model's own fused forward pass
    max_error: float  # largest |explicit − fused| over all blocks: the weights are the ones forward uses


def _block_outputs(model: TransformerLM, run: Callable[[], Any]) -> tuple[Any, list[torch.Tensor]]:
    """What ``run()`` returns, and every block's output during it (forward hooks, removed after)."""
    outputs: list[torch.Tensor] = []
    hooks = [block.register_forward_hook(lambda _m, _a, out: outputs.append(out)) for block in model.blocks]
    try:
        return run(), outputs
    finally:
        for hook in hooks:
            hook.remove()


@torch.inference_mode()
def attention(model: TransformerLM, inputs: torch.Tensor) -> AttentionRecord:
    """Attention weights of every layer and head over ``inputs`` (token ids ``(T,)`` or frames ``(T, dim)``,
    at most the model's context), asked of the model, with its fused forward pass run beside as a check."""
    if not isinstance(model, TransformerLM):
        raise TunesmithError(f"{type(model).__name__} is not a transformer: it has no attention to draw")
    model = model.eval()
    inputs = torch.as_tensor(inputs)[: model.context]
    x = inputs.to(next(model.parameters()).device)[None]
    maps, outputs = _block_outputs(model, lambda: model.attention_maps(x))
    _, own = _block_outputs(model, lambda: model(x))
    error = max(float((a - b).abs().max()) for a, b in zip(outputs, own, strict=True)) if own else 0.0
    return AttentionRecord(np.stack([w[0].cpu().numpy() for w in maps]), outputs, own, error)


def attention_figures(
    model: TransformerLM, inputs: torch.Tensor, labels: list[str] | None, out: Path, axis: str
) -> list[Figure]:
    """One heads-averaged map per layer and a grid of every (layer, head)."""
    from tunesmith.render.attention_plot import attention_heads_png, attention_png

    rec = attention(model, inputs)
    n = rec.weights.shape[-1]
    figures = []
    for layer, w in enumerate(rec.weights):
        title = f"layer {layer}: attention averaged over {w.shape[0]} heads, first {n} {axis}s"
        path = attention_png(w.mean(axis=0), out / f"attention_layer{layer}.png", labels=labels, title=title, axis=axis)
        figures.append(Figure("attention map", path, title))
    grid = out / "attention_heads.png"
    title = f"attention per layer (rows) and head (columns), first {n} {axis}s"
    figures.append(Figure("attention heads", attention_heads_png(rec.weights, grid, title=title), title))
    return figures
