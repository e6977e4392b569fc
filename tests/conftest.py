"""Shared fixtures: a small prepared folk corpus and a way to run the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 600,
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """Run ``tunesmith ARGS`` in a fresh interpreter, as a user would."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tunesmith.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=full_env,
    )


def kill_at_first_checkpoint(args: list[str], run: Path, env: dict | None = None) -> int:
    """Start ``tunesmith ARGS --run RUN``, SIGKILL it as soon as ``last.ckpt`` exists (no clean shutdown,
    as when a machine dies), and return the step that checkpoint holds."""
    import signal
    import time

    from tunesmith.training.checkpoint_io import load_checkpoint

    proc = subprocess.Popen(
        [sys.executable, "-m", "tunesmith.cli", *map(str, args), "--run", str(run)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "training finished before it could be killed"
    return int(load_checkpoint(last)["global_step"])


def assert_resume_matches_uninterrupted(args: list[str], tmp_path: Path, steps: int) -> Path:
    """SIGKILL ``tunesmith ARGS`` at its first checkpoint, re-run the same command (it must resume from that
    step and finish at ``steps``), train the same recipe straight through, and require every weight to be
    equal bit for bit. Returns the killed-and-resumed run folder."""
    import torch

    from tunesmith.training.checkpoint_io import load_checkpoint

    killed = tmp_path / "killed"
    saved_step = kill_at_first_checkpoint(args, killed)
    last = killed / "checkpoints" / "last.ckpt"
    assert 0 < saved_step < steps

    resumed = run_cli(*args, "--run", killed)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from step {saved_step}" in resumed.stdout
    assert load_checkpoint(last)["global_step"] == steps

    straight = run_cli(*args, "--run", tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr
    a = load_checkpoint(last)["state_dict"]
    b = load_checkpoint(tmp_path / "straight" / "checkpoints" / "last.ckpt")["state_dict"]
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    return killed


@pytest.fixture(scope="session")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 folk tunes, prepared once for the whole session."""
    from tunesmith.pipeline.prepare import prepare

    out = tmp_path_factory.mktemp("data") / "folk-small"
    prepare(out, corpus="folk", max_tunes=400)
    return out


@pytest.fixture(scope="session")
def trained_run(small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished debug run, shared by the sampling and export tests."""
    from tunesmith.pipeline.train import train

    run = tmp_path_factory.mktemp("runs") / "debug"
    train("abc-lstm-debug", small_data, run, progress=False)
    return run
