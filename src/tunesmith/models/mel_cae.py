"""A convolutional autoencoder over log-mel patches (seed 003), as one short file.

A patch is ``(batch, T, n_mels)``: T frames of a log-mel spectrogram, read as a one-channel image
(time down, mel bands across). The encoder is ``layers`` convolutions of stride 2 (kernel 4,
padding 1, so each exactly halves both sides), the first with ``channels`` channels and each next
one with twice as many. The decoder mirrors it with transposed convolutions (kernel 4, stride 2,
padding 1: each exactly doubles). With ``latent > 0`` the last feature map goes through a linear
map to a code vector of that size and back; with ``latent = 0`` the feature map itself is the code.

Seed 003 fought shape errors by hand-tuning sizes. Here they are computed: the patch is padded
(edge values repeated) up to a multiple of ``2**layers`` on both sides, and the output is cropped
back, so any T × n_mels works at any depth. Without a linear code the model takes any number of
frames; with one, the code's size fixes the patch length (``patch``).

Forward signature, shared with the frame models: ``out, state = model(frames, state=None)``,
``out`` the reconstruction of ``frames`` and ``state`` always None. Training (``FrameLM``) makes
the window its own target because the class says ``autoencoder = True``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.models import register


def _up(size: int, multiple: int) -> int:
    return -(-size // multiple) * multiple


class MelCAE(nn.Module):
    """``out, None = model(frames)``: frames ``(batch, T, n_mels)`` → their reconstruction, same shape."""

    autoencoder = True

    def __init__(
        self, n_mels: int, patch: int = 64, channels: int = 16, layers: int = 3, latent: int = 0, dropout: float = 0.0
    ):
        super().__init__()
        if not 1 <= layers <= 8:
            raise ValueError(f"mel-cae depth {layers} must be between 1 and 8")
        self.n_mels, self.patch, self.layers, self.latent = n_mels, patch, layers, latent
        self.multiple = 2**layers
        widths = [channels * 2**i for i in range(layers)]
        down: list[nn.Module] = []
        for i, width in enumerate(widths):
            down.append(nn.Conv2d(1 if i == 0 else widths[i - 1], width, kernel_size=4, stride=2, padding=1))
            if i < layers - 1:  # the last map is the code: no activation, so it may take any sign
                down += [nn.GELU(), nn.Dropout2d(dropout)]
        up: list[nn.Module] = []
        for i in reversed(range(layers)):
            up.append(nn.ConvTranspose2d(widths[i], widths[i - 1] if i else 1, kernel_size=4, stride=2, padding=1))
            if i:
                up += [nn.GELU(), nn.Dropout2d(dropout)]
        self.encoder, self.decoder = nn.Sequential(*down), nn.Sequential(*up)
        # the code's grid for a patch of ``patch`` frames: (channels, time, mel) after ``layers`` halvings
        self.grid = (
            widths[-1],
            _up(patch, self.multiple) // self.multiple,
            _up(n_mels, self.multiple) // self.multiple,
        )
        flat = self.grid[0] * self.grid[1] * self.grid[2]
        self.to_code = nn.Linear(flat, latent) if latent else None
        self.from_code = nn.Linear(latent, flat) if latent else None

    def _check(self, frames: torch.Tensor) -> None:
        if frames.ndim != 3 or frames.size(-1) != self.n_mels:
            raise ValueError(f"mel-cae reads (batch, frames, {self.n_mels}) patches, not {tuple(frames.shape)}")
        if self.latent and frames.size(1) != self.patch:
            raise ValueError(f"this mel-cae codes patches of {self.patch} frames, not {frames.size(1)}")

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """The code of each patch: ``(batch, latent)``, or the feature map ``(batch, C, T/2^d, n_mels/2^d)``."""
        self._check(frames)
        t, m = frames.shape[1:]
        pad = (0, _up(m, self.multiple) - m, 0, _up(t, self.multiple) - t)  # last dim first: mel, then time
        image = F.pad(frames[:, None], pad, mode="replicate") if any(pad) else frames[:, None]
        code = self.encoder(image)
        return self.to_code(code.flatten(1)) if self.to_code is not None else code

    def decode(self, code: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        """Patches ``(batch, frames, n_mels)`` back from codes; ``frames`` (default ``patch``) crops the padding."""
        if self.from_code is not None:
            code = self.from_code(code).view(-1, *self.grid)
        image = self.decoder(code)
        return image[:, 0, : frames or self.patch, : self.n_mels]

    def forward(self, frames: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, None]:
        return self.decode(self.encode(frames), frames.size(1)), None


@register("mel-cae", autoencoder=True)
def build(name: str, vocab_size: int, **hyper: Any) -> MelCAE:
    """``vocab_size`` is the registry's name for the model's width: here the mel bands per frame."""
    return MelCAE(
        vocab_size,
        patch=hyper.get("patch", 64),
        channels=hyper.get("channels", 16),
        layers=hyper.get("layers", 3),
        latent=hyper.get("latent", 0),
        dropout=hyper.get("dropout", 0.0),
    )
