"""``train.max_steps``: a budget in optimiser steps, met exactly, mid-epoch or not, that a schedule spans."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tunesmith.pipeline.train import train
from tunesmith.training.checkpoint_io import load_checkpoint

COSINE = ["train.sample_every=0", "train.schedule=cosine", "train.min_lr=0.0001", "train.lr_decay=1"]


def rows(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_a_step_budget_ends_the_run_mid_epoch_and_the_schedule_with_it(small_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = train("abc-lstm-debug", small_data, run, overrides=[*COSINE, "train.max_steps=7"], progress=False)
    assert (result.state, result.global_step) == ("finished", 7)  # 20 batches an epoch: stopped inside the first
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 7
    assert (run / "checkpoints" / "best.ckpt").is_file()  # validated where it stopped
    last = rows(run)[-1]
    assert last["step"] == "7" and last["val_bpc"] and float(last["lr"]) == 0.0001  # cosine reached its floor
    assert json.loads((run / "status.json").read_text())["state"] == "finished"

    again = train("abc-lstm-debug", small_data, run, overrides=[*COSINE, "train.max_steps=7"], progress=False)
    assert (again.state, again.global_step, again.resumed_from_step) == ("finished", 7, 7)
    assert rows(run)[-1] == last  # nothing ran, nothing rewritten
