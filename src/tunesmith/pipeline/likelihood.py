"""``tunesmith evaluate``'s first step: the held-out likelihood, through the path the model's kind takes, with a
progress line per tenth of its batches."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tunesmith.representations import FrameRepresentation

if TYPE_CHECKING:
    from tunesmith.pipeline.evaluate import EvaluateSettings

PROGRESS_STEPS = 10  # likelihood progress: a line per tenth of the batches, at most

Progress = Callable[[str], None]


def likelihood_batches(data: Any, seq_len: int, settings: EvaluateSettings) -> int:
    """How many batches the held-out likelihood reads: the validation windows, or ``--max-batches``."""
    from tunesmith.data.windows import WindowSampler

    stream = data.stream("val")
    size = len(stream) if stream.ndim == 2 else stream.size  # frames, or tokens
    total = len(WindowSampler(size, seq_len, settings.batch_size, shuffle=False))
    return min(total, settings.max_batches) if settings.max_batches else total


@contextmanager
def counting_batches(model: Any, total: int, progress: Progress) -> Iterator[None]:
    """Say ``held-out likelihood i/total batches`` as the model reads them (a forward hook: the likelihood's
    loop calls the model once per batch), a line per tenth of them at most."""
    every = max(1, math.ceil(total / PROGRESS_STEPS))
    done = 0

    def count(*_: Any) -> None:
        nonlocal done
        done += 1
        if done % every == 0 or done == total:
            progress(f"evaluate: held-out likelihood {min(done, total)}/{total} batches")

    handle = model.register_forward_hook(count)
    try:
        yield
    finally:
        handle.remove()


def likelihood(
    loaded: Any, data: Any, settings: EvaluateSettings, progress: Progress = lambda line: None
) -> dict[str, Any]:
    """Held-out likelihood through the path the model's kind takes (tokens or frames)."""
    from tunesmith.training.evaluate import held_out, held_out_frames

    seq_len = loaded.config.data.seq_len
    total = likelihood_batches(data, seq_len, settings)
    progress(f"evaluate: held-out likelihood 0/{total} batches of {settings.batch_size} windows")
    with counting_batches(loaded.model, total, progress):
        if isinstance(loaded.representation, FrameRepresentation):
            figures = held_out_frames(
                loaded.model, loaded.config, data, seq_len, settings.batch_size, max_batches=settings.max_batches
            )
            return {"unit": "frames", "seq_len": seq_len, **figures}
        figures = held_out(loaded.model, data, seq_len, settings.batch_size, max_batches=settings.max_batches)
    return {"unit": "tokens", "seq_len": seq_len, **figures}
