"""Model benchmarks (issue 3): the machine's matmul peak, and for each preset its training and
sampling throughput in tokens/s, the training's share of that peak, and what the transformer's
key/value cache is worth.

``run.py`` calls :func:`model_figures`; every function here returns a list of :class:`Figure`.
The models are untrained (speed does not depend on the weights) and sampling never draws
<end>, so every row runs the same fixed number of steps and tokens = rows x steps. On a machine
with a CUDA device the same figures are measured there too (names start ``gpu.``), training
under bf16 autocast and judged against the GPU's bf16 peak.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from tunesmith.config import ModelConfig, load_preset
from tunesmith.models.base import SequenceModel
from tunesmith.models.transformer import TransformerLM, Uncached
from tunesmith.representations.abc_char import AbcChar
from tunesmith.sampling import Generated, SampleSettings, generate

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import VOCAB, Figure, build_model, log, median_step_seconds, synchronize, train_step  # noqa: E402

# A stand-in for the folk vocabulary (118 characters plus <start> and <end>): speed depends on its size only.
REP = AbcChar([chr(c) for c in range(32, 32 + VOCAB - 2)])
SAMPLE_BATCHES = (1, 64)
CACHE_BATCH = 64
CACHE_TARGET = 3.0  # the issue's: sampling at batch 64 with the cache at least 3x faster than without
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


@dataclass(frozen=True)
class ModelPlan:
    """How much work one device's model figures take."""

    train_steps: dict[str, int]  # preset -> timed training steps
    sample_length: int  # tokens per row when sampling, at batch 1 and at batch 64
    cache_length: int  # tokens per row for the cache speed-up (within the transformer's context)
    peak_size: int  # side of the square matmul that measures the peak
    peak_reps: int
    peak_inner: int = 1  # matmuls per timed repeat (a GPU does one in a millisecond)


PRESETS = ("abc-lstm-seed", "abc-lstm", "abc-transformer")
QUICK_PRESETS = tuple(f"{p}-debug" for p in PRESETS)
# On a CPU the uncached transformer re-reads the whole tune at every step (cost ~ length^2): at 512 tokens
# and batch 64 that alone is minutes on two cores, so the CPU measures the cache at 256 tokens.
CPU_FULL = ModelPlan({"abc-lstm-seed": 10, "abc-lstm": 4, "abc-transformer": 4}, 512, 256, 2048, 5)
CPU_QUICK = ModelPlan(dict.fromkeys(QUICK_PRESETS, 5), 32, 48, 2048, 3)
GPU_FULL = ModelPlan(dict.fromkeys(PRESETS, 20), 512, 512, 8192, 5, 10)
GPU_QUICK = ModelPlan(dict.fromkeys(QUICK_PRESETS, 5), 32, 48, 4096, 3, 5)


# --- FLOPs ------------------------------------------------------------------------------------


def matmul_weights(m: ModelConfig, vocab: int = VOCAB) -> int:
    """Weight-matrix entries each token is multiplied by once (biases, norms and lookups left out).

    Recurrent: gates * hidden * (input + hidden) per layer (4 gates for an LSTM, 3 for a GRU, 1
    for an RNN), the input being the embedding, or the whole vocabulary for one-hot input
    (``embed_dim`` 0: PyTorch multiplies the one-hot vectors as a dense matrix), then ``hidden``;
    plus the hidden x vocab head. Transformer: 12 * dim^2 per block (qkv 3, output 1, MLP 4 + 4)
    plus the dim x vocab head, which shares its weights with the embedding but still multiplies.
    """
    if m.name in GATES:
        total, width = 0, m.embed_dim or vocab
        for _ in range(m.layers):
            total += GATES[m.name] * m.hidden * (width + m.hidden)
            width = m.hidden
        return total + m.hidden * vocab
    if m.name == "transformer":
        return 12 * m.layers * m.hidden**2 + m.hidden * vocab
    raise ValueError(f"no FLOP count for model '{m.name}'")


def attention_flops(m: ModelConfig, seq_len: int) -> int:
    """Training FLOPs per token of the attention scores and their weighted sum (no weights of
    their own): QK^T and AV cost 2 * seq_len * dim each per layer forward if every token saw the
    whole window, times 3 for forward and backward -- PaLM's 12 * layers * seq_len * dim. A causal
    token sees (seq_len + 1) / 2 positions on average, so this counts half: 6 * layers * seq_len * dim."""
    return 6 * m.layers * seq_len * m.hidden if m.name == "transformer" else 0


def flops_per_token(m: ModelConfig, seq_len: int, vocab: int = VOCAB) -> int:
    """Model FLOPs of one training token, forward and backward, as Kaplan et al. (2020) and PaLM
    count them: 2 per weight forward and 4 backward (6 * ``matmul_weights``), plus the attention
    term. Elementwise work, the loss and the optimiser step are left out: this is the work a
    perfect machine must do, so throughput x FLOPs / peak is the share of the peak achieved."""
    return 6 * matmul_weights(m, vocab) + attention_flops(m, seq_len)


