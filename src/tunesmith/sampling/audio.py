"""Audio continuation: a model reads a prompt, then writes from its own output (seed 001's experiment).

A frame model trained by mean squared error predicts the mean of a Gaussian whose variance the loss
leaves fixed; writing that mean as it is makes every frame the average of what might come next, so a
continuation loses energy step by step and fades (measured: 10 of 10 wave-lstm continuations below
-40 dBFS within 4 s). So each frame is drawn from that Gaussian instead, as a token model draws from its
softmax: the prediction plus ``temperature`` × σ × N(0, 1), σ being the model's own error per value on
the prompt (:func:`prompt_spread`). The draw is what is written and what is fed back, made to look like
an encoded frame (phase wrapped to (−π, π], every other value clipped to [−1, 1]).

A token model of audio (``audio-mulaw``) continues one sample per step through the token loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from tunesmith.errors import TunesmithError
from tunesmith.models.base import SequenceModel
from tunesmith.representations import TokenRepresentation
from tunesmith.representations.audio import AudioRepresentation, wrap
from tunesmith.sampling.frames import next_outputs
from tunesmith.sampling.settings import MAX_LENGTH, SampleSettings
from tunesmith.sampling.tokens import generate_tokens

PATCHES_PER_BATCH = 64


def prompt_spread(model: SequenceModel, rep: AudioRepresentation, prime: np.ndarray) -> np.ndarray:
    """σ per value: the RMS of the model's errors predicting the prompt's frames from the frames before them.

    The first quarter of the prompt is left out (the state is still warming up there). Phase errors are
    wrapped to (−π, π] first, so a prediction off by 2π counts as right."""
    with torch.inference_mode():
        prefix = torch.from_numpy(np.concatenate([rep.start_frame()[None], prime]).astype(np.float32))
        out, _ = model.eval()(prefix[None], model.init_state(1, "cpu"))
        error = torch.from_numpy(prime.astype(np.float32)) - out[0, : len(prime)].float()
        if rep.phase_columns is not None:
            error[:, rep.phase_columns] = wrap(error[:, rep.phase_columns])
    error = error[len(prime) // 4 :] if len(prime) >= 8 else error
    return error.pow(2).mean(0).sqrt().numpy()


def tidy_frames(rep: AudioRepresentation, frames: torch.Tensor) -> torch.Tensor:
    """Make predicted frames look encoded: phase wrapped to (−π, π], everything else clipped to [−1, 1]."""
    tidy = frames.clamp(-1.0, 1.0)
    if rep.phase_columns is not None:
        tidy[:, rep.phase_columns] = wrap(frames[:, rep.phase_columns])
    return tidy


@torch.inference_mode()
def continue_frames(
    model: SequenceModel,
    rep: AudioRepresentation,
    prime: np.ndarray,
    n_frames: int,
    *,
    num: int,
    seed: int,
    spread: np.ndarray | float,
    batch_size: int = 64,
) -> np.ndarray:
    """``(num, n_frames, frame_dim)`` float32 frames continuing ``prime`` (after the start frame).

    Each frame is the model's prediction plus ``spread`` × N(0, 1) per value (``spread`` 0: the
    prediction itself, seed 001's deterministic continuation), tidied; that draw is written and fed
    back. The same arguments give the same frames; every continuation draws its own noise."""
    spread_t = torch.as_tensor(np.asarray(spread, dtype=np.float32))
    drawing = bool((spread_t > 0).any())
    model = model.eval()
    prefix = torch.from_numpy(np.concatenate([rep.start_frame()[None], prime]).astype(np.float32))
    gen = torch.Generator().manual_seed(seed)
    result = np.zeros((num, n_frames, rep.frame_dim), dtype=np.float32)
    for first in range(0, num, batch_size):
        b = min(batch_size, num - first)
        out, state = model(prefix.expand(b, -1, -1), model.init_state(b, "cpu"))
        out = out[:, -1].float()
        for step in range(n_frames):
            drawn = out + spread_t * torch.randn(out.shape, generator=gen) if drawing else out
            frame = tidy_frames(rep, drawn)
            result[first : first + b, step] = frame.numpy()
            if step + 1 == n_frames:
                break
            out, state = next_outputs(model, frame, state)
    return result


def continue_tokens(
    model: SequenceModel, rep: TokenRepresentation, settings: SampleSettings, prime: np.ndarray, samples: int
) -> tuple[list[np.ndarray], np.ndarray, list[bool]]:
    """(generated ids per continuation, the prime ids used, whether each drew <end> before ``samples``
    ids): the token loop, one id per audio sample.

    The token loop writes at most ``MAX_LENGTH`` ids, prime included: the prime keeps its last samples."""
    if samples >= MAX_LENGTH:
        raise TunesmithError(f"{samples} samples is more than the {MAX_LENGTH - 1} a token model continues at once")
    prime = np.asarray(prime, dtype=np.int64)[-(MAX_LENGTH - samples - 1) :]
    tokens = SampleSettings(**{**settings.__dict__, "max_length": len(prime) + samples, "primer": ""})
    made = generate_tokens(model, rep, tokens, primer_ids=prime)
    return [g.tokens[len(prime) :] for g in made], prime, [g.ended for g in made]


@torch.inference_mode()
def autoencode(model: Any, frames: np.ndarray, patch: int, silence: np.ndarray) -> np.ndarray:
    """Frames ``(T, n_mels)`` through the autoencoder in patches of ``patch`` frames (the end padded with
    ``silence``), stitched and cropped back to ``T`` frames."""
    model = model.eval()
    t = len(frames)
    n = max(1, -(-t // patch))
    padded = np.concatenate([frames, np.repeat(silence[None], n * patch - t, axis=0)]).astype(np.float32)
    patches = torch.from_numpy(padded.reshape(n, patch, -1))
    out = [
        model.decode(model.encode(patches[i : i + PATCHES_PER_BATCH]), patch) for i in range(0, n, PATCHES_PER_BATCH)
    ]
    return torch.cat(out).reshape(n * patch, -1)[:t].float().numpy()
