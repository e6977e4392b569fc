"""Shared fixtures: a small prepared folk corpus and a way to run the real CLI."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 600,
    env: dict | None = None,
    memory_cap: int | None = None,
) -> subprocess.CompletedProcess:
    """Run ``tunesmith ARGS`` in a fresh interpreter, as a user would; ``memory_cap`` bytes of address space
    bound it and every child it starts (a runaway then fails instead of taking the machine)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_cap, memory_cap))

    return subprocess.run(
        [sys.executable, "-m", "tunesmith.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=full_env,
        preexec_fn=cap if memory_cap else None,
    )


FIRST_CHECKPOINT_LIMIT = 900.0  # seconds: generous, so a loaded machine is slow rather than wrong
POLL = 0.005


def start_cli(
    args: list[str], run: Path, env: dict | None = None, stdout: Any = subprocess.DEVNULL
) -> subprocess.Popen:
    """Start ``tunesmith ARGS --run RUN`` in the background; its stderr goes to a temporary file (``proc.log``)."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process; read by _stderr_tail
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunesmith.cli", *map(str, args), "--run", str(run)],
        stdout=stdout,
        stderr=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    proc.log = log  # type: ignore[attr-defined]
    return proc


def _stderr_tail(proc: subprocess.Popen) -> str:
    log = getattr(proc, "log", None)
    if log is None:
        return ""
    log.seek(0)
    return log.read().decode(errors="replace")[-2000:]


def wait_for_first_checkpoint(proc: subprocess.Popen, run: Path, limit: float = FIRST_CHECKPOINT_LIMIT) -> Path:
    """Poll until ``RUN/checkpoints/last.ckpt`` exists while ``proc`` still runs; fail clearly (never hang) when
    the process ends first or nothing appears within ``limit`` seconds. The process is left running."""
    last = run / "checkpoints" / "last.ckpt"
    give_up = time.monotonic() + limit
    while not last.exists():
        if proc.poll() is not None:
            pytest.fail(
                f"training ended (exit status {proc.returncode}) before its first checkpoint appeared:\n"
                f"{_stderr_tail(proc)}"
            )
        if time.monotonic() > give_up:
            proc.kill()
            proc.wait()
            pytest.fail(f"no checkpoint in {run} after {limit:.0f} s; the process was killed")
        time.sleep(POLL)
    return last


def kill_at_first_checkpoint(args: list[str], run: Path, env: dict | None = None) -> int:
    """Start ``tunesmith ARGS --run RUN``, SIGKILL it as soon as ``last.ckpt`` exists (no clean shutdown,
    as when a machine dies), and return the step that checkpoint holds."""
    from tunesmith.training.checkpoint_io import load_checkpoint

    proc = start_cli(args, run, env)
    try:
        last = wait_for_first_checkpoint(proc, run)
        proc.send_signal(signal.SIGKILL)  # a no-op if it already ended (Popen never signals a reaped process)
        status = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if status != -signal.SIGKILL:
        pytest.fail(f"training finished (exit status {status}) before it could be killed:\n{_stderr_tail(proc)}")
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
