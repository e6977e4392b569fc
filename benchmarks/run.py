"""The benchmark suite: core figures, model figures and quality figures in one table.

Core (this file): training and sampling throughput against LSTMCell-loop baselines, corpus
preparation time, MIDI conversion. Model figures (``models.py``): the matmul peak, each
preset's training and sampling tokens/s and share of that peak, the transformer's cache.
Quality (``quality.py``, an hour): read from its saved JSON, or run first with ``--with-quality``.

Run ``python benchmarks/run.py`` for the figures the issues ask for, or ``--quick`` for a
smoke run (debug presets, a few steps, quality.py's own smoke run; minutes on two cores). One
table goes to stdout, progress to stderr, and everything (with the machine it ran on) to a JSON
file, so figures from different machines are never compared without knowing where they came from.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.bundle import load
from tunesmith.config import Config, load_preset
from tunesmith.data.prepared import PreparedData
from tunesmith.errors import TunesmithError
from tunesmith.media.abc_samples import write_samples
from tunesmith.models import build as build_registered
from tunesmith.pipeline.prepare import prepare
from tunesmith.representations import TokenRepresentation
from tunesmith.sampling import SampleSettings, generate

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import (  # noqa: E402
    UNITS,
    VOCAB,
    Figure,
    log,
    machine,
    median_step_seconds,
    optimizer_step,
    read_figures,
    table,
    train_step,
    windows,
)
from models import model_figures  # noqa: E402  (benchmarks/models.py: issue 3's model figures)

TEMPERATURES = (0.5, 1.0, 2.0)
SAMPLE_SEEDS = (0, 1, 2)
# Targets a --quick run cannot judge: debug-sized models, and 8 tunes cannot be sampled 20x faster in one batch.
NOT_JUDGED_WHEN_QUICK = ("train.speedup.vs-seed-style", "sample.speedup")


@dataclass
class Plan:
    """How much work a run does; ``--quick`` swaps in debug presets and fewer repeats."""

    presets: dict[str, int]  # preset -> timed training steps; the first is the seed configuration
    baseline_steps: tuple[int, int]  # seed-style loop, same-batch loop
    sample_num: int
    convert_num: int
    prepare_repeats: int


FULL = Plan({"abc-lstm-seed": 10, "abc-lstm-demo": 10, "abc-lstm": 4}, (20, 4), 64, 100, 2)
QUICK = Plan({"abc-lstm-seed-debug": 5, "abc-lstm-demo-debug": 5, "abc-lstm-debug": 5}, (5, 5), 8, 10, 1)


# --- 1. training throughput -------------------------------------------------------------------


class LoopLSTM(nn.Module):
    """The naive baseline: an ``LSTMCell`` stepped from Python on one-hot characters, loss per step."""

    def __init__(self, hidden: int, dropout: float):
        super().__init__()
        self.cell, self.drop, self.head = nn.LSTMCell(VOCAB, hidden), nn.Dropout(dropout), nn.Linear(hidden, VOCAB)

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        h = c = torch.zeros(inputs.size(0), self.cell.hidden_size)
        total = torch.zeros(())
        for t in range(inputs.size(1)):
            h, c = self.cell(F.one_hot(inputs[:, t], VOCAB).float(), (h, c))
            total = total + F.cross_entropy(self.head(self.drop(h)), targets[:, t])
        return total / inputs.size(1)


def baseline_step(cfg: Config, batch: int) -> Callable[[], None]:
    """The loop baseline at the seed preset's size, optimiser and clipping, with ``batch`` windows."""
    model = LoopLSTM(cfg.model.hidden, cfg.model.dropout).train()
    inputs, targets = windows(batch, cfg.data.seq_len)
    return optimizer_step(model, lambda: model.loss(inputs, targets), cfg)


def chars_figure(name: str, step: Callable[[], None], batch: int, seq_len: int, steps: int, note: str) -> Figure:
    seconds = median_step_seconds(step, steps)
    extra = {"batch": batch, "seq_len": seq_len, "timed_steps": steps, "median_step_seconds": round(seconds, 5)}
    return Figure(name, batch * seq_len / seconds, "chars/s", note=note, extra=extra)


