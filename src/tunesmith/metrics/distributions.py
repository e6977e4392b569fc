"""How alike are two samples of one feature? Overlapping area and KL divergence of their densities.

After Yang & Lerch, "On the evaluation of generative models in music" (Neural Computing and
Applications, 2020): each sample's distribution is estimated with a Gaussian kernel density
estimate, both on one shared grid, then

- **overlapping area** ``OA = ∫ min(p, q) dx``: 1 for identical distributions, 0 for disjoint ones;
- **KL divergence** ``KL(p‖q) = ∫ p log((p + ε) / (q + ε)) dx`` in nats, with ``p`` the reference
  (the training pieces) and ``q`` the generated ones, so it grows when the samples miss what the
  training set does; ``ε = 1e-10`` keeps it finite (disjoint samples give about 20 nats).

Bandwidth: one for both densities, the smaller of the two samples' positive Scott bandwidths ``h =
σ n^(-1/5)`` (σ the sample standard deviation, ``ddof = 1``; ``scipy.stats.gaussian_kde``'s default
factor). Sharing it matters for features that are nearly constant (an empty-beat rate that is 0 for
almost every tune): with a bandwidth each, 19 zeros and one 0.1 would be a broad bump against the
training set's narrow spike at 0 and overlap by 13 %; with one bandwidth they overlap by 95 %, as
they should. The smaller rather than the larger, because a sample with wild values (tunes of 300
bars at T = 2 against the corpus's 14) has a huge σ, and smoothing the training set that much would
make the two overlap by 99 % though they share almost nothing; alike samples have alike bandwidths,
so for them the choice hardly matters. When both samples are constant (σ = 0, or one value each)
the bandwidth is a floor instead: 1 % of the pooled range of both samples, or, when both are one
and the same constant, 0.1 % of its magnitude (at least 0.001). The grid has ``GRID_POINTS`` points
from the pooled minimum minus 4 bandwidths to the pooled maximum plus 4, and each density is
renormalised to integrate to 1 on it (the trapezoid rule). NaN values (a feature undefined for a
piece) are dropped first; an empty sample gives NaN results, never an exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EPSILON = 1e-10
GRID_POINTS = 1024
TAILS = 4.0  # bandwidths of grid beyond the data on each side


@dataclass
class Comparison:
    """Two samples of a feature compared: overlapping area, KL divergence and each sample's mean and spread."""

    oa: float
    kl: float
    reference_mean: float
    sample_mean: float
    reference_std: float
    sample_std: float
    n_reference: int
    n_sample: int

    def to_json(self) -> dict[str, float | int | None]:
        def num(v: float) -> float | None:
            return None if math.isnan(v) else round(float(v), 6)

        return {
            "oa": num(self.oa),
            "kl": num(self.kl),
            "reference_mean": num(self.reference_mean),
            "sample_mean": num(self.sample_mean),
            "reference_std": num(self.reference_std),
            "sample_std": num(self.sample_std),
            "n_reference": self.n_reference,
            "n_sample": self.n_sample,
        }


def finite(values: np.ndarray | list[float]) -> np.ndarray:
    """The values as float64 with NaN and infinities dropped."""
    x = np.asarray(values, dtype=np.float64).ravel()
    return x[np.isfinite(x)]


def scott_bandwidth(x: np.ndarray) -> float:
    """Scott's rule, ``σ n^(-1/5)`` (σ with ``ddof = 1``); 0 for fewer than two values."""
    return float(np.std(x, ddof=1) * x.size ** (-0.2)) if x.size > 1 else 0.0


def bandwidth_floor(a: np.ndarray, b: np.ndarray) -> float:
    """The bandwidth of two constant samples (see the module docstring)."""
    pooled = np.concatenate([a, b])
    spread = float(pooled.max() - pooled.min())
    return spread / 100 if spread > 0 else max(1.0, abs(float(pooled[0]))) * 1e-3


def shared_bandwidth(a: np.ndarray, b: np.ndarray) -> float:
    """The one bandwidth both densities use: the smaller positive Scott bandwidth, or the floor if both are 0."""
    widths = [h for h in (scott_bandwidth(a), scott_bandwidth(b)) if h > 0]
    return min(widths) if widths else bandwidth_floor(a, b)


def density(x: np.ndarray, grid: np.ndarray, h: float) -> np.ndarray:
    """A Gaussian KDE of ``x`` with bandwidth ``h`` evaluated on ``grid``, integrating to 1 there."""
    z = (grid[:, None] - x[None, :]) / h
    d = np.exp(-0.5 * z * z).sum(axis=1) / (x.size * h * math.sqrt(2 * math.pi))
    area = np.trapezoid(d, grid)
    return d / area if area > 0 else d


def compare(reference: np.ndarray | list[float], sample: np.ndarray | list[float]) -> Comparison:
    """OA and KL(reference‖sample) of two samples of one feature, and their means."""
    a, b = finite(reference), finite(sample)
    stats = (
        float(a.mean()) if a.size else math.nan,
        float(b.mean()) if b.size else math.nan,
        float(a.std()) if a.size else math.nan,
        float(b.std()) if b.size else math.nan,
    )
    if not a.size or not b.size:
        return Comparison(math.nan, math.nan, *stats, int(a.size), int(b.size))
    h = shared_bandwidth(a, b)
    reach = TAILS * h
    grid = np.linspace(min(a.min(), b.min()) - reach, max(a.max(), b.max()) + reach, GRID_POINTS)
    p, q = density(a, grid, h), density(b, grid, h)
    oa = float(np.trapezoid(np.minimum(p, q), grid))
    kl = float(np.trapezoid(p * np.log((p + EPSILON) / (q + EPSILON)), grid))
    return Comparison(min(oa, 1.0), max(kl, 0.0), *stats, int(a.size), int(b.size))
