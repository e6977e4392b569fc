"""When a run stops: the whole command's time budget, validation at least once an epoch, Ctrl-C, the first
line a run prints, and recipes too big to train refused before anything is allocated."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import kill_at_first_checkpoint, run_cli, start_cli, wait_for_first_checkpoint
from tunesmith.training.budget import BudgetedLoader, RunControl, stop_on_interrupt
from tunesmith.training.checkpoint_io import load_checkpoint
from tunesmith.training.deadline import Deadline
from tunesmith.training.plan import validation_interval


class Clock:
    def __init__(self, t: float = 0.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def _trainer(val_check_batch: float = math.inf, is_last: bool = False, **extra) -> SimpleNamespace:
    return SimpleNamespace(
        should_stop=False,
        is_global_zero=True,
        val_check_batch=val_check_batch,
        strategy=SimpleNamespace(reduce_boolean_decision=lambda decision, all=True: decision),
        fit_loop=SimpleNamespace(epoch_loop=SimpleNamespace(batch_progress=SimpleNamespace(is_last_batch=is_last))),
        **extra,
    )


def _control(clock: Clock, budget: float = 100.0, lines: list[str] | None = None) -> RunControl:
    control = RunControl(Deadline(0.0, budget), echo=(lines if lines is not None else []).append, clock=clock)
    control.val_total, control.checkpoint = 10, 1.0
    return control


def _train_until_stop(control: RunControl, clock: Clock, trainer: SimpleNamespace, batch: float = 1.0) -> float:
    control.on_train_start(trainer, None)
    for batch_idx in range(10_000):
        clock.t += batch
        control.on_train_batch_end(trainer, None, None, None, batch_idx)
        if trainer.should_stop:
            return clock.t
    raise AssertionError("never stopped")


# -- B: the time budget ------------------------------------------------------------------------------------


def test_training_stops_while_the_end_of_the_run_still_fits() -> None:
    """1-s batches, a 100-s budget: stop once one more batch, the last validation (10 batches at half a batch
    each), three checkpoint writes and the margin no longer fit, not at the deadline itself."""
    clock = Clock()
    control = _control(clock)
    stopped = _train_until_stop(control, clock, _trainer())
    reserve = 1.0 + 5.0 + 3 * 1.0 + control.margin()
    assert stopped == pytest.approx(100 - reserve, abs=1.5)
    assert control.stop_reason == "time budget"
    # a validation due after a batch counts too: stop before it rather than run it and overrun
    clock = Clock()
    early = _train_until_stop(_control(clock), clock, _trainer(val_check_batch=10))
    assert early < stopped and early % 10 == 0
    # no budget, no stop
    clock = Clock()
    free = RunControl(None, clock=clock)
    trainer = _trainer()
    free.on_train_start(trainer, None)
    for i in range(500):
        clock.t += 1.0
        free.on_train_batch_end(trainer, None, None, None, i)
    assert not trainer.should_stop and free.stop_reason is None


def test_a_first_step_far_longer_than_the_budget_is_not_begun() -> None:
    """Before the first batch a forward pass guesses the step: a step that cannot end within the budget's
    tolerance (5% or 30 s) is not begun; a short one is, even past the deadline (a run takes a step when it can)."""
    lines: list[str] = []
    clock = Clock(40.0)  # imports and set-up took 40 s of a 100-s budget
    control = _control(clock, lines=lines)
    control.probe = lambda: (95.0, 30.0)
    trainer = _trainer()
    control.on_train_start(trainer, None)
    assert trainer.should_stop and control.stop_reason == "time budget"
    assert lines == [
        "time budget: a training step takes about 95 s here and 60 s are left, too few for one step, its "
        "validation and checkpoint; no step taken (give it more minutes)"
    ]
    clock = Clock(150.0)  # start-up alone overran a tiny budget, but a step is short: one is taken
    control = _control(clock)
    control.probe = lambda: (0.1, 0.05)
    trainer = _trainer()
    control.on_train_start(trainer, None)
    assert not trainer.should_stop
    clock.t += 0.1
    control.on_train_batch_end(trainer, None, None, None, 0)
    assert trainer.should_stop


def test_validation_is_cut_to_what_fits_but_never_skipped() -> None:
    lines: list[str] = []
    clock = Clock()
    control = _control(clock, lines=lines)
    control.val_batch = 2.0

    def validate(start: float) -> int:
        clock.t, served = start, 0
        for _ in BudgetedLoader(list(range(10)), control):
            clock.t += 2.0
            served += 1
        return served

    assert validate(0.0) == 10 and control.last_cut is None and lines == []  # plenty of time: all of it
    assert validate(80.0) < 10  # 20 s left: best.ckpt, last.ckpt and the margin are kept back
    assert lines[-1] == f"validation cut to {control.last_cut.done} of 10 batches to keep the time budget"
    assert validate(150.0) == 1  # past the deadline: one batch still runs, so the last checkpoint has a score
    control.interrupted = True
    assert validate(0.0) == 1 and lines[-1] == "validation cut to 1 of 10 batches (interrupted)"
    assert [(c.done, c.total) for c in control.cuts][-2:] == [(1, 10), (1, 10)]


def test_samples_that_would_not_fit_are_skipped_and_said(tmp_path: Path) -> None:
    import torch

    from tunesmith.training.callbacks import PeriodicSamples

    lines: list[str] = []
    clock = Clock(50.0)
    control = _control(clock, lines=lines)
    written: list[int] = []
    samples = PeriodicSamples(1, lambda model, epoch: written.append(epoch), control)
    progress = SimpleNamespace(current=SimpleNamespace(ready=20))
    trainer = _trainer(current_epoch=0, num_training_batches=20)
    trainer.fit_loop.epoch_loop.batch_progress = progress
    module = SimpleNamespace(model=torch.nn.Linear(2, 2))
    samples.on_train_epoch_end(trainer, module)
    assert written == [1] and control.samples is not None  # 50 s left: they fit, and their time is kept
    clock.t = 95.0  # 5 s left: not enough for the end of the run, let alone samples
    trainer.current_epoch = 1
    samples.on_train_epoch_end(trainer, module)
    assert written == [1]
    assert lines == ["samples of epoch 2 skipped: they would not fit in the time budget"]


def test_early_stopping_ignores_a_cut_validation_and_keeps_its_checkpoint_name() -> None:
    from lightning.pytorch.callbacks import EarlyStopping

    from tunesmith.training.budget import ValidationCut
    from tunesmith.training.callbacks import FullValidationEarlyStopping

    control = RunControl(None)
    early = FullValidationEarlyStopping(control, monitor="val_loss", patience=1, mode="min")
    assert early.state_key == EarlyStopping(monitor="val_loss", mode="min").state_key  # old runs resume
    control.last_cut = ValidationCut(1, 10, "time budget")
    early.on_validation_end(object(), object())  # returns before looking at the trainer: nothing counted
    assert early.wait_count == 0


def test_a_slow_validation_is_cut_so_the_run_ends_within_its_budget(
    small_data: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """A whole validation takes 20 s (40 batches of 0.5 s) in a 30-s budget that counts from the call:
    Lightning's max_time would stop at a batch end after 30 s of training and then validate for 20 s more."""
    from tunesmith.pipeline.train import train
    from tunesmith.training.module import TokenLM

    slow_step = TokenLM.validation_step

    def validation_step(self, batch, batch_idx):
        time.sleep(0.5)
        return slow_step(self, batch, batch_idx)

    monkeypatch.setattr(TokenLM, "validation_step", validation_step)
    run = tmp_path / "run"
    overrides = ["train.max_epochs=100", "train.limit_val_batches=40"]
    budget = 30.0
    result = train("abc-lstm-debug", small_data, run, overrides=overrides, max_minutes=budget / 60, progress=False)
    out = capsys.readouterr().out
    # the old code ran the whole validation past the budget; now it is cut (no wall-clock assertion: the
    # machine may be busy, and the cut is what keeps the budget)
    assert result.state == "time budget reached" and result.validation_cuts
    assert re.search(r"validation cut to \d+ of 40 batches to keep the time budget", out), out
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "time budget reached" and status["validation_cuts"]
    # the checkpoint the run ends on knows its (partial) validation: nothing was skipped
    last = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert last["global_step"] == result.global_step and last["callbacks"]["RunCheckpoint"]["best"] is not None


