"""Fine-tuning against training from scratch (issue 18): held-out bits per character at equal steps.

The built-in folk corpus is five music21 collections (O'Neill's 1850, Ryan's Mammoth, Aird's Airs, the Essen
folksongs and the misc folk files). One collection (``--collection``, O'Neill's by default) is held out: the
other four are the pretraining corpus, and the first ``--tunes`` tunes of the held-out one, split train/val,
are the small corpus of one style. Then, on that small corpus and its validation split:

- **pretrained**: a model trained for ``--pretrain-steps`` on the other collections, as it is (zero-shot);
- **fine-tuned**: that model trained ``--steps`` more on the small corpus (``train --init``), fresh optimiser;
- **scratch**: the same preset trained ``--steps`` from random weights on the same small corpus.

The small corpus is prepared with the pretrained model's vocabulary (``prepare --vocab-from``): tunes with a
character the pretraining corpus never had are skipped and counted, and both arms read the very same files.
Each arm is measured from its last checkpoint (equal steps, not best-of), over its whole validation split.
Bits per character are ``held_out``'s figure (the split's total nats over the characters it spells, over
ln 2), so ``abc-char`` and a token representation compare on one scale.

Runs live under ``--work``; the pretrained run is kept and resumed (it is the slow part), the two short arms
are trained afresh each time.

    python benchmarks/finetune.py --quick                 # debug preset, a few dozen steps: a smoke run
    python benchmarks/finetune.py                          # abc-lstm-demo: 3000 pretraining steps, 300 each arm
    python benchmarks/finetune.py --preset abc-transformer --pretrain-steps 5000 --steps 500 --collection essenFolksong
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Figure, log, machine, table  # noqa: E402

from tunesmith.bundle import load  # noqa: E402
from tunesmith.config import apply_overrides, load_preset  # noqa: E402
from tunesmith.corpora import BUILTIN, music21_corpus_root  # noqa: E402
from tunesmith.data.prepared import PreparedData  # noqa: E402
from tunesmith.pipeline.prepare import prepare  # noqa: E402
from tunesmith.pipeline.train import train  # noqa: E402
from tunesmith.training.evaluate import held_out  # noqa: E402
from tunesmith.training.plan import Hardware, make_loaders  # noqa: E402

COLLECTIONS = BUILTIN["folk"].folders
QUIET = ["train.sample_every=0", "train.patience=0"]  # equal steps: no early stop, no samples to wait for


def step_overrides(preset: str, data: Path, steps: int, extra: list[str]) -> list[str]:
    """``--set`` values that make a run take ``steps`` optimiser steps (rounded up to whole capped epochs)."""
    config = apply_overrides(load_preset(preset), [*QUIET, *extra])
    per_epoch = len(make_loaders(config, PreparedData.open(data))[0])
    limit = max(1, min(per_epoch, steps))
    return [*QUIET, *extra, f"train.limit_train_batches={limit}", f"train.max_epochs={math.ceil(steps / limit)}"]


def bits_per_char(run: Path, data: Path, max_batches: int) -> dict[str, float]:
    """The last checkpoint's held-out loss as bits per character of the validation text: ``held_out``'s own
    figure where it gives one, else the split's nats over its characters (a marker counting as one)."""
    loaded = load(run, "last")
    prepared = PreparedData.open(data)
    result = held_out(loaded.model, prepared, loaded.config.data.seq_len, max_batches=max_batches)
    bpc = result.get("bpc") if "chars" in result else None
    if bpc is None:
        rep, chars_per_token = prepared.representation, 1.0
        if getattr(rep, "unit", "char") != "char":  # a token model: the split's characters per token
            pieces = prepared.sequences("val")
            chars = sum(len(rep.decode(p)) + 2 for p in pieces)
            chars_per_token = chars / max(sum(len(p) for p in pieces), 1)
        bpc = result["loss"] / chars_per_token / math.log(2)
    return {"val_bpc": bpc, "val_tokens": int(result["tokens"]), "global_step": int(loaded.info["global_step"] or 0)}


def pretraining_corpus(work: Path, collection: str) -> Path:
    """A copy of every collection but ``collection`` (``prepare --input`` reads one folder)."""
    folder = work / f"corpus-without-{collection}"
    if not (folder / ".complete").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        for name in COLLECTIONS:
            if name != collection:
                shutil.copytree(music21_corpus_root() / name, folder / name)
        (folder / ".complete").write_text("")
    return folder


