"""``tunesmith train``: start a run, or resume it when the same command is run again."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from tunesmith import media
from tunesmith.bundle import model_size
from tunesmith.config import BUDGET_KEYS, Config, apply_overrides, differences, load_preset, read_config, save_config
from tunesmith.data import PreparedData
from tunesmith.errors import TunesmithError
from tunesmith.metrics.abc_corpus import PROFILE_FILE
from tunesmith.models.size import check_training, parameter_count
from tunesmith.pipeline.starting_point import starting_point
from tunesmith.sampling import SampleSettings
from tunesmith.training.checkpoint_io import load_checkpoint
from tunesmith.training.deadline import Deadline
from tunesmith.training.init import INIT_FILE, Start, check_resume, write_record
from tunesmith.untrusted import read_json

MAX_MINUTES = 7 * 24 * 60


@dataclass
class TrainResult:
    run: Path
    resumed_from_step: int | None
    global_step: int
    epochs: float  # steps done, in epochs (2.5 = half-way through the third)
    state: str  # "finished", "stopped early", "time budget reached", "interrupted", "already stopped early"
    best_val_loss: float | None
    seconds: float
    validation_cuts: list[tuple[int, int]] = field(default_factory=list)  # (batches run, of) per cut validation


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training in good order: the run is saved and the same command resumes it.

    A ``KeyboardInterrupt``, so a caller that does not know it (a sweep) stops as on any Ctrl-C."""

    def __init__(self, result: TrainResult):
        super().__init__(f"interrupted at step {result.global_step}")
        self.result = result

    @property
    def message(self) -> str:
        r = self.result
        return f"interrupted at step {r.global_step}; the run is saved in {r.run}; run the same command to resume"


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
    started: float | None = None,
    deadline: Deadline | None = None,
    echo: Callable[[str], None] | None = None,
    init: Path | str | None = None,
) -> TrainResult:
    """Train ``preset`` on ``data_dir`` into ``run``, or resume it.

    ``init`` (a run or bundle) starts a new run from that model's weights, with a fresh optimiser and schedule
    (:mod:`tunesmith.training.init`); the run records it in ``init.json`` and resumes from its own checkpoints.

    ``train.max_minutes`` (``max_minutes``) bounds everything from ``started`` (``time.monotonic()`` when the
    command began; now by default) to the end; ``deadline`` is an absolute limit for a caller with work of
    its own around training (the demo). Ctrl-C stops in good order and raises :class:`TrainingInterrupted`.
    """
    from tunesmith.training.plan import Hardware

    started = time.monotonic() if started is None else started
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
    existing = (run / "config.yaml").is_file()
    if existing:
        config = _merge_with_saved(run, config)
        saved_rep = run / "representation.json"
        if saved_rep.is_file() and read_json(saved_rep) != json.loads(rep_json):
            raise TunesmithError(f"run {run} was trained on a different vocabulary than {data.folder}")
    elif run.exists() and any(run.iterdir()):
        raise TunesmithError(f"{run} exists and is not a tunesmith run (no config.yaml); choose another --run")
    # the recipe's size is known: refuse one that cannot fit before a byte of it is allocated
    check_training(config, model_size(data.representation), "--set")
    resume_from: Path | None = None
    resumed_step: int | None = None
    if existing:
        resume_from, resumed_step = _resume_point(run)
        check_resume(run, init, resume_from is not None)
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
        if config.train.max_steps and resumed_step is not None and resumed_step >= config.train.max_steps:
            # its step budget is spent: Lightning is not even started (it would rewrite metrics.csv for nothing)
            epochs = status.get("epochs", 0.0)
            return TrainResult(run, resumed_step, resumed_step, epochs, "finished", status.get("best_val_loss"), 0.0)
    budget = Deadline.after(config.train.max_minutes, started) if config.train.max_minutes else None
    if deadline is not None:
        budget = deadline.earlier(budget)
    hardware = hardware or Hardware()
    echo = echo or _print_line
    start: Start | None = starting_point(init, config, data) if init is not None and resume_from is None else None
    if is_rank_zero():  # said before Lightning is even imported: the next line may be a minute away
        echo(_first_line(config, data, hardware, budget))
        if start is not None:
            r = start.record
            step = f"step {r['global_step']}" if r["global_step"] is not None else "step unknown"
            echo(f"starting from the weights of {r['kind']} {r['source']} ({step}); fresh optimiser and schedule")
    from tunesmith.training.trainer import fit

    if is_rank_zero():
        run.mkdir(parents=True, exist_ok=True)
        save_config(config, run / "config.yaml")
        (run / "representation.json").write_text(rep_json)
        (run / "data.json").write_text(json.dumps({"data": str(data.folder.resolve()), **data.meta}, indent=2))
        if (data.folder / PROFILE_FILE).is_file():  # what the model's tunes are held to, wherever it goes
            shutil.copyfile(data.folder / PROFILE_FILE, run / PROFILE_FILE)
        if start is not None:
            write_record(run, start.record)

    try:
        result = fit(
            config,
            data,
            run,
            resume_from=resume_from,
            hardware=hardware,
            progress=progress,
            write_samples=_sample_writer(run, data, config),
            deadline=budget,
            echo=echo,
            init_weights=start.weights if start is not None else None,
        )
    except TunesmithError:
        if resume_from is None and is_rank_zero():
            _forget_new_run(run)  # a run that never started must not pin its bad settings
        raise
    if result.stop_reason == "step budget":
        state = "finished"  # train.max_steps reached
    elif result.epochs >= config.train.max_epochs or result.epoch >= config.train.max_epochs and not result.stop_reason:
        state = "finished"  # (Lightning counts an epoch cut short by a stop as done: the steps say)
    elif result.stopped_early:
        state = "stopped early"
    elif result.stop_reason == "interrupted":
        state = "interrupted"
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
        if result.validation_cuts:
            status["validation_cuts"] = [list(cut) for cut in result.validation_cuts]
        tmp = run / "status.json.tmp"
        tmp.write_text(json.dumps(status, indent=2))
        os.replace(tmp, run / "status.json")
    trained = TrainResult(
        run,
        resumed_step,
        result.global_step,
        result.epochs,
        state,
        result.best_val_loss,
        time.monotonic() - started,
        result.validation_cuts,
    )
    if state == "interrupted":
        raise TrainingInterrupted(trained)
    return trained


