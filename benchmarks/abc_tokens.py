"""abc-tokens against abc-char on the built-in folk corpus: the representation, training and sampling.

1. **Representation** (always): both representations fitted on the whole corpus: vocabulary, tokens per
   tune, characters per token (all, header, body), and the exact round trip.
2. **Training** (``--train-minutes``, default 20; 0 skips): the folk corpus is prepared once per
   representation, then each ``--preset`` trains from scratch for that many minutes, one after another so
   each has the whole machine. A run already in ``--work`` is measured as it is (so runs trained side by
   side, each on its own core, can be measured here too). Figures: held-out bits per character of
   ``best.ckpt`` over the whole validation split (a token model's total bits over the split's characters:
   ``Representation.char_counts``), epochs, and training tunes per second (steps × batch × window over the
   training split's tokens per tune).
3. **Sampling** (each trained model, or ``--model LABEL=RUN``; ``--sample LABEL`` for some of them): at
   T = 0.5, 1 and 2, ``--num`` tunes free and constrained (same seed): valid share by the model's corpus
   profile beside the corpus baseline, forced share, tunes per second, and the constrained slowdown on a
   warm grammar (an untimed constrained pass of a quarter as many tunes, another seed, warms the memo first).

Run ``python benchmarks/abc_tokens.py`` (about 90 minutes: three trainings of 20) or ``--quick`` (1-minute
trainings, 16 tunes: a smoke run). A table goes to stdout, progress to stderr, everything to
``benchmarks/results/abc_tokens.json``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tunesmith import corpora, representations
from tunesmith.bundle import load
from tunesmith.corpora.abc import read_tunes
from tunesmith.data import PreparedData
from tunesmith.media.abc_samples import generate_tunes, tune_text
from tunesmith.metrics.validity import check_many, summarize
from tunesmith.representations.abc_tokens import _header_end
from tunesmith.sampling import SampleSettings
from tunesmith.training.evaluate import held_out

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import log, machine, text_table  # noqa: E402

TEMPERATURES = (0.5, 1.0, 2.0)
PRESETS = ("abc-lstm-demo", "abc-tokens-lstm", "abc-tokens-transformer")
TUNESMITH = [sys.executable, "-m", "tunesmith.cli"]


def representation_figures() -> list[dict[str, Any]]:
    """Vocabulary, steps per tune and characters per token of both representations on the folk corpus."""
    tunes, _ = read_tunes(corpora.builtin("folk").files(), base=corpora.music21_corpus_root())
    texts = [t.text for t in tunes]
    rows = []
    for name in ("abc-char", "abc-tokens"):
        started = time.perf_counter()
        rep = representations.get(name).fit(texts)
        lengths, header_tokens, exact = [], 0, 0
        for text in texts:
            encoded = rep.encode(text)
            exact += rep.decode(encoded) == text
            lengths.append(encoded.size - 2)
            header_tokens += rep.ids(text[: _header_end(text)]).size
        chars = sum(len(t) for t in texts)
        header_chars = sum(_header_end(t) for t in texts)
        rows.append(
            {
                "representation": name,
                "tunes": len(texts),
                "vocab_size": rep.vocab_size,
                "tokens_per_tune": round(statistics.mean(lengths), 1),
                "median_tokens_per_tune": statistics.median(lengths),
                "chars_per_token": round(chars / sum(lengths), 3),
                "header_chars_per_token": round(header_chars / header_tokens, 3),
                "body_chars_per_token": round((chars - header_chars) / (sum(lengths) - header_tokens), 3),
                "round_trip_exact": exact,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    return rows


def tunesmith(*args: str) -> None:
    log("tunesmith " + " ".join(args))
    subprocess.run([*TUNESMITH, *args], check=True, stdout=sys.stderr)


def training_figures(run: Path) -> dict[str, Any]:
    """Held-out bits per character over the whole validation split, epochs and training tunes per second."""
    loaded = load(run, "best")
    data = PreparedData.open(Path(json.loads((run / "data.json").read_text())["data"]))
    figures = held_out(loaded.model, data, loaded.config.data.seq_len, batch_size=32)
    with (run / "metrics.csv").open() as f:
        last = list(csv.DictReader(f))[-1]
    counts = data.meta["counts"]["train"]
    tokens_per_tune = counts["tokens"] / counts["tunes"]
    steps, seconds = int(last["step"]), float(last["seconds"])
    seen = steps * loaded.config.data.batch_size * loaded.config.data.seq_len
    return {
        "bits_per_char": round(figures["bpc"], 4),
        "epochs": round(seen / counts["tokens"], 2),
        "steps": steps,
        "train_seconds": round(seconds),
        "train_tunes_per_second": round(seen / tokens_per_tune / seconds, 2),
        "val_tokens": figures["tokens"],
        "val_chars": round(figures["chars"]),
    }


def sampling_figures(label: str, path: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    loaded = load(path, "best")
    rep, profile = loaded.representation, loaded.corpus
    baseline = profile.baseline_share("val") if profile is not None else None
    rows = []
    for temperature in TEMPERATURES:
        speeds = {}
        for constrain in (False, True)[: 1 if args.free_only else 2]:
            settings = SampleSettings(
                num=args.num, temperature=temperature, max_length=args.max_length, seed=args.seed, constrain=constrain
            )
            if constrain:  # warm the grammar's memo: another seed, untimed
                warm = dataclasses.replace(settings, num=max(1, args.num // 4), seed=args.seed + 1)
                generate_tunes(loaded.model, rep, warm, profile)
            log(f"{label} T={temperature:g} {'constrained' if constrain else 'free'}: {args.num} tunes")
            started = time.perf_counter()
            made = generate_tunes(loaded.model, rep, settings, profile)
            seconds = time.perf_counter() - started
            texts = [tune_text(rep, g.tokens, i + 1) for i, g in enumerate(made)]
            summary = summarize(check_many(texts, [g.ending for g in made], profile=profile))
            speeds[constrain] = len(made) / seconds
            rows.append(
                {
                    "model": label,
                    "representation": rep.name,
                    "temperature": temperature,
                    "constrain": constrain,
                    "valid_share": round(summary["valid_share"], 4),
                    "forced_share": round(summary["forced_share"], 4),
                    "baseline": baseline,
                    "tunes_per_second": round(speeds[constrain], 3),
                    "slowdown": round(speeds[False] / speeds[True], 3) if constrain else None,
                }
            )
    return rows


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", action="append", help=f"presets to train (default: {', '.join(PRESETS)})")
    p.add_argument("--train-minutes", type=float, default=20.0, help="minutes of training per preset (0: none)")
    p.add_argument("--model", action="append", default=[], help="LABEL=RUN_OR_BUNDLE to sample (repeat)")
    p.add_argument("--num", type=int, default=200, help="tunes per model, temperature and arm")
    p.add_argument("--max-length", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--free-only", action="store_true", help="sample freely only (no constrained arm)")
    p.add_argument("--sample", action="append", help="labels of the models to sample (default: all)")
    p.add_argument("--quick", action="store_true", help="1-minute trainings and 16 tunes: a smoke run")
    p.add_argument("--work", type=Path, default=HERE / "work" / "abc-tokens")
    p.add_argument("--out", type=Path, default=HERE / "results" / "abc_tokens.json")
    args = p.parse_args()
    args.preset = args.preset or list(PRESETS)
    if args.quick:
        args.train_minutes, args.num = min(args.train_minutes, 1.0), 16
    args.work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"machine": machine(), "settings": {k: str(v) for k, v in vars(args).items()}}

    log("representations on the folk corpus")
    result["representations"] = representation_figures()
    cells = [["representation", "vocabulary", "tokens/tune", "chars/token", "header", "body", "exact"]]
    for r in result["representations"]:
        cells.append(
            [r["representation"], f"{r['vocab_size']:,}", f"{r['tokens_per_tune']:.0f}", f"{r['chars_per_token']:.2f}"]
            + [f"{r['header_chars_per_token']:.2f}", f"{r['body_chars_per_token']:.2f}"]
            + [f"{r['round_trip_exact']}/{r['tunes']}"]
        )
    print(text_table(cells))

    models = {label: Path(path) for label, path in (m.split("=", 1) for m in args.model)}
    if args.train_minutes > 0:
        from tunesmith.config import load_preset

        result["training"] = {}
        for preset in args.preset:
            rep = load_preset(preset).data.representation
            data, run = args.work / f"data-{rep}", args.work / f"run-{preset}"
            if not (data / "meta.json").is_file():
                tunesmith("prepare", "--corpus", "folk", "--representation", rep, "--out", str(data))
            if not (run / "checkpoints" / "best.ckpt").is_file():
                minutes = f"{args.train_minutes:g}"
                tunesmith("train", "--preset", preset, "--data", str(data), "--run", str(run), "--max-minutes", minutes)
            result["training"][preset] = training_figures(run)
            models[preset] = run
        cells = [["preset", "bits/char", "epochs", "steps", "seconds", "train tunes/s"]]
        for preset, t in result["training"].items():
            cells.append(
                [preset, f"{t['bits_per_char']:.3f}", f"{t['epochs']:.2f}", str(t["steps"]), str(t["train_seconds"])]
                + [f"{t['train_tunes_per_second']:.1f}"]
            )
        print(text_table(cells))

    sampled = {label: path for label, path in models.items() if not args.sample or label in args.sample}
    result["sampling"] = [row for label, path in sampled.items() for row in sampling_figures(label, path, args)]
    cells = [["model", "T", "sampling", "valid", "real tunes", "forced", "tunes/s", "slowdown"]]
    for r in result["sampling"]:
        cells.append(
            [r["model"], f"{r['temperature']:g}", "constrained" if r["constrain"] else "free", pct(r["valid_share"])]
            + [pct(r["baseline"]), pct(r["forced_share"]), f"{r['tunes_per_second']:.2f}"]
            + [f"{r['slowdown']:.2f}x" if r["slowdown"] else "-"]
        )
    if result["sampling"]:
        print(text_table(cells))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
