"""``tunesmith train``: train a preset on a prepared dataset; re-running the same command resumes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import path_option
from tunesmith.errors import TunesmithError


def train(
    preset: Annotated[str, typer.Option(help="Preset name (see 'tunesmith presets') or a YAML file.")],
    data: Annotated[Path, typer.Option(help="Prepared dataset folder.", parser=path_option)],
    run: Annotated[Path, typer.Option(help="Run folder; re-running the same command resumes it.", parser=path_option)],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a setting: key=value.")] = None,
    max_minutes: Annotated[
        float | None, typer.Option(help="Wall-clock budget for this whole command (train.max_minutes).")
    ] = None,
    accelerator: Annotated[str, typer.Option(help="Lightning accelerator: auto, cpu, gpu…")] = "auto",
    devices: Annotated[str, typer.Option(help="Devices per node: auto or a number.")] = "auto",
    num_nodes: Annotated[int, typer.Option(help="Machines taking part.")] = 1,
    strategy: Annotated[str, typer.Option(help="Lightning strategy: auto, ddp…")] = "auto",
    precision: Annotated[
        str | None, typer.Option(help="32-true, bf16-mixed (autocast; for GPUs), 16-mixed… (train.precision).")
    ] = None,
    compile_: Annotated[
        bool, typer.Option("--compile", help="Run the model through torch.compile (train.compile).")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar (else one line per epoch).")] = True,
    init: Annotated[
        Path | None,
        typer.Option(
            "--init",
            help="Start from this run's or bundle's weights (fine-tuning), with a fresh optimiser and schedule; "
            "the data must be prepared with its vocabulary (prepare --vocab-from).",
            parser=path_option,
        ),
    ] = None,
) -> None:
    """Train a model on a prepared dataset; checkpoints, metrics and samples go to the run folder."""
    from tunesmith.pipeline.train import TrainingInterrupted, is_rank_zero
    from tunesmith.pipeline.train import train as run_train
    from tunesmith.training.deadline import INTERRUPTED_STATUS, process_start
    from tunesmith.training.plan import Hardware

    started = process_start()  # --max-minutes counts the whole command, imports included
    if not 1 <= num_nodes <= 4096:
        raise TunesmithError(f"--num-nodes {num_nodes} must be between 1 and 4096")
    if not (devices == "auto" or devices.isdigit() and 1 <= int(devices) <= 1024 or devices == "-1"):
        raise TunesmithError(f"--devices {devices!r} must be auto, -1 or a number from 1 to 1024")
    hardware = Hardware(accelerator, devices, num_nodes, strategy)
    overrides = [*(set_ or []), *([f"train.precision={precision}"] if precision else [])]
    overrides += ["train.compile=true"] if compile_ else []
    echo = typer.echo if is_rank_zero() else (lambda line: None)
    try:
        result = run_train(
            preset,
            data,
            run,
            overrides=overrides,
            max_minutes=max_minutes,
            hardware=hardware,
            progress=progress,
            started=started,
            echo=echo,
            init=init,
        )
    except TrainingInterrupted as stop:
        if is_rank_zero():
            if stop.result.resumed_from_step is not None:
                typer.echo(f"resumed from step {stop.result.resumed_from_step}")
            typer.echo(stop.message)
        raise typer.Exit(INTERRUPTED_STATUS) from None
    if not is_rank_zero():
        return
    if result.resumed_from_step is not None:
        typer.echo(f"resumed from step {result.resumed_from_step}")
    from tunesmith import media
    from tunesmith.representations import from_json
    from tunesmith.untrusted import read_json

    rep = from_json(read_json(result.run / "representation.json"))
    loss = result.best_val_loss
    best = media.of(rep).describe_loss(rep, loss) if loss is not None else "n/a"
    typer.echo(f"{result.state} after {result.epochs:.2f} epochs (step {result.global_step}); best val loss {best}")
    typer.echo(f"run folder   {result.run}  (metrics.csv, checkpoints/, samples/, tensorboard/)")
