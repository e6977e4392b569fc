"""Likelihood of a model on a prepared split: loss (nats/token), bits per token and accuracy.

The same windows the validation step uses (consecutive, non-overlapping, ``seq_len`` long),
so a figure from here matches the ``val_*`` columns of ``metrics.csv`` for the same model.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.data.prepared import PreparedData
from tunesmith.data.windows import WindowLoader, WindowSampler
from tunesmith.errors import TunesmithError


@torch.inference_mode()
def held_out(
    model: nn.Module, data: PreparedData, seq_len: int, batch_size: int = 32, split: str = "val", max_batches: int = 0
) -> dict[str, float]:
    """Token-weighted loss, bits per token and accuracy over the whole split (or ``max_batches``)."""
    stream = data.stream(split)
    sampler = WindowSampler(stream.size, seq_len, batch_size, shuffle=False)
    if len(sampler) == 0:
        raise TunesmithError(f"the {split} split of {data.folder} is too small for windows of {seq_len} tokens")
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    for i, (inputs, targets) in enumerate(WindowLoader(stream, sampler)):
        if max_batches and i >= max_batches:
            break
        logits, _ = model(inputs)
        loss_sum += float(
            F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1), reduction="sum")
        )
        correct += int((logits.argmax(-1) == targets).sum())
        count += targets.numel()
    loss = loss_sum / count
    return {"loss": loss, "bpc": loss / math.log(2), "acc": correct / count, "tokens": count}
