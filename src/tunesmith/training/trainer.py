"""Assemble loaders, module, callbacks and the Lightning Trainer for one run directory."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.loggers import TensorBoardLogger

from tunesmith import models
from tunesmith.config import Config, TrainConfig
from tunesmith.data import PreparedData
from tunesmith.errors import TunesmithError
from tunesmith.training.budget import RunControl, print_line, stop_on_interrupt
from tunesmith.training.callbacks import EpochReport, FullValidationEarlyStopping, PeriodicSamples, RunCheckpoint
from tunesmith.training.deadline import Deadline
from tunesmith.training.module import TokenLM
from tunesmith.training.plan import Hardware, batches_per_epoch, describe_validation, make_loaders, validation_interval

__all__ = ["FitResult", "Hardware", "fit"]


@dataclass
class FitResult:
    global_step: int
    epoch: int
    epochs: float  # optimizer steps as a number of epochs: 2.5 means half-way through the third
    stopped_early: bool
    best_val_loss: float | None
    stop_reason: str | None = None  # "step budget", "time budget" or "interrupted" when RunControl stopped the run
    validation_cuts: list[tuple[int, int]] = field(default_factory=list)  # (batches run, of) per cut validation
    extra: dict[str, Any] = field(default_factory=dict)


class WindowData(L.LightningDataModule):
    """Loaders built in ``setup``, once each process knows its rank and the world size (or earlier by ``fit``)."""

    def __init__(self, config: Config, data: PreparedData):
        super().__init__()
        self.config, self.data = config, data
        self.train: Any = None
        self.val: Any = None
        self.control: RunControl | None = None  # cuts validation to the time budget when set

    def setup(self, stage: str) -> None:
        self.build(self.trainer.global_rank, self.trainer.world_size)

    def build(self, rank: int, world: int) -> None:
        if self.train is None:
            self.train, self.val = make_loaders(self.config, self.data, rank, world)

    def train_dataloader(self) -> Any:
        return self.train

    def val_dataloader(self) -> Any:
        return self.val if self.control is None else self.control.wrap_validation(self.val)


def fit(
    config: Config,
    data: PreparedData,
    run_dir: Path,
    *,
    resume_from: Path | None,
    hardware: Hardware,
    progress: bool = True,
    write_samples: Callable[[torch.nn.Module, int], None] | None = None,
    deadline: Deadline | None = None,
    echo: Callable[[str], None] = print_line,
    init_weights: dict[str, torch.Tensor] | None = None,
) -> FitResult:
    """Train (or resume) one run until its epochs are done, early stopping, ``deadline`` or Ctrl-C.

    ``init_weights`` (``train --init``, checked against the model's shapes beforehand) replace the new
    model's random ones; the optimiser and schedule start fresh. A resumed run ignores them."""
    t = config.train
    for name in ("lightning.pytorch", "lightning.fabric"):  # keep the console for our own lines
        logging.getLogger(name).setLevel(logging.WARNING)
    L.seed_everything(t.seed, workers=True, verbose=False)
    control = RunControl(deadline, val_limit=t.limit_val_batches, echo=echo, max_steps=t.max_steps)
    callbacks: list[Any] = [control, EpochReport(run_dir / "metrics.csv", echo=not progress)]
    if write_samples is not None and t.sample_every:
        callbacks.append(PeriodicSamples(t.sample_every, write_samples, control))
    early = (
        FullValidationEarlyStopping(
            control, monitor="val_loss", patience=t.patience, mode="min", check_on_train_epoch_end=False
        )
        if t.patience
        else None
    )
    if early is not None:
        callbacks.append(early)
    checkpoints = RunCheckpoint(run_dir / "checkpoints", t.checkpoint_minutes, control)
    callbacks.append(checkpoints)

    try:
        trainer = _trainer(t, run_dir, hardware, callbacks, progress)
    except (MisconfigurationException, ValueError, RuntimeError, ImportError) as exc:  # e.g. gpu on a CPU
        raise TunesmithError(f"cannot set up training: {str(exc).splitlines()[0]}") from None
    module, datamodule = _module_and_data(config, data)
    if init_weights is not None and resume_from is None:
        module.model.load_state_dict(init_weights, strict=True)
    datamodule.build(trainer.global_rank, trainer.world_size)
    datamodule.control = control
    control.probe = lambda: step_probe(config, module, data.representation.kind == "frames")
    per_epoch = batches_per_epoch(config, datamodule.train)
    trainer.val_check_interval = validation_interval(per_epoch, t.val_every_batches)
    if trainer.is_global_zero and trainer.world_size != hardware.expected_world_size():  # train's first line
        every = describe_validation(trainer.val_check_interval)  # counted for another number of processes
        echo(f"{trainer.world_size} processes: {per_epoch:,} batches an epoch each, {every}")
    with stop_on_interrupt(control), warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*The number of training batches.*")
        warnings.filterwarnings("ignore", ".*val_check_interval.*")
        warnings.filterwarnings("ignore", ".*LeafSpec.*")
        warnings.filterwarnings("ignore", ".*callbacks used to create the checkpoint.*")  # Timer, before RunControl
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from)
    stopped_early = bool(early is not None and early.stopped_epoch > 0)
    per_epoch = trainer.num_training_batches if trainer.num_training_batches not in (0, float("inf")) else 1
    return FitResult(
        trainer.global_step,
        trainer.current_epoch,
        trainer.global_step / per_epoch,
        stopped_early,
        checkpoints.best,
        control.stop_reason,
        [(c.done, c.total) for c in control.cuts],
    )


