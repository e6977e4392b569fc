"""The token loop: batched sampling from any token model with temperature, top-k, top-p, a primer and a seed.

All tunes of a batch advance together, one token per model call. A tune that emits <end>
leaves the batch (its rows are dropped from the model state), so the batch only pays for
tunes still being written; with a model that ``can_refill`` the next waiting tune takes its row at
once. A tune that reaches ``max_length`` tokens is cut and flagged. Each tune draws from
its own random stream, so the batch size changes the speed and never the tunes.

A ``guard`` (handed in by a medium: the ABC grammar for ``--constrain``) masks every token that would
break the piece; this loop knows nothing of what it checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from tunesmith.errors import TunesmithError
from tunesmith.models.base import SequenceModel
from tunesmith.representations import TokenRepresentation
from tunesmith.sampling.settings import SampleSettings


class GuardBatch(Protocol):
    """A guard's state for the rows of one batch."""

    def allowed(self, remaining: int) -> torch.Tensor:
        """``(rows, vocab)`` booleans: the tokens each row may take with ``remaining`` steps left."""

    def advance(self, tokens: torch.Tensor) -> None:
        """Each row took its token."""

    def keep(self, rows: torch.Tensor) -> None:
        """Only these rows go on."""

    def forced(self, row: int) -> bool:
        """Whether the guard took a choice the rules allow away from this row to make it end in time."""


class Guard(Protocol):
    """Allows only tokens that keep a piece well-formed and able to end within its budget."""

    def batch(self, rows: int) -> GuardBatch: ...


@dataclass
class Generated:
    tokens: np.ndarray  # ids after <start>: the primer, then the model's, without <end>
    ended: bool  # True if the model wrote <end>; False if cut at max_length
    forced: bool = False  # the guard steered it to its end (only tokens that finish in time were allowed)

    @property
    def ending(self) -> str:
        """``ended`` when the model wrote ``<end>`` on its own; ``forced`` when the length limit cut it or the
        guard's way to a timely end narrowed its choices (what a reader must not count as an ending)."""
        return "ended" if self.ended and not self.forced else "forced"


