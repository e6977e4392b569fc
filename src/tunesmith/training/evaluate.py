"""Likelihood of a model on a prepared split.

- Token models (:func:`held_out`): loss (nats/token), bits per character (the split's total bits over the
  characters its target tokens stand for: per token where the tokens are not text) and accuracy.
- Frame models (:func:`held_out_frames`): the loss the frame module trains with (for piano rolls
  the onset-weighted binary cross-entropy, with precision, recall, F1 and onset F1 of the bits;
  for audio frames their own loss and metrics).

Both read the same windows the validation step uses (consecutive, non-overlapping, ``seq_len``
long, from the start of the split), so a figure from here matches the ``val_*`` columns of
``metrics.csv`` for the same model.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.config import Config
from tunesmith.data.prepared import PreparedData
from tunesmith.data.windows import WindowLoader, WindowSampler
from tunesmith.errors import TunesmithError
from tunesmith.representations import FrameRepresentation


@torch.inference_mode()
def held_out(
    model: nn.Module, data: PreparedData, seq_len: int, batch_size: int = 32, split: str = "val", max_batches: int = 0
) -> dict[str, float]:
    """Token-weighted loss, bits per character (per token where tokens are not text) and accuracy over the whole
    split (or ``max_batches``), with the tokens and characters they cover."""
    stream = data.stream(split)
    counts = data.representation.char_counts()
    weights = None if counts is None else torch.as_tensor(counts, dtype=torch.float64)
    sampler = WindowSampler(stream.size, seq_len, batch_size, shuffle=False)
    if len(sampler) == 0:
        raise TunesmithError(f"the {split} split of {data.folder} is too small for windows of {seq_len} tokens")
    model.eval()
    loss_sum, correct, count, chars = 0.0, 0, 0, 0.0
    for i, (inputs, targets) in enumerate(WindowLoader(stream, sampler)):
        if max_batches and i >= max_batches:
            break
        logits, _ = model(inputs)
        loss_sum += float(
            F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1), reduction="sum")
        )
        correct += int((logits.argmax(-1) == targets).sum())
        count += targets.numel()
        chars += targets.numel() if weights is None else float(weights[targets.reshape(-1)].sum())
    loss = loss_sum / count
    return {
        "loss": loss,
        "bpc": loss_sum / chars / math.log(2),
        "acc": correct / count,
        "tokens": count,
        "chars": chars,
    }


@torch.inference_mode()
def held_out_frames(
    model: nn.Module,
    config: Config,
    data: PreparedData,
    seq_len: int,
    batch_size: int = 32,
    split: str = "val",
    max_batches: int = 0,
) -> dict[str, float]:
    """The frame module's validation metrics over the whole split (or ``max_batches``): ``loss`` per
    value, plus what the representation's loss reports (precision, recall, F1, onset F1 for piano rolls).

    The sums are kept by :class:`~tunesmith.training.frame_module.FrameLM` itself, wrapped around
    ``model``, so this figure cannot drift from training's ``val_loss`` when a loss changes."""
    from tunesmith.data.frames import FrameLoader
    from tunesmith.training.frame_module import FrameLM

    rep = data.representation
    if not isinstance(rep, FrameRepresentation):
        raise TunesmithError(f"{data.folder} holds '{rep.name}' tokens, not frames")
    stream = data.stream(split)
    if stream.ndim != 2:
        raise TunesmithError(f"{data.folder}: meta.json has no frame_width; prepare it again")
    sampler = WindowSampler(len(stream), seq_len, batch_size, shuffle=False)
    if len(sampler) == 0:
        raise TunesmithError(f"the {split} split of {data.folder} is too small for windows of {seq_len} frames")
    config = Config.from_dict({**config.to_dict(), "train": {**config.to_dict()["train"], "compile": False}})
    module = FrameLM.for_representation(config, rep)
    module.model = model.eval()
    module.__dict__["_run"] = module.model
    module.eval()
    frames = 0
    for i, batch in enumerate(FrameLoader(stream, sampler, rep)):
        if max_batches and i >= max_batches:
            break
        module._loss(batch, split)
        frames += batch[1].shape[0] * batch[1].shape[1]
    metrics = module.metrics_of(module.sums[split])  # one process: its own sums are the totals
    return {**metrics, "frames": frames}