def training_figures(plan: Plan) -> list[Figure]:
    figures = []
    for preset, steps in plan.presets.items():
        log(f"training throughput: {preset} ({steps} steps)")
        cfg = load_preset(preset)
        d = cfg.data
        figures.append(chars_figure(f"train.{preset}", train_step(cfg), d.batch_size, d.seq_len, steps, ""))
    seed_preset = next(iter(plan.presets))
    seed = load_preset(seed_preset)
    n, t = seed.data.batch_size, seed.data.seq_len
    log(f"training baselines at {seed_preset}'s size")
    seed_style = chars_figure(
        "train.baseline.seed-style", baseline_step(seed, 1), 1, t, plan.baseline_steps[0], "LSTMCell loop, batch 1"
    )
    same_batch = chars_figure(
        "train.baseline.same-batch", baseline_step(seed, n), n, t, plan.baseline_steps[1], f"LSTMCell loop, batch {n}"
    )
    ours = figures[0].value
    return [
        *figures,
        seed_style,
        same_batch,
        Figure("train.speedup.vs-seed-style", ours / seed_style.value, "x", 5.0, note=f"{seed_preset} / seed-style"),
        Figure(
            "train.speedup.vs-same-batch",
            ours / same_batch.value,
            "x",
            note=f"{seed_preset} / same-batch loop; no target (fused kernels only, same batching)",
        ),
    ]


# --- 2. sampling throughput -------------------------------------------------------------------


def untrained_model(rep: TokenRepresentation) -> nn.Module:
    m = load_preset("abc-lstm-demo").model
    torch.manual_seed(0)
    return build_registered(m.name, rep.vocab_size, **m.hyper())


def sampling_model(path: Path, untrained: bool, rep: TokenRepresentation) -> tuple[nn.Module, TokenRepresentation, str]:
    """The model to sample from and a description of it; an untrained one when none loads."""
    if untrained:
        return untrained_model(rep), rep, "untrained abc-lstm-demo (--untrained)"
    if not path.exists():
        return untrained_model(rep), rep, f"untrained abc-lstm-demo ({path} does not exist)"
    try:
        loaded = load(path)
    except (TunesmithError, OSError, RuntimeError) as exc:
        return untrained_model(rep), rep, f"untrained abc-lstm-demo ({path} did not load: {exc})"
    return loaded.model, loaded.representation, f"{loaded.kind} {path} ({loaded.config.preset})"


def chars_per_second(model: nn.Module, rep: TokenRepresentation, num: int, batch_size: int) -> dict:
    """Totals over three seeds: one batch's time is set by its longest tune, which varies a lot by seed."""
    chars, seconds, longest, tunes = 0, 0.0, 0, []
    for seed in SAMPLE_SEEDS:
        settings = SampleSettings(num=num, batch_size=batch_size, max_length=1000, seed=seed)
        started = time.perf_counter()
        made = generate(model, rep, settings)
        seconds += time.perf_counter() - started
        chars += sum(int(g.tokens.size) for g in made)
        longest += max(int(g.tokens.size) for g in made)
        tunes += [g.tokens.tobytes() for g in made]
    return {
        "value": chars / seconds,
        "chars": chars,
        "seconds": round(seconds, 3),
        "seeds": len(SAMPLE_SEEDS),
        "longest_tunes_chars": longest,
        "tunes": tunes,
    }


def sampling_figures(model: nn.Module, rep: TokenRepresentation, described: str, num: int) -> list[Figure]:
    """Batched against one at a time on the same tunes (each tune has its own random stream), the
    ceiling their lengths set, and refilled batches for more tunes than the batch holds."""
    generate(model, rep, SampleSettings(num=2, batch_size=2, max_length=20))  # warm-up
    log(f"sampling throughput: {num} tunes batched, then one at a time, from {described}")
    batched = chars_per_second(model, rep, num, num)
    single = chars_per_second(model, rep, num, 1)
    same = batched.pop("tunes") == single.pop("tunes")
    speedup = batched["value"] / single["value"]
    # The longest tune of a batch is written one step at a time: at least one batch-1 step per character.
    ceiling = batched["chars"] / batched["longest_tunes_chars"]
    many = 4 * num
    log(f"sampling throughput: {many} tunes, {num} rows refilled as tunes end")
    refilled = chars_per_second(model, rep, many, num)
    refilled.pop("tunes")
    refilled_value, single_value = refilled.pop("value"), single.pop("value")
    extra = {"model": described, "num": num}
    return [
        Figure("sample.batched", batched.pop("value"), "chars/s", extra={**extra, "batch_size": num, **batched}),
        Figure("sample.one-at-a-time", single_value, "chars/s", extra={**extra, "batch_size": 1, **single}),
        Figure("sample.speedup", speedup, "x", 20.0, note=described, extra={"same_tunes": same}),
        Figure(
            "sample.speedup-ceiling",
            ceiling,
            "x",
            note=f"{num} x mean length / longest tune, over {len(SAMPLE_SEEDS)} seeds: no batching beats it",
        ),
        Figure(
            f"sample.batched-{many}",
            refilled_value,
            "chars/s",
            extra={**extra, "num": many, "batch_size": num, **refilled},
        ),
        Figure(
            f"sample.speedup-{many}",
            refilled_value / single_value,
            "x",
            note=f"{many} tunes, batch {num}, rows refilled / one at a time",
        ),
    ]