# -- C: validation at least once an epoch ------------------------------------------------------------------


def test_validation_interval_keeps_every_n_and_once_an_epoch() -> None:
    assert validation_interval(44, 300) == 1.0  # a small corpus: at each epoch end
    assert validation_interval(44, 0) == 1.0
    assert validation_interval(1000, 300) == 250  # 4 equal parts, the last at the epoch's end
    assert validation_interval(900, 300) == 300
    assert validation_interval(20, 7) == 6


def test_an_epoch_shorter_than_val_every_batches_still_validates(small_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = run_cli(
        "train", "--preset", "abc-lstm-debug", "--data", small_data, "--run", run, "--no-progress",
        "--set", "train.val_every_batches=300", "--set", "train.max_epochs=2", "--set", "train.sample_every=0",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "20 batches an epoch, validating at each epoch end" in proc.stdout.splitlines()[0]
    with (run / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert all(r["val_loss"] for r in rows), rows
    assert (run / "checkpoints" / "best.ckpt").is_file()


# -- D: the kill helper fails clearly instead of hanging or passing wrongly -----------------------------------


def test_the_kill_helper_fails_clearly_when_training_ends_first(small_data: Path, tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"ended \(exit status 2\) before its first checkpoint"):
        kill_at_first_checkpoint(["train", "--preset", "abc-nope", "--data", str(small_data)], tmp_path / "run")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with pytest.raises(pytest.fail.Exception, match="no checkpoint .* after 0 s; the process was killed"):
        wait_for_first_checkpoint(sleeper, tmp_path / "never", limit=0.2)
    assert sleeper.poll() is not None


# -- E: Ctrl-C ----------------------------------------------------------------------------------------------


def test_ctrl_c_saves_the_run_says_so_and_the_same_command_resumes(small_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["train", "--preset", "abc-lstm-debug", "--data", str(small_data), "--no-progress"]
    args += ["--set", "train.checkpoint_minutes=0.0002", "--set", "train.sample_every=0"]
    proc = start_cli([*args, "--set", "train.max_epochs=50"], run, stdout=subprocess.PIPE)
    try:
        wait_for_first_checkpoint(proc, run)
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=600)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out
    assert out.splitlines()[0].startswith("training abc-lstm-debug on ")  # F: said before anything else
    found = re.search(r"interrupted at step (\d+); the run is saved in (.+); run the same command to resume", out)
    assert found, out
    step = int(found[1])
    assert found[2] == str(run)
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == step
    assert json.loads((run / "status.json").read_text())["state"] == "interrupted"
    epochs = step // 20 + 2  # some more steps to take
    resumed = run_cli(*args, "--set", f"train.max_epochs={epochs}", "--run", run)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from step {step}" in resumed.stdout and "finished" in resumed.stdout
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 20 * epochs


def test_a_second_ctrl_c_stops_at_once(monkeypatch) -> None:
    def exit_now(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr(os, "_exit", exit_now)
    control = RunControl(None)
    before = signal.getsignal(signal.SIGINT)
    with stop_on_interrupt(control):
        signal.raise_signal(signal.SIGINT)  # the first asks for an orderly stop and returns
        assert control.interrupted
        with pytest.raises(SystemExit) as stopped:
            signal.raise_signal(signal.SIGINT)
        assert stopped.value.code == 130
    assert signal.getsignal(signal.SIGINT) is before


# -- F: the first line ----------------------------------------------------------------------------------------


def test_the_first_line_comes_before_lightning_is_even_imported(small_data: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from tunesmith.pipeline.train import train\n"
        "class Seen(Exception): pass\n"
        "def echo(line):\n"
        "    print(line, '|', 'lightning' in sys.modules, flush=True)\n"
        "    raise Seen\n"
        "try:\n"
        f"    train('abc-lstm-debug', {str(small_data)!r}, {str(tmp_path / 'run')!r}, max_minutes=2, echo=echo)\n"
        "except Seen:\n"
        "    pass\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    line, lightning = proc.stdout.strip().split(" | ")
    assert line.startswith(f"training abc-lstm-debug on {small_data}: 19,356 parameters, 20 batches an epoch, ")
    assert "validating at each epoch end, budget 2 min" in line
    assert lightning == "False"


# -- G: too big to train ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        (["model.hidden=65536", "model.layers=64"], "parameters; at most"),
        (["data.batch_size=8192", "data.seq_len=65536"], "training needs about"),
    ],
)
def test_a_recipe_too_big_to_train_is_refused_before_allocation(
    small_data: Path, tmp_path: Path, settings: list[str], fragment: str
) -> None:
    run = tmp_path / "run"
    sets = [part for s in settings for part in ("--set", s)]
    proc = run_cli("train", "--preset", "abc-lstm-debug", "--data", small_data, "--run", run, *sets, timeout=300)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --set: ") and fragment in lines[0], proc.stderr
    assert not run.exists()  # refused before a model was built (timeout=300 is only a hang guard)


def test_too_little_music_for_the_windows_says_how_much_is_needed(small_data: Path) -> None:
    """The error names the tokens a split has and the tokens the windows need, not only the window length."""
    from tunesmith.config import apply_overrides, load_preset
    from tunesmith.data import PreparedData
    from tunesmith.errors import TunesmithError
    from tunesmith.training.plan import make_loaders

    config = apply_overrides(load_preset("abc-lstm-debug"), ["data.seq_len=60000"])
    with pytest.raises(TunesmithError, match=r"data.seq_len = 60000 \(it needs 120,000 at least\)"):
        make_loaders(config, PreparedData.open(small_data))