# --- the peak ---------------------------------------------------------------------------------


def matmul_seconds(device: str, dtype: torch.dtype, size: int, reps: int, inner: int) -> float:
    """Best wall time of ``inner`` square matmuls over ``reps`` repeats, after one warm-up."""
    gen = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=gen).to(device, dtype) for _ in range(2))
    out = torch.mm(a, b)
    synchronize(device)
    best = math.inf
    for _ in range(reps):
        started = time.perf_counter()
        for _ in range(inner):
            torch.mm(a, b, out=out)
        synchronize(device)
        best = min(best, time.perf_counter() - started)
    return best


def peak_matmul_flops(device: str = "cpu", size: int = 2048, reps: int = 5, inner: int = 1) -> list[Figure]:
    """The machine's practical peak: FLOP/s of a large fp32 square matmul (and bf16 on a GPU),
    best of ``reps``, at the thread count the other figures run with."""
    gpu = device == "cuda"
    prefix = "gpu." if gpu else ""
    figures = []
    for dtype, label in [(torch.float32, "fp32"), *([(torch.bfloat16, "bf16")] if gpu else [])]:
        log(f"peak: {size}x{size} {label} matmul on {device}, best of {reps}")
        seconds = matmul_seconds(device, dtype, size, reps, inner)
        extra = {"size": size, "reps": reps, "matmuls_per_rep": inner, "dtype": label, "device": device}
        if gpu:
            extra["tf32"] = torch.backends.cuda.matmul.allow_tf32
        note = f"{size}x{size} matmul, best of {reps}"
        figures.append(
            Figure(f"{prefix}peak.matmul.{label}", 2 * size**3 * inner / seconds, "FLOP/s", note=note, extra=extra)
        )
    return figures


# --- training ---------------------------------------------------------------------------------


def training_throughput(
    plan: ModelPlan, peak: Figure, device: str = "cpu", reuse: dict[str, Figure] | None = None
) -> list[Figure]:
    """Tokens/s of one optimiser step per preset (as ``TokenLM`` trains), its FLOPs per token and
    its share of ``peak``. ``reuse`` maps presets to figures already timed with the same step
    (run.py's core ``train.PRESET``, in chars/s: one character is one token), so no step is timed twice."""
    gpu = device == "cuda"
    figures = []
    for preset, steps in plan.train_steps.items():
        cfg = load_preset(preset)
        d = cfg.data
        if reuse and preset in reuse:
            timed = reuse[preset]
            tokens_per_s, steps = timed.value, timed.extra["timed_steps"]
            seconds = d.batch_size * d.seq_len / tokens_per_s  # unrounded, unlike the core figure's extra
            source = f"; the timing of {timed.name}"
        else:
            log(f"training throughput: {preset} on {device} ({steps} steps)")
            seconds = median_step_seconds(train_step(cfg, device, torch.bfloat16 if gpu else None), steps)
            tokens_per_s, source = d.batch_size * d.seq_len / seconds, ""
        flops = flops_per_token(cfg.model, d.seq_len)
        share = tokens_per_s * flops / peak.value
        extra = {
            "batch": d.batch_size,
            "seq_len": d.seq_len,
            "timed_steps": steps,
            "median_step_seconds": seconds,
            "precision": "bf16 autocast" if gpu else "fp32",
            "flops_per_token": flops,
            "matmul_weights": matmul_weights(cfg.model),
            "attention_flops_per_token": attention_flops(cfg.model, d.seq_len),
            "peak": peak.name,
            "share_of_peak": share,
        }
        note = f"{flops / 1e6:.3g} MFLOP/token, {share:.1%} of {peak.name}{source}"
        name = f"{'gpu.' if gpu else ''}train.{preset}.tokens"
        figures.append(Figure(name, tokens_per_s, "tokens/s", note=note, extra=extra))
    return figures


# --- sampling ---------------------------------------------------------------------------------


class NeverEnds(SequenceModel):
    """A token model whose <end> logit is -inf, so every sampled row runs to ``max_length``.

    It keeps ``can_refill`` False (rows run in lockstep batches), as the timed benchmark expects."""

    def __init__(self, model: SequenceModel, end_id: int):
        super().__init__()
        self.model, self.end_id = model, end_id

    def init_state(self, batch: int, device: torch.device | str = "cpu") -> object:
        return self.model.init_state(batch, device)

    def forward(self, tokens: torch.Tensor, state: object = None) -> tuple[torch.Tensor, object]:
        logits, state = self.model(tokens, state)
        logits[..., self.end_id] = -math.inf
        return logits, state

    def step(self, tokens: torch.Tensor, state: object) -> tuple[torch.Tensor, object]:
        logits, state = self.model.step(tokens, state)
        logits[..., self.end_id] = -math.inf
        return logits, state

    def select_state(self, state: object, rows: torch.Tensor) -> object:
        return self.model.select_state(state, rows)


