"""The mel convolutional autoencoder: any patch size at any depth, its code, and its settings."""

from __future__ import annotations

import math

import pytest
import torch

from tunesmith import models
from tunesmith.config import apply_overrides, load_preset
from tunesmith.errors import TunesmithError
from tunesmith.models.mel_cae import MelCAE

SHAPES = [(64, 80), (37, 41), (5, 7), (1, 9), (100, 13), (16, 128)]  # (frames, mel bands), odd ones included


@pytest.mark.parametrize(("frames", "mels"), SHAPES)
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("latent", [0, 12])
def test_any_patch_size_comes_back_in_its_own_shape(frames: int, mels: int, depth: int, latent: int) -> None:
    torch.manual_seed(0)
    model = MelCAE(mels, patch=frames, channels=3, layers=depth, latent=latent).eval()
    x = torch.randn(2, frames, mels)
    out, state = model(x)
    assert out.shape == x.shape and state is None
    code = model.encode(x)
    if latent:
        assert code.shape == (2, latent)  # the configured size, whatever the patch
    else:  # the feature map: 3·2^(depth-1) channels over the patch halved depth times (rounded up)
        m = 2**depth
        assert code.shape == (2, 3 * 2 ** (depth - 1), math.ceil(frames / m), math.ceil(mels / m))
    assert model.decode(code, frames).shape == x.shape
    with torch.no_grad():
        assert torch.equal(model.decode(model.encode(x), frames), out)  # forward is encode then decode


def test_without_a_linear_code_it_takes_any_number_of_frames() -> None:
    model = MelCAE(20, patch=16, channels=2, layers=3, latent=0).eval()
    for frames in (3, 16, 45):
        assert model(torch.randn(1, frames, 20))[0].shape == (1, frames, 20)
    coded = MelCAE(20, patch=16, channels=2, layers=3, latent=8)
    with pytest.raises(ValueError, match="codes patches of 16 frames, not 45"):
        coded(torch.randn(1, 45, 20))
    with pytest.raises(ValueError, match=r"reads \(batch, frames, 20\) patches"):
        coded(torch.randn(1, 16, 21))


def test_every_input_value_can_reach_every_output_value_of_its_patch() -> None:
    """The padding is cropped, not mixed in: the last frame and band of an odd-sized patch still matter."""
    torch.manual_seed(1)
    model = MelCAE(11, patch=13, channels=2, layers=2, latent=5)
    x = torch.randn(1, 13, 11, requires_grad=True)
    model(x)[0][0, 0, 0].backward()
    assert x.grad[0, -1, -1] != 0  # through the linear code, every value reaches every other


def test_it_learns_to_reconstruct_a_small_batch() -> None:
    torch.manual_seed(2)
    model = models.build("mel-cae", 16, **load_preset("mel-cae-debug").model.hyper())
    t = torch.linspace(0, 1, 16)
    batch = torch.stack([torch.outer(torch.sin(6 * t + k), torch.cos(3 * t - k)) for k in range(4)])
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(60):
        loss = torch.nn.functional.mse_loss(model(batch)[0], batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0], losses[::10]


def test_it_is_registered_as_a_frame_autoencoder_built_from_the_config() -> None:
    assert "mel-cae" in models.FRAME_REGISTRY and "mel-cae" not in models.REGISTRY
    assert models.is_autoencoder("mel-cae") and not models.is_autoencoder("frame-lstm")
    cfg = load_preset("mel-cae")
    model = models.build(cfg.model.name, 80, **cfg.model.hyper())
    assert isinstance(model, MelCAE) and model.autoencoder
    assert [c.out_channels for c in model.encoder if isinstance(c, torch.nn.Conv2d)] == [8, 16, 32, 64]
    code = model.encode(torch.zeros(1, cfg.data.seq_len, 80))
    assert code.numel() * 4 == cfg.data.seq_len * 80  # the preset's code is a quarter of the patch, as it says


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.seq_len=32", r"data.seq_len \(32\) must equal model.patch \(16\)"),
        ("model.layers=9", "at most 8 halvings"),
        ("model.channels=0", "model.channels must be between 1 and 1024"),
        ("model.latent=-1", "model.latent must be between 0"),
        ("model.channels=1024,model.layers=4", "must be at most 4096"),
    ],
)
def test_bad_autoencoder_settings_are_refused(override: str, message: str) -> None:
    with pytest.raises(TunesmithError, match=message):
        apply_overrides(load_preset("mel-cae-debug"), override.split(","))
