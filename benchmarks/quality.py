"""Quality at equal budget: each preset trains for the same wall-clock minutes on the same folk split.

For each preset it reports validation bits per character and accuracy (of the best
checkpoint, over the whole validation split) and the share of ``--num`` samples at
T = ``--temperature`` that convert to MIDI with zero abc2midi errors. Runs live under
``--work`` and are resumed, not redone, so an interrupted benchmark picks up where it stopped.

    python benchmarks/quality.py                      # 20 minutes each on this machine's CPU
    python benchmarks/quality.py --budget-minutes 5 --accelerator gpu --precision bf16-mixed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Figure, log, machine, table  # noqa: E402

from tunesmith.bundle import load  # noqa: E402
from tunesmith.data.prepared import PreparedData  # noqa: E402
from tunesmith.media.abc_samples import write_samples  # noqa: E402
from tunesmith.pipeline.prepare import prepare  # noqa: E402
from tunesmith.pipeline.train import train  # noqa: E402
from tunesmith.sampling import SampleSettings  # noqa: E402
from tunesmith.training.evaluate import held_out  # noqa: E402
from tunesmith.training.trainer import Hardware  # noqa: E402

PRESETS = ("abc-lstm-seed", "abc-lstm", "abc-transformer")
QUICK_PRESETS = ("abc-lstm-seed-debug", "abc-lstm-debug", "abc-transformer-debug")
TARGET_GAIN = 0.15  # the best preset's bits/char at least 15% below abc-lstm-seed's


def quality_of(preset: str, data: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Train (or resume) one preset within the budget, then measure its best checkpoint."""
    run = work / preset
    overrides = ["train.max_epochs=1000", "train.patience=0", "train.sample_every=0"]
    if args.precision:
        overrides.append(f"train.precision={args.precision}")
    hardware = Hardware(accelerator=args.accelerator, devices="1")
    log(f"quality: training {preset} for {args.budget_minutes} minutes")
    load_before = os.getloadavg()[0]
    result = train(
        preset, data, run, overrides=overrides, max_minutes=args.budget_minutes, hardware=hardware, progress=False
    )
    loaded = load(run, "best")
    prepared = PreparedData.open(data)
    log(f"quality: scoring {preset} on the validation split")
    likelihood = held_out(loaded.model, prepared, loaded.config.data.seq_len, max_batches=args.val_batches)
    settings = SampleSettings(num=args.num, temperature=args.temperature, max_length=1000, seed=0, batch_size=64)
    with tempfile.TemporaryDirectory(prefix="tunesmith-quality-") as tmp:
        report = write_samples(loaded.model, loaded.representation, settings, tmp, profile=loaded.corpus)
    status = json.loads((run / "status.json").read_text())
    return {
        "preset": preset,
        "budget_minutes": args.budget_minutes,
        "global_step": result.global_step,
        "epochs": status.get("epochs"),
        "train_seconds_this_call": round(result.seconds, 1),
        "val_bpc": likelihood["bpc"],
        "val_acc": likelihood["acc"],
        "val_tokens": likelihood["tokens"],
        "zero_error_share": report.clean_share,
        "converted_share": report.converted_share,
        "ended_share": sum(t["ended_cleanly"] for t in report.tunes) / max(1, len(report.tunes)),
        "temperature": args.temperature,
        "num": args.num,
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def figures_of(results: list[dict[str, Any]], quick: bool) -> list[Figure]:
    figures = []
    for r in results:
        p = r["preset"]
        note = f"{r['budget_minutes']:g} min, {r['global_step']} steps, {r['epochs']} epochs"
        figures += [
            Figure(f"quality.{p}.val_bpc", r["val_bpc"], "bits/char", note=note, extra=r),
            Figure(f"quality.{p}.val_acc", r["val_acc"], "share"),
            Figure(
                f"quality.{p}.zero_error_t{r['temperature']:g}",
                r["zero_error_share"],
                "share",
                note=f"{r['num']} samples; converted {r['converted_share']:.2f}, ended {r['ended_share']:.2f}",
            ),
        ]
    seed = results[0]
    best = min(results, key=lambda r: r["val_bpc"])
    gain = 1 - best["val_bpc"] / seed["val_bpc"]
    figures.append(
        Figure(
            "quality.best-vs-seed",
            gain,
            "share",
            TARGET_GAIN,
            judged=not quick,
            note=("quick run, target not judged; " if quick else "")
            + f"1 - {best['preset']} bpc / {seed['preset']} bpc",
        )
    )
    return figures


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget-minutes", type=float, default=20.0, help="wall-clock training minutes per preset")
    p.add_argument("--presets", nargs="+", help=f"first is the reference (default {' '.join(PRESETS)})")
    p.add_argument("--num", type=int, default=100, help="samples per preset for the zero-error share")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--work", type=Path, default=HERE / "work" / "quality", help="prepared data and runs (resumed)")
    p.add_argument("--out", type=Path, help="JSON path (default benchmarks/results/quality.json)")
    p.add_argument("--accelerator", default="cpu", help="cpu, gpu, auto… (passed to Lightning)")
    p.add_argument("--precision", help="e.g. bf16-mixed for a GPU run")
    p.add_argument("--val-batches", type=int, default=0, help="cap validation batches (0 = the whole split)")
    p.add_argument("--quick", action="store_true", help="debug presets, seconds of training: a smoke run")
    args = p.parse_args(argv)
    if not 0 < args.budget_minutes <= 24 * 60:
        p.error("--budget-minutes must be above 0 and at most 1440")
    if not 1 <= args.num <= 1000:
        p.error("--num must be between 1 and 1000")
    return args


def run_quality(args: argparse.Namespace) -> tuple[list[Figure], dict[str, Any]]:
    presets = args.presets or (QUICK_PRESETS if args.quick else PRESETS)
    data = args.work / "data"
    if not (data / "meta.json").is_file():
        log(f"quality: preparing the folk corpus into {data}")
        prepare(data, corpus="folk", max_tunes=400 if args.quick else 0)
    results = [quality_of(p, data, args.work, args) for p in presets]
    return figures_of(results, args.quick), {"presets": list(presets), "runs": str(args.work)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.quick:
        args.budget_minutes, args.num, args.val_batches = min(args.budget_minutes, 0.1), min(args.num, 4), 5
        args.work = args.work.with_name(args.work.name + "-quick")
        shutil.rmtree(args.work, ignore_errors=True)  # a smoke run starts fresh rather than resuming
    started, info = time.perf_counter(), machine()
    figures, extra = run_quality(args)
    out = args.out or HERE / "results" / ("quality-quick.json" if args.quick else "quality.json")
    result = {
        "mode": "quick" if args.quick else "full",
        "machine": info,
        **extra,
        "seconds": round(time.perf_counter() - started, 1),
        "figures": {f.name: f.to_json() for f in figures},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(figures))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