def _print_line(text: str) -> None:
    print(text, flush=True)


def _first_line(config: Config, data: PreparedData, hardware: Any, budget: Deadline | None) -> str:
    """``training <preset> on <data>: <n> parameters, <n> batches an epoch, validating every <k>, budget <m> min``."""
    from tunesmith.training.plan import batches_per_epoch, describe_validation, make_loaders, validation_interval

    params = parameter_count(config.model.name, model_size(data.representation), config.model.hyper())
    world = hardware.expected_world_size()
    per_epoch = batches_per_epoch(config, make_loaders(config, data, 0, world)[0])
    every = describe_validation(validation_interval(per_epoch, config.train.val_every_batches))
    left = f", {max(budget.remaining(), 0):.0f} s left" if budget is not None else ""
    when = f"budget {budget.seconds / 60:.3g} min{left}" if budget is not None else "no time budget"
    when += f", {config.train.max_steps:,} steps at most" if config.train.max_steps else ""
    return (
        f"training {config.preset} on {data.folder}: {params:,} parameters, {per_epoch:,} batches an epoch, "
        f"{every}, {when}"
    )


def _resume_point(run: Path) -> tuple[Path | None, int | None]:
    """``last.ckpt`` and its step, verified before Lightning reads it; ``(None, None)`` for a run that never
    reached a checkpoint. A run that trained but whose last.ckpt is damaged or missing is refused with the
    command that recovers it: starting over would overwrite its best.ckpt and metrics.csv."""
    last = run / "checkpoints" / "last.ckpt"
    if last.is_file():
        try:
            checkpoint = load_checkpoint(last)
        except TunesmithError as exc:
            raise TunesmithError(f"{exc}; {_recovery(run)}") from None
        return last, int(checkpoint.get("global_step", 0))
    trained = _signs_of_training(run)
    if trained:
        raise TunesmithError(f"run {run} has trained ({trained}) but has no {last}; {_recovery(run)}")
    return None, None


def _signs_of_training(run: Path) -> str:
    """What in a run folder shows it trained before (empty when nothing does)."""
    signs = ["checkpoints/best.ckpt"] if (run / "checkpoints" / "best.ckpt").is_file() else []
    if _read_status(run).get("global_step"):  # a run stopped before its first step has nothing to lose
        signs.append("status.json")
    try:
        with (run / "metrics.csv").open(newline="") as f:
            if next(csv.DictReader(f), None) is not None:
                signs.append("metrics.csv")
    except (OSError, csv.Error, UnicodeDecodeError):
        pass
    return ", ".join(signs)


def _recovery(run: Path) -> str:
    """How to go on: from best.ckpt when it is sound, else from scratch in a fresh folder."""
    best, last = run / "checkpoints" / "best.ckpt", run / "checkpoints" / "last.ckpt"
    try:
        load_checkpoint(best)
    except TunesmithError:
        old = run.with_name(run.name + ".old")
        return (
            f"no sound best.ckpt to continue from: move the run away (mv {shlex.quote(str(run))} "
            f"{shlex.quote(str(old))}) and run the same command to start over"
        )
    return (
        f"to continue from its best checkpoint: cp {shlex.quote(str(best))} {shlex.quote(str(last))} "
        "and run the same command again"
    )


def _forget_new_run(run: Path) -> None:
    if (run / "checkpoints" / "last.ckpt").exists():
        return
    for name in ("config.yaml", "representation.json", "data.json", PROFILE_FILE, INIT_FILE):
        (run / name).unlink(missing_ok=True)
    shutil.rmtree(run / "tensorboard", ignore_errors=True)
    if run.is_dir() and not any(run.iterdir()):
        run.rmdir()


def _read_status(run: Path) -> dict[str, Any]:
    try:
        return read_json(run / "status.json")
    except TunesmithError:
        return {}
