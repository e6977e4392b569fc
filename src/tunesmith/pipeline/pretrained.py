"""``make pretrained``: the built-in folk model, trained from scratch by a recipe anyone can run again.

In plain order:

1. prepare the built-in ``folk`` corpus exactly as ``tunesmith prepare --corpus folk`` does by default (10% of
   the tunes held out, split by tune with seed 0), so anyone can rebuild the held-out split the card's figure
   is measured on; a folder prepared earlier with the same settings is used again;
2. train a named preset with a fixed seed for a budget in optimiser steps (``train.max_steps``; the epochs are
   lifted out of the way, so the step budget alone ends the run and the schedule spans exactly it);
   re-running the same command resumes the run from its last checkpoint;
3. export the last checkpoint (the model after exactly that many steps) as a float16 bundle, refused when
   it is over 8 MB, and measure its held-out bits per character over the whole validation split, with the
   16-bit weights as shipped;
4. write ``MODEL_CARD.md`` (:mod:`tunesmith.pipeline.model_card`) and put the bundle in the package
   (``tunesmith/pretrained/folk/``), where ``tunesmith sample folk`` finds it.

Run it as ``make pretrained`` or ``python -m tunesmith.pipeline.pretrained --preset … --steps … --seed …``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tunesmith.config import MAX_EPOCHS, MAX_SEED, MAX_STEPS, load_preset
from tunesmith.errors import TunesmithError
from tunesmith.pretrained import CARD, ROOT

NAME = "folk"  # the built-in model this recipe makes, and the corpus it is trained on
DEFAULT_PRESET = "abc-lstm-folk"
DEFAULT_STEPS = 3800  # 33.6 epochs: 2.2 minutes on an H200; about 6 hours on a 2-core CPU (20 steps took 120 s)
DEFAULT_SEED = 0
DEFAULT_WORK = Path("benchmarks/work/pretrained")
SPLIT = {"val_fraction": 0.1, "seed": 0}  # tunesmith prepare's defaults: `prepare --corpus folk` rebuilds it
MAX_BUNDLE_BYTES = 8_000_000  # the whole bundle, as installed with the package
BUNDLE_FILES = ("model.safetensors", "config.json", "representation.json", "versions.json", "corpus.json", CARD)
SESSIONS = "sessions.json"  # in the run folder: every invocation that trained it, with its machine and time


@dataclass
class Recipe:
    """What the built-in model is made from; everything else is the preset's."""

    preset: str = DEFAULT_PRESET
    steps: int = DEFAULT_STEPS
    seed: int = DEFAULT_SEED
    out: Path = field(default_factory=lambda: ROOT / NAME)
    work: Path = DEFAULT_WORK
    max_tunes: int = 0  # 0: the whole corpus (fewer only for smoke runs and tests)
    accelerator: str = "auto"

    def check(self) -> None:
        if not 1 <= self.steps <= MAX_STEPS:
            raise TunesmithError(f"--steps {self.steps} must be between 1 and {MAX_STEPS:,}")
        if not 0 <= self.seed <= MAX_SEED:
            raise TunesmithError(f"--seed {self.seed} must be between 0 and {MAX_SEED}")
        if self.max_tunes < 0:
            raise TunesmithError(f"--max-tunes {self.max_tunes} must be 0 (all) or positive")
        for option, folder in (("--out", self.out), ("--work", self.work)):
            if folder.exists() and not folder.is_dir():
                raise TunesmithError(f"{option} {folder} is a file; give a folder")
        if self.out.is_dir():
            others = sorted(p.name for p in self.out.iterdir() if p.name not in BUNDLE_FILES)
            if others:
                raise TunesmithError(
                    f"--out {self.out} holds files that are not a bundle's ({', '.join(others[:3])}); "
                    "choose a new or empty folder"
                )

    def overrides(self) -> list[str]:
        """The step budget binds, not the preset's epochs (each epoch takes at least one step)."""
        return [
            f"train.seed={self.seed}",
            f"train.max_steps={self.steps}",
            f"train.max_epochs={min(self.steps, MAX_EPOCHS)}",
            "train.sample_every=0",  # in-training samples are not part of the model
        ]

    def command(self) -> str:
        """The command that makes this model again."""
        line = f"python -m tunesmith.pipeline.pretrained --preset {self.preset} --steps {self.steps} --seed {self.seed}"
        return line + (f" --max-tunes {self.max_tunes}" if self.max_tunes else "")


