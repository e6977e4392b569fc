"""What every benchmark script shares: a measured figure, the machine it ran on, one table, and
the timed training step (one optimiser step as ``TokenLM`` takes it)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
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
from tunesmith.config import Config
from tunesmith.training.optim import make_optimizer
from tunesmith.training.plan import cpu_name

VOCAB = 120  # the folk corpus vocabulary: 118 characters plus <start> and <end>
WARMUP_STEPS = 2
UNITS = ("chars/s", "tokens/s", "FLOP/s", "x", "s", "share", "bits/char")


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

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> Figure:
        """A figure as ``to_json`` wrote it (a saved run's), its extra fields kept."""
        head = ("value", "unit", "target", "target_op", "target_met", "note")
        target, met = data.get("target"), data.get("target_met")
        extra = {k: v for k, v in data.items() if k not in head}
        judged = target is None or met is not None
        op = data.get("target_op") or ">="
        return cls(name, data["value"], data["unit"], target, op, data.get("note", ""), extra, judged)


def read_figures(path: Path) -> tuple[list[Figure], dict[str, Any]]:
    """The figures of a saved results file, and the rest of it (mode, machine, ...)."""
    data = json.loads(path.read_text())
    figures = [Figure.from_json(name, f) for name, f in data.get("figures", {}).items()]
    return figures, {k: v for k, v in data.items() if k != "figures"}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """Where the figures came from; throughput means little without the CPU and thread count."""
    return {
        "cpu_model": cpu_name(),
        "logical_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "tunesmith": tunesmith.__version__,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


# --- the timed training step --------------------------------------------------------------------


def synchronize(device: torch.device | str) -> None:
    """Wait for queued GPU work, so a wall-clock timer measures it; nothing to wait for on a CPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


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


def optimizer_step(
    model: nn.Module, loss_fn: Callable[[], torch.Tensor], cfg: Config, device: torch.device | str = "cpu"
) -> Callable[[], None]:
    """One optimisation step as Lightning runs it: zero grads, backward, clip by norm, step."""
    opt = make_optimizer(model.parameters(), cfg.train)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn().backward()
        if cfg.train.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        opt.step()
        synchronize(device)

    return step


def windows(batch: int, seq_len: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Random input/target windows; the cost of a step does not depend on which characters they hold."""
    tokens = torch.randint(0, VOCAB, (batch, seq_len + 1)).to(device)
    return tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()


def build_model(cfg: Config, seed: int = 0) -> nn.Module:
    """The preset's model, untrained, built as ``TokenLM`` builds it (from the whole model section)."""
    torch.manual_seed(seed)
    return models.build(cfg.model.name, VOCAB, **cfg.model.hyper())


def train_step(
    cfg: Config, device: torch.device | str = "cpu", autocast: torch.dtype | None = None
) -> Callable[[], None]:
    """One training step of the preset's model on one batch of its shape, as ``TokenLM`` takes it:
    forward (under ``autocast`` when given, as Lightning's bf16-mixed runs it), cross-entropy on
    float logits, backward, clipping, the optimiser's step."""
    model = build_model(cfg).to(device).train()
    inputs, targets = windows(cfg.data.batch_size, cfg.data.seq_len, device)
    kind = torch.device(device).type

    def loss() -> torch.Tensor:
        with torch.autocast(kind, dtype=autocast or torch.bfloat16, enabled=autocast is not None):
            logits, _ = model(inputs)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1))

    return optimizer_step(model, loss, cfg, device)


# --- the table ----------------------------------------------------------------------------------


def formatted(value: float, unit: str) -> str:
    """The value as the table shows it (in ``shown_unit(unit)``)."""
    if unit in ("chars/s", "tokens/s"):
        return f"{value:,.0f}"
    if unit == "FLOP/s":
        return f"{value / 1e9:,.1f}"
    if unit == "bits/char":
        return f"{value:.3f}"
    return f"{value:.2f}" if unit in ("x", "share", "s") else f"{value:g}"


def shown_unit(unit: str) -> str:
    """FLOP/s read better in GFLOP/s; the JSON keeps plain FLOP/s."""
    return "GFLOP/s" if unit == "FLOP/s" else unit


def table(figures: list[Figure]) -> str:
    """One plain-text table with aligned columns."""
    rows = [["figure", "value", "unit", "target", "met", "note"]]
    for f in figures:
        target = f"{f.op} {f.target:g}" if f.target is not None else "-"
        met = {True: "yes", False: "NO", None: "-"}[f.met]
        rows.append([f.name, formatted(f.value, f.unit), shown_unit(f.unit), target, met, f.note])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    align = [str.ljust, str.rjust, str.ljust, str.ljust, str.ljust, str.ljust]
    lines = ["  ".join(a(c, w) for a, c, w in zip(align, r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def text_table(rows: list[list[str]]) -> str:
    """Rows of cells (the first the header) as one plain-text table, left-aligned, a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
