"""``tunesmith train``: start a run, or resume it when the same command is run again."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from tunesmith import media
from tunesmith.config import BUDGET_KEYS, Config, apply_overrides, differences, load_preset, read_config, save_config
from tunesmith.data import PreparedData
from tunesmith.errors import TunesmithError
from tunesmith.sampling import SampleSettings
from tunesmith.training.checkpoint_io import load_checkpoint

MAX_MINUTES = 7 * 24 * 60


@dataclass
class TrainResult:
    run: Path
    resumed_from_step: int | None
    global_step: int
    epochs: float  # steps done, in epochs (2.5 = half-way through the third)
    state: str  # "finished", "stopped early", "time budget reached", "already stopped early"
    best_val_loss: float | None
    seconds: float


def is_rank_zero() -> bool:
    """False in the extra processes of a multi-process run (they re-run this command)."""
    for name in ("RANK", "SLURM_PROCID"):  # torchrun, SLURM
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name]) == 0
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"  # Lightning


def resolve_config(preset: str, overrides: list[str], max_minutes: float | None) -> Config:
    config = load_preset(preset)
    extra = list(overrides)
    if max_minutes is not None:
        if not 0 < max_minutes <= MAX_MINUTES:
            raise TunesmithError(f"--max-minutes {max_minutes} must be above 0 and at most {MAX_MINUTES}")
        extra.append(f"train.max_minutes={max_minutes}")
    return apply_overrides(config, extra)


def _merge_with_saved(run: Path, config: Config) -> Config:
    """On an existing run, keep its recipe; only budget settings may change."""
    saved = read_config(run / "config.yaml")
    changed = [k for k in differences(saved, config) if k not in BUDGET_KEYS]
    if saved.preset != config.preset:
        changed.insert(0, f"preset ({saved.preset} → {config.preset})")
    if changed:
        raise TunesmithError(
            f"run {run} was started with different settings ({', '.join(changed)}); "
            "re-run the same command to resume it, or choose a new --run folder"
        )
    for key in BUDGET_KEYS:
        section, name = key.split(".")
        setattr(getattr(saved, section), name, getattr(getattr(config, section), name))
    return saved


def epoch_sample_folders(run: Path) -> list[Path]:
    """The run's ``samples/epoch_NNN`` folders (written by in-training sampling), newest first by number."""
    folders = (p for p in (run / "samples").glob("epoch_*") if re.fullmatch(r"epoch_\d{1,6}", p.name))
    return sorted(folders, key=lambda p: int(p.name[6:]), reverse=True)


def _sample_writer(run: Path, data: PreparedData, config: Config) -> Any:
    """What a run writes to ``samples/epoch_NNN`` after an epoch: the medium's in-training samples."""
    medium = media.of(data.representation)

    def write(model: nn.Module, epoch: int) -> None:
        t = config.train
        settings = SampleSettings(num=t.sample_count, max_length=t.sample_max_length, seed=t.seed + epoch)
        medium.training_samples(model, data, config, settings, run / "samples" / f"epoch_{epoch:03d}", epoch)

    return write


def train(
    preset: str,
    data_dir: Path | str,
    run: Path | str,
    *,
    overrides: list[str] | None = None,
    max_minutes: float | None = None,
    hardware: Any = None,
    progress: bool = True,
) -> TrainResult:
    from tunesmith.training.trainer import Hardware, fit

    started = time.perf_counter()
    run, data = Path(run), PreparedData.open(data_dir)
    config = resolve_config(preset, overrides or [], max_minutes)
    if data.meta.get("representation") != config.data.representation:
        raise TunesmithError(
            f"preset {config.preset} reads '{config.data.representation}' but {data.folder} holds "
            f"'{data.meta.get('representation')}'"
        )
    if config.data.transpose and not data.representation.can_transpose:  # only frames that declare it shift
        raise TunesmithError(
            "data.transpose shifts piano-roll windows; for token data use 'tunesmith prepare --transpose N'"
        )
    rep_json = json.dumps(data.representation.to_json(), indent=1)
    resume_from: Path | None = None
    resumed_step: int | None = None
    if (run / "config.yaml").is_file():
        config = _merge_with_saved(run, config)
        saved_rep = run / "representation.json"
        if saved_rep.is_file() and json.loads(saved_rep.read_text()) != json.loads(rep_json):
            raise TunesmithError(f"run {run} was trained on a different vocabulary than {data.folder}")
        last = run / "checkpoints" / "last.ckpt"
        if last.is_file():
            checkpoint = load_checkpoint(last)  # a damaged file is named here, before Lightning sees it
            resume_from, resumed_step = last, int(checkpoint.get("global_step", 0))
            del checkpoint
        status = _read_status(run)
        if status.get("state") == "stopped early" and status.get("patience") == config.train.patience:
            return TrainResult(
                run,
                resumed_step,
                status.get("global_step", 0),
                status.get("epochs", 0.0),
                "already stopped early",
                status.get("best_val_loss"),
                0.0,
            )
    elif run.exists() and any(run.iterdir()):
        raise TunesmithError(f"{run} exists and is not a tunesmith run (no config.yaml); choose another --run")
    if is_rank_zero():
        run.mkdir(parents=True, exist_ok=True)
        save_config(config, run / "config.yaml")
        (run / "representation.json").write_text(rep_json)
        (run / "data.json").write_text(json.dumps({"data": str(data.folder.resolve()), **data.meta}, indent=2))

    try:
        result = fit(
            config,
            data,
            run,
            resume_from=resume_from,
            hardware=hardware or Hardware(),
            progress=progress,
            write_samples=_sample_writer(run, data, config),
        )
    except TunesmithError:
        if resume_from is None and is_rank_zero():
            _forget_new_run(run)  # a run that never started must not pin its bad settings
        raise
    if result.stopped_early:
        state = "stopped early"
    elif result.epoch >= config.train.max_epochs:
        state = "finished"
    else:
        state = "time budget reached"
    if is_rank_zero():
        status = {
            "state": state,
            "global_step": result.global_step,
            "epoch": result.epoch,
            "epochs": round(result.epochs, 3),
            "best_val_loss": result.best_val_loss,
            "patience": config.train.patience,
        }
        (run / "status.json").write_text(json.dumps(status, indent=2))
    return TrainResult(
        run, resumed_step, result.global_step, result.epochs, state, result.best_val_loss, time.perf_counter() - started
    )


def _forget_new_run(run: Path) -> None:
    if (run / "checkpoints" / "last.ckpt").exists():
        return
    for name in ("config.yaml", "representation.json", "data.json"):
        (run / name).unlink(missing_ok=True)
    shutil.rmtree(run / "tensorboard", ignore_errors=True)
    if run.is_dir() and not any(run.iterdir()):
        run.rmdir()


def _read_status(run: Path) -> dict[str, Any]:
    try:
        return json.loads((run / "status.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}
