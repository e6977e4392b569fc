"""The frame-model LightningModule: predict the next frame, with a loss chosen by name.

It is :class:`TokenLM` with another objective: the same step re-seeding (exact resume), the
same checkpoint hooks, optimizers and schedules; only the loss and the metrics differ.

- ``bce`` (on/off frames such as piano rolls): binary cross-entropy on logits. Positive targets
  in the representation's onset columns weigh ``train.onset_weight``: a piano roll is mostly
  zeros, and a model that predicts silence everywhere (seed 000's failure) would otherwise be
  near-optimal. Precision, recall and F1 of the bits at threshold 0.5, over all bits and over
  onsets alone, say whether it learned notes rather than silence.
- ``mse`` (continuous frames: audio-wave samples, log-mel frames): mean squared error.
- ``spectral`` (``audio-spectral`` frames): magnitude MSE plus a phase term chosen by
  ``train.phase_loss`` (:mod:`tunesmith.training.audio_losses`). Whatever the phase term, the
  module also sums the circular phase error (mean ``1 − cos Δ`` and mean ``|wrapped Δ|`` in radians)
  and the magnitude MSE, so runs trained with the cosine and the plain-MSE phase loss compare.

An autoencoder (``models.is_autoencoder``, e.g. ``mel-cae``) is trained by the same module to
reconstruct its input window (input = target = the patch) instead of predicting the next frame.

Metrics are exact sums over every value seen, reduced across processes and carried in checkpoints,
as the token module does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from tunesmith import models
from tunesmith.config import Config
from tunesmith.data import PreparedData
from tunesmith.data.frames import FrameLoader
from tunesmith.errors import TunesmithError
from tunesmith.representations import FrameRepresentation
from tunesmith.training.audio_losses import phase_errors, spectral_loss
from tunesmith.training.budget import RunControl
from tunesmith.training.module import TokenLM
from tunesmith.training.plan import make_loaders


def bce(outputs: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(outputs.float(), targets, pos_weight=pos_weight)


def mse(outputs: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(outputs.float(), targets)


# name → (outputs, targets, pos_weight, **columns and options) → mean loss per value; a representation's
# ``loss`` picks one. ``spectral`` also takes the magnitude and phase columns and train.phase_loss/phase_weight.
LOSSES: dict[str, Callable[..., torch.Tensor]] = {"bce": bce, "mse": mse, "spectral": spectral_loss}
CLASSIFIED = frozenset({"bce"})  # losses over on/off bits, which get precision, recall and F1
# sums: loss x n, n, then true positives, false positives, false negatives over all bits and over onsets, then
# (spectral) magnitude squared error and its count, phase 1 - cos, phase |wrapped difference| and their count
N_SUMS = 13


def _f1(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


class FrameLM(TokenLM):
    def __init__(
        self,
        config: Config,
        frame_dim: int,
        loss: str,
        onset_mask: np.ndarray | None = None,
        columns: tuple[slice, slice] | None = None,
    ):
        if config.model.name in models.REGISTRY:  # an unknown name is left to models.build to name
            known = ", ".join(sorted(models.FRAME_REGISTRY))
            raise TunesmithError(f"model '{config.model.name}' reads tokens, but this data holds frames; use {known}")
        if loss not in LOSSES:
            raise TunesmithError(f"unknown frame loss '{loss}'; known: {', '.join(sorted(LOSSES))}")
        if not 0 < config.train.onset_weight <= 1000:
            raise TunesmithError("train.onset_weight must be above 0 and at most 1000")
        if loss == "spectral" and columns is None:
            raise ValueError("the spectral loss needs the (magnitude, phase) columns")
        super().__init__(config, frame_dim)
        self.frame_dim, self.loss_name, self.loss_fn = frame_dim, loss, LOSSES[loss]
        self.autoencoder = models.is_autoencoder(config.model.name)  # target = its own input window
        self.columns = columns
        if loss == "spectral":
            magnitude, phase = columns
            t = config.train
            self.loss_fn = partial(
                spectral_loss,
                magnitude_columns=magnitude,
                phase_columns=phase,
                phase_loss=t.phase_loss,
                phase_weight=t.phase_weight,
            )
        mask = torch.zeros(frame_dim, dtype=torch.bool) if onset_mask is None else torch.as_tensor(onset_mask)
        if mask.shape != (frame_dim,):
            raise ValueError(f"onset_mask must have {frame_dim} entries")
        # buffers follow the module to its device and stay out of checkpoints (not weights)
        self.register_buffer("onset_mask", mask.bool(), persistent=False)
        weight = torch.where(mask.bool(), config.train.onset_weight, 1.0)
        self.register_buffer("pos_weight", weight.float(), persistent=False)
        self.sums = {split: torch.zeros(N_SUMS, dtype=torch.float64) for split in ("train", "val")}
        self.metric_names: tuple[str, ...] = ("loss",)
        if loss in CLASSIFIED:
            self.metric_names = ("loss", "precision", "recall", "f1", "onset_f1")
        elif loss == "spectral":
            self.metric_names = ("loss", "magnitude_mse", "phase_error", "phase_radians")

    @classmethod
    def for_representation(cls, config: Config, rep: FrameRepresentation) -> FrameLM:
        mask = rep.onset_mask()
        columns = (rep.magnitude_columns, rep.phase_columns) if rep.loss == "spectral" else None
        return cls(config, rep.frame_dim, rep.loss, mask, columns)

    def _loss(self, batch: tuple[torch.Tensor, torch.Tensor], split: str) -> torch.Tensor:
        inputs, targets = batch
        if self.autoencoder:
            targets = inputs
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
            count = partial(torch.tensor, dtype=torch.float64, device=loss.device)
            if self.loss_name == "spectral":
                magnitude, phase = self.columns
                row += [count(0.0)] * (8 - len(row))
                mag_out, mag_target = outputs[..., magnitude].float(), targets[..., magnitude]
                cosine, radians = phase_errors(outputs[..., phase], targets[..., phase])
                row += [(mag_out - mag_target).pow(2).sum().double(), count(float(mag_target.numel()))]
                row += [cosine.double(), radians.double(), count(float(targets[..., phase].numel()))]
            row += [count(0.0)] * (N_SUMS - len(row))
            self.sums[split] += torch.stack(row).cpu()
        return loss

    def reduce(self, split: str, reset: bool = False) -> dict[str, float]:
        """Loss per value; for on/off frames precision, recall and F1 of all bits and onset F1; for spectral
        frames the magnitude MSE and the circular phase error."""
        total = self.trainer.strategy.reduce(self.sums[split].clone().to(self.device), reduce_op="sum")
        if reset:
            self.sums[split].zero_()
        return self.metrics_of(total)

    def metrics_of(self, total: torch.Tensor) -> dict[str, float]:
        """The metrics from ``N_SUMS`` sums (one process's, or all of them reduced)."""
        loss_sum, n, tp, fp, fn, otp, ofp, ofn = (float(v) for v in total[:8].cpu())
        mag_sq, mag_n, cosine, radians, phase_n = (float(v) for v in total[8:].cpu())
        if n == 0:
            return {}
        metrics = {"loss": loss_sum / n}
        if self.loss_name in CLASSIFIED:
            metrics["precision"], metrics["recall"], metrics["f1"] = _f1(tp, fp, fn)
            metrics["onset_f1"] = _f1(otp, ofp, ofn)[2]
        if self.loss_name == "spectral" and mag_n and phase_n:
            metrics["magnitude_mse"] = mag_sq / mag_n
            metrics["phase_error"] = cosine / phase_n  # mean 1 - cos(angle error), 0 (exact) to 2 (opposite)
            metrics["phase_radians"] = radians / phase_n  # mean |angle error| wrapped to [0, pi]
        return metrics

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        saved = self.sums["train"]
        if saved.numel() < N_SUMS:  # a checkpoint written before the spectral sums existed
            self.sums["train"] = torch.cat([saved, torch.zeros(N_SUMS - saved.numel(), dtype=torch.float64)])


class FrameData(L.LightningDataModule):
    """Frame loaders built in ``setup``, once each process knows its rank and the world size."""

    def __init__(self, config: Config, data: PreparedData):
        super().__init__()
        self.config, self.data = config, data
        self.train: FrameLoader | None = None
        self.val: FrameLoader | None = None
        self.control: RunControl | None = None  # cuts validation to the time budget when set

    def setup(self, stage: str) -> None:
        self.build(self.trainer.global_rank, self.trainer.world_size)

    def build(self, rank: int, world_size: int) -> None:
        """The loaders for one process (once): ``fit`` builds them early to know an epoch's length."""
        if self.train is None:
            self.train, self.val = make_loaders(self.config, self.data, rank, world_size)

    def train_dataloader(self) -> FrameLoader:
        return self.train

    def val_dataloader(self) -> Any:
        return self.val if self.control is None else self.control.wrap_validation(self.val)


def module_and_data(config: Config, data: PreparedData) -> tuple[FrameLM, FrameData]:
    """What the trainer runs for a frame dataset: next-frame prediction, or for an autoencoder
    (``models.is_autoencoder``) reconstruction of each window, which ``FrameLM`` switches to by itself."""
    if models.is_autoencoder(config.model.name) and config.data.seq_len != config.model.patch:
        raise TunesmithError(f"data.seq_len ({config.data.seq_len}) must equal model.patch ({config.model.patch})")
    return FrameLM.for_representation(config, data.representation), FrameData(config, data)
