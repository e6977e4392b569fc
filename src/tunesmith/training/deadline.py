"""A command's wall-clock budget, on the ``time.monotonic()`` clock; light enough to import first.

``--max-minutes`` counts from when the process started (:func:`process_start`), so the interpreter's
start and the imports of PyTorch and Lightning are inside the budget, as a person with a stopwatch
would count them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

INTERRUPTED_STATUS = 130  # 128 + SIGINT, what shells expect after Ctrl-C


def process_start() -> float:
    """When this process started, on the ``time.monotonic()`` clock; now, where the system does not say."""
    now = time.monotonic()
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time, in ticks since boot
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError, AttributeError):
        return now
    age = uptime - started
    return now - age if 0 <= age < 3600 else now


@dataclass(frozen=True)
class Deadline:
    """A wall-clock budget: ``start`` and ``at`` on the ``time.monotonic()`` clock."""

    start: float
    at: float

    @classmethod
    def after(cls, minutes: float, start: float | None = None) -> Deadline:
        start = time.monotonic() if start is None else start
        return cls(start, start + 60.0 * minutes)

    @property
    def seconds(self) -> float:
        """The whole budget's length."""
        return max(self.at - self.start, 0.0)

    def remaining(self, now: float | None = None) -> float:
        return self.at - (time.monotonic() if now is None else now)

    def earlier(self, other: Deadline | None) -> Deadline:
        return self if other is None or self.at <= other.at else other

    def minus(self, seconds: float) -> Deadline:
        """The same budget with ``seconds`` kept back at its end (for work after training)."""
        return Deadline(self.start, max(self.at - seconds, self.start))
