"""How big a model and one training batch are, known before a byte of either is allocated.

The model is built on PyTorch's ``meta`` device: every parameter gets a shape and no storage, so
``model.hidden=65536 model.layers=64`` is counted in milliseconds instead of asking the allocator
for 68 GB. Training adds gradients, two optimiser moments and one batch of activations, estimated
per family from the shapes that dominate them. Both are checked against stated limits
(:data:`MAX_PARAMETERS`, and the machine's memory or ``TUNESMITH_MAX_MEMORY_GB``) by
:func:`check_training` and :func:`check_loading`, the one place that says "too big".
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from tunesmith.config import Config
from tunesmith.errors import TunesmithError

MAX_PARAMETERS = 2_000_000_000  # 8 GB of float32 weights: far above any music model here, far below harm
MEMORY_SHARE = 0.8  # of physical memory a training run may plan to use


def memory_limit() -> int:
    """Bytes a run may plan to use: ``TUNESMITH_MAX_MEMORY_GB`` if set, else 80% of physical memory."""
    raw = os.environ.get("TUNESMITH_MAX_MEMORY_GB", "").strip()
    if raw:
        try:
            gb = float(raw)
        except ValueError:
            raise TunesmithError(f"TUNESMITH_MAX_MEMORY_GB={raw!r} must be a number of gigabytes") from None
        if not 0 < gb < 1e6:
            raise TunesmithError(f"TUNESMITH_MAX_MEMORY_GB={raw!r} must be above 0")
        return int(gb * 1e9)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 16 * 10**9
    return int(total * MEMORY_SHARE)


def meta_model(name: str, size: int, hyper: dict[str, Any]) -> nn.Module:
    """The model with shapes and no storage: what ``build`` would make, for free."""
    from tunesmith.models import build

    with torch.device("meta"):
        return build(name, size, **hyper)


def expected_shapes(name: str, size: int, hyper: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every weight's name and shape, to compare with a file's before loading it."""
    return {k: tuple(v.shape) for k, v in meta_model(name, size, hyper).state_dict().items()}


def parameter_count(name: str, size: int, hyper: dict[str, Any]) -> int:
    return sum(p.numel() for p in meta_model(name, size, hyper).parameters())


def activation_bytes(config: Config, size: int) -> int:
    """A generous estimate of one training batch's saved activations (float32) for the config's family."""
    d, m = config.data, config.model
    tokens = d.batch_size * d.seq_len
    width = max(m.hidden, m.embed_dim, 1)
    if m.name == "mel-cae":
        per_level = sum(m.channels << i for i in range(m.layers))
        body = d.batch_size * m.patch * size * per_level * 4  # feature maps at every level, forward and back
    elif "transformer" in m.name:
        attention = d.batch_size * m.heads * d.seq_len * d.seq_len * m.layers * 3  # scores, softmax, dropout
        body = tokens * width * m.layers * 16 + attention
    else:
        body = tokens * width * m.layers * 12  # gates, cell and hidden states, dropout masks
    out = tokens * size * 4  # logits (or predicted frames), their softmax and gradients
    return 4 * (body + out)


def _human(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def _check_parameters(config: Config, size: int, source: str) -> int:
    count = parameter_count(config.model.name, size, config.model.hyper())
    if count > MAX_PARAMETERS:
        m = config.model
        raise TunesmithError(
            f"{source}: model '{m.name}' with model.hidden={m.hidden}, model.layers={m.layers} has "
            f"{count:,} parameters; at most {MAX_PARAMETERS:,} are allowed"
        )
    return count


def check_training(config: Config, size: int, source: str = "--set") -> int:
    """Refuse a recipe whose training would not fit in memory; returns the planned bytes.

    ``size`` is the vocabulary (tokens) or the frame width (frames): what ``models.build`` is sized by.
    """
    count = _check_parameters(config, size, source)
    planned = count * 4 * 4 + activation_bytes(config, size)  # weights, gradients, two optimiser moments
    limit = memory_limit()
    if planned > limit:
        d, m = config.data, config.model
        raise TunesmithError(
            f"{source}: training needs about {_human(planned)} (model.hidden={m.hidden}, model.layers={m.layers}, "
            f"data.batch_size={d.batch_size}, data.seq_len={d.seq_len}) but at most {_human(limit)} may be used; "
            "lower one of them, or set TUNESMITH_MAX_MEMORY_GB"
        )
    return planned


def check_loading(config: Config, size: int, source: str) -> int:
    """Refuse a shared model whose weights would not fit in memory; returns the weights' bytes."""
    count = _check_parameters(config, size, source)
    limit = memory_limit()
    if count * 4 > limit:
        raise TunesmithError(f"{source}: its weights need {_human(count * 4)}; at most {_human(limit)} may be used")
    return count * 4
