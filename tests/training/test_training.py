"""Training on the debug presets: learning, kill-and-resume, and two-process DDP."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from tests.conftest import assert_resume_matches_uninterrupted, run_cli
from tunesmith.training.checkpoint_io import load_checkpoint


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as f:
        return list(csv.DictReader(f))


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return {k: v for k, v in load_checkpoint(path)["state_dict"].items()}


@pytest.mark.parametrize("preset", ["abc-lstm-debug", "abc-lstm-seed-debug", "abc-transformer-debug"])
def test_debug_run_lowers_validation_loss(small_data: Path, tmp_path: Path, preset: str) -> None:
    proc = run_cli("train", "--preset", preset, "--data", small_data, "--run", tmp_path / "run", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    rows = _rows(tmp_path / "run")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    val = [float(r["val_loss"]) for r in rows]
    assert val[-1] < val[0] - 0.05, val
    assert all(float(r["train_bpc"]) > 0 and 0 <= float(r["train_acc"]) <= 1 for r in rows)
    ckpts = tmp_path / "run" / "checkpoints"
    assert (ckpts / "last.ckpt").is_file() and (ckpts / "best.ckpt").is_file()
    assert load_checkpoint(ckpts / "last.ckpt")["global_step"] == 60
    # samples every epoch (sample_every: 1), each with its report
    assert sorted(p.name for p in (tmp_path / "run" / "samples").iterdir()) == ["epoch_001", "epoch_002", "epoch_003"]
    assert (tmp_path / "run" / "samples" / "epoch_003" / "samples.json").is_file()
    assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))


@pytest.mark.parametrize("preset", ["abc-lstm-debug", "abc-transformer-debug"])
def test_kill_and_resume_matches_uninterrupted_run(small_data: Path, tmp_path: Path, preset: str) -> None:
    """SIGKILL after the first checkpoint; the same command resumes from that step and ends on the same weights.

    The comparison is exact (torch.equal): data order is a function of (seed, epoch), the
    loader resumes at the next unseen batch, dropout is re-seeded from (seed, step), and
    optimizer and schedule state come back from the checkpoint, so nothing may differ.
    """
    args = [
        "train",
        "--preset",
        preset,
        "--data",
        str(small_data),
        "--no-progress",
        "--set",
        "train.checkpoint_minutes=0.0002",
        "--set",
        "train.max_epochs=4",
    ]
    killed = assert_resume_matches_uninterrupted(args, tmp_path, steps=80)
    assert [r["epoch"] for r in _rows(killed)] == ["0", "1", "2", "3"]


def test_rerunning_a_finished_run_does_no_more_steps(trained_run: Path) -> None:
    before = load_checkpoint(trained_run / "checkpoints" / "last.ckpt")["global_step"]
    data = Path(__import__("json").loads((trained_run / "data.json").read_text())["data"])
    proc = run_cli("train", "--preset", "abc-lstm-debug", "--data", data, "--run", trained_run, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert f"resumed from step {before}" in proc.stdout
    assert load_checkpoint(trained_run / "checkpoints" / "last.ckpt")["global_step"] == before


def test_ddp_two_cpu_processes_train_save_and_resume(small_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "ddp"
    base = [
        "train",
        "--preset",
        "abc-lstm-debug",
        "--data",
        small_data,
        "--run",
        run,
        "--no-progress",
        "--accelerator",
        "cpu",
        "--devices",
        "2",
        "--strategy",
        "ddp",
    ]
    first = run_cli(*base, "--set", "train.max_epochs=1", timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    step = load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"]
    assert step == 20  # 20 batches per epoch on each of the two ranks, stepped together
    second = run_cli(*base, "--set", "train.max_epochs=2", timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"resumed from step {step}" in second.stdout
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 40
    assert [r["epoch"] for r in _rows(run)] == ["0", "1"]


def test_time_budget_stop_then_resume_matches_uninterrupted_run(small_data: Path, tmp_path: Path) -> None:
    """A run stopped by --max-minutes part-way through an epoch continues exactly when given more time."""
    args = ["train", "--preset", "abc-lstm-debug", "--data", small_data, "--no-progress", "--set", "train.max_epochs=4"]
    short = run_cli(*args, "--run", tmp_path / "budget", "--max-minutes", "0.003")
    assert short.returncode == 0, short.stderr
    assert "time budget reached" in short.stdout
    stopped = load_checkpoint(tmp_path / "budget" / "checkpoints" / "last.ckpt")
    stopped_at = stopped["global_step"]
    assert 0 < stopped_at < 80
    # Lightning validates after the stop: the saved state must already know that validation's score
    best_val = min(float(r["val_loss"]) for r in _rows(tmp_path / "budget") if r["val_loss"])
    best_ckpt = load_checkpoint(tmp_path / "budget" / "checkpoints" / "best.ckpt")
    assert stopped["callbacks"]["RunCheckpoint"]["best"] == best_ckpt["callbacks"]["RunCheckpoint"]["best"]
    assert stopped["callbacks"]["RunCheckpoint"]["best"] == pytest.approx(best_val, abs=1e-5)
    more = run_cli(*args, "--run", tmp_path / "budget", "--max-minutes", "30")
    assert more.returncode == 0, more.stderr
    assert f"resumed from step {stopped_at}" in more.stdout and "finished" in more.stdout
    straight = run_cli(*args, "--run", tmp_path / "straight", "--max-minutes", "30")
    assert straight.returncode == 0, straight.stderr
    a = _weights(tmp_path / "budget" / "checkpoints" / "last.ckpt")
    b = _weights(tmp_path / "straight" / "checkpoints" / "last.ckpt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["epoch"] for r in _rows(tmp_path / "budget")] == ["0", "1", "2", "3"]


@pytest.mark.parametrize(
    ("env", "zero"),
    [
        ({}, True),
        ({"LOCAL_RANK": "1"}, False),
        ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, False),
        ({"RANK": "0", "LOCAL_RANK": "0"}, True),
        ({"RANK": "5", "LOCAL_RANK": "0"}, False),
        ({"SLURM_PROCID": "3"}, False),
    ],
)
def test_only_the_first_process_writes_run_files(monkeypatch, env: dict, zero: bool) -> None:
    from tunesmith.pipeline.train import is_rank_zero

    for name in ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert is_rank_zero() is zero
