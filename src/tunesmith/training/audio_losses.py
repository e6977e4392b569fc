"""Losses for audio frames: a circular distance for phase, and the magnitude + phase "spectral" loss.

Seed 001 saw that plain squared error is wrong for angles: (π − (−π))² = 4π² although π and −π are
the same angle. It asked for a distance that is periodic in 2π for each angle, unchanged when both
angles move together, zero only for equal angles (modulo 2π) and largest at a difference of π, and
proposed sin²((θ − φ)/2). :func:`phase_distance` is twice that, ``1 − cos(θ − φ)`` (the same shape,
in [0, 2], with a gradient ``sin(θ − φ)`` that vanishes only at agreement and at the opposite angle).

The model outputs the angle itself, in radians, unbounded: a periodic loss makes every
2π-equivalent output equally good, so no (cos, sin) pair or ``tanh`` squashing is needed. The
sampler wraps the angles it feeds back to (−π, π], as the training inputs are.

The ``spectral`` frame loss (representation ``audio-spectral``) is the magnitude MSE plus
``phase_weight`` times a phase term chosen by ``train.phase_loss``:

- ``cosine``: mean ``1 − cos(Δ)`` of predicted against target phase (the default).
- ``mse``: mean squared difference of the raw angles, the naive baseline seed 001 warned against.
- ``if``: instantaneous frequency, as GANSynth models it: the circular distance between the
  frame-to-frame phase advances of prediction and target, ``1 − cos((p_t − p_{t−1}) − (y_t − y_{t−1}))``.
  It ignores a phase offset common to the whole window, which the ear does not hear either.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tunesmith.config import PHASE_LOSSES
from tunesmith.representations.audio import wrap  # noqa: F401  (re-exported: the phase loss and its tests use it)


def phase_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``1 − cos(a − b)`` elementwise: 2·sin²((a − b)/2), seed 001's circular distance (times two)."""
    return 1.0 - torch.cos(a - b)


def phase_term(predicted: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean phase loss over every value of ``(batch, time, bins)`` angles."""
    if kind == "cosine":
        return phase_distance(predicted, target).mean()
    if kind == "mse":
        return F.mse_loss(predicted, target)
    if kind == "if":
        if predicted.size(-2) < 2:  # one frame has no frame-to-frame advance
            return predicted.new_zeros(())
        advance_p = predicted[..., 1:, :] - predicted[..., :-1, :]
        advance_t = target[..., 1:, :] - target[..., :-1, :]
        return phase_distance(advance_p, advance_t).mean()
    raise ValueError(f"unknown phase loss {kind!r}; known: {', '.join(PHASE_LOSSES)}")


def spectral_loss(
    outputs: torch.Tensor,
    targets: torch.Tensor,
    pos_weight: torch.Tensor | None = None,
    *,
    magnitude_columns: slice,
    phase_columns: slice,
    phase_loss: str = "cosine",
    phase_weight: float = 1.0,
) -> torch.Tensor:
    """Magnitude MSE + ``phase_weight`` × phase term, for frames ``(batch, time, frame_dim)``.

    ``pos_weight`` is unused (the frame losses share one signature; it weighs on/off bits)."""
    outputs = outputs.float()
    magnitude = F.mse_loss(outputs[..., magnitude_columns], targets[..., magnitude_columns])
    phase = phase_term(outputs[..., phase_columns], targets[..., phase_columns], phase_loss)
    return magnitude + phase_weight * phase


def phase_errors(predicted: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sums of ``1 − cos Δ`` and of ``|wrap(Δ)|`` (radians) over all values: the circular validation
    error logged for every spectral run, whatever ``phase_loss`` trained it, so runs compare."""
    delta = predicted.float() - target.float()
    return (1.0 - torch.cos(delta)).sum(), wrap(delta).abs().sum()
