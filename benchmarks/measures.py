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

from tunesmith.bundle import load
from tunesmith.media.abc_samples import generate_tunes, tune_text
from tunesmith.metrics.validity import check_many, summarize
from tunesmith.pipeline.evaluate import EvaluateSettings, evaluate
from tunesmith.sampling import SampleSettings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import log, machine, text_table  # noqa: E402

DEFAULT_MODELS = {"demo5": ROOT / "demo-output" / "run", "demo20": HERE / "work" / "demo20"}


def constrained(path: str, settings: SampleSettings, checkpoint: str) -> dict[str, Any]:
    """Valid and forced shares of constrained samples, judged by the model's corpus profile."""
    loaded = load(path, checkpoint)
    tunes = generate_tunes(loaded.model, loaded.representation, settings, loaded.corpus)
    texts = [tune_text(loaded.representation, t.tokens, i + 1) for i, t in enumerate(tunes)]
    summary = summarize(check_many(texts, [t.ending for t in tunes], profile=loaded.corpus))
    return {"valid_share": summary["valid_share"], "forced_share": summary["forced_share"]}


def measure(label: str, path: str, args: argparse.Namespace, num: int) -> dict[str, Any]:
    log(f"{label}: evaluating {num} free samples at T={args.temperature:g}")
    settings = EvaluateSettings(num=num, temperatures=(args.temperature,), seed=args.seed, max_length=args.max_length)
    settings.max_batches = args.max_batches
    out = args.work / label
    result = evaluate(path, out, settings, data=args.data, checkpoint=args.checkpoint, progress=log)
    report = result.report
    sample, held = report["groups"][0], report["groups"][-1]
    log(f"{label}: {num} constrained samples")
    sampling = SampleSettings(
        num=num, temperature=args.temperature, max_length=args.max_length, seed=args.seed, constrain=True
    )
    arm = constrained(path, sampling, args.checkpoint)
    test = sample.get("two_sample") or {}
    return {
        "model": label,
        "path": path,
        "bits_per_char": report["likelihood"].get("bpc"),
        "valid_free": sample["validity"]["valid_share"],
        "valid_constrained": arm["valid_share"],
        "valid_real": held["validity"]["valid_share"],
        "forced_free": sample["validity"]["forced_share"],
        "forced_constrained": arm["forced_share"],
        "shape_oa": sample.get("mean_shape_oa"),
        "real_shape_oa": held.get("mean_shape_oa"),
        "told_apart": test.get("accuracy"),
        "told_apart_interval": [test.get("low"), test.get("high")],
        "near_copies": (sample.get("novelty") or {}).get("near_copy_share"),
        "report": str(out / "report.md"),
    }


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def render_table(rows: list[dict[str, Any]]) -> str:
    head = ["model", "bits/char", "valid free", "valid constrained", "real tunes", "forced free", "forced constr."]
    head += ["shape OA", "told apart", "near copies"]
    cells = [head]
    for r in rows:
        low, high = r["told_apart_interval"]
        told = "-" if r["told_apart"] is None else f"{r['told_apart']:.2f} [{low:.2f}, {high:.2f}]"
        cells.append(
            [
                r["model"],
                "-" if r["bits_per_char"] is None else f"{r['bits_per_char']:.3f}",
                pct(r["valid_free"]),
                pct(r["valid_constrained"]),
                pct(r["valid_real"]),
                pct(r["forced_free"]),
                pct(r["forced_constrained"]),
                "-" if r["shape_oa"] is None else f"{r['shape_oa']:.2f}",
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
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--max-length", type=int, default=1000)
    p.add_argument("--max-batches", type=int, default=0, help="held-out likelihood batches (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default="best")
    p.add_argument("--quick", action="store_true", help="24 tunes and 20 likelihood batches a model: a smoke run")
    p.add_argument("--work", type=Path, default=HERE / "work" / "measures", help="where the evaluations go")
    p.add_argument("--out", type=Path, default=HERE / "results" / "measures.json")
    args = p.parse_args()
    num = 24 if args.quick else args.num
    if args.quick:
        args.max_batches = args.max_batches or 20
    models = dict(m.split("=", 1) for m in args.model) if args.model else {}
    if not models:
        models = {k: str(v) for k, v in DEFAULT_MODELS.items() if (v / "checkpoints").is_dir()}
    if not models:
        sys.exit("no model: pass --model LABEL=RUN_OR_BUNDLE")
    rows = [measure(label, path, args, num) for label, path in models.items()]
    table = render_table(rows)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {"num": num, "temperature": args.temperature, "max_length": args.max_length, "seed": args.seed}
    args.out.write_text(json.dumps({"machine": machine(), "settings": settings, "rows": rows}, indent=1))
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