def step_probe(config: Config, module: L.LightningModule, frames: bool) -> tuple[float, float]:
    """Seconds one training step and one validation batch will take, guessed before the first batch from a
    forward pass over an eighth of each window (the whole window for fixed-size models), without gradients
    and in eval mode, so neither the weights nor any running statistics change (exact resume holds).

    A step is about three forward passes (forward and backward). The guess only stands in until the first
    batch and the first validation are measured."""
    d, model = config.data, module.model
    length = d.seq_len if models.is_autoencoder(config.model.name) else max(min(d.seq_len, 8), d.seq_len // 8)
    device = module.device
    if frames:
        inputs = torch.zeros(d.batch_size, length, module.frame_dim, device=device)
    else:
        inputs = torch.zeros(d.batch_size, length, dtype=torch.long, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for _ in range(2):  # the first call pays one-off costs (thread pools, allocations): time the second
                started = time.monotonic()
                model(inputs)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                forward = (time.monotonic() - started) * d.seq_len / length
    except (RuntimeError, ValueError):  # a model that cannot take the short window: no guess
        return 0.0, 0.0
    finally:
        model.train(was_training)
    return 3 * forward, forward


def _module_and_data(config: Config, data: PreparedData) -> tuple[L.LightningModule, L.LightningDataModule]:
    """The module and loaders for the data's kind: token windows, or frame windows (``frame_module``)."""
    if data.representation.kind == "frames":
        from tunesmith.training.frame_module import module_and_data

        return module_and_data(config, data)
    if config.model.name in models.FRAME_REGISTRY:
        raise TunesmithError(f"model '{config.model.name}' reads frames, but {data.folder} holds tokens")
    rep = data.representation
    return TokenLM(config, rep.vocab_size, rep.char_counts()), WindowData(config, data)


def _trainer(t: TrainConfig, run_dir: Path, hardware: Hardware, callbacks: list[Any], progress: bool) -> L.Trainer:
    # No max_time: RunControl keeps the budget (Lightning's counts from the first batch and then runs a
    # whole validation past it). Validation runs at each epoch end until fit sets the batch interval.
    return L.Trainer(
        default_root_dir=run_dir,
        accelerator=hardware.accelerator,
        devices=hardware.devices_arg(),
        num_nodes=hardware.num_nodes,
        strategy=hardware.strategy,
        precision=t.precision,
        max_epochs=t.max_epochs,
        gradient_clip_val=t.grad_clip or None,
        limit_train_batches=t.limit_train_batches or 1.0,
        limit_val_batches=t.limit_val_batches or 1.0,
        check_val_every_n_epoch=1,
        num_sanity_val_steps=0,
        logger=TensorBoardLogger(run_dir, name="tensorboard", version=""),
        callbacks=callbacks,
        enable_checkpointing=True,
        enable_progress_bar=progress,
        enable_model_summary=False,
        use_distributed_sampler=False,
        log_every_n_steps=10,
    )
