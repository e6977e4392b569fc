"""The phase distance seed 001 asked for, the spectral loss recomputed by hand, and the exact phase-error sums."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tunesmith.config import apply_overrides, load_preset
from tunesmith.errors import TunesmithError
from tunesmith.training.audio_losses import phase_distance, phase_errors, phase_term, spectral_loss, wrap

angles = st.floats(min_value=-50.0, max_value=50.0, allow_nan=False, allow_infinity=False)
turns = st.integers(min_value=-6, max_value=6)
TWO_PI = 2 * math.pi


def d(a: float, b: float) -> float:
    return float(phase_distance(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)))


@settings(max_examples=200, deadline=None)
@given(angles, angles, turns, turns)
def test_phase_distance_is_periodic_in_two_pi(a: float, b: float, n: int, m: int) -> None:
    assert d(a + TWO_PI * n, b + TWO_PI * m) == pytest.approx(d(a, b), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(angles, angles, angles)
def test_phase_distance_ignores_a_common_shift(a: float, b: float, w: float) -> None:
    assert d(a + w, b + w) == pytest.approx(d(a, b), abs=1e-9)
    assert d(a, b) == pytest.approx(d(b, a), abs=1e-12)  # and it is symmetric


@settings(max_examples=200, deadline=None)
@given(angles, angles, turns)
def test_phase_distance_is_zero_only_for_equal_angles_modulo_two_pi(a: float, b: float, n: int) -> None:
    assert d(a, a + TWO_PI * n) == pytest.approx(0.0, abs=1e-9)
    gap = abs(math.remainder(a - b, TWO_PI))  # the true angle between them, in [0, pi]
    if gap > 1e-3:
        assert d(a, b) >= 0.99 * 2 * gap**2 / math.pi**2 > 0  # 2 sin²(g/2) >= 2 (g/π)² on [0, π] (Jordan)
    assert d(a, b) >= 0.0


@settings(max_examples=200, deadline=None)
@given(angles, angles)
def test_phase_distance_is_largest_at_a_difference_of_pi(a: float, b: float) -> None:
    assert d(a, b) <= d(0.0, math.pi) + 1e-12
    assert d(a, a + math.pi) == pytest.approx(2.0, abs=1e-9) == d(0.0, math.pi)
    # seed 001's sin²((a − b)/2), twice over
    assert d(a, b) == pytest.approx(2 * math.sin((a - b) / 2) ** 2, abs=1e-9)


def test_plain_mse_on_angles_is_the_wrong_distance() -> None:
    """The naive baseline punishes π against −π (the same angle) hardest of all; the circular one not at all."""
    pi, minus_pi = torch.tensor([[[math.pi]]]), torch.tensor([[[-math.pi]]])
    assert float(phase_term(pi, minus_pi, "mse")) == pytest.approx(4 * math.pi**2, rel=1e-6)
    assert float(phase_term(pi, minus_pi, "cosine")) == pytest.approx(0.0, abs=1e-6)
    assert float(wrap(torch.tensor(3 * math.pi))) == pytest.approx(math.pi, abs=1e-6)


def _hand_spectral(out: np.ndarray, target: np.ndarray, kind: str, weight: float) -> float:
    """The spectral loss recomputed with plain loops: columns 0-1 magnitude, 2-3 phase."""
    batch, frames, _ = out.shape
    mag = [(out[b, t, c] - target[b, t, c]) ** 2 for b in range(batch) for t in range(frames) for c in (0, 1)]
    if kind == "cosine":
        phase = [
            1 - math.cos(out[b, t, c] - target[b, t, c]) for b in range(batch) for t in range(frames) for c in (2, 3)
        ]
    elif kind == "mse":
        phase = [(out[b, t, c] - target[b, t, c]) ** 2 for b in range(batch) for t in range(frames) for c in (2, 3)]
    else:  # instantaneous frequency: frame-to-frame advances compared circularly
        phase = [
            1 - math.cos((out[b, t, c] - out[b, t - 1, c]) - (target[b, t, c] - target[b, t - 1, c]))
            for b in range(batch)
            for t in range(1, frames)
            for c in (2, 3)
        ]
    return sum(mag) / len(mag) + weight * sum(phase) / len(phase)


@pytest.mark.parametrize("kind", ["cosine", "mse", "if"])
def test_spectral_loss_parts_recomputed_by_hand(kind: str) -> None:
    rng = np.random.default_rng(4)
    out, target = rng.normal(size=(2, 3, 4)) * 2, rng.normal(size=(2, 3, 4)) * 2
    got = spectral_loss(
        torch.from_numpy(out),
        torch.from_numpy(target),
        None,
        magnitude_columns=slice(0, 2),
        phase_columns=slice(2, 4),
        phase_loss=kind,
        phase_weight=0.5,
    )
    assert float(got) == pytest.approx(_hand_spectral(out, target, kind, 0.5), rel=1e-6)


def test_instantaneous_frequency_ignores_a_phase_offset_common_to_the_window() -> None:
    rng = np.random.default_rng(5)
    out, target = torch.from_numpy(rng.normal(size=(1, 6, 3))), torch.from_numpy(rng.normal(size=(1, 6, 3)))
    offset = out + torch.tensor([0.7, -2.0, 3.0])  # one offset per bin, the same in every frame
    assert float(phase_term(offset, target, "if")) == pytest.approx(float(phase_term(out, target, "if")), abs=1e-9)
    assert float(phase_term(offset, target, "cosine")) != pytest.approx(float(phase_term(out, target, "cosine")))


def test_phase_error_sums_are_circular_whatever_the_training_loss() -> None:
    predicted = torch.tensor([0.0, math.pi - 0.1, 4 * math.pi + 0.3, -3.0])
    target = torch.tensor([0.0, -math.pi + 0.1, 0.0, 3.0])
    cosine, radians = phase_errors(predicted, target)
    gaps = [0.0, 0.2, 0.3, TWO_PI - 6.0]
    assert float(cosine) == pytest.approx(sum(1 - math.cos(g) for g in gaps), abs=1e-5)
    assert float(radians) == pytest.approx(sum(gaps), abs=1e-5)


def test_frame_module_sums_the_phase_error_exactly() -> None:
    """FrameLM on spectral frames: the loss is the spectral loss and the sums hold the circular errors."""
    from tunesmith.training.frame_module import N_SUMS, FrameLM

    config = apply_overrides(load_preset("spectral-lstm-debug"), ["train.phase_loss=mse"])
    module = FrameLM(config, 6, "spectral", columns=(slice(0, 3), slice(3, 6)))
    assert module.metric_names == ("loss", "magnitude_mse", "phase_error", "phase_radians")
    torch.manual_seed(0)
    inputs, targets = torch.randn(2, 5, 6), torch.randn(2, 5, 6)
    module.eval()
    loss = module._loss((inputs, targets), "val")
    with torch.no_grad():
        out = module(inputs)
    expected = spectral_loss(
        out, targets, None, magnitude_columns=slice(0, 3), phase_columns=slice(3, 6), phase_loss="mse"
    )
    assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-6)
    sums = module.sums["val"]
    assert sums.shape == (N_SUMS,)
    delta = (out[..., 3:] - targets[..., 3:]).double()
    assert float(sums[8]) == pytest.approx(float(((out[..., :3] - targets[..., :3]) ** 2).sum()), rel=1e-6)
    assert float(sums[10]) == pytest.approx(float((1 - torch.cos(delta)).sum()), rel=1e-6)
    assert float(sums[11]) == pytest.approx(
        float(torch.atan2(torch.sin(delta), torch.cos(delta)).abs().sum()), rel=1e-6
    )
    assert float(sums[9]) == float(sums[12]) == 30
    metrics = module.metrics_of(sums)
    assert metrics["phase_error"] == pytest.approx(float((1 - torch.cos(delta)).mean()), rel=1e-6)
    assert metrics["loss"] == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.phase_loss=sine", "train.phase_loss must be one of cosine, mse, if"),
        ("train.phase_weight=-1", "train.phase_weight must be between 0 and 1000"),
        ("data.windows=random", "data.windows must be stream, piece or shifted"),
        ("data.shift=0", "data.shift must be between 1 and 65536"),
    ],
)
def test_bad_audio_settings_are_refused(override: str, message: str) -> None:
    with pytest.raises(TunesmithError, match=message):
        apply_overrides(load_preset("spectral-lstm-debug"), [override])
