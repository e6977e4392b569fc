"""When a run must stop: the command's time budget and Ctrl-C.

``--max-minutes`` bounds the whole command, from the moment the process started: loading data,
building the model, training, every validation, in-training samples and the final checkpoints are
inside it. Lightning's own ``max_time`` cannot promise that: it counts from the first batch, stops only
at a batch end and then runs a whole-split validation that may take minutes. So :class:`RunControl`
does it instead, from what it measures as the run goes (train batches, validation batches,
checkpoint writes, samples):

- at each batch end, training stops when what is left of the budget would no longer cover one more
  batch plus the end of the run (a last validation, up to three checkpoint writes and a margin);
- the validation loader (:meth:`RunControl.wrap_validation`) stops yielding batches once the rest
  would not fit, after at least one batch, and says so: the last checkpoint always has a validation;
- in-training samples are skipped, with a message, when they would not fit.

Ctrl-C (:func:`stop_on_interrupt`) asks for the same orderly stop at the next batch end, so the run
is saved and resumes exactly; a second Ctrl-C ends the process at once.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from tunesmith.training.deadline import INTERRUPTED_STATUS, Deadline, process_start

VALIDATION_SHARE = 0.25  # at most this much of the budget is held back for the last validation
RECENT = 8  # train-batch times kept; the slowest of them is the estimate (a loaded machine varies)

__all__ = ["INTERRUPTED_STATUS", "Deadline", "RunControl", "process_start", "stop_on_interrupt"]


def print_line(text: str) -> None:
    print(text, flush=True)


@dataclass
class ValidationCut:
    done: int
    total: int
    reason: str  # "time budget" or "interrupted"


class RunControl(Callback):
    """Stops training at a batch end before the deadline or after Ctrl-C; cuts validation to what fits.

    It must come before the checkpoint callback (Lightning runs ``Checkpoint`` callbacks last), so a
    stop it asks for is saved at that same batch end.
    """

    def __init__(
        self,
        deadline: Deadline | None,
        *,
        val_limit: int = 0,
        echo: Callable[[str], None] = print_line,
        clock: Callable[[], float] = time.monotonic,
        probe: Callable[[], tuple[float, float]] | None = None,
        max_steps: int = 0,
    ):
        self.deadline, self.val_limit, self.echo, self.clock = deadline, val_limit, echo, clock
        self.max_steps = max_steps  # train.max_steps: stop once this many optimiser steps are done (0: no limit)
        self.probe = probe  # before the first batch: (seconds per train step, per validation batch), estimated
        self._step_guess: float | None = None
        self._val_guess: float | None = None
        self.interrupted = False  # set by the SIGINT handler
        self.stop_reason: str | None = None  # "step budget", "time budget" or "interrupted" once a stop was asked for
        self.cuts: list[ValidationCut] = []
        self.last_cut: ValidationCut | None = None  # the latest validation's cut, None when it ran whole
        self.is_zero = True
        self._batches: deque[float] = deque(maxlen=RECENT)
        self._mark: float | None = None  # the last batch end (or the start of training)
        self._busy = False  # something besides a train batch ran since the mark
        self.val_batch: float | None = None  # seconds per validation batch, measured
        self.val_total = 0  # batches in a whole validation
        self.checkpoint: float = 1.0  # seconds per checkpoint write, until one is measured
        self.samples: float | None = None  # seconds for one round of in-training samples, measured
        self._val_start: float | None = None
        self._val_served = 0

    # -- estimates -------------------------------------------------------------------------------------
    def margin(self) -> float:
        """Kept back for everything after the last checkpoint: Lightning's teardown, status files and the
        interpreter's exit (seconds on a loaded machine, with PyTorch and Lightning loaded)."""
        return 5.0 + 0.02 * (self.deadline.seconds if self.deadline else 0.0)

    def tolerance(self) -> float:
        """How far past the deadline a run may end when even one step does not fit: 5% or 30 s."""
        return max(30.0, 0.05 * (self.deadline.seconds if self.deadline else 0.0))

    def batch(self) -> float:
        if self._batches:
            return max(self._batches)
        return self._step_guess or 0.0

    def val_per_batch(self) -> float:
        if self.val_batch is not None:
            return self.val_batch
        if self._batches or self._val_guess is None:
            return 0.5 * self.batch()  # forward only, from a measured batch
        return self._val_guess

    def whole_validation(self) -> float:
        return self.val_per_batch() * self.val_total

    def final_reserve(self) -> float:
        """What the end of the run costs once training stops: the batch-end checkpoint, the last
        validation (at most a share of the budget: it is cut to fit), best.ckpt, last.ckpt again, margin."""
        share = VALIDATION_SHARE * (self.deadline.seconds if self.deadline else 0.0)
        validation = min(self.whole_validation(), max(share, self.val_per_batch()))
        return validation + 3 * self.checkpoint + self.margin()

    def remaining(self) -> float:
        return self.deadline.remaining(self.clock()) if self.deadline else math.inf

    # -- training ----------------------------------------------------------------------------------------
    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.is_zero = trainer.is_global_zero
        val = getattr(trainer.datamodule, "val", None)
        if val is not None and self.val_total == 0:
            self.val_total = min(len(val), self.val_limit) if self.val_limit else len(val)
        weights = sum(p.numel() * p.element_size() for p in pl_module.parameters())
        self.checkpoint = 0.5 + 3 * weights / 50e6  # weights and optimiser state at a slow disk's pace

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._steps_done(trainer):  # a resumed run whose step budget is already spent takes no step
            trainer.should_stop, self.stop_reason = True, "step budget"
        elif self.deadline is not None and self.probe is not None and not self.interrupted:
            self._step_guess, self._val_guess = self.probe()
            too_slow = self._first_step_does_not_fit()
            if trainer.strategy.reduce_boolean_decision(too_slow, all=False):
                trainer.should_stop, self.stop_reason = True, "time budget"
                if self.is_zero:
                    self.echo(
                        f"time budget: a training step takes about {self._step_guess:.0f} s here and "
                        f"{max(self.remaining(), 0):.0f} s are left, too few for one step, its validation and "
                        "checkpoint; no step taken (give it more minutes)"
                    )
        self._mark, self._busy = self.clock(), False

    def _first_step_does_not_fit(self) -> bool:
        """A run takes at least one step unless that step, its validation batch and checkpoints would end it
        more than :meth:`tolerance` past the deadline (a big model on a slow machine): a step far longer than
        what is left is not begun. Time already lost before training (a budget shorter than the start-up)
        does not count against the step."""
        end = self.batch() + self.val_per_batch() + 3 * self.checkpoint + self.margin()
        return max(self.remaining(), 0.0) + self.tolerance() < end

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        now = self.clock()
        if self._mark is not None and not self._busy:
            self._batches.append(now - self._mark)
        self._mark, self._busy = now, False
        if self._steps_done(trainer):  # like a time-budget stop: saved at this batch end, then validated
            trainer.should_stop = True
            self.stop_reason = self.stop_reason or "step budget"
            return
        batch_idx = args[-1] if args else 0
        stop = self.interrupted or self._out_of_time(trainer, batch_idx)
        if trainer.strategy.reduce_boolean_decision(stop, all=False):  # any process: all stop together
            trainer.should_stop = True
            if self.stop_reason is None:
                self.stop_reason = "interrupted" if self.interrupted else "time budget"

    def _steps_done(self, trainer: L.Trainer) -> bool:
        """``train.max_steps`` reached: the same count on every process, so no vote is needed."""
        return bool(self.max_steps) and trainer.global_step >= self.max_steps

    def _out_of_time(self, trainer: L.Trainer, batch_idx: int) -> bool:
        if self.deadline is None:
            return False
        need = self.batch() + self.final_reserve()
        if self._validation_follows(trainer, batch_idx):
            # this validation, its checkpoints, then at least one batch and the end of the run
            need += self.whole_validation() + 2 * self.checkpoint
        return self.remaining() < need

    @staticmethod
    def _validation_follows(trainer: L.Trainer, batch_idx: int) -> bool:
        """Whether Lightning validates after this batch (its own rule, for a sized loader)."""
        every = trainer.val_check_batch
        if every is None or every == math.inf:
            return bool(trainer.fit_loop.epoch_loop.batch_progress.is_last_batch)
        return (batch_idx + 1) % int(every) == 0

    def busy(self) -> None:
        """Something other than a train batch (a checkpoint, samples) ran: the next interval is not a batch."""
        self._busy = True

    # -- validation ----------------------------------------------------------------------------------------
    def wrap_validation(self, loader: Any) -> BudgetedLoader:
        return BudgetedLoader(loader, self)

    def _validation_starts(self, total: int) -> None:
        self._val_start, self._val_served, self.last_cut = self.clock(), 0, None
        self.val_total = min(total, self.val_limit) if self.val_limit else total

    def _keep_validating(self, served: int) -> bool:
        """Whether to fetch batch ``served + 1``: at least one always runs; then only what fits in the budget
        once best.ckpt, last.ckpt and the margin are kept back."""
        self._val_served = served
        if served < 1:
            return True
        if self.interrupted:
            self._cut(served, "interrupted")
            return False
        if self.deadline is None:
            return True
        elapsed = self.clock() - (self._val_start or self.clock())
        per_batch = elapsed / (served - 1) if served >= 2 else self.val_per_batch()
        # the batch already fetched (Lightning fetches one ahead) and the one asked for
        if self.remaining() - 2 * per_batch < 2 * self.checkpoint + self.margin():
            self._cut(served, "time budget")
            return False
        return True

    def _cut(self, served: int, reason: str) -> None:
        total = max(self.val_total, served)
        if served >= total:
            return
        self.last_cut = ValidationCut(served, total, reason)
        self.cuts.append(self.last_cut)
        if self.is_zero:
            why = "to keep the time budget" if reason == "time budget" else "(interrupted)"
            self.echo(f"validation cut to {served} of {total} batches {why}")

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._val_start is not None and self._val_served:
            self.val_batch = (self.clock() - self._val_start) / self._val_served
        self._val_start = None
        self.busy()

    # -- samples ---------------------------------------------------------------------------------------------
    def samples_fit(self, trainer: L.Trainer) -> bool:
        """Whether a round of in-training samples fits before the run must end."""
        if self.interrupted:
            return False
        if self.deadline is None:
            return True
        guess = self.samples * 1.25 if self.samples is not None else max(5.0, 0.05 * self.deadline.seconds)
        after = self.checkpoint + self.margin() if trainer.should_stop else self.batch() + self.final_reserve()
        return self.remaining() >= guess + after

    def samples_took(self, seconds: float) -> None:
        self.samples = seconds
        self.busy()

    def checkpoint_took(self, seconds: float) -> None:
        self.checkpoint = seconds
        self.busy()


class BudgetedLoader:
    """A validation loader that stops yielding when :class:`RunControl` says the rest would not fit."""

    def __init__(self, inner: Any, control: RunControl):
        self.inner, self.control = inner, control

    def __len__(self) -> int:
        return len(self.inner)

    def __getattr__(self, name: str) -> Any:  # sampler, batch_sampler, state_dict…: the inner loader's
        return getattr(self.inner, name)

    def __iter__(self) -> Iterator[Any]:
        self.control._validation_starts(len(self.inner))
        batches = iter(self.inner)
        served = 0
        while self.control._keep_validating(served):
            try:
                batch = next(batches)
            except StopIteration:
                return
            served += 1
            yield batch


@contextmanager
def stop_on_interrupt(control: RunControl) -> Iterator[None]:
    """While training, Ctrl-C asks ``control`` for an orderly stop; a second one ends the process at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if control.interrupted:
            if control.is_zero:
                os.write(2, b"\ninterrupted again: stopped at once; the run keeps its last checkpoint\n")
            os._exit(INTERRUPTED_STATUS)
        control.interrupted = True
        if control.is_zero:
            os.write(2, b"\nCtrl-C: stopping after this batch and saving the run (Ctrl-C again to stop at once)\n")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
