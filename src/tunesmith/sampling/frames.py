"""The frame loop: batched, seeded sampling from frame models of scores (piano rolls).

All pieces of a batch advance together, one frame per model call. Each piece starts from the
representation's ``start_frame`` (for a piano roll, an end frame: in the training stream every
piece follows one), then the optional primer frames, then the model's own frames.

- ``bce`` frames: every bit is a Bernoulli draw from ``sigmoid(logit / temperature)``, then the
  representation's ``tidy`` makes the frame look like an encoded one (for piano rolls: an onset
  implies its sustain; a sustain with no onset needs its pitch sounding in the frame before, else
  it is dropped; an end frame holds no notes). A run trained with ``train.onset_weight = w``
  learned onset logits raised by ``log w``; pass ``onset_weight`` and they are lowered back, so
  draws follow the calibrated probabilities instead of over-producing notes.
- ``mse`` frames: the model's outputs are the next frame as they are (a regression predicts a
  mean). Audio continues a prompt instead, drawing around that mean:
  :func:`tunesmith.sampling.audio.continue_frames`, which shares :func:`next_outputs`.

A piece stops when it draws the representation's end flag (``end_index``; it leaves the batch,
as finished tunes do in :mod:`tunesmith.sampling.tokens`) or at ``max_length`` frames, primer included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from tunesmith.errors import TunesmithError
from tunesmith.models.base import SequenceModel
from tunesmith.representations import FrameRepresentation
from tunesmith.sampling.settings import SampleSettings


@dataclass
class GeneratedFrames:
    frames: np.ndarray  # (T, frame_dim): the primer, then the model's frames, no end frame; uint8 0/1 for bce
    ended: bool  # True if the model drew the end flag; False if cut at max_length


def _check(settings: SampleSettings, rep: FrameRepresentation, primer: np.ndarray | None) -> np.ndarray:
    settings.check_for(rep)
    if settings.primer:
        raise TunesmithError("--primer is ABC text; a frame model is primed with frames (e.g. --primer-midi)")
    if primer is None:
        return np.zeros((0, rep.frame_dim), dtype=np.float32)
    primer = np.asarray(primer, dtype=np.float32)
    if primer.ndim != 2 or primer.shape[1] != rep.frame_dim:
        raise TunesmithError(f"primer frames must be shaped (T, {rep.frame_dim}), not {primer.shape}")
    if not np.isfinite(primer).all():
        raise TunesmithError("primer frames hold NaN or infinite values")
    if len(primer) >= settings.max_length:
        raise TunesmithError(f"the primer ({len(primer)} frames) must be shorter than --max-length")
    return primer


def next_outputs(model: SequenceModel, frame: torch.Tensor, state: object) -> tuple[torch.Tensor, object]:
    """Outputs after one more frame, through the model's single-step path."""
    out, state = model.step(frame, state)
    return out.float(), state


@torch.inference_mode()
def generate_frames(
    model: SequenceModel,
    rep: FrameRepresentation,
    settings: SampleSettings,
    primer: np.ndarray | None = None,
    *,
    onset_weight: float = 1.0,
    device: str | torch.device = "cpu",
) -> list[GeneratedFrames]:
    """Sample ``settings.num`` pieces of at most ``settings.max_length`` frames. Same settings, same frames."""
    primer = _check(settings, rep, primer)
    if not 0 < onset_weight <= 1000:
        raise TunesmithError(f"onset_weight {onset_weight} must be above 0 and at most 1000")
    binary = rep.loss == "bce"
    model = model.to(device).eval()
    d = rep.frame_dim
    start, end, onsets = rep.start_frame(), rep.end_index, rep.onset_mask()
    bias = torch.zeros(d, device=device)
    if binary and onset_weight != 1.0 and onsets is not None:
        bias[torch.from_numpy(onsets).to(device)] = -math.log(onset_weight)
    prefix = torch.from_numpy(np.concatenate([start[None].astype(np.float32), primer])).to(device)
    budget = settings.max_length - len(primer)
    gen = torch.Generator(device=device).manual_seed(settings.seed)
    results: list[GeneratedFrames] = []
    for first in range(0, settings.num, settings.batch_size):
        b = min(settings.batch_size, settings.num - first)
        state = model.init_state(b, device)
        out, state = model(prefix.expand(b, -1, -1), state)
        out = out[:, -1].float()
        previous = prefix[-1].expand(b, -1).cpu().numpy()
        frames = np.zeros((b, budget, d), dtype=np.uint8 if binary else np.float32)
        lengths = np.full(b, budget, dtype=np.int64)
        ended = np.zeros(b, dtype=bool)
        active = np.arange(b)
        for step in range(budget):
            if binary:
                probs = torch.sigmoid((out + bias) / settings.temperature)
                bits = (torch.rand(probs.shape, generator=gen, device=device) < probs).cpu().numpy()
                frame = rep.tidy(bits, previous)
            else:
                frame = out.cpu().numpy()
            frames[active, step] = frame
            previous = frame
            finished = frame[:, end] > 0.5 if end is not None else np.zeros(len(active), dtype=bool)
            if finished.any():
                ended[active[finished]] = True
                lengths[active[finished]] = step
                keep = np.flatnonzero(~finished)
                if keep.size == 0:
                    break
                active, frame, previous = active[keep], frame[keep], previous[keep]
                state = model.select_state(state, torch.from_numpy(keep).to(device))
            if step + 1 < budget:
                out, state = next_outputs(
                    model, torch.from_numpy(np.asarray(frame, dtype=np.float32)).to(device), state
                )
        head = (primer > 0.5).astype(np.uint8) if binary else primer
        for row in range(b):
            results.append(GeneratedFrames(np.concatenate([head, frames[row, : lengths[row]]]), bool(ended[row])))
    return results
