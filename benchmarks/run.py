"""Core benchmarks: training and sampling throughput, corpus preparation time, MIDI conversion.

Run ``python benchmarks/run.py`` for the figures the issue asks for, or ``--quick`` for a
smoke run (debug presets, a few steps; minutes on two cores). One table goes to stdout,
progress to stderr, and everything (with the machine it ran on) to a JSON file, so figures
from different machines are never compared without knowing where they came from.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import tunesmith
from tunesmith import models
from tunesmith.bundle import load
from tunesmith.config import Config, load_preset
from tunesmith.data.prepared import PreparedData
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.prepare import prepare
from tunesmith.pipeline.sample import write_samples
from tunesmith.representations import TokenRepresentation
from tunesmith.sampling import SampleSettings, generate
from tunesmith.training.optim import make_optimizer

HERE = Path(__file__).resolve().parent
VOCAB = 120  # the folk corpus vocabulary: 118 characters plus <start> and <end>
TEMPERATURES = (0.5, 1.0, 2.0)
SAMPLE_SEEDS = (0, 1, 2)
WARMUP_STEPS = 2
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


@dataclass
class Figure:
    """One measured number, with its target (if the issue set one) and which way the target points."""

    name: str
    value: float
    unit: str
    target: float | None = None
    op: str = ">="
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    judged: bool = True  # False where the run is too small for the target to mean anything

    @property
    def met(self) -> bool | None:
        if self.target is None or not self.judged:
            return None
        return self.value >= self.target if self.op == ">=" else self.value <= self.target

    def to_json(self) -> dict[str, Any]:
        op = self.op if self.target is not None else None
        head = {"value": self.value, "unit": self.unit, "target": self.target, "target_op": op, "target_met": self.met}
        return {**head, "note": self.note, **self.extra}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """Where the figures came from; throughput means little without the CPU and thread count."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "cpu_model": cpu,
        "logical_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "tunesmith": tunesmith.__version__,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


# --- 1. training throughput -------------------------------------------------------------------


def median_step_seconds(step: Callable[[], None], steps: int) -> float:
    """Median wall time of one step after a warm-up (the first steps pay for allocation)."""
    for _ in range(WARMUP_STEPS):
        step()
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def optimizer_step(model: nn.Module, loss_fn: Callable[[], torch.Tensor], cfg: Config) -> Callable[[], None]:
    """One optimisation step as Lightning runs it: zero grads, backward, clip by norm, step."""
    opt = make_optimizer(model.parameters(), cfg.train)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn().backward()
        if cfg.train.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        opt.step()

    return step


def windows(batch: int, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random input/target windows; the cost of a step does not depend on which characters they hold."""
    tokens = torch.randint(0, VOCAB, (batch, seq_len + 1))
    return tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()


def ours_step(cfg: Config) -> Callable[[], None]:
    """The model and loss exactly as ``TokenLM`` builds them, on one batch of the preset's shape."""
    m = cfg.model
    model = models.build(m.name, VOCAB, embed_dim=m.embed_dim, hidden=m.hidden, layers=m.layers, dropout=m.dropout)
    inputs, targets = windows(cfg.data.batch_size, cfg.data.seq_len)

    def loss() -> torch.Tensor:
        logits, _ = model(inputs)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1))

    return optimizer_step(model.train(), loss, cfg)


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
        figures.append(chars_figure(f"train.{preset}", ours_step(cfg), d.batch_size, d.seq_len, steps, ""))
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
    hyper = {"embed_dim": m.embed_dim, "hidden": m.hidden, "layers": m.layers, "dropout": m.dropout}
    return models.build(m.name, rep.vocab_size, **hyper)


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


def chars_per_second(model: nn.Module, rep: TokenRepresentation, num: int, batch_size: int) -> dict[str, float]:
    """Totals over three seeds: one batch's time is set by its longest tune, which varies a lot by seed."""
    chars, seconds = 0, 0.0
    for seed in SAMPLE_SEEDS:
        settings = SampleSettings(num=num, batch_size=batch_size, max_length=1000, seed=seed)
        started = time.perf_counter()
        tunes = generate(model, rep, settings)
        seconds += time.perf_counter() - started
        chars += sum(int(g.tokens.size) for g in tunes)
    return {"value": chars / seconds, "chars": chars, "seconds": round(seconds, 3), "seeds": len(SAMPLE_SEEDS)}


