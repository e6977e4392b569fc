"""The token language-model LightningModule: next-token cross-entropy on any registered model.

Metrics are kept as exact token-weighted sums and reduced across processes, so the
per-epoch loss, bits per character (per token where the tokens are not text) and accuracy in
``metrics.csv`` are the true averages over every token seen, and survive a resume (they travel
in the checkpoint). Bits per character are the bits of every target token over the characters they
stand for (``Representation.char_counts``), so ``abc-char`` and ``abc-tokens`` compare on one scale.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from tunesmith import models
from tunesmith.config import Config
from tunesmith.training.checkpoint_io import add_checksum
from tunesmith.training.optim import make_optimizer, make_schedule


def step_seed(seed: int, step: int, rank: int) -> int:
    """A seed for one optimisation step, so dropout masks depend on (seed, step, rank) alone.

    Re-seeding every step is what makes a resumed run bit-identical to an uninterrupted
    one: no random-number state needs to survive the kill.
    """
    return (seed * 1_000_003 + step * 8191 + rank * 131) % (2**63 - 1)


class TokenLM(L.LightningModule):
    def __init__(self, config: Config, vocab_size: int, char_counts: np.ndarray | None = None):
        super().__init__()
        self.config, self.vocab_size = config, vocab_size
        self.model = models.build(config.model.name, vocab_size, **config.model.hyper())
        # Kept out of the module tree (a plain attribute), so checkpoints hold the plain weights.
        self.__dict__["_run"] = torch.compile(self.model) if config.train.compile else self.model
        # loss × tokens, correct, tokens, characters the targets stand for (tokens, where they are not text)
        self.sums = {"train": torch.zeros(4, dtype=torch.float64), "val": torch.zeros(4, dtype=torch.float64)}
        self.__dict__["_chars"] = None if char_counts is None else torch.as_tensor(char_counts, dtype=torch.float64)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self._run(tokens)[0]

    def _loss(self, batch: tuple[torch.Tensor, torch.Tensor], split: str) -> torch.Tensor:
        inputs, targets = batch
        logits = self(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1))
        with torch.no_grad():
            n = targets.numel()
            correct = (logits.argmax(-1) == targets).sum()
            chars = float(n) if self._chars is None else float(self._chars[targets.reshape(-1).cpu()].sum())
            row = torch.tensor([float(loss.detach()) * n, float(correct), float(n), chars], dtype=torch.float64)
            self.sums[split] += row
        return loss

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        torch.manual_seed(step_seed(self.config.train.seed, self.global_step, self.global_rank))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch, "train")
        self.log("loss", loss, prog_bar=True, on_step=True, on_epoch=False)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._loss(batch, "val")

    def on_validation_epoch_start(self) -> None:
        self.sums["val"].zero_()

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        metrics = self.reduce("val")
        if metrics:
            self.log_dict({f"val_{k}": v for k, v in metrics.items()}, prog_bar=True, sync_dist=False)

    def reduce(self, split: str, reset: bool = False) -> dict[str, float]:
        """Loss (nats/token), bits per character (per token where tokens are not text) and accuracy over all
        ranks, from exact sums."""
        total = self.trainer.strategy.reduce(self.sums[split].clone().to(self.device), reduce_op="sum")
        if reset:
            self.sums[split].zero_()
        loss_sum, correct, n, chars = (float(v) for v in total.cpu())
        if n == 0:
            return {}
        return {"loss": loss_sum / n, "bpc": loss_sum / chars / math.log(2), "acc": correct / n}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["tunesmith"] = {"train_sums": self.sums["train"].tolist(), "config": self.config.to_dict()}
        # Lightning calls this hook last, just before writing: the checksum covers everything in the file
        if self._trainer is None or self.trainer.is_global_zero:
            add_checksum(checkpoint)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get("tunesmith", {})
        if "train_sums" in saved:  # non-zero only for a checkpoint taken mid-epoch
            sums = list(saved["train_sums"])
            sums += sums[2:3] * (4 - len(sums))  # a checkpoint from before character counts: tokens were characters
            self.sums["train"] = torch.tensor(sums[:4], dtype=torch.float64)

    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch. (Lightning's ``estimated_stepping_batches`` would load the
        train loader before a checkpoint's loader state is restored, which breaks exact resume.)"""
        datamodule = self._trainer.datamodule if self._trainer is not None else None
        loader = getattr(datamodule, "train", None)
        if loader is None:
            return 1
        limit = self.config.train.limit_train_batches
        return min(len(loader), limit) if limit else len(loader)

    def configure_optimizers(self) -> Any:
        t = self.config.train
        optimizer = make_optimizer(self.model.parameters(), t)
        total = t.max_epochs * self.steps_per_epoch()
        total = min(total, t.max_steps) if t.max_steps else total  # a schedule ends where the run does
        schedule = make_schedule(optimizer, t, total)
        return optimizer if schedule is None else {"optimizer": optimizer, "lr_scheduler": schedule}
