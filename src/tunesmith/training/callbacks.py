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
from lightning.pytorch.callbacks import Callback, Checkpoint, EarlyStopping

from tunesmith.training.budget import RunControl
from tunesmith.training.checkpoint_io import fsync_dir, fsync_file

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

    Files are written to a temporary name, flushed to the disk (fsync) and renamed, and the rename is
    flushed too, so a process killed or a machine losing power mid-write leaves the previous checkpoint
    intact: a kill loses at most the work since the last save. Each file carries a checksum (added by
    the module, :func:`~tunesmith.training.checkpoint_io.add_checksum`) that every reader verifies.

    A validation cut short by the time budget (``control``) is scored on part of the split, so it
    replaces ``best.ckpt`` only when there is no best yet.
    """

    def __init__(self, folder: Path, every_minutes: float, control: RunControl | None = None):
        self.folder, self.every = Path(folder), every_minutes * 60.0
        self.control = control
        self.best: float | None = None
        self._last_save = time.monotonic()
        self._saved_step = -1

    @property
    def state_key(self) -> str:
        return "RunCheckpoint"

    def _save(self, trainer: L.Trainer, name: str) -> None:
        started = time.monotonic()
        final = self.folder / name
        tmp = final.with_suffix(".ckpt.tmp")
        if trainer.is_global_zero:
            self.folder.mkdir(parents=True, exist_ok=True)
        trainer.save_checkpoint(tmp, weights_only=False)
        if trainer.is_global_zero:
            fsync_file(tmp)  # the bytes are on the disk before the name points at them
            os.replace(tmp, final)
            fsync_dir(self.folder)  # and the rename itself survives a power cut
        trainer.strategy.barrier("tunesmith_checkpoint")
        if self.control is not None:
            self.control.checkpoint_took(time.monotonic() - started)

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
        cut = self.control is not None and self.control.last_cut is not None
        if self.best is None or (loss < self.best and not cut):
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
    """Every ``every`` completed epochs, hand the model to ``write(model, epoch)`` (rank zero only).

    With a time budget (``control``), a round that would not fit before the run must end is skipped,
    and the console says so."""

    def __init__(self, every: int, write: Callable[[torch.nn.Module, int], None], control: RunControl | None = None):
        self.every, self.write, self.control = every, write, control

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        due = self.every and (trainer.current_epoch + 1) % self.every == 0
        if not (due and epoch_complete(trainer) and trainer.is_global_zero):
            return
        epoch = trainer.current_epoch + 1
        if self.control is not None and not self.control.samples_fit(trainer):
            if not self.control.interrupted:
                self.control.echo(f"samples of epoch {epoch} skipped: they would not fit in the time budget")
            return
        started = time.monotonic()
        model = pl_module.model
        was_training = model.training
        model.eval()
        try:
            self.write(model, epoch)
        finally:
            model.train(was_training)
        if self.control is not None:
            self.control.samples_took(time.monotonic() - started)


class FullValidationEarlyStopping(EarlyStopping):
    """Early stopping that ignores a validation the time budget cut short (a part of the split is not
    comparable with the whole): the run ends right after such a validation anyway, and a resumed run
    must not carry a best score from it."""

    def __init__(self, control: RunControl | None, **kwargs: Any):
        super().__init__(**kwargs)
        self.control = control

    @property
    def state_key(self) -> str:  # the name checkpoints already use for Lightning's own EarlyStopping
        return "EarlyStopping" + repr({"monitor": self.monitor, "mode": self.mode})

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.control is not None and self.control.last_cut is not None:
            return
        super().on_validation_end(trainer, pl_module)
