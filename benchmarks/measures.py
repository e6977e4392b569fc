"""The measures that cannot be gamed, for any number of ABC runs or bundles at equal settings.

For each model, one table row of what a reader needs to tell a good model from a bad one:

- held-out **bits per character** of the validation text (``tunesmith evaluate``'s likelihood);
- **valid**, sampling freely and with ``--constrain`` (same seed, temperature, length), beside the
  share of real held-out tunes that are valid under the same check (the corpus baseline);
- **forced** endings (cut at the length or steered to an end by the grammar), free and constrained;
- the **shape OA**: the mean overlapping area of the shape-of-a-tune features with the training draw;
- **told apart**: the cross-validated accuracy of a classifier telling the samples from real held-out
  tunes (0.5: it cannot), with its 95% interval;
- **near copies**: the share of samples that copy a run of a training tune.

Run::

    python benchmarks/measures.py --model demo5=demo-output/run --model demo20=benchmarks/work/demo20

A bundle needs ``--data DIR`` (its prepared folder). ``--quick`` samples 24 tunes a model. One table
goes to stdout, progress to stderr, everything (with the machine) to ``benchmarks/results/measures.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.bundle import load
from tunesmith.media.abc_samples import generate_tunes, tune_text
from tunesmith.metrics.abc_shape import shape
from tunesmith.metrics.validity import check_many, summarize
from tunesmith.pipeline.evaluate import EvaluateSettings, evaluate
from tunesmith.pipeline.model_card import card_figures, fill_figures
from tunesmith.sampling import SampleSettings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import log, machine, text_table  # noqa: E402

DEFAULT_MODELS = {"demo5": ROOT / "demo-output" / "run", "demo20": HERE / "work" / "demo20"}


def constrained(path: str, settings: SampleSettings, checkpoint: str) -> dict[str, Any]:
    """Valid and forced shares of constrained samples, judged by the model's corpus profile, and their bars."""
    loaded = load(path, checkpoint)
    tunes = generate_tunes(loaded.model, loaded.representation, settings, loaded.corpus)
    texts = [tune_text(loaded.representation, t.tokens, i + 1) for i, t in enumerate(tunes)]
    summary = summarize(check_many(texts, [t.ending for t in tunes], profile=loaded.corpus))
    bars = [shape(text)["bars"] for text in texts]
    return {
        "valid_share": summary["valid_share"],
        "forced_share": summary["forced_share"],
        "bars_median": float(np.nanmedian(bars)) if not np.isnan(bars).all() else None,
    }


def _oas(group: dict[str, Any]) -> dict[str, float]:
    return {f: c["oa"] for f, c in (group.get("shape") or {}).items() if c.get("oa") is not None}


