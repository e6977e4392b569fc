"""Checkpoints that can be trusted: a checksum every reader verifies, fsynced writes, and a run whose
last checkpoint is lost or damaged refused with the command that recovers it (never silently restarted)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import struct
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from tests.conftest import run_cli
from tunesmith.errors import TunesmithError
from tunesmith.training.checkpoint_io import CHECKSUM_KEY, add_checksum, load_checkpoint


def _fails_cleanly(proc, *fragments: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _flip_a_weight_bit(path: Path) -> str:
    """Flip one bit in the middle of a tensor of ``state_dict`` (the model's weights) inside the zip, and
    return the weight's name. torch.load itself still reads the file without complaint."""
    original = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        entries = sorted((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: -i.file_size)
    for info in entries:
        name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26 : info.header_offset + 30])
        at = info.header_offset + 30 + name_len + extra_len + info.file_size // 2
        flipped = bytearray(raw)
        flipped[at] ^= 0x04
        path.write_bytes(bytes(flipped))
        loaded = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]  # no error from torch
        changed = [k for k in original if not torch.equal(original[k], loaded[k])]
        if changed:
            return changed[0]
        path.write_bytes(raw)
    raise AssertionError(f"no weight tensor found in {path}")


def _train_args(trained_run: Path, run: Path) -> list[str]:
    data = json.loads((trained_run / "data.json").read_text())["data"]
    return ["train", "--preset", "abc-lstm-debug", "--data", data, "--run", str(run), "--no-progress"]


def _trained_copy(trained_run: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    return run, _train_args(trained_run, run)


def test_checksum_survives_saving_and_catches_a_flipped_bit(tmp_path: Path) -> None:
    checkpoint = {
        "state_dict": {"model.w": torch.randn(64, 32), "model.b": torch.zeros(32, dtype=torch.bfloat16)},
        "optimizer_states": [
            {"state": {0: {"step": torch.tensor(3.0)}}, "param_groups": [{"lr": 0.003, "betas": (0.9, 0.99)}]}
        ],
        "global_step": 7,
        "tunesmith": {"config": {"model": {"name": "lstm", "dropout": 0.1}}, "flag": True, "none": None},
    }
    add_checksum(checkpoint)
    path = tmp_path / "a.ckpt"
    torch.save(checkpoint, path)
    assert load_checkpoint(path)["global_step"] == 7  # the same contents give the same digest after loading
    assert _flip_a_weight_bit(path) == "model.w"
    with pytest.raises(TunesmithError, match=r"a\.ckpt is damaged \(checksum mismatch\)"):
        load_checkpoint(path)
    # a change to a plain number is caught too
    checkpoint["global_step"] = 8
    torch.save(checkpoint, path)
    with pytest.raises(TunesmithError, match="checksum mismatch"):
        load_checkpoint(path)


def test_a_checkpoint_written_before_checksums_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "old.ckpt"
    torch.save({"state_dict": {"model.w": torch.ones(3)}, "global_step": 2}, path)
    loaded = load_checkpoint(path)
    assert loaded["global_step"] == 2 and CHECKSUM_KEY not in loaded


def test_checkpoints_are_fsynced_then_renamed_then_the_folder_fsynced(tmp_path: Path, monkeypatch) -> None:
    from tunesmith.training.callbacks import RunCheckpoint

    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    folder = tmp_path / "checkpoints"
    trainer = SimpleNamespace(
        is_global_zero=True,
        global_step=5,
        save_checkpoint=lambda path, weights_only: Path(path).write_bytes(b"weights"),
        strategy=SimpleNamespace(barrier=lambda name: None),
    )
    RunCheckpoint(folder, every_minutes=10).save_last(trainer)
    tmp, final = str(folder / "last.ckpt.tmp"), str(folder / "last.ckpt")
    assert events == [("fsync", tmp), ("replace", final), ("fsync", str(folder))]
    assert (folder / "last.ckpt").read_bytes() == b"weights" and not (folder / "last.ckpt.tmp").exists()


def test_a_flipped_weight_bit_in_last_ckpt_is_refused_by_sample_and_train(trained_run: Path, tmp_path: Path) -> None:
    run, train = _trained_copy(trained_run, tmp_path)
    last, best = run / "checkpoints" / "last.ckpt", run / "checkpoints" / "best.ckpt"
    metrics = (run / "metrics.csv").read_bytes()
    _flip_a_weight_bit(last)
    _fails_cleanly(
        run_cli("sample", run, "--checkpoint", "last", "--num", "1", "--out", tmp_path / "s"),
        "last.ckpt is damaged (checksum mismatch)",
    )
    line = _fails_cleanly(run_cli(*train), "last.ckpt is damaged (checksum mismatch)", f"cp {best} {last}")
    assert "run the same command" in line
    assert (run / "metrics.csv").read_bytes() == metrics  # nothing was restarted or overwritten
    # the command it gives recovers: the run resumes from best.ckpt's step
    shutil.copyfile(best, last)
    proc = run_cli(*train)
    assert proc.returncode == 0, proc.stderr
    assert f"resumed from step {load_checkpoint(best)['global_step']}" in proc.stdout


def test_a_trained_run_without_last_ckpt_is_refused_not_restarted(trained_run: Path, tmp_path: Path) -> None:
    run, train = _trained_copy(trained_run, tmp_path)
    (run / "checkpoints" / "last.ckpt").unlink()
    best_bytes, metrics = (run / "checkpoints" / "best.ckpt").read_bytes(), (run / "metrics.csv").read_bytes()
    _fails_cleanly(run_cli(*train), "has no", "last.ckpt", "cp ", "best.ckpt")
    assert (run / "checkpoints" / "best.ckpt").read_bytes() == best_bytes
    assert (run / "metrics.csv").read_bytes() == metrics
    # without a sound best.ckpt either, the way out is a fresh start somewhere else, never an overwrite
    (run / "checkpoints" / "best.ckpt").unlink()
    _fails_cleanly(run_cli(*train), "metrics.csv", "mv ")


def test_a_run_that_never_reached_a_checkpoint_starts_fresh(trained_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.yaml", "representation.json", "data.json"):
        shutil.copyfile(trained_run / name, run / name)
    with (run / "metrics.csv").open("w", newline="") as f:  # the header EpochReport writes at the start
        csv.writer(f).writerow(["epoch", "step", "train_loss"])
    proc = run_cli(*_train_args(trained_run, run), "--set", "train.max_epochs=1")
    assert proc.returncode == 0, proc.stderr
    assert "resumed" not in proc.stdout
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 20