def filter_logits(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Keep the ``top_k`` most likely tokens and/or the smallest set with ``top_p`` of the mass."""
    if top_k:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        ordered, index = torch.sort(logits, descending=True, dim=-1)
        mass = torch.softmax(ordered, dim=-1).cumsum(-1)
        drop = mass - torch.softmax(ordered, dim=-1) >= top_p  # tokens entirely past the nucleus
        ordered = ordered.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, index, ordered)
    return logits


def tune_uniforms(seed: int, tunes: list[int], length: int) -> torch.Tensor:
    """``(len(tunes), length)`` uniforms, one row per tune from a generator of its own (seeded by the run's
    seed and the tune's number): tune k draws the same numbers whatever the batch size, and whenever it
    starts, so ``--batch-size`` changes only the speed."""
    rows = torch.empty(len(tunes), length)
    for row, tune in enumerate(tunes):
        state = np.random.SeedSequence((seed, tune)).generate_state(1, np.uint64)[0]
        rows[row] = torch.rand(length, generator=torch.Generator().manual_seed(int(state)))
    return rows


def draw(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """One token per row by inverse-CDF sampling with the row's uniform ``u`` in [0, 1): the same
    distribution as ``torch.multinomial``, several times faster for a batch on a CPU. ``right=True``, and
    ``u`` kept below the total, never land on a zero-probability token (masked ones included)."""
    cdf = probs.cumsum(-1)
    total = cdf[:, -1:]
    u = torch.minimum(u.view(-1, 1) * total, torch.nextafter(total, torch.zeros_like(total)))
    return torch.searchsorted(cdf, u, right=True).squeeze(1).clamp_(max=probs.size(-1) - 1)


def _next(model: SequenceModel, token: torch.Tensor, state: object) -> tuple[torch.Tensor, object]:
    """Logits after one more token, through the model's single-step path."""
    logits, state = model.step(token, state)
    return logits.float(), state


@torch.inference_mode()
def generate_tokens(
    model: SequenceModel,
    rep: TokenRepresentation,
    settings: SampleSettings,
    device: str | torch.device = "cpu",
    primer_ids: np.ndarray | None = None,
    guard: Guard | None = None,
) -> list[Generated]:
    """Sample ``settings.num`` sequences. The same settings and seed give the same output, at any
    ``batch_size``: each tune draws from its own random stream.

    ``primer_ids`` (e.g. the first bars of a MIDI file, encoded) replace the text primer. ``guard``
    masks what would break the piece; ``settings.constrain`` without one is refused (only a medium that
    has a grammar hands one over)."""
    settings.check_for(rep)
    if settings.constrain and guard is None:
        raise TunesmithError(f"--constrain needs an ABC model; this one reads {rep.name}")
    model = model.to(device).eval()
    if primer_ids is not None:
        primer = np.asarray(primer_ids, dtype=np.int64)
        if primer.size >= settings.max_length:
            raise TunesmithError(f"the primer is {primer.size} tokens; --max-length must be above that")
        if primer.size and (primer.min() < 0 or primer.max() >= rep.vocab_size):
            raise TunesmithError("the primer holds ids outside this model's vocabulary")
    else:
        primer = rep.ids(settings.primer, "--primer") if settings.primer else np.zeros(0, dtype=np.int64)
    budget = settings.max_length - primer.size
    constraint = guard if settings.constrain else None
    results: list[Generated] = [None] * settings.num  # type: ignore[list-item]
    run = _Batch(model, rep, settings, primer, budget, device)
    # A recurrent state takes new rows at any step, so a finished tune's row goes to the next tune; a
    # key/value cache and the grammar's step count are shared by the batch, so those run batch by batch.
    if model.can_refill and constraint is None:
        run.sample(list(range(settings.num)), settings.batch_size, None, results)
    else:
        for first in range(0, settings.num, settings.batch_size):
            tunes = list(range(first, min(first + settings.batch_size, settings.num)))
            run.sample(tunes, len(tunes), constraint, results)
    return results


class _Batch:
    """The sampling loop. Rows are tunes being written; each knows its tune number and owns a slot of the
    output buffer and of random numbers."""

    def __init__(
        self,
        model: SequenceModel,
        rep: TokenRepresentation,
        settings: SampleSettings,
        primer: np.ndarray,
        budget: int,
        device: str | torch.device,
    ):
        self.model, self.rep, self.settings = model, rep, settings
        self.primer, self.budget, self.device = primer, budget, device
        self.prefix = torch.tensor(np.concatenate([[rep.start_id], primer]), dtype=torch.long, device=device)

    def begin(self, rows: int) -> tuple[torch.Tensor, object]:
        """Logits and state of ``rows`` new tunes, after <start> and the primer."""
        state = self.model.init_state(rows, self.device)
        logits, state = self.model(self.prefix.expand(rows, -1), state)
        return logits[:, -1].float(), state

    def sample(self, tunes: list[int], width: int, constraint: Guard | None, results: list[Generated]) -> None:
        """Write ``tunes`` with at most ``width`` rows at a time; rows freed by finished tunes take the next.

        Each live row owns a slot of the output buffer and of the random numbers, so a finished tune's
        slot is reused without copying the others."""
        s, model, budget, end_id, device = self.settings, self.model, self.budget, self.rep.end_id, self.device
        live, waiting = tunes[:width], tunes[width:]
        logits, state = self.begin(len(live))
        fresh = None  # one row's logits and state after the prefix, copied into refilled rows
        out = torch.zeros(len(live), budget, dtype=torch.long)
        uniforms = tune_uniforms(s.seed, live, budget)
        slots = torch.arange(len(live))
        at = slots * budget  # each row's next position in the flattened slot buffers
        oldest = 0  # the earliest start among live rows: the next to reach the length limit
        guard = constraint.batch(len(live)) if constraint else None
        for step in range(budget * len(tunes)):  # bounded: each step writes a token of some tune
            logits[:, self.rep.start_id] = float("-inf")
            if guard is not None:
                logits = logits.masked_fill(~guard.allowed(budget - step).to(logits.device), float("-inf"))
            logits = filter_logits(logits / s.temperature, s.top_k, s.top_p)
            token = draw(torch.softmax(logits, -1), uniforms.take(at).to(device))
            out.put_(at, token.cpu())
            if guard is not None:
                guard.advance(token)
            finished = (token == end_id).cpu()
            cut = step - oldest + 1 == budget
            if not (cut or finished.any()):
                at += 1
                logits, state = _next(model, token, state)
                continue
            column = at - slots * budget
            done = finished | (column == budget - 1) if cut else finished
            for row in done.nonzero().squeeze(1).tolist():
                length = int(column[row]) + (0 if finished[row] else 1)
                body = out[slots[row], :length].numpy()
                forced = guard is not None and guard.forced(row)
                results[live[row]] = Generated(np.concatenate([self.primer, body]), bool(finished[row]), forced)
            keep = (~done).nonzero().squeeze(1)
            refill, waiting = waiting[: int(done.sum())], waiting[int(done.sum()) :]
            if keep.numel() == 0 and not refill:
                return
            parts = []
            if keep.numel():
                kept = model.select_state(state, keep.to(device))
                parts.append(_next(model, token[keep.to(token.device)], kept))
            new_slots = slots[done][: len(refill)]
            if refill:
                if fresh is None:
                    fresh = self.begin(1)
                copies = torch.zeros(len(refill), dtype=torch.long, device=device)
                parts.append((fresh[0].repeat(len(refill), 1), model.select_state(fresh[1], copies)))
                uniforms[new_slots] = tune_uniforms(s.seed, refill, budget)
            live = [live[i] for i in keep.tolist()] + refill
            slots = torch.cat([slots[keep], new_slots])
            at = torch.cat([at[keep] + 1, new_slots * budget])
            oldest = step + 1 - int((at - slots * budget).max())  # the row with the most written
            if guard is not None:
                guard.keep(keep)
            logits, state = parts[0]
            if len(parts) == 2:
                logits = torch.cat([logits, parts[1][0]])
                state = model.cat_states([state, parts[1][1]])
