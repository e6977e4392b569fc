"""What a run will do, known before Lightning is imported: the hardware, each process's loaders, an
epoch's length and the validation schedule. ``train`` says all of it in its first line, before the
slow part of starting (importing Lightning, setting it up, the first step) begins."""

from __future__ import annotations

import math
import platform
from dataclasses import dataclass
from typing import Any

from tunesmith.config import Config
from tunesmith.data import PreparedData
from tunesmith.data.windows import WindowLoader, WindowSampler, piece_starts
from tunesmith.errors import TunesmithError


@dataclass
class Hardware:
    """What Lightning runs on; passed straight through from the command line."""

    accelerator: str = "auto"
    devices: str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"

    def devices_arg(self) -> int | str:
        return int(self.devices) if self.devices.isdigit() else self.devices

    def expected_world_size(self) -> int:
        """The processes Lightning will start, as far as can be told without it: ``auto`` takes every GPU."""
        if self.devices.isdigit():
            return max(int(self.devices), 1) * self.num_nodes
        import torch

        gpus = torch.cuda.device_count() if self.accelerator in ("auto", "gpu", "cuda") else 0
        return max(gpus, 1) * self.num_nodes


def make_loaders(config: Config, data: PreparedData, rank: int = 0, world: int = 1) -> tuple[Any, Any]:
    """The train and validation loaders of one process: token windows, or frame windows."""
    d = config.data
    if data.representation.kind == "frames":
        from tunesmith.data.frames import frame_loaders

        return frame_loaders(
            data,
            seq_len=d.seq_len,
            batch_size=d.batch_size,
            seed=config.train.seed,
            transpose=d.transpose,
            rank=rank,
            world_size=world,
            windows=d.windows,
            shift=d.shift,
        )
    streams = {split: data.stream(split) for split in ("train", "val")}
    starts = {
        split: piece_starts(data.offsets(split), d.seq_len, stream.size) if d.windows == "piece" else None
        for split, stream in streams.items()
    }
    for split, stream in streams.items():
        if (stream.size < 2 * d.seq_len) if starts[split] is None else not starts[split].size:
            need = f" (it needs {2 * d.seq_len:,} at least)" if starts[split] is None else ""
            raise TunesmithError(
                f"the {split} split of {data.folder} has {stream.size} tokens, too few for windows of "
                f"data.seq_len = {d.seq_len}{need}; prepare more music or lower data.seq_len"
            )
    train = WindowSampler(
        streams["train"].size,
        d.seq_len,
        d.batch_size,
        shuffle=True,
        seed=config.train.seed,
        rank=rank,
        world_size=world,
        starts=starts["train"],
        shift=d.shift if d.windows == "shifted" else 0,
    )
    val = WindowSampler(
        streams["val"].size, d.seq_len, d.batch_size, shuffle=False, rank=rank, world_size=world, starts=starts["val"]
    )
    if len(train) == 0 or len(val) == 0:
        raise TunesmithError(f"{data.folder} is too small to give each of {world} processes a batch")
    return WindowLoader(streams["train"], train), WindowLoader(streams["val"], val)


def batches_per_epoch(config: Config, train_loader: Any) -> int:
    """Optimizer steps in one epoch of one process (``train.limit_train_batches`` caps it)."""
    limit = config.train.limit_train_batches
    return min(len(train_loader), limit) if limit else len(train_loader)


def validation_interval(per_epoch: int, every: int) -> int | float:
    """Lightning's ``val_check_interval`` for "every ``every`` batches, and at least once an epoch".

    An epoch shorter than ``every`` (a small corpus) validates at its end (1.0), so best.ckpt and early
    stopping work; a longer one is split into equal parts of at most ``every`` batches, the last ending
    at (or within a few batches of) the epoch's end.
    """
    if not every or every >= per_epoch:
        return 1.0
    return per_epoch // math.ceil(per_epoch / every)


def describe_validation(interval: int | float) -> str:
    return f"validating every {interval} batches" if isinstance(interval, int) else "validating at each epoch end"


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` where there is one): a figure's machine, for cards and benchmarks."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return cpu
