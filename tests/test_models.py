"""Every registered model: shapes, the single-step path used for sampling, and state selection."""

from __future__ import annotations

import pytest
import torch

from tunesmith import models

VOCAB = 23


def _fresh_state(model: torch.nn.Module, batch: int) -> object:
    """What the sampler passes first: an empty cache for models that keep one, else None."""
    return model.init_state(batch) if hasattr(model, "init_state") else None


@pytest.mark.parametrize("name", sorted(models.REGISTRY))
@pytest.mark.parametrize("embed_dim", [0, 8])
def test_model_forward_step_and_state(name: str, embed_dim: int) -> None:
    torch.manual_seed(0)
    model = models.build(name, VOCAB, embed_dim=embed_dim, hidden=16, layers=2, dropout=0.2).eval()
    tokens = torch.randint(0, VOCAB, (3, 9))
    with torch.no_grad():
        logits, state = model(tokens, _fresh_state(model, 3))
        assert logits.shape == (3, 9, VOCAB)
        assert torch.allclose(model(tokens)[0], logits, atol=1e-5)  # training path, no state kept
        # feeding the prefix, then one token at a time, gives the same logits as one pass
        _, prefix_state = model(tokens[:, :4], _fresh_state(model, 3))
        stepped = []
        for t in range(4, 9):
            out, prefix_state = model.step(tokens[:, t], prefix_state)
            stepped.append(out)
        assert torch.allclose(torch.stack(stepped, 1), logits[:, 4:], atol=1e-5)
        # keeping rows of the state keeps those sequences
        rows = torch.tensor([2, 0])
        kept = model.select_state(state, rows)
        nxt = torch.randint(0, VOCAB, (3,))
        full, _ = model.step(nxt, state)
        part, _ = model.step(nxt[rows], kept)
        assert torch.allclose(full[rows], part, atol=1e-6)


def test_unknown_model_is_named() -> None:
    from tunesmith.errors import TunesmithError

    with pytest.raises(TunesmithError, match="unknown model 'lstmm'"):
        models.build("lstmm", VOCAB)
