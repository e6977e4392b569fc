"""Generation jobs: a bounded queue and worker threads, so the web server never waits on a model.

A request becomes a :class:`Job` and waits in a queue of fixed size; when the queue is full the
caller is told to come back later (HTTP 503 with Retry-After) instead of piling up work the
machine cannot do. Workers run jobs one at a time each; whatever a job raises is recorded on
the job, never allowed to end the worker. Every change bumps ``version``, so a page can wait for
the next change (long polling) instead of asking again and again.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tunesmith.errors import TunesmithError

log = logging.getLogger("tunesmith.web")
MAX_JOBS_KEPT = 500  # finished jobs remembered for their status pages


class QueueFull(Exception):
    """The queue is full; ``retry_after`` is a guess, in whole seconds, at when a place frees up."""

    def __init__(self, retry_after: int):
        super().__init__(f"the studio is busy; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Job:
    request: dict[str, Any]  # the checked request, model id included
    total: int  # tunes asked for
    seed: int
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: str = "queued"  # queued, running, done, failed
    stage: str = "waiting for a free worker"
    results: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    error_field: str | None = None  # the request field the error is about, when there is one
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    version: int = 0

    def update(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.version += 1

    def add(self, result: dict[str, Any]) -> None:
        self.results.append(result)
        self.version += 1

    @property
    def over(self) -> bool:
        return self.state in ("done", "failed")


class JobQueue:
    """Runs ``work(job)`` for each submitted job on ``workers`` threads, holding at most ``size`` waiting.

    ``tidy`` rewrites every error message before a client can read it (the studio's catalog turns the
    server's absolute paths into the names it shows)."""

    def __init__(
        self,
        work: Callable[[Job], None],
        size: int = 8,
        workers: int = 1,
        tidy: Callable[[str], str] = str,
    ):
        self.work, self.size, self.tidy = work, size, tidy
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=size)
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._seconds: list[float] = []  # recent job durations, for Retry-After
        self._threads = [
            threading.Thread(target=self._loop, name=f"studio-worker-{i}", daemon=True) for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    def submit(self, job: Job) -> Job:
        with self._lock:
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                raise QueueFull(self.retry_after()) from None
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_JOBS_KEPT + self.size:
                oldest = next(iter(self._jobs.values()))
                if not oldest.over:
                    break
                self._jobs.popitem(last=False)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def ahead_of(self, job: Job) -> int:
        """Jobs queued before this one."""
        return sum(1 for j in list(self._jobs.values()) if j.state == "queued" and j.created < job.created)

    def waiting(self) -> int:
        return self._queue.qsize()

    def retry_after(self) -> int:
        """Seconds until a queue place is likely free: the time one typical job takes, at least 1."""
        recent = self._seconds[-20:]
        typical = sorted(recent)[len(recent) // 2] if recent else 1.0
        return max(1, min(120, math.ceil(typical)))

    def close(self, timeout: float = 5.0) -> None:
        """Stop the workers after the jobs they are running (queued jobs are dropped)."""
        while True:
            try:
                dropped = self._queue.get_nowait()
            except queue.Empty:
                break
            if dropped is not None:
                dropped.update(state="failed", error="the studio was stopped", stage="stopped")
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout)

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            started = time.monotonic()
            job.update(state="running", stage="starting", started=time.time())
            try:
                self.work(job)
                job.update(state="done", stage=f"{len(job.results)} of {job.total} done", finished=time.time())
            except TunesmithError as exc:
                job.update(state="failed", stage="failed", error=self.tidy(str(exc)), finished=time.time())
            except Exception as exc:  # a bug must cost one job, not the worker
                log.error("job %s failed:\n%s", job.id, traceback.format_exc())
                error = self.tidy(f"internal error: {exc}")
                job.update(state="failed", stage="failed", error=error, finished=time.time())
            with self._lock:
                self._seconds = [*self._seconds[-49:], time.monotonic() - started]