# --- 3. corpus preparation --------------------------------------------------------------------


def prepare_figure(repeats: int) -> tuple[Figure, TokenRepresentation]:
    """Best-of-N wall time for the full folk corpus, and its vocabulary for an untrained model."""
    times = []
    for i in range(repeats):
        log(f"preparing the folk corpus ({i + 1}/{repeats})")
        with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as tmp:
            started = time.perf_counter()
            result = prepare(Path(tmp) / "folk", corpus="folk")
            times.append(time.perf_counter() - started)
            rep = PreparedData.open(result.out).representation
    assert isinstance(rep, TokenRepresentation)
    extra = {"repeats": repeats, "all_seconds": [round(t, 3) for t in times], "tunes": result.meta["tunes_kept"]}
    return Figure("prepare.folk", min(times), "s", 15.0, "<=", f"best of {repeats}", extra), rep


# --- 4. MIDI conversion -----------------------------------------------------------------------


def convert_figures(label: str, path: Path, num: int) -> list[Figure]:
    """Zero-error, converted and ended shares of ``num`` samples at each temperature."""
    loaded = load(path)
    figures = []
    for temperature in TEMPERATURES:
        log(f"conversion: {label} at temperature {temperature} ({num} tunes)")
        settings = SampleSettings(num=num, temperature=temperature, max_length=1000, seed=0, batch_size=64)
        with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as tmp:
            report = write_samples(loaded.model, loaded.representation, settings, tmp, profile=loaded.corpus)
        ended = sum(t["ended_cleanly"] for t in report.tunes) / max(1, len(report.tunes))
        shares = {"clean_share": report.clean_share, "converted_share": report.converted_share, "ended_share": ended}
        note = f"converted {report.converted_share:.2f}, ended {ended:.2f}"
        extra = {"model": str(path), "temperature": temperature, "num": num, **shares}
        figures.append(Figure(f"convert.{label}.t{temperature:g}", report.clean_share, "share", note=note, extra=extra))
    return figures


def all_convert_figures(specs: list[tuple[str, Path]], num: int, notes: list[str]) -> list[Figure]:
    if not specs:
        notes.append("conversion section skipped: no --convert-model given")
    figures = []
    for label, path in specs:
        try:
            figures += convert_figures(label, path, num)
        except TunesmithError as exc:
            notes.append(f"conversion for {label} skipped: {exc}")
    return figures


# --- output -----------------------------------------------------------------------------------


def convert_spec(text: str) -> tuple[str, Path]:
    label, sep, path = text.partition("=")
    if not sep or not label or not path or any(c in label for c in " ./"):
        raise argparse.ArgumentTypeError(f"expected LABEL=PATH (e.g. demo=demo-output/run), got {text!r}")
    return label, Path(path)


