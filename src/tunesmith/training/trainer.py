"""Assemble loaders, module, callbacks and the Lightning Trainer for one run directory."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.loggers import TensorBoardLogger

from tunesmith import models
from tunesmith.config import Config, TrainConfig
from tunesmith.data import PreparedData
from tunesmith.data.windows import WindowLoader, WindowSampler, piece_starts
from tunesmith.errors import TunesmithError
from tunesmith.training.callbacks import EpochReport, PeriodicSamples, RunCheckpoint
from tunesmith.training.module import TokenLM


@dataclass
class Hardware:
    """What Lightning runs on; passed straight through from the command line."""

    accelerator: str = "auto"
    devices: str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"

    def devices_arg(self) -> int | str:
        return int(self.devices) if self.devices.isdigit() else self.devices


@dataclass
class FitResult:
    global_step: int
    epoch: int
    epochs: float  # optimizer steps as a number of epochs: 2.5 means half-way through the third
    stopped_early: bool
    best_val_loss: float | None
    extra: dict[str, Any] = field(default_factory=dict)


class WindowData(L.LightningDataModule):
    """Loaders built in ``setup``, once each process knows its rank and the world size."""

    def __init__(self, config: Config, data: PreparedData):
        super().__init__()
        self.config, self.data = config, data
        self.train: WindowLoader | None = None
        self.val: WindowLoader | None = None

    def setup(self, stage: str) -> None:
        if self.train is not None:
            return
        d, data = self.config.data, self.data
        rank, world = self.trainer.global_rank, self.trainer.world_size
        streams = {split: data.stream(split) for split in ("train", "val")}
        starts = {
            split: piece_starts(data.offsets(split), d.seq_len, stream.size) if d.windows == "piece" else None
            for split, stream in streams.items()
        }
        for split, stream in streams.items():
            if (stream.size < 2 * d.seq_len) if starts[split] is None else not starts[split].size:
                raise TunesmithError(
                    f"the {split} split of {data.folder} has {stream.size} tokens, too few for windows of "
                    f"data.seq_len = {d.seq_len}; prepare more music or lower data.seq_len"
                )
        seed = self.config.train.seed
        train = WindowSampler(
            streams["train"].size,
            d.seq_len,
            d.batch_size,
            shuffle=True,
            seed=seed,
            rank=rank,
            world_size=world,
            starts=starts["train"],
            shift=d.shift if d.windows == "shifted" else 0,
        )
        val = WindowSampler(
            streams["val"].size,
            d.seq_len,
            d.batch_size,
            shuffle=False,
            rank=rank,
            world_size=world,
            starts=starts["val"],
        )
        if len(train) == 0 or len(val) == 0:
            raise TunesmithError(f"{data.folder} is too small to give each of {world} processes a batch")
        self.train, self.val = WindowLoader(streams["train"], train), WindowLoader(streams["val"], val)

    def train_dataloader(self) -> WindowLoader:
        return self.train

    def val_dataloader(self) -> WindowLoader:
        return self.val


def fit(
    config: Config,
    data: PreparedData,
    run_dir: Path,
    *,
    resume_from: Path | None,
    hardware: Hardware,
    progress: bool = True,
    write_samples: Callable[[torch.nn.Module, int], None] | None = None,
) -> FitResult:
    t = config.train
    for name in ("lightning.pytorch", "lightning.fabric"):  # keep the console for our own lines
        logging.getLogger(name).setLevel(logging.WARNING)
    L.seed_everything(t.seed, workers=True, verbose=False)
    callbacks: list[Any] = [EpochReport(run_dir / "metrics.csv", echo=not progress)]
    if write_samples is not None and t.sample_every:
        callbacks.append(PeriodicSamples(t.sample_every, write_samples))
    early = (
        EarlyStopping("val_loss", patience=t.patience, mode="min", check_on_train_epoch_end=False)
        if t.patience
        else None
    )
    if early is not None:
        callbacks.append(early)
    checkpoints = RunCheckpoint(run_dir / "checkpoints", t.checkpoint_minutes)
    callbacks.append(checkpoints)

    val_every = t.val_every_batches or None
    try:
        trainer = _trainer(t, run_dir, hardware, callbacks, progress, val_every)
    except (MisconfigurationException, ValueError, RuntimeError, ImportError) as exc:  # e.g. gpu on a CPU
        raise TunesmithError(f"cannot set up training: {str(exc).splitlines()[0]}") from None
    module, datamodule = _module_and_data(config, data)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*The number of training batches.*")
        warnings.filterwarnings("ignore", ".*val_check_interval.*")
        warnings.filterwarnings("ignore", ".*LeafSpec.*")
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from)
    stopped_early = bool(early is not None and early.stopped_epoch > 0)
    per_epoch = trainer.num_training_batches if trainer.num_training_batches not in (0, float("inf")) else 1
    return FitResult(
        trainer.global_step, trainer.current_epoch, trainer.global_step / per_epoch, stopped_early, checkpoints.best
    )


def _module_and_data(config: Config, data: PreparedData) -> tuple[L.LightningModule, L.LightningDataModule]:
    """The module and loaders for the data's kind: token windows, or frame windows (``frame_module``)."""
    if data.representation.kind == "frames":
        from tunesmith.training.frame_module import module_and_data

        return module_and_data(config, data)
    if config.model.name in models.FRAME_REGISTRY:
        raise TunesmithError(f"model '{config.model.name}' reads frames, but {data.folder} holds tokens")
    return TokenLM(config, data.representation.vocab_size), WindowData(config, data)


def _trainer(
    t: TrainConfig, run_dir: Path, hardware: Hardware, callbacks: list[Any], progress: bool, val_every: int | None
) -> L.Trainer:
    return L.Trainer(
        default_root_dir=run_dir,
        accelerator=hardware.accelerator,
        devices=hardware.devices_arg(),
        num_nodes=hardware.num_nodes,
        strategy=hardware.strategy,
        precision=t.precision,
        max_epochs=t.max_epochs,
        max_time=timedelta(minutes=t.max_minutes) if t.max_minutes else None,
        gradient_clip_val=t.grad_clip or None,
        limit_train_batches=t.limit_train_batches or 1.0,
        limit_val_batches=t.limit_val_batches or 1.0,
        val_check_interval=val_every,
        check_val_every_n_epoch=None if val_every else 1,
        num_sanity_val_steps=0,
        logger=TensorBoardLogger(run_dir, name="tensorboard", version=""),
        callbacks=callbacks,
        enable_checkpointing=True,
        enable_progress_bar=progress,
        enable_model_summary=False,
        use_distributed_sampler=False,
        log_every_n_steps=10,
    )
