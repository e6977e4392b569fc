"""One sampling package: settings checked against the real representation, then one loop per kind.

- :mod:`~tunesmith.sampling.settings`: what a user asks (temperature, top-k/p, primer, seed…), checked.
- :mod:`~tunesmith.sampling.tokens`: the token loop (any token model; a guard a medium hands in).
- :mod:`~tunesmith.sampling.frames`: the frame loop (piano rolls: Bernoulli bits, tidied).
- :mod:`~tunesmith.sampling.audio`: audio continuation of a prompt.

:func:`generate` is the one dispatch, on the representation's ``kind``; what the pieces *are* (ABC,
MIDI, audio) is the media layer's business, which calls down into here.
"""

from __future__ import annotations

import numpy as np
import torch

from tunesmith.models.base import SequenceModel
from tunesmith.representations import Representation
from tunesmith.sampling.frames import GeneratedFrames, generate_frames
from tunesmith.sampling.settings import MAX_BATCH, MAX_LENGTH, MAX_NUM, MAX_PRIMER, SampleSettings, unescape
from tunesmith.sampling.tokens import Generated, Guard, draw, filter_logits, generate_tokens, tune_uniforms

__all__ = [
    "MAX_BATCH",
    "MAX_LENGTH",
    "MAX_NUM",
    "MAX_PRIMER",
    "Generated",
    "GeneratedFrames",
    "Guard",
    "SampleSettings",
    "draw",
    "filter_logits",
    "generate",
    "generate_arrays",
    "generate_frames",
    "generate_tokens",
    "tune_uniforms",
    "unescape",
]


def generate(
    model: SequenceModel,
    rep: Representation,
    settings: SampleSettings,
    device: str | torch.device = "cpu",
    primer_ids: np.ndarray | None = None,
    *,
    guard: Guard | None = None,
    onset_weight: float = 1.0,
) -> list[Generated] | list[GeneratedFrames]:
    """``settings.num`` pieces from ``model``: token ids or frames, by the representation's kind.

    ``primer_ids`` are encoded primer ids or frames; ``guard`` (tokens) masks what would break a piece;
    ``onset_weight`` (bce frames) is the weight training raised onsets by, taken back out."""
    if rep.kind == "frames":
        return generate_frames(model, rep, settings, primer_ids, onset_weight=onset_weight, device=device)  # type: ignore[arg-type]
    return generate_tokens(model, rep, settings, device, primer_ids=primer_ids, guard=guard)  # type: ignore[arg-type]


def generate_arrays(
    model: SequenceModel,
    rep: Representation,
    settings: SampleSettings,
    primer: np.ndarray | None = None,
    onset_weight: float = 1.0,
    guard: Guard | None = None,
) -> list[tuple[np.ndarray, bool]]:
    """(generated array after <start>, ended) per piece, whatever the kind."""
    made = generate(model, rep, settings, primer_ids=primer, guard=guard, onset_weight=onset_weight)
    return [(g.frames if isinstance(g, GeneratedFrames) else g.tokens, g.ended) for g in made]