@dataclass
class Made:
    bundle: Path
    card: dict[str, Any]  # everything the model card says, as data (also in config.json's "recipe")


def machine() -> dict[str, Any]:
    """Where it trained: the figures and the wall time mean little without the CPU, threads and GPU."""
    import torch

    from tunesmith.training.plan import cpu_name

    cpu = cpu_name()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "torch": torch.__version__,
    }


def prepared(recipe: Recipe, representation: str, log: Callable[[str], None]) -> Path:
    """The folk corpus prepared for ``representation``: again only when no folder of the same settings exists."""
    from tunesmith.pipeline.prepare import prepare

    folder = recipe.work / f"data-{representation}"
    try:
        meta = json.loads((folder / "meta.json").read_text())
        same = (
            meta.get("source") == f"builtin:{NAME}"
            and meta.get("representation") == representation
            and {k: meta["split"].get(k) for k in SPLIT} == SPLIT
            and meta["cleaning"].get("max_tunes", 0) == recipe.max_tunes
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        same = False
    if same:
        log(f"pretrained: using the {NAME} corpus prepared in {folder}")
        return folder
    log(f"pretrained: preparing the {NAME} corpus ({representation}) into {folder}")
    shutil.rmtree(folder, ignore_errors=True)
    prepare(folder, corpus=NAME, representation=representation, max_tunes=recipe.max_tunes, **SPLIT)
    return folder


def _sessions(run: Path) -> list[dict[str, Any]]:
    try:
        sessions = json.loads((run / SESSIONS).read_text())
    except (OSError, ValueError):
        return []
    return sessions if isinstance(sessions, list) else []


def _record(run: Path, started: str, result: Any, hardware: dict[str, Any]) -> None:
    """One more session in the run's ``sessions.json``: its steps, its seconds and the machine."""
    if not (run / "config.yaml").is_file() or result.global_step == (result.resumed_from_step or 0):
        return  # a run that never started, or one that took no step
    entry = {
        "started": started,
        "from_step": result.resumed_from_step or 0,
        "to_step": result.global_step,
        "seconds": round(result.seconds, 1),
        "machine": hardware,
    }
    (run / SESSIONS).write_text(json.dumps([*_sessions(run), entry], indent=2))


def trained(recipe: Recipe, data: Path, log: Callable[[str], None]) -> Path:
    """The run after exactly ``recipe.steps`` steps: trained now, resumed, or found finished."""
    from tunesmith.pipeline.train import TrainingInterrupted, train
    from tunesmith.training.plan import Hardware

    tunes = f"-tunes{recipe.max_tunes}" if recipe.max_tunes else ""  # a run never goes on with other data
    run = recipe.work / "runs" / f"{recipe.preset}-seed{recipe.seed}{tunes}"
    started, hardware = datetime.now(timezone.utc).isoformat(timespec="seconds"), machine()
    log(f"pretrained: training {recipe.preset} (seed {recipe.seed}) for {recipe.steps:,} steps in {run}")
    try:
        result = train(
            recipe.preset,
            data,
            run,
            overrides=recipe.overrides(),
            hardware=Hardware(accelerator=recipe.accelerator),
            progress=False,
            echo=log,
        )
    except TrainingInterrupted as stop:
        _record(run, started, stop.result, hardware)
        raise
    if result.resumed_from_step == result.global_step:
        log(f"pretrained: {run} already has its {result.global_step:,} steps")
    elif result.resumed_from_step is not None:
        log(f"pretrained: resumed from step {result.resumed_from_step}")
    _record(run, started, result, hardware)
    if result.global_step != recipe.steps:
        raise TunesmithError(
            f"run {run} ended at step {result.global_step}, not {recipe.steps} ({result.state}); "
            "give --steps at least that many, or move the run away to start over"
        )
    return run


def measured(bundle: Path, data: Path) -> dict[str, Any]:
    """Held-out figures of the bundle as shipped (16-bit weights), over the whole validation split."""
    from tunesmith.bundle import load
    from tunesmith.data.prepared import PreparedData
    from tunesmith.training.evaluate import held_out

    loaded = load(bundle)
    figures = held_out(loaded.model, PreparedData.open(data), loaded.config.data.seq_len, batch_size=32)
    return {
        "split": "val",
        "bpc": round(figures["bpc"], 4),
        "loss": round(figures["loss"], 4),
        "acc": round(figures["acc"], 4),
        "tokens": int(figures["tokens"]),
        "chars": round(figures["chars"]),
        "weights": "float16",
    }


def _bundle_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def install(staged: Path, out: Path) -> None:
    """Replace the bundle in ``out`` (its own files only) with the staged one."""
    out.mkdir(parents=True, exist_ok=True)
    for name in BUNDLE_FILES:
        (out / name).unlink(missing_ok=True)
    for path in sorted(staged.iterdir()):
        shutil.copyfile(path, out / path.name)


def make(recipe: Recipe, log: Callable[[str], None] = print) -> Made:
    """Prepare, train (or resume), export, measure, describe and install the built-in model."""
    from tunesmith.bundle import export
    from tunesmith.pipeline.model_card import card_facts, write_card

    began = time.monotonic()
    recipe.check()
    config = load_preset(recipe.preset)  # an unknown preset is refused before any work
    data = prepared(recipe, config.data.representation, log)
    run = trained(recipe, data, log)
    staged = recipe.work / "bundle"
    shutil.rmtree(staged, ignore_errors=True)
    log(f"pretrained: exporting the last checkpoint as float16 into {staged}")
    export(run, staged, "last", dtype="float16")
    held = measured(staged, data)
    log(f"pretrained: held-out {held['bpc']:.4f} bits per character over the whole validation split")
    facts = card_facts(NAME, recipe, run, data, staged, held, _sessions(run), time.monotonic() - began)
    info = json.loads((staged / "config.json").read_text())
    (staged / "config.json").write_text(json.dumps({**info, "held_out": held, "recipe": facts["recipe"]}, indent=2))
    write_card(staged / CARD, facts)
    size = _bundle_bytes(staged)
    if size > MAX_BUNDLE_BYTES:
        raise TunesmithError(
            f"the bundle is {size / 1e6:.1f} MB, over the {MAX_BUNDLE_BYTES / 1e6:.0f} MB a built-in model may "
            f"take; choose a smaller preset (it is left in {staged})"
        )
    install(staged, recipe.out)
    log(f"pretrained: wrote {recipe.out} ({size / 1e6:.2f} MB) in {time.monotonic() - began:.0f} s")
    return Made(recipe.out, facts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tunesmith.pipeline.pretrained", description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default=DEFAULT_PRESET, help=f"preset to train (default {DEFAULT_PRESET})")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="optimiser steps (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="training seed (default %(default)s)")
    parser.add_argument("--out", type=Path, default=ROOT / NAME, help="bundle folder (default: in the package)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="prepared data and run (default %(default)s)")
    parser.add_argument("--max-tunes", type=int, default=0, help="only the first N tunes (smoke runs; 0 = all)")
    parser.add_argument("--accelerator", default="auto", help="Lightning accelerator: auto, cpu, gpu")
    args = parser.parse_args(argv)
    recipe = Recipe(args.preset, args.steps, args.seed, args.out, args.work, args.max_tunes, args.accelerator)
    from tunesmith.pipeline.train import TrainingInterrupted
    from tunesmith.training.deadline import INTERRUPTED_STATUS

    try:
        make(recipe, log=lambda line: print(line, flush=True))
    except TunesmithError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except TrainingInterrupted as stop:
        print(stop.message, file=sys.stderr)
        raise SystemExit(INTERRUPTED_STATUS) from None


if __name__ == "__main__":
    main()
