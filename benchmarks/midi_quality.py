"""MIDI presets on the Bach chorales at an equal CPU budget, and the piano roll with and without transposition.

For each preset: validation loss of the best checkpoint (per token, and per note so token schemes
compare), the syntax-error share of ``--num`` samples, and simple musical counts of the samples
against as many training pieces (notes per onset, pitch classes, pitch-class entropy, range).
The piano roll runs twice, with load-time transposition (±5) and without, and reports
validation frame F1 for both: seed 000's piano roll failed on sparsity and key.

    python benchmarks/midi_quality.py --budget-minutes 6      # 6 minutes a run, 5 runs

Token datasets are prepared with every training piece in 11 keys (``--transpose 5``); the piano
roll gets the same by load-time transposition (``data.transpose``), except in its control run.
    python benchmarks/midi_quality.py --quick                 # debug presets, a smoke run
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import symusic

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Figure, log, machine, table  # noqa: E402

from tunesmith.bundle import load  # noqa: E402
from tunesmith.data.prepared import PreparedData  # noqa: E402
from tunesmith.media.midi_samples import write_midi_samples  # noqa: E402
from tunesmith.pipeline.prepare import prepare  # noqa: E402
from tunesmith.pipeline.train import train  # noqa: E402
from tunesmith.representations.midi_tokens import score_notes  # noqa: E402
from tunesmith.sampling import SampleSettings  # noqa: E402
from tunesmith.training.evaluate import held_out  # noqa: E402

RUNS = {  # run name: (preset, representation, extra --set)
    "bach-lstm": ("bach-lstm", "midi-remi", []),
    "bach-transformer": ("bach-transformer", "midi-remi", []),
    "midi-notes-lstm": ("midi-notes-lstm", "midi-notes", []),
    "pianoroll-lstm": ("pianoroll-lstm", "pianoroll", ["data.transpose=5"]),
    "pianoroll-lstm-no-transpose": ("pianoroll-lstm", "pianoroll", ["data.transpose=0"]),
}
SAMPLE_LENGTH = {"midi-remi": 1200, "midi-notes": 600, "pianoroll": 256}


def stats(scores: list[Any]) -> dict[str, float]:
    """Means over pieces: notes per distinct onset (polyphony), pitch classes used, pitch-class entropy
    (bits, duration-weighted as in MusPy), and pitch range in semitones."""
    rows = []
    for score in scores:
        n = score_notes(score)
        if not len(n):
            continue
        hist = np.bincount(n.pitch % 12, weights=n.duration, minlength=12)
        p = hist[hist > 0] / hist.sum()
        rows.append(
            (
                len(n) / np.unique(np.round(n.onset * 12)).size,
                np.count_nonzero(hist),
                float(-(p * np.log2(p)).sum()),
                int(n.pitch.max() - n.pitch.min()),
            )
        )
    if not rows:
        return {"pieces": 0}
    m = np.mean(rows, axis=0)
    return {"pieces": len(rows), "polyphony": m[0], "pitch_classes": m[1], "pc_entropy": m[2], "range": m[3]}


def best_val(run: Path, loaded: Any, data: Path) -> dict[str, float]:
    """The best checkpoint's validation figures: for tokens, recomputed over the whole split (a budget
    can end inside the first epoch, before metrics.csv has a row); for frames, metrics.csv's best epoch."""
    if loaded.representation.kind == "tokens":
        import torch

        with torch.no_grad():
            m = held_out(loaded.model, PreparedData.open(data), loaded.config.data.seq_len, 16)
        return {"val_loss": m["loss"], "val_acc": m["acc"]}
    with (run / "metrics.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r.get("val_loss")]
    best = min(rows, key=lambda r: float(r["val_loss"]))
    return {k: float(v) for k, v in best.items() if k.startswith("val_") and v not in ("", None)}


def one_run(name: str, args: argparse.Namespace, data: dict[str, Path]) -> dict[str, Any]:
    preset, rep_name, extra = RUNS[name]
    if args.quick:
        preset += "-debug"
    run = args.work / name
    started = time.perf_counter()
    result = train(preset, data[rep_name], run, overrides=extra, max_minutes=args.budget_minutes, progress=False)
    log(f"{name}: {result.state} after {result.epochs:.2f} epochs (step {result.global_step})")
    loaded = load(run)
    settings = SampleSettings(num=args.num, max_length=SAMPLE_LENGTH[rep_name], seed=0, temperature=1.0)
    report = write_midi_samples(
        loaded.model,
        loaded.representation,
        settings,
        run / "bench-samples",
        render=(),
        onset_weight=loaded.config.train.onset_weight,
    )
    rep = loaded.representation
    samples = [symusic.Score(str(run / "bench-samples" / p["file"])) for p in report.pieces]
    prepared = PreparedData.open(data[rep_name])
    train_seqs = prepared.sequences("train")[: args.num]
    train_scores = [rep.decode(rep.to_model(s) if rep.kind == "frames" else s) for s in train_seqs]
    val = best_val(run, loaded, data[rep_name])
    out: dict[str, Any] = {
        "preset": preset,
        "representation": rep_name,
        "overrides": extra,
        "epochs": round(result.epochs, 2),
        "steps": result.global_step,
        "seconds": round(time.perf_counter() - started, 1),
        "val": val,
        "samples": stats(samples),
        "train": stats(train_scores),
        "syntax_error_rate": None if rep.kind == "frames" else report.syntax_error_rate,
        "clean_share": report.clean_share,
    }
    if rep.kind != "frames":  # per note, so REMI and midi-notes compare
        val_tokens = prepared.meta["counts"]["val"]["tokens"]
        val_notes = sum(len(score_notes(rep.decode(s))) for s in prepared.sequences("val"))
        out["val_nats_per_note"] = val["val_loss"] * val_tokens / max(1, val_notes)
    return out


def figures_of(results: dict[str, dict[str, Any]], minutes: float) -> list[Figure]:
    figs = []
    for name, r in results.items():
        note = f"{r['epochs']} epochs in {minutes:g} min"
        unit = "nats/bit" if r["representation"] == "pianoroll" else "nats/token"  # BCE per roll bit
        figs.append(Figure(f"midi.{name}.val-loss", r["val"]["val_loss"], unit, note=note, extra=r))
        if "val_nats_per_note" in r:
            figs.append(Figure(f"midi.{name}.val-per-note", r["val_nats_per_note"], "nats/note"))
            figs.append(Figure(f"midi.{name}.syntax-errors", r["syntax_error_rate"], "share", note="of sampled tokens"))
        if "val_f1" in r["val"]:
            figs.append(Figure(f"midi.{name}.val-f1", r["val"]["val_f1"], "share", note="frame F1, all bits"))
        s, t = r["samples"], r["train"]
        if s.get("pieces") and t.get("pieces"):
            figs.append(
                Figure(
                    f"midi.{name}.polyphony",
                    s["polyphony"],
                    "notes/onset",
                    note=f"training {t['polyphony']:.2f}; pitch classes {s['pitch_classes']:.1f} vs "
                    f"{t['pitch_classes']:.1f}; pc entropy {s['pc_entropy']:.2f} vs {t['pc_entropy']:.2f} bits",
                )
            )
    return figs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget-minutes", type=float, default=6.0, help="wall-clock training minutes per run")
    p.add_argument("--num", type=int, default=100, help="samples per run")
    p.add_argument("--runs", nargs="+", choices=sorted(RUNS), help="default: all")
    p.add_argument("--work", type=Path, default=HERE / "work" / "midi", help="prepared data and runs (resumed)")
    p.add_argument("--quick", action="store_true", help="debug presets, 24 chorales: a smoke run")
    args = p.parse_args(argv)
    if args.quick:
        args.budget_minutes, args.num = min(args.budget_minutes, 0.2), min(args.num, 4)
        args.work = args.work.with_name(args.work.name + "-quick")
        shutil.rmtree(args.work, ignore_errors=True)
    started, info = time.perf_counter(), machine()
    names = args.runs or list(RUNS)
    data = {}
    for rep in sorted({RUNS[n][1] for n in names}):
        folder = args.work / "data" / rep
        if not (folder / "meta.json").is_file():
            log(f"preparing bach as {rep}")
            midi = {"transpose": 5} if rep != "pianoroll" else {}  # the piano roll transposes at load time
            prepare(folder, corpus="bach", representation=rep, max_tunes=24 if args.quick else 0, midi=midi)
        data[rep] = folder
    results = {n: one_run(n, args, data) for n in names}
    figures = figures_of(results, args.budget_minutes)
    out = HERE / "results" / ("midi-quality-quick.json" if args.quick else "midi-quality.json")
    payload = {
        "mode": "quick" if args.quick else "full",
        "machine": info,
        "budget_minutes": args.budget_minutes,
        "seconds": round(time.perf_counter() - started, 1),
        "figures": {f.name: f.to_json() for f in figures},
    }
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(table(figures))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
