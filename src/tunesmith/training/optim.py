"""Optimisers and learning-rate schedules, by name from the config."""

from __future__ import annotations

import math
from typing import Any

import torch

from tunesmith.config import TrainConfig
from tunesmith.errors import TunesmithError

OPTIMIZERS = ("adam", "adamw", "rmsprop", "adagrad", "sgd")
SCHEDULES = ("constant", "cosine", "exponential", "plateau")


def make_optimizer(params: Any, t: TrainConfig) -> torch.optim.Optimizer:
    name = t.optimizer.lower()
    if name == "adam":
        return torch.optim.Adam(params, lr=t.lr, weight_decay=t.weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=t.lr, weight_decay=t.weight_decay, momentum=t.momentum)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=t.lr, weight_decay=t.weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=t.lr, weight_decay=t.weight_decay, momentum=t.momentum)
    raise TunesmithError(f"unknown optimizer '{t.optimizer}'; choose one of: {', '.join(OPTIMIZERS)}")


def make_schedule(opt: torch.optim.Optimizer, t: TrainConfig, total_steps: int) -> dict[str, Any] | None:
    """A Lightning ``lr_scheduler`` dict, or None for a constant rate without warm-up."""
    kind = t.schedule.lower()
    if kind not in SCHEDULES:
        raise TunesmithError(f"unknown schedule '{t.schedule}'; choose one of: {', '.join(SCHEDULES)}")
    floor = t.min_lr / t.lr
    warm = max(0, t.warmup_steps)

    def warmup(step: int) -> float:
        return min(1.0, (step + 1) / warm) if warm else 1.0

    if kind == "cosine":
        span = max(1, total_steps - warm)

        def cosine(step: int) -> float:
            progress = min(1.0, max(0, step - warm) / span)
            return warmup(step) * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))

        return {"scheduler": torch.optim.lr_scheduler.LambdaLR(opt, cosine), "interval": "step"}
    if kind == "exponential":
        decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: max(floor, t.lr_decay**epoch))
        if warm:
            raise TunesmithError("train.warmup_steps works with the constant and cosine schedules")
        return {"scheduler": decay, "interval": "epoch"}
    if kind == "plateau":
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=t.lr_decay, patience=1, min_lr=t.min_lr)
        return {"scheduler": plateau, "interval": "epoch", "monitor": "val_loss"}
    if warm:
        return {"scheduler": torch.optim.lr_scheduler.LambdaLR(opt, warmup), "interval": "step"}
    return None