def quality_section(args: argparse.Namespace, notes: list[str]) -> tuple[list[Figure], dict | None]:
    """Quality figures: from a run of quality.py now (``--with-quality``; a ``--quick`` run does its
    smoke run), or else from its saved JSON, with a note saying so. Its own table goes to stderr."""
    path = args.quality_json or HERE / "results" / ("quality-quick.json" if args.quick else "quality.json")
    if args.run_quality:
        import quality  # benchmarks/quality.py; imported here since it loads Lightning

        argv = ["--out", str(path), *(["--quick"] if args.quick else [])]
        argv += ["--budget-minutes", str(args.budget_minutes)] if args.budget_minutes else []
        argv += ["--work", str(args.quality_work)] if args.quality_work else []
        log(f"quality: running benchmarks/quality.py {' '.join(argv)}")
        with contextlib.redirect_stdout(sys.stderr):
            quality.main(argv)
    elif not path.is_file():
        notes.append(f"no quality figures: {path} does not exist (make bench-quality, or run.py --with-quality)")
        return [], None
    figures, saved = read_figures(path)
    source = {
        "path": str(path),
        "ran_now": args.run_quality,
        "mode": saved.get("mode"),
        "machine": saved.get("machine"),
    }
    if not args.run_quality:
        when = (saved.get("machine") or {}).get("timestamp", "an unknown time")
        notes.append(f"quality figures read from {path} ({saved.get('mode')} run of {when}), not rerun: --with-quality")
    return figures, source


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="debug presets and few repeats: a smoke run of minutes")
    p.add_argument("--out", type=Path, help="JSON path (default benchmarks/results/core.json or core-quick.json)")
    p.add_argument("--model", type=Path, default=HERE / "work" / "demo20", help="run dir or bundle to sample from")
    p.add_argument("--untrained", action="store_true", help="sample from an untrained abc-lstm-demo model")
    p.add_argument("--sampling-only", action="store_true", help="only the sampling figures (core-sampling.json)")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own choice)")
    p.add_argument(
        "--convert-model", type=convert_spec, action="append", default=[], metavar="LABEL=PATH", help="repeatable"
    )
    q = p.add_argument_group("quality (benchmarks/quality.py: an hour in full, ~25 s with --quick)")
    runs = q.add_mutually_exclusive_group()
    runs.add_argument("--with-quality", action="store_true", help="run quality.py first (the default with --quick)")
    runs.add_argument("--saved-quality", action="store_true", help="only read --quality-json (the default in full)")
    q.add_argument("--budget-minutes", type=float, help="passed to quality.py (its default: 20 per preset)")
    q.add_argument("--quality-json", type=Path, help="default benchmarks/results/quality.json or quality-quick.json")
    q.add_argument("--quality-work", type=Path, help="quality.py's --work (default benchmarks/work/quality)")
    args = p.parse_args(argv)
    args.run_quality = args.with_quality or (args.quick and not args.saved_quality)
    if not args.run_quality and (args.budget_minutes is not None or args.quality_work):
        p.error("--budget-minutes and --quality-work only apply when quality.py runs (--with-quality)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    name = "core-sampling" if args.sampling_only else "core"
    out = args.out or HERE / "results" / (f"{name}-quick.json" if args.quick else f"{name}.json")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    info, notes = machine(), []
    if info["load_average_at_start"] and info["load_average_at_start"][0] > 0.5 * (info["logical_cores"] or 1):
        notes.append(f"load average {info['load_average_at_start'][0]} at start: other work shared the CPU")

    quality_figures, quality_source = ([], None) if args.sampling_only else quality_section(args, notes)
    prep, folk_rep = prepare_figure(plan.prepare_repeats)
    figures = [] if args.sampling_only else training_figures(plan)
    model, rep, described = sampling_model(args.model, args.untrained, folk_rep)
    if described.startswith("untrained"):
        notes.append(f"sampling used an {described}")
    figures += sampling_figures(model, rep, described, plan.sample_num)
    if not args.sampling_only:
        figures += [prep, *all_convert_figures(args.convert_model, plan.convert_num, notes)]
    for f in figures:
        if args.quick and f.name in NOT_JUDGED_WHEN_QUICK:
            f.judged, f.note = False, f"quick run, target not judged; {f.note}"
    timed = {f.name.removeprefix("train."): f for f in figures if f.name.removeprefix("train.") in plan.presets}
    if not args.sampling_only:
        figures += [*model_figures(args.quick, notes, reuse=timed), *quality_figures]

    assert all(math.isfinite(f.value) and f.unit in UNITS for f in figures), [f.name for f in figures]
    result = {
        "mode": "quick" if args.quick else "full",
        "machine": info,
        "figures": {f.name: f.to_json() for f in figures},
        "quality_source": quality_source,
        "notes": notes,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(figures))
    for note in notes:
        print(f"note: {note}")
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