def measure(label: str, path: str, args: argparse.Namespace, num: int) -> list[dict[str, Any]]:
    """One row per temperature: one evaluation draws every temperature's free samples, then a constrained arm each."""
    temperatures = tuple(args.temperature)
    log(f"{label}: evaluating {num} free samples at T={', '.join(f'{t:g}' for t in temperatures)}")
    settings = EvaluateSettings(num=num, temperatures=temperatures, seed=args.seed, max_length=args.max_length)
    settings.max_batches = args.max_batches
    out = args.work / label
    result = evaluate(path, out, settings, data=args.data, checkpoint=args.checkpoint, progress=log)
    report = result.report
    held, held_group = report["groups"][-1], result.groups[-2]
    real_bars = held_group.values.get("bars")
    rows = []
    for sample, temperature in zip(report["groups"], temperatures, strict=False):
        log(f"{label}: {num} constrained samples at T={temperature:g}")
        sampling = SampleSettings(
            num=num, temperature=temperature, max_length=args.max_length, seed=args.seed, constrain=True
        )
        arm = constrained(path, sampling, args.checkpoint)
        test = sample.get("two_sample") or {}
        oas, real_oas = _oas(sample), _oas(held)
        rows.append(
            {
                "model": label,
                "path": path,
                "temperature": temperature,
                "bits_per_char": report["likelihood"].get("bpc"),
                "valid_free": sample["validity"]["valid_share"],
                "valid_constrained": arm["valid_share"],
                "valid_real": held["validity"]["valid_share"],
                "forced_free": sample["validity"]["forced_share"],
                "forced_constrained": arm["forced_share"],
                "bars_median_constrained": arm["bars_median"],
                "bars_median_real": float(np.nanmedian(real_bars)) if real_bars is not None else None,
                "shape_oa": sample.get("mean_shape_oa"),
                "real_shape_oa": held.get("mean_shape_oa"),
                "shape_oas": oas,
                "real_shape_oas": real_oas,
                "told_apart": test.get("accuracy"),
                "told_apart_interval": [test.get("low"), test.get("high")],
                "near_copies": (sample.get("novelty") or {}).get("near_copy_share"),
                "real_near_copies": (held.get("novelty") or {}).get("near_copy_share"),
                "report": str(out / "report.md"),
            }
        )
    return rows


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def render_table(rows: list[dict[str, Any]]) -> str:
    head = ["model", "T", "bits/char", "valid free", "valid constr.", "real tunes", "forced free", "forced constr."]
    head += ["median bars constr. (real)", "shape OA (lowest)", "told apart", "near copies"]
    cells = [head]
    for r in rows:
        low, high = r["told_apart_interval"]
        told = "-" if r["told_apart"] is None else f"{r['told_apart']:.2f} [{low:.2f}, {high:.2f}]"
        lowest = min(r["shape_oas"].values()) if r["shape_oas"] else None
        cells.append(
            [
                r["model"],
                f"{r['temperature']:g}",
                _num(r["bits_per_char"], 3),
                pct(r["valid_free"]),
                pct(r["valid_constrained"]),
                pct(r["valid_real"]),
                pct(r["forced_free"]),
                pct(r["forced_constrained"]),
                f"{_num(r['bars_median_constrained'], 0)} ({_num(r['bars_median_real'], 0)})",
                f"{_num(r['shape_oa'])} ({_num(lowest)})",
                told,
                pct(r["near_copies"]),
            ]
        )
    return text_table(cells)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", default=[], help="LABEL=RUN_OR_BUNDLE (repeat); default: demo runs")
    p.add_argument("--data", type=Path, help="the prepared folder (needed for bundles)")
    p.add_argument("--num", type=int, default=200, help="tunes per model and arm")
    p.add_argument("--temperature", type=float, action="append", help="sampling temperature (repeat; default 1)")
    p.add_argument("--max-length", type=int, default=1000)
    p.add_argument("--max-batches", type=int, default=0, help="held-out likelihood batches (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default="best")
    p.add_argument("--quick", action="store_true", help="24 tunes and 20 likelihood batches a model: a smoke run")
    p.add_argument("--work", type=Path, default=HERE / "work" / "measures", help="where the evaluations go")
    p.add_argument("--out", type=Path, default=HERE / "results" / "measures.json")
    p.add_argument("--card", type=Path, help="write the figures into this model card's Figures section (one model)")
    args = p.parse_args()
    args.temperature = args.temperature or [1.0]
    num = 24 if args.quick else args.num
    if args.quick:
        args.max_batches = args.max_batches or 20
    models = dict(m.split("=", 1) for m in args.model) if args.model else {}
    if not models:
        models = {k: str(v) for k, v in DEFAULT_MODELS.items() if (v / "checkpoints").is_dir()}
    if not models:
        sys.exit("no model: pass --model LABEL=RUN_OR_BUNDLE")
    if args.card and len(models) != 1:
        sys.exit("--card takes exactly one --model")
    rows = [row for label, path in models.items() for row in measure(label, path, args, num)]
    table = render_table(rows)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {"num": num, "temperatures": args.temperature, "max_length": args.max_length, "seed": args.seed}
    args.out.write_text(json.dumps({"machine": machine(), "settings": settings, "rows": rows}, indent=1))
    log(f"wrote {args.out}")
    if args.card:
        command = "python benchmarks/measures.py " + " ".join(sys.argv[1:])
        fill_figures(args.card, card_figures(rows, settings, command))
        log(f"wrote the figures into {args.card}")


if __name__ == "__main__":
    main()