def timed_sample(model: nn.Module, rows: int, length: int, device: str) -> tuple[float, list[Generated]]:
    """Seconds to sample ``rows`` tunes of exactly ``length`` tokens in one batch, after a short warm-up."""
    wrapped = NeverEnds(model, REP.end_id)
    generate(wrapped, REP, SampleSettings(num=rows, batch_size=rows, max_length=4, seed=1), device)
    started = time.perf_counter()
    tunes = generate(wrapped, REP, SampleSettings(num=rows, batch_size=rows, max_length=length, seed=0), device)
    seconds = time.perf_counter() - started
    assert all(t.tokens.size == length and not t.ended for t in tunes), "a sampled row stopped early"
    return seconds, tunes


def sampling_throughput(plan: ModelPlan, device: str = "cpu") -> list[Figure]:
    """Tokens/s sampling each preset's (untrained) model at batch 1 and 64, ``plan.sample_length`` steps."""
    prefix = "gpu." if device == "cuda" else ""
    figures = []
    for preset in plan.train_steps:
        model = build_model(load_preset(preset)).to(device)
        for rows in SAMPLE_BATCHES:
            log(f"sampling throughput: {preset} on {device}, batch {rows}, {plan.sample_length} tokens")
            seconds, _ = timed_sample(model, rows, plan.sample_length, device)
            tokens = rows * plan.sample_length
            extra = {"batch_size": rows, "steps": plan.sample_length, "tokens": tokens, "seconds": seconds}
            note = f"untrained, <end> masked, {plan.sample_length} tokens a row"
            figures.append(
                Figure(f"{prefix}sample.{preset}.batch{rows}", tokens / seconds, "tokens/s", note=note, extra=extra)
            )
    return figures


def cache_speedup(plan: ModelPlan, device: str = "cpu", judged: bool = True) -> list[Figure]:
    """The transformer at batch 64 with its key/value cache vs without (``Uncached``: every step
    re-reads the whole tune), same weights, seed and length."""
    preset = next((p for p in plan.train_steps if load_preset(p).model.name == "transformer"), None)
    if preset is None:
        return []
    model = build_model(load_preset(preset)).to(device)
    assert isinstance(model, TransformerLM)
    rows, length = CACHE_BATCH, plan.cache_length
    log(f"cache: {preset} on {device}, batch {rows}, {length} tokens, with and without the cache")
    cached, with_cache = timed_sample(model, rows, length, device)
    uncached, without = timed_sample(Uncached(model), rows, length, device)
    identical = sum(a.tokens.tolist() == b.tokens.tolist() for a, b in zip(with_cache, without, strict=True)) / rows
    extra = {
        "preset": preset,
        "batch_size": rows,
        "steps": length,
        "cached_seconds": cached,
        "uncached_seconds": uncached,
        "cached_tokens_per_s": rows * length / cached,
        "uncached_tokens_per_s": rows * length / uncached,
        "identical_share": identical,
    }
    note = f"{preset}, batch {rows}, {length} tokens; {identical:.0%} of rows identical"
    note = note if judged else f"quick run, target not judged; {note}"
    name = f"{'gpu.' if device == 'cuda' else ''}sample.transformer.cache-speedup"
    return [Figure(name, uncached / cached, "x", CACHE_TARGET, note=note, extra=extra, judged=judged)]


# --- all of it --------------------------------------------------------------------------------


def device_figures(plan: ModelPlan, device: str, quick: bool, reuse: dict[str, Figure] | None = None) -> list[Figure]:
    peaks = peak_matmul_flops(device, plan.peak_size, plan.peak_reps, plan.peak_inner)
    peak = peaks[-1]  # fp32 on a CPU; bf16 on a GPU, where training runs under bf16 autocast
    return [
        *peaks,
        *training_throughput(plan, peak, device, reuse),
        *sampling_throughput(plan, device),
        *cache_speedup(plan, device, judged=not quick),
    ]


def model_figures(quick: bool, notes: list[str], reuse: dict[str, Figure] | None = None) -> list[Figure]:
    """Every model figure: the CPU's, then the GPU's where there is one (a note where there is not)."""
    figures = device_figures(CPU_QUICK if quick else CPU_FULL, "cpu", quick, reuse)
    if torch.cuda.is_available():
        try:
            figures += device_figures(GPU_QUICK if quick else GPU_FULL, "cuda", quick)
        except RuntimeError as exc:  # e.g. a kernel this GPU or its cuDNN lacks: keep the CPU figures
            notes.append(f"GPU model figures failed: {str(exc).splitlines()[0]}")
    else:
        notes.append("GPU model figures skipped: no CUDA device")
    if quick:
        notes.append("model figures are for the -debug presets (--quick)")
    return figures