def sampling_figures(model: nn.Module, rep: TokenRepresentation, described: str, num: int) -> list[Figure]:
    generate(model, rep, SampleSettings(num=2, batch_size=2, max_length=20))  # warm-up
    log(f"sampling throughput: {num} tunes batched, then one at a time, from {described}")
    batched = chars_per_second(model, rep, num, num)
    single = chars_per_second(model, rep, num, 1)
    speedup = batched["value"] / single["value"]
    extra = {"model": described, "num": num}
    return [
        Figure("sample.batched", batched.pop("value"), "chars/s", extra={**extra, "batch_size": num, **batched}),
        Figure("sample.one-at-a-time", single.pop("value"), "chars/s", extra={**extra, "batch_size": 1, **single}),
        Figure("sample.speedup", speedup, "x", 20.0, note=described),
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
            report = write_samples(loaded.model, loaded.representation, settings, tmp)
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


def formatted(value: float, unit: str) -> str:
    if unit == "chars/s":
        return f"{value:,.0f}"
    return f"{value:.2f}" if unit in ("x", "share", "s") else f"{value:g}"


def table(figures: list[Figure]) -> str:
    """One plain-text table with aligned columns."""
    rows = [["figure", "value", "unit", "target", "met", "note"]]
    for f in figures:
        target = f"{f.op} {f.target:g}" if f.target is not None else "-"
        met = {True: "yes", False: "NO", None: "-"}[f.met]
        rows.append([f.name, formatted(f.value, f.unit), f.unit, target, met, f.note])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    align = [str.ljust, str.rjust, str.ljust, str.ljust, str.ljust, str.ljust]
    lines = ["  ".join(a(c, w) for a, c, w in zip(align, r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def convert_spec(text: str) -> tuple[str, Path]:
    label, sep, path = text.partition("=")
    if not sep or not label or not path or any(c in label for c in " ./"):
        raise argparse.ArgumentTypeError(f"expected LABEL=PATH (e.g. demo=demo-output/run), got {text!r}")
    return label, Path(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="debug presets and few repeats: a smoke run of minutes")
    p.add_argument("--out", type=Path, help="JSON path (default benchmarks/results/core.json or core-quick.json)")
    p.add_argument("--model", type=Path, default=HERE / "work" / "demo20", help="run dir or bundle to sample from")
    p.add_argument("--untrained", action="store_true", help="sample from an untrained abc-lstm-demo model")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own choice)")
    p.add_argument(
        "--convert-model", type=convert_spec, action="append", default=[], metavar="LABEL=PATH", help="repeatable"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    out = args.out or HERE / "results" / ("core-quick.json" if args.quick else "core.json")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    info, notes = machine(), []
    if info["load_average_at_start"] and info["load_average_at_start"][0] > 0.5 * (info["logical_cores"] or 1):
        notes.append(f"load average {info['load_average_at_start'][0]} at start: other work shared the CPU")

    prep, folk_rep = prepare_figure(plan.prepare_repeats)
    figures = training_figures(plan)
    model, rep, described = sampling_model(args.model, args.untrained, folk_rep)
    if described.startswith("untrained"):
        notes.append(f"sampling used an {described}")
    figures += sampling_figures(model, rep, described, plan.sample_num)
    figures += [prep, *all_convert_figures(args.convert_model, plan.convert_num, notes)]
    for f in figures:
        if args.quick and f.name in NOT_JUDGED_WHEN_QUICK:
            f.judged, f.note = False, f"quick run, target not judged; {f.note}"

    assert all(math.isfinite(f.value) for f in figures)
    result = {
        "mode": "quick" if args.quick else "full",
        "machine": info,
        "figures": {f.name: f.to_json() for f in figures},
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