def run_benchmark(args: argparse.Namespace) -> tuple[list[Figure], dict[str, Any]]:
    work, hardware = args.work, Hardware(accelerator=args.accelerator, devices="1")
    work.mkdir(parents=True, exist_ok=True)
    base = f"{args.collection}-{args.preset}"
    fields = [f for f in args.drop_fields.split(",") if f.strip()]
    pre_data = work / f"data-without-{args.collection}-{args.pretrain_tunes}-drop{''.join(fields)}"
    if not (pre_data / "meta.json").is_file():
        log(f"finetune: preparing the other collections into {pre_data}")
        corpus = pretraining_corpus(work, args.collection)
        prepare(pre_data, input_path=corpus, max_tunes=args.pretrain_tunes, drop_fields=fields)
    pre_run = work / f"pretrain-{base}-{args.pretrain_steps}-drop{''.join(fields)}"
    log(f"finetune: pretraining {args.preset} for {args.pretrain_steps} steps into {pre_run} (resumed if there)")
    pre_extra = [f"train.limit_val_batches={args.val_batches}"] if args.val_batches else []
    train(
        args.preset,
        pre_data,
        pre_run,
        overrides=step_overrides(args.preset, pre_data, args.pretrain_steps, pre_extra),
        hardware=hardware,
        progress=False,
    )

    small = work / f"data-{args.collection}-{args.tunes}"
    log(f"finetune: preparing {args.tunes} tunes of {args.collection} with the pretrained vocabulary into {small}")
    shutil.rmtree(small, ignore_errors=True)
    prepared = prepare(
        small,
        input_path=music21_corpus_root() / args.collection,
        max_tunes=args.tunes,
        val_fraction=args.val_fraction,
        drop_fields=fields,
        vocab_from=pre_run,
    ).meta
    arm_extra = [f"train.lr={args.finetune_lr}"] if args.finetune_lr else []
    results: dict[str, dict[str, Any]] = {"pretrained": bits_per_char(pre_run, small, args.val_batches)}
    for arm, init in (("fine-tuned", pre_run), ("scratch", None)):
        run = work / f"{arm}-{base}"
        shutil.rmtree(run, ignore_errors=True)
        extra = arm_extra if init is not None else []
        log(f"finetune: training the {arm} arm for {args.steps} steps into {run}")
        overrides = step_overrides(args.preset, small, args.steps, extra)
        started = time.perf_counter()
        train(args.preset, small, run, overrides=overrides, hardware=hardware, progress=False, init=init)
        results[arm] = {**bits_per_char(run, small, args.val_batches), "seconds": time.perf_counter() - started}
    return figures_of(results, args, prepared), {"results": results, "corpus": corpus_info(prepared), "work": str(work)}


def corpus_info(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "tunes_read": meta["tunes_read"],
        "tunes_kept": meta["tunes_kept"],
        "skipped": {k: v for k, v in meta["skipped"].items() if v},
        "missing_symbols": meta.get("vocab_from", {}).get("missing_symbols", {}),
        "counts": meta["counts"],
    }


def figures_of(results: dict[str, dict[str, Any]], args: argparse.Namespace, meta: dict[str, Any]) -> list[Figure]:
    c = meta["counts"]
    where = f"{args.collection}: {c['train']['tunes']} train / {c['val']['tunes']} val tunes"
    pre = results["pretrained"]
    figures = [
        Figure(
            "finetune.pretrained.val_bpc",
            pre["val_bpc"],
            "bits/char",
            note=f"{pre['global_step']} steps on the rest; {where}",
            extra=pre,
        )
    ]
    for arm in ("fine-tuned", "scratch"):
        r = results[arm]
        note = f"{r['global_step']} steps, {r['seconds']:.0f} s" + (
            f" after {pre['global_step']} pretraining" if arm == "fine-tuned" else ""
        )
        figures.append(Figure(f"finetune.{arm}.val_bpc", r["val_bpc"], "bits/char", note=note, extra=r))
    gain = results["scratch"]["val_bpc"] - results["fine-tuned"]["val_bpc"]
    figures.append(
        Figure(
            "finetune.gain",
            gain,
            "bits/char",
            0.0,
            ">=",
            note=("quick run, target not judged; " if args.quick else "") + "scratch bpc - fine-tuned bpc",
            judged=not args.quick,
        )
    )
    return figures


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="abc-lstm-demo", help="an ABC preset, used for all three models")
    p.add_argument("--collection", default="oneills1850", choices=COLLECTIONS, help="the held-out collection")
    p.add_argument("--tunes", type=int, default=300, help="tunes of the held-out collection (before skips)")
    p.add_argument(
        "--drop-fields",
        default="Z",
        help="header fields dropped from both corpora (O'Neill's Z: notes hold an e-mail address, whose '@' the "
        "other collections never use)",
    )
    p.add_argument("--val-fraction", type=float, default=0.2, help="share of those tunes held out for validation")
    p.add_argument("--pretrain-steps", type=int, default=3000)
    p.add_argument("--pretrain-tunes", type=int, default=0, help="cap the pretraining corpus (0: all of it)")
    p.add_argument("--steps", type=int, default=300, help="steps of each arm on the small corpus")
    p.add_argument("--finetune-lr", type=float, default=0.0, help="the fine-tuned arm's lr (0: the preset's)")
    p.add_argument("--val-batches", type=int, default=0, help="cap validation batches (0 = the whole split)")
    p.add_argument("--accelerator", default="cpu", help="cpu, gpu, auto… (passed to Lightning)")
    p.add_argument("--work", type=Path, default=HERE / "work" / "finetune", help="corpora, data and runs")
    p.add_argument("--out", type=Path, help="JSON path (default benchmarks/results/finetune.json)")
    p.add_argument("--quick", action="store_true", help="debug preset, a few dozen steps: a smoke run")
    args = p.parse_args(argv)
    if args.quick:
        args.preset = "abc-lstm-debug" if args.preset == "abc-lstm-demo" else args.preset
        args.pretrain_steps, args.steps = min(args.pretrain_steps, 60), min(args.steps, 30)
        args.tunes, args.val_batches = min(args.tunes, 120), args.val_batches or 20
        args.work = args.work.with_name(args.work.name + "-quick")
        shutil.rmtree(args.work, ignore_errors=True)  # a smoke run starts fresh rather than resuming
    for name in ("tunes", "pretrain_steps", "steps"):
        if not 1 <= getattr(args, name) <= 1_000_000:
            p.error(f"--{name.replace('_', '-')} must be between 1 and 1000000")
    if not 0 < args.val_fraction < 1:
        p.error("--val-fraction must be between 0 and 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, info = time.perf_counter(), machine()
    figures, extra = run_benchmark(args)
    out = args.out or HERE / "results" / ("finetune-quick.json" if args.quick else "finetune.json")
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("out",)}
    result = {
        "mode": "quick" if args.quick else "full",
        "machine": info,
        "settings": settings,
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
