"""The fuzz suite's long profile: many more, freshly random examples of every property in ``tests/fuzz``.

``make test`` runs the suite with the ``ci`` profile (a fixed number of derandomised examples per test,
about a minute and a half on two cores). This runs the same tests with the ``long`` profile: each
test's count times ``--scale`` (default 20), new random examples every run. It prints one row per
test (examples run, distinct failures found, seconds) and writes ``benchmarks/results/fuzz.json``
with the machine it ran on::

    python benchmarks/fuzz.py                   # the long profile, scale 20 (tens of minutes on 2 cores)
    python benchmarks/fuzz.py --scale 5 -k cli  # the CLI properties only, five times the ci count
    python benchmarks/fuzz.py --profile ci      # what make test runs, with the table

Examples are counted through Hypothesis's observability callbacks; a failure is counted once per
distinct reason (exception type and place), as Hypothesis reports them. The exit status is 1 when
any property failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))


class Counter:
    """A pytest plugin that counts Hypothesis test cases per test item, and times and judges each item."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.examples: dict[str, int] = defaultdict(int)
        self.failing: dict[str, int] = defaultdict(int)
        self.reasons: dict[str, set[str]] = defaultdict(set)
        self.outcome: dict[str, str] = {}
        self.seconds: dict[str, float] = defaultdict(float)
        self.message: dict[str, str] = {}

    def observe(self, observation: Any) -> None:
        if getattr(observation, "type", None) != "test_case" or self.current is None:
            return
        status = getattr(observation, "status", "")
        if status == "gave_up":
            return
        self.examples[self.current] += 1
        if status == "failed":
            self.failing[self.current] += 1
            self.reasons[self.current].add(str(getattr(observation, "status_reason", "")))

    def pytest_runtest_setup(self, item: Any) -> None:
        self.current = item.nodeid

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.seconds[report.nodeid] += report.duration
        if report.when == "call" or report.outcome != "passed":
            if report.outcome == "failed" or report.nodeid not in self.outcome:
                self.outcome[report.nodeid] = report.outcome
            if report.outcome == "failed":
                lines = [line for line in str(report.longrepr).splitlines() if line.startswith("E ")]
                self.message[report.nodeid] = " ".join(lines[:3])[:300]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("long", "ci"), default="long")
    parser.add_argument("--scale", type=int, default=20, help="long profile: examples per test, times the ci count")
    parser.add_argument("-k", dest="keyword", default=None, help="run only the tests matching this pytest -k")
    parser.add_argument("--hang-seconds", type=float, default=60.0, help="the hang guard of each example")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "fuzz.json")
    args = parser.parse_args()

    os.environ["TUNESMITH_FUZZ_PROFILE"] = args.profile
    os.environ["TUNESMITH_FUZZ_SCALE"] = str(args.scale)
    os.environ["TUNESMITH_FUZZ_HANG_S"] = str(args.hang_seconds)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))

    import pytest
    from common import log, machine
    from hypothesis.internal.observability import add_observability_callback, remove_observability_callback

    start = machine()
    counter = Counter()
    pytest_args = ["-q", "-p", "no:cacheprovider", "tests/fuzz", *(["-k", args.keyword] if args.keyword else [])]
    log(
        f"pytest {' '.join(pytest_args)} with the {args.profile} profile"
        + (f", scale {args.scale}" * (args.profile == "long"))
    )
    add_observability_callback(counter.observe)
    started = time.perf_counter()
    try:
        status = pytest.main(pytest_args, plugins=[counter])
    finally:
        remove_observability_callback(counter.observe)
    wall = time.perf_counter() - started

    rows = []
    for nodeid in sorted(counter.outcome):
        name = nodeid.split("::", 1)[-1]
        rows.append(
            {
                "test": name,
                "file": nodeid.split("::", 1)[0],
                "outcome": counter.outcome[nodeid],
                "examples": counter.examples.get(nodeid, 0),
                "failing_examples": counter.failing.get(nodeid, 0),
                "distinct_failures": len(counter.reasons.get(nodeid, ())) or int(counter.outcome[nodeid] == "failed"),
                "seconds": round(counter.seconds.get(nodeid, 0.0), 2),
                "first_failure": counter.message.get(nodeid, ""),
            }
        )
    width = max([len(r["test"]) for r in rows] + [4])
    print(f"{'test':<{width}}  {'examples':>8}  {'failures':>8}  {'seconds':>8}  outcome")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 8}  {'-' * 8}  -------")
    for r in rows:
        figures = f"{r['examples']:>8}  {r['distinct_failures']:>8}  {r['seconds']:>8.1f}"
        print(f"{r['test']:<{width}}  {figures}  {r['outcome']}")
    totals = {
        "tests": len(rows),
        "examples": sum(r["examples"] for r in rows),
        "distinct_failures": sum(r["distinct_failures"] for r in rows),
        "failed_tests": sum(r["outcome"] == "failed" for r in rows),
        "seconds": round(wall, 1),
    }
    print(f"{'total':<{width}}  {totals['examples']:>8}  {totals['distinct_failures']:>8}  {totals['seconds']:>8.1f}")
    result = {
        "machine": start,
        "settings": {
            "profile": args.profile,
            "scale": args.scale if args.profile == "long" else 1,
            "keyword": args.keyword,
        },
        "totals": totals,
        "tests": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    log(f"wrote {args.out}")
    return 0 if status == 0 and not totals["failed_tests"] else 1


if __name__ == "__main__":
    sys.exit(main())
