"""Constrained sampling against free sampling: validity bought, and what it costs in speed.

For each model and temperature (0.5, 1.0, 2.0) this samples ``--num`` tunes freely and with
``constrain=True`` (same seed), checks every tune with :mod:`tunesmith.metrics.validity`
(abc2midi included), and reports the share of tunes with zero abc2midi errors, the share of
bars of the right length, the share that ended cleanly, the share valid on every count, and
sampling chars/s. Targets with the constraint: >= 99% zero errors at every temperature, >= 98%
of bars right, and at most a 2x slowdown.

The grammar's memo lives for the process, so the first temperature pays for building it;
that cost is in the figures. Run::

    python benchmarks/constrain.py --model demo5=demo-output/run --model demo20=benchmarks/work/demo20

(``--quick``: 32 tunes a model and temperature). One table goes to stdout, progress to stderr,
everything (with the machine) to ``benchmarks/results/constrain.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from tunesmith.bundle import load
from tunesmith.media.abc_samples import generate_tunes as generate
from tunesmith.media.abc_samples import tune_text
from tunesmith.metrics.validity import check_many, summarize
from tunesmith.sampling import SampleSettings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import log, machine, text_table  # noqa: E402

TEMPERATURES = (0.5, 1.0, 2.0)
DEFAULT_MODELS = {"demo5": ROOT / "demo-output" / "run", "demo20": HERE / "work" / "demo20"}
TARGETS = {"zero_error_share": 0.99, "bars_ok_share": 0.98, "slowdown": 2.0}


def measure(loaded: Any, settings: SampleSettings) -> dict[str, Any]:
    """Sample, time it, and check every tune."""
    started = time.perf_counter()
    generated = generate(loaded.model, loaded.representation, settings, loaded.corpus)
    seconds = time.perf_counter() - started
    texts = [tune_text(loaded.representation, g.tokens, i + 1) for i, g in enumerate(generated)]
    reports = check_many(texts, [g.ending for g in generated], profile=loaded.corpus)
    chars = sum(int(g.tokens.size) for g in generated)
    return {
        **{k: round(v, 4) for k, v in summarize(reports).items()},
        "chars_per_second": round(chars / seconds, 1),
        "seconds": round(seconds, 2),
        "mean_length": round(chars / len(generated), 1),
        "abc2midi_warnings_per_tune": round(sum(r.abc2midi_warnings for r in reports) / len(reports), 2),
    }


def percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def render_table(rows: list[dict[str, Any]]) -> str:
    head = ["model", "T", "sampling", "zero errors", "bars ok", "ended", "valid", "chars/s", "slowdown", "targets"]
    cells = [head]
    for r in rows:
        cells.append(
            [
                r["model"],
                f"{r['temperature']:g}",
                "constrained" if r["constrain"] else "free",
                percent(r["zero_error_share"]),
                percent(r["bars_ok_share"]),
                percent(r["ended_share"]),
                percent(r["valid_share"]),
                f"{r['chars_per_second']:,.0f}",
                f"{r['slowdown']:.2f}x" if r["constrain"] else "-",
                {True: "met", False: "NOT MET", None: "-"}[r.get("targets_met")],
            ]
        )
    return text_table(cells)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", default=[], help="LABEL=RUN_OR_BUNDLE (repeat); default: demo runs")
    p.add_argument("--num", type=int, default=200, help="tunes per model, temperature and arm")
    p.add_argument("--max-length", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default="best")
    p.add_argument("--quick", action="store_true", help="32 tunes each: a smoke run")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own choice)")
    p.add_argument("--out", type=Path, default=HERE / "results" / "constrain.json")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    num = 32 if args.quick else args.num
    models = dict(m.split("=", 1) for m in args.model) if args.model else {}
    if not models:
        models = {k: str(v) for k, v in DEFAULT_MODELS.items() if (v / "checkpoints").is_dir()}
    if not models:
        sys.exit("no model: pass --model LABEL=RUN_DIR")
    rows: list[dict[str, Any]] = []
    for label, path in models.items():
        loaded = load(path, args.checkpoint)
        warm = SampleSettings(num=8, max_length=100, seed=args.seed)
        generate(loaded.model, loaded.representation, warm)  # first calls pay for allocation, in both arms alike
        for temperature in TEMPERATURES:
            free_speed = None
            for constrain in (False, True):
                settings = SampleSettings(
                    num=num, temperature=temperature, max_length=args.max_length, seed=args.seed, constrain=constrain
                )
                log(f"{label} T={temperature:g} {'constrained' if constrain else 'free'}: {num} tunes")
                row = {"model": label, "path": str(path), "temperature": temperature, "constrain": constrain}
                row |= measure(loaded, settings)
                if constrain:
                    row["slowdown"] = round(free_speed / row["chars_per_second"], 3)
                    row["targets_met"] = (
                        row["zero_error_share"] >= TARGETS["zero_error_share"]
                        and row["bars_ok_share"] >= TARGETS["bars_ok_share"]
                        and row["slowdown"] <= TARGETS["slowdown"]
                    )
                else:
                    free_speed = row["chars_per_second"]
                rows.append(row)
    print(render_table(rows))
    met = [r["targets_met"] for r in rows if r["constrain"]]
    print(f"targets (constrained: >= 99% zero errors, >= 98% bars ok, <= 2x slower): {sum(met)}/{len(met)} met")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "mode": "quick" if args.quick else "full",
        "machine": machine(),
        "settings": {"num": num, "max_length": args.max_length, "seed": args.seed, "checkpoint": args.checkpoint},
        "targets": TARGETS,
        "rows": rows,
    }
    args.out.write_text(json.dumps(result, indent=2))
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
