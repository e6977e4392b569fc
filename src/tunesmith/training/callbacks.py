"""Callbacks that make a run directory trustworthy: atomic checkpoints, metrics, samples."""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, Checkpoint

CSV_FIELDS = [
    "epoch",
    "step",
    "train_loss",
    "train_bpc",
    "train_acc",
    "val_loss",
    "val_bpc",
    "val_acc",
    "lr",
    "seconds",
]
TOKEN_METRICS = ("loss", "bpc", "acc")


def csv_fields(metrics: tuple[str, ...]) -> list[str]:
    """The columns of ``metrics.csv`` for a module's metric names (``CSV_FIELDS`` for token models)."""
    return ["epoch", "step", *(f"{s}_{k}" for s in ("train", "val") for k in metrics), "lr", "seconds"]


def epoch_complete(trainer: L.Trainer) -> bool:
    """True at the end of a whole epoch, False when training stopped part-way through one."""
    return trainer.fit_loop.epoch_loop.batch_progress.current.ready >= trainer.num_training_batches


class RunCheckpoint(Checkpoint):
    """``last.ckpt`` at every epoch end, every ``every_minutes`` and at the end; ``best.ckpt`` by val loss.

    Files are written to a temporary name and renamed, so a process killed mid-write
    leaves the previous checkpoint intact: a kill loses at most the work since the last save.
    """

    def __init__(self, folder: Path, every_minutes: float):
        self.folder, self.every = Path(folder), every_minutes * 60.0
        self.best: float | None = None
        self._last_save = time.monotonic()
        self._saved_step = -1

    @property
    def state_key(self) -> str:
        return "RunCheckpoint"

    def _save(self, trainer: L.Trainer, name: str) -> None:
        final = self.folder / name
        tmp = final.with_suffix(".ckpt.tmp")
        if trainer.is_global_zero:
            self.folder.mkdir(parents=True, exist_ok=True)
        trainer.save_checkpoint(tmp, weights_only=False)
        if trainer.is_global_zero:
            os.replace(tmp, final)
        trainer.strategy.barrier("tunesmith_checkpoint")

    def save_last(self, trainer: L.Trainer) -> None:
        self._save(trainer, "last.ckpt")
        self._last_save, self._saved_step = time.monotonic(), trainer.global_step

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._last_save, self._saved_step = time.monotonic(), trainer.global_step

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        # Also save when training is about to stop mid-epoch (time budget): a batch-end checkpoint
        # resumes at the next batch, exactly as if the run had never stopped.
        due = time.monotonic() - self._last_save >= self.every or trainer.should_stop
        if trainer.strategy.broadcast(due):
            self.save_last(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or "val_loss" not in trainer.callback_metrics:
            return
        loss = float(trainer.callback_metrics["val_loss"])
        if self.best is None or loss < self.best:
            self.best = loss
            self._save(trainer, "best.ckpt")
        if self._saved_step == trainer.global_step:
            # last.ckpt was written at this step, before this validation (Lightning validates after
            # a time-budget stop): save it again so its best score and early-stopping state are current.
            self.save_last(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if epoch_complete(trainer):  # a cut-short epoch was saved at its last batch instead
            self.save_last(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_step != self._saved_step:
            self.save_last(trainer)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state.get("best")


class EpochReport(Callback):
    """One row per epoch in ``metrics.csv`` (and TensorBoard), plus a line on the console.

    The columns follow the module's ``metric_names`` (loss, bpc, acc for token models; loss,
    precision, recall, f1, onset_f1 for piano rolls), so each kind of run gets its own figures.
    """

    def __init__(self, path: Path, echo: bool = True):
        self.path, self.echo = Path(path), echo
        self._start = time.monotonic()
        self.metrics, self.fields = TOKEN_METRICS, CSV_FIELDS

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.monotonic()
        self.metrics = tuple(getattr(pl_module, "metric_names", TOKEN_METRICS))
        self.fields = csv_fields(self.metrics)
        if not trainer.is_global_zero:
            return
        rows = []
        if self.path.is_file():  # after a resume, drop rows of epochs that will run again
            with self.path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["epoch"]) < trainer.current_epoch]
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, self.fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        train = pl_module.reduce("train", reset=True)
        val = {k[4:]: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val_")}
        lr = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else 0.0
        row = {
            "epoch": trainer.current_epoch,
            "step": trainer.global_step,
            "lr": f"{lr:.6g}",
            "seconds": f"{time.monotonic() - self._start:.1f}",
        }
        for split, values in (("train", train), ("val", val)):
            for key in self.metrics:
                row[f"{split}_{key}"] = f"{values[key]:.5f}" if key in values else ""
        if not trainer.is_global_zero:
            return
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, self.fields).writerow(row)
        if trainer.logger is not None:
            numbers = {f"epoch/{s}_{k}": v for s, d in (("train", train), ("val", val)) for k, v in d.items()}
            trainer.logger.log_metrics(numbers, step=trainer.global_step)
        if self.echo:
            parts = [f"epoch {row['epoch']:>3}", f"step {row['step']:>6}"]
            if "bpc" in self.metrics:
                parts += [
                    f"{s} {row[f'{s}_bpc']} bpc {row[f'{s}_acc']} acc" for s in ("train", "val") if row[f"{s}_bpc"]
                ]
            else:
                shown = [k for k in ("loss", "f1", "onset_f1") if k in self.metrics]
                parts += [
                    " ".join([s] + [f"{k} {row[f'{s}_{k}']}" for k in shown])
                    for s in ("train", "val")
                    if row[f"{s}_loss"]
                ]
            print("  ".join(parts) + f"  ({row['seconds']} s)", flush=True)


class PeriodicSamples(Callback):
    """Every ``every`` completed epochs, hand the model to ``write(model, epoch)`` (rank zero only)."""

    def __init__(self, every: int, write: Callable[[torch.nn.Module, int], None]):
        self.every, self.write = every, write

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        due = self.every and (trainer.current_epoch + 1) % self.every == 0
        if not (due and epoch_complete(trainer) and trainer.is_global_zero):
            return
        model = pl_module.model
        was_training = model.training
        model.eval()
        try:
            self.write(model, trainer.current_epoch + 1)
        finally:
            model.train(was_training)
