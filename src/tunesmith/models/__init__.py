"""Model registry. Models are plain ``nn.Module``s that know nothing of optimisers or data.

Every token model has the same forward signature::

    logits, state = model(tokens, state=None)   # tokens: (batch, time) int64
                                                  # logits: (batch, time, vocab)

``state`` is whatever the model carries between calls (recurrent state, a key/value cache);
``model.select_state(state, rows)`` keeps some batch rows, so a sampler can drop finished tunes;
``model.cat_states([a, b])``, where a model has it, stacks rows, so new tunes can take freed rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from tunesmith.errors import TunesmithError

REGISTRY: dict[str, Callable[..., nn.Module]] = {}
# Frame models (``out, state = model(frames, state)``, frames ``(batch, time, frame_dim)`` float) are kept
# apart, so loops over REGISTRY stay token-only; ``build`` finds both, sized by ``frame_dim`` for frames.
FRAME_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
# Frame models that reconstruct their input window (``out`` is the window again) rather than predict the
# next frame; training gives them the window as their target, and they cannot be sampled frame by frame.
AUTOENCODERS: set[str] = set()


def register(*names: str, frames: bool = False, autoencoder: bool = False) -> Callable:
    def wrap(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        for name in names:
            (FRAME_REGISTRY if frames or autoencoder else REGISTRY)[name] = factory
            if autoencoder:
                AUTOENCODERS.add(name)
        return factory

    return wrap


def is_autoencoder(name: str) -> bool:
    return name in AUTOENCODERS


def build(name: str, vocab_size: int, **hyper: Any) -> nn.Module:
    """Build a registered model; ``hyper`` holds the model section of the config."""
    factory = REGISTRY.get(name) or FRAME_REGISTRY.get(name)
    if factory is None:
        raise TunesmithError(f"unknown model '{name}'; known: {', '.join(sorted(REGISTRY | FRAME_REGISTRY))}")
    return factory(name=name, vocab_size=vocab_size, **hyper)


# registers rnn, lstm, gru, transformer, the frame models frame-rnn, frame-lstm, frame-gru, frame-transformer,
# and the autoencoder mel-cae
from tunesmith.models import frame_rnn, frame_transformer, mel_cae, rnn, transformer  # noqa: E402,F401
