"""A bounded load test of a running studio: many generate requests from a few concurrent clients.

Shared by ``tests/test_web_load.py`` and ``benchmarks/studio_load.py`` so both measure the same thing.
Each client sends a generate request and follows its job to the end (long polling), as the page
does; a 503 is the queue doing its job, so it is counted apart from errors, and the client waits
(up to ``backoff`` seconds of the Retry-After) before its next request. A probe asks for
``/api/health`` throughout, to show the server stays responsive while the model works. Only the
standard library is used, and only the given loopback address is ever contacted.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class LoadReport:
    requests: int
    clients: int
    accepted: int = 0  # 202: queued
    completed: int = 0  # jobs that finished with every tune
    rejected: int = 0  # 503 with Retry-After: the intended answer of a full queue
    errors: list[str] = field(default_factory=list)  # anything else, including failed jobs
    latencies: list[float] = field(default_factory=list)  # request sent → job done, seconds
    accept_latencies: list[float] = field(default_factory=list)  # request sent → 202
    probe_latencies: list[float] = field(default_factory=list)  # /api/health while under load
    seconds: float = 0.0
    answers_after: bool = False
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "clients": self.clients,
            "accepted": self.accepted,
            "completed": self.completed,
            "rejected_503": self.rejected,
            "errors": len(self.errors),
            "error_examples": self.errors[:5],
            "p50_s": percentile(self.latencies, 50),
            "p95_s": percentile(self.latencies, 95),
            "accept_p50_s": percentile(self.accept_latencies, 50),
            "accept_p95_s": percentile(self.accept_latencies, 95),
            "probe_p95_s": percentile(self.probe_latencies, 95),
            "probe_max_s": max(self.probe_latencies, default=0.0),
            "probes": len(self.probe_latencies),
            "seconds": round(self.seconds, 2),
            "answers_after": self.answers_after,
            "load_average_1_5_15": [round(x, 2) for x in self.load_average],
        }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values), rounded to the millisecond."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n q / 100)
    return round(ordered[int(rank) - 1], 4)


class _Client:
    """One keep-alive HTTP connection, reopened after a failure."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, str], Any]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if data is not None else {}
            self.conn.request(method, path, body=data, headers=headers)
            reply = self.conn.getresponse()
            raw = reply.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw[:200]
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, payload


def run_load(
    base_url: str,
    body: dict[str, Any],
    *,
    requests: int = 200,
    clients: int = 8,
    backoff: float = 1.0,
    timeout: float = 600.0,
    probe_every: float = 0.1,
) -> LoadReport:
    """Send ``requests`` generate requests with ``body`` from ``clients`` threads; stops by itself."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    report = LoadReport(requests, clients)
    lock = threading.Lock()
    sent = [0]
    deadline = time.monotonic() + timeout
    finished = threading.Event()

    def take() -> bool:
        with lock:
            if sent[0] >= requests or time.monotonic() > deadline:
                return False
            sent[0] += 1
            return True

    def note(kind: str, value: Any = None) -> None:
        with lock:
            if kind == "error":
                report.errors.append(str(value)[:300])
            else:
                setattr(report, kind, getattr(report, kind) + 1)

    def client() -> None:
        http_client = _Client(host, port, timeout=60)
        while take():
            started = time.monotonic()
            try:
                status, headers, job = http_client.call("POST", "/api/generate", body)
                if status == 503:
                    retry = headers.get("retry-after", "")
                    if not retry.isdigit() or int(retry) < 1:
                        note("error", f"503 without a usable Retry-After ({retry!r})")
                    else:
                        note("rejected")
                        time.sleep(min(int(retry), backoff))
                    continue
                if status != 202:
                    note("error", f"POST /api/generate answered {status}: {job}")
                    continue
                with lock:
                    report.accepted += 1
                    report.accept_latencies.append(time.monotonic() - started)
                while job["state"] not in ("done", "failed") and time.monotonic() < deadline:
                    status, _, job = http_client.call("GET", f"{job['url']}?since={job['version']}&wait=10")
                    if status != 200:
                        raise RuntimeError(f"GET job answered {status}: {job}")
                if job["state"] == "done" and job["done"] == job["total"]:
                    with lock:
                        report.completed += 1
                        report.latencies.append(time.monotonic() - started)
                else:
                    note("error", f"job {job['state']}: {job.get('error')}")
            except Exception as exc:  # every failure is counted, none stops the test
                note("error", f"{type(exc).__name__}: {exc}")

    def probe() -> None:
        http_client = _Client(host, port, timeout=30)
        while not finished.is_set():
            started = time.monotonic()
            try:
                status, _, _ = http_client.call("GET", "/api/health")
                if status != 200:
                    note("error", f"health answered {status}")
                with lock:
                    report.probe_latencies.append(time.monotonic() - started)
            except Exception as exc:
                note("error", f"health: {type(exc).__name__}: {exc}")
            finished.wait(probe_every)

    began = time.monotonic()
    threads = [threading.Thread(target=client, name=f"load-client-{i}") for i in range(clients)]
    prober = threading.Thread(target=probe, name="load-probe")
    prober.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    finished.set()
    prober.join()
    report.seconds = time.monotonic() - began
    report.load_average = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    after = _Client(host, port, timeout=10)
    try:
        report.answers_after = all(after.call("GET", p)[0] == 200 for p in ("/api/models", "/api/health", "/"))
    except Exception:
        report.answers_after = False
    return report
