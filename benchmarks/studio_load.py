"""The studio under load: 200 generate requests from 8 concurrent clients against the debug model, on loopback.

The same test as ``tests/test_web_load.py`` (``tunesmith.web.loadtest``), with the figures kept:
it prints a table and writes ``benchmarks/results/studio.json`` (p50/p95 from request to last
tune, the 503 count, errors, the health probe's latency while loaded, and the machine's load
average, which matters on a shared 2-core machine). It also takes the README's screenshot of the
compose page (``docs/studio.png``) from the demo's model where there is one::

    python benchmarks/studio_load.py                       # the test's settings
    python benchmarks/studio_load.py --requests 50 --constrain --no-screenshot
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from tunesmith.web.app import create_app
from tunesmith.web.loadtest import run_load
from tunesmith.web.server import running

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import log, machine  # noqa: E402

PRIMER = "M:6/8\nL:1/8\nK:G\n"


def debug_run(work: Path) -> Path:
    """The tests' model: 400 folk tunes and the abc-lstm-debug preset (a few seconds)."""
    from tunesmith.pipeline.prepare import prepare
    from tunesmith.pipeline.train import train

    prepare(work / "data", corpus="folk", max_tunes=400)
    train("abc-lstm-debug", work / "data", work / "runs" / "debug", progress=False)
    return work / "runs" / "debug"


def screenshot(model: Path, out: Path, store: Path) -> None:
    """Two constrained tunes on the compose page, saved as a small PNG."""
    from playwright.sync_api import sync_playwright

    from tunesmith.web.app import create_app

    app = create_app([model.parent], store, include_defaults=False)
    mid = next(e.id for e in app.state.catalog.entries() if e.path == model.resolve())
    with running(app) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 760})
        page.goto(url + "/")
        page.select_option("#model", mid)
        page.fill("#primer", PRIMER)
        page.fill("#max_length", "240")
        page.fill("#seed", "4")
        page.check("#constrain")
        page.click("#generate")
        page.wait_for_selector("#progress[data-state=done]", timeout=300_000)
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        page.screenshot(path=str(out))
        browser.close()
    from PIL import Image  # matplotlib's dependency: a palette PNG is a third of the size

    Image.open(out).convert("RGB").quantize(colors=96).save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--queue", type=int, default=4, help="queue size (small, so the clients overfill it)")
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--constrain", action="store_true", help="valid tunes: every one is rendered to WAV and SVG")
    parser.add_argument("--backoff", type=float, default=0.25, help="most seconds a client waits after a 503")
    parser.add_argument("--model", type=Path, help="a run or bundle (default: train the debug model)")
    parser.add_argument("--screenshot", type=Path, default=ROOT / "docs" / "studio.png")
    parser.add_argument("--screenshot-model", type=Path, default=ROOT / "demo-output" / "run")
    parser.add_argument("--no-screenshot", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "studio.json")
    args = parser.parse_args()

    start = machine()
    with tempfile.TemporaryDirectory(prefix="tunesmith-studio-bench-") as tmp:
        work = Path(tmp)
        model = args.model or debug_run(work)
        body: dict[str, Any] = {"num": 1, "max_length": args.max_length, "constrain": args.constrain}
        if args.constrain:
            body["primer"] = PRIMER
        app = create_app([model.parent], work / "store", include_defaults=False, queue_size=args.queue)
        body["model"] = next(e.id for e in app.state.catalog.entries() if e.path == model.resolve())
        log(f"{args.requests} requests from {args.clients} clients, queue {args.queue}, model {model}")
        with running(app) as url:
            report = run_load(url, body, requests=args.requests, clients=args.clients, backoff=args.backoff)
        figures = report.summary()
        if not args.no_screenshot:
            shot_model = args.screenshot_model if args.screenshot_model.exists() else model
            args.screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot(shot_model, args.screenshot, work / "shot-store")
            figures["screenshot"] = {"path": str(args.screenshot.relative_to(ROOT)), "model": str(shot_model)}
            log(f"screenshot {args.screenshot} ({args.screenshot.stat().st_size // 1024} KiB) from {shot_model}")
    rows = [
        ("requests", report.requests, f"from {report.clients} clients"),
        ("completed", report.completed, "jobs finished with their tune"),
        ("rejected 503", report.rejected, f"queue of {args.queue} full; Retry-After honoured up to {args.backoff} s"),
        ("errors", len(report.errors), "anything else (must be 0)"),
        ("p50 s", figures["p50_s"], "request sent to tune ready"),
        ("p95 s", figures["p95_s"], "request sent to tune ready"),
        ("accept p95 s", figures["accept_p95_s"], "request sent to 202"),
        ("health p95 s", figures["probe_p95_s"], f"/api/health under load, {figures['probes']} probes"),
        ("answers after", "yes" if report.answers_after else "NO", "/, /api/models and /api/health"),
        ("seconds", figures["seconds"], "wall time"),
        ("load average", " ".join(map(str, figures["load_average_1_5_15"])), "1, 5, 15 min, at the end"),
    ]
    print(f"{'figure':<14}  {'value':>12}  note")
    print(f"{'-' * 14}  {'-' * 12}  {'-' * 50}")
    for name, value, note in rows:
        print(f"{name:<14}  {value!s:>12}  {note}")
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "screenshot", "screenshot_model")}
    result = {"machine": start, "settings": {**settings, "model": str(args.model or "abc-lstm-debug")}, **figures}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    log(f"wrote {args.out}")
    if report.errors or not report.answers_after:
        sys.exit(1)


if __name__ == "__main__":
    main()
