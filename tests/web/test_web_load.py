"""A bounded load test on loopback: 200 generate requests from 8 concurrent clients against the debug model.

A real uvicorn server runs in a thread on a free port of 127.0.0.1. The queue is kept small (4) so
that 8 clients overfill it: the 503s it answers are intended and counted apart; any other error
fails the test. The figures are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tunesmith.web.app import create_app
from tunesmith.web.loadtest import percentile, run_load
from tunesmith.web.server import running

REQUESTS, CLIENTS, QUEUE = 200, 8, 4
BODY = {"num": 1, "max_length": 48, "temperature": 1.0}  # short tunes keep 200 jobs within CI's minutes


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (50.0, 95.0, 100.0)
    assert percentile([3.0], 95) == 3.0 and percentile([], 50) == 0.0


@pytest.mark.slow
def test_200_requests_from_8_clients(trained_run: Path, tmp_path: Path) -> None:
    app = create_app([trained_run.parent], tmp_path / "store", include_defaults=False, queue_size=QUEUE)
    with running(app) as url:
        model = next(m.id for m in app.state.catalog.entries() if m.name.endswith(trained_run.name))
        report = run_load(url, {"model": model, **BODY}, requests=REQUESTS, clients=CLIENTS, backoff=0.25, timeout=240)
    figures = report.summary()
    print(
        f"\nstudio load: {REQUESTS} requests from {CLIENTS} clients in {figures['seconds']} s: "
        f"{report.completed} completed, {report.rejected} answered 503 (queue of {QUEUE}), "
        f"{len(report.errors)} errors; "
        f"p50 {figures['p50_s']:.3f} s, p95 {figures['p95_s']:.3f} s (request to last tune); "
        f"health p95 {figures['probe_p95_s']:.3f} s over {figures['probes']} probes"
    )
    assert report.errors == [], report.errors[:5]
    assert report.accepted + report.rejected == REQUESTS  # every request got one of the two intended answers
    assert report.completed == report.accepted > 0
    assert report.answers_after
    assert len(report.latencies) == report.completed and figures["p50_s"] <= figures["p95_s"]
    assert report.probe_latencies and figures["probe_max_s"] < 5.0  # the event loop never waited on the model
