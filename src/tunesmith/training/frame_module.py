"""The frame-model LightningModule: predict the next frame, with a loss chosen by name.

It is :class:`TokenLM` with another objective: the same step re-seeding (exact resume), the
same checkpoint hooks, optimizers and schedules; only the loss and the metrics differ.

- ``bce`` (on/off frames such as piano rolls): binary cross-entropy on logits. Positive targets
  in the representation's onset columns weigh ``train.onset_weight``: a piano roll is mostly
  zeros, and a model that predicts silence everywhere (seed 000's failure) would otherwise be
  near-optimal. Precision, recall and F1 of the bits at threshold 0.5, over all bits and over
  onsets alone, say whether it learned notes rather than silence.
- ``mse`` (continuous frames, issue 6): mean squared error. Issue 6 adds its phase-aware terms by
  putting another function in ``LOSSES``.

Metrics are exact sums over every bit seen, reduced across processes and carried in checkpoints,
as the token module does.
"""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from tunesmith import models
from tunesmith.config import Config
from tunesmith.data import PreparedData
from tunesmith.data.frames import FrameLoader, frame_loaders
from tunesmith.errors import TunesmithError
from tunesmith.representations import FrameRepresentation
from tunesmith.training.module import TokenLM


def bce(outputs: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(outputs.float(), targets, pos_weight=pos_weight)


def mse(outputs: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(outputs.float(), targets)


# name → (outputs, targets, pos_weight) → mean loss per value; a representation's ``loss`` picks one.
LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]] = {"bce": bce, "mse": mse}
CLASSIFIED = frozenset({"bce"})  # losses over on/off bits, which get precision, recall and F1
# sums: loss x n, n, then true positives, false positives, false negatives over all bits and over onsets
N_SUMS = 8


def _f1(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


class FrameLM(TokenLM):
    def __init__(self, config: Config, frame_dim: int, loss: str, onset_mask: np.ndarray | None = None):
        if config.model.name in models.REGISTRY:  # an unknown name is left to models.build to name
            known = ", ".join(sorted(models.FRAME_REGISTRY))
            raise TunesmithError(f"model '{config.model.name}' reads tokens, but this data holds frames; use {known}")
        if loss not in LOSSES:
            raise TunesmithError(f"unknown frame loss '{loss}'; known: {', '.join(sorted(LOSSES))}")
        if not 0 < config.train.onset_weight <= 1000:
            raise TunesmithError("train.onset_weight must be above 0 and at most 1000")
        super().__init__(config, frame_dim)
        self.frame_dim, self.loss_name, self.loss_fn = frame_dim, loss, LOSSES[loss]
        mask = torch.zeros(frame_dim, dtype=torch.bool) if onset_mask is None else torch.as_tensor(onset_mask)
        if mask.shape != (frame_dim,):
            raise ValueError(f"onset_mask must have {frame_dim} entries")
        # buffers follow the module to its device and stay out of checkpoints (not weights)
        self.register_buffer("onset_mask", mask.bool(), persistent=False)
        weight = torch.where(mask.bool(), config.train.onset_weight, 1.0)
        self.register_buffer("pos_weight", weight.float(), persistent=False)
        self.sums = {split: torch.zeros(N_SUMS, dtype=torch.float64) for split in ("train", "val")}
        self.metric_names = ("loss", "precision", "recall", "f1", "onset_f1") if loss in CLASSIFIED else ("loss",)

    @classmethod
    def for_representation(cls, config: Config, rep: FrameRepresentation) -> FrameLM:
        mask = rep.onset_mask() if hasattr(rep, "onset_mask") else None
        return cls(config, rep.frame_dim, rep.loss, mask)

    def _loss(self, batch: tuple[torch.Tensor, torch.Tensor], split: str) -> torch.Tensor:
        inputs, targets = batch
        outputs = self(inputs)
        loss = self.loss_fn(outputs, targets, self.pos_weight)
        with torch.no_grad():
            n = torch.tensor(targets.numel(), dtype=torch.float64, device=loss.device)
            row = [loss.detach().double() * n, n]
            if self.loss_name in CLASSIFIED:
                predicted, actual = outputs > 0, targets > 0.5
                for cols in (slice(None), self.onset_mask):
                    p, a = predicted[..., cols], actual[..., cols]
                    row += [(p & a).sum().double(), (p & ~a).sum().double(), (~p & a).sum().double()]
            row += [torch.zeros((), dtype=torch.float64, device=loss.device)] * (N_SUMS - len(row))
            self.sums[split] += torch.stack(row).cpu()
        return loss

    def reduce(self, split: str, reset: bool = False) -> dict[str, float]:
        """Loss per value, and for on/off frames precision, recall and F1 of all bits and onset F1."""
        total = self.trainer.strategy.reduce(self.sums[split].clone().to(self.device), reduce_op="sum")
        if reset:
            self.sums[split].zero_()
        loss_sum, n, tp, fp, fn, otp, ofp, ofn = (float(v) for v in total.cpu())
        if n == 0:
            return {}
        metrics = {"loss": loss_sum / n}
        if self.loss_name in CLASSIFIED:
            metrics["precision"], metrics["recall"], metrics["f1"] = _f1(tp, fp, fn)
            metrics["onset_f1"] = _f1(otp, ofp, ofn)[2]
        return metrics


class FrameData(L.LightningDataModule):
    """Frame loaders built in ``setup``, once each process knows its rank and the world size."""

    def __init__(self, config: Config, data: PreparedData):
        super().__init__()
        self.config, self.data = config, data
        self.train: FrameLoader | None = None
        self.val: FrameLoader | None = None

    def setup(self, stage: str) -> None:
        if self.train is not None:
            return
        d = self.config.data
        self.train, self.val = frame_loaders(
            self.data,
            seq_len=d.seq_len,
            batch_size=d.batch_size,
            seed=self.config.train.seed,
            transpose=d.transpose,
            rank=self.trainer.global_rank,
            world_size=self.trainer.world_size,
        )

    def train_dataloader(self) -> FrameLoader:
        return self.train

    def val_dataloader(self) -> FrameLoader:
        return self.val


def module_and_data(config: Config, data: PreparedData) -> tuple[FrameLM, FrameData]:
    """What the trainer runs for a frame dataset."""
    return FrameLM.for_representation(config, data.representation), FrameData(config, data)
