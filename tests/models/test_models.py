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


@pytest.mark.parametrize("name", sorted(models.REGISTRY))
def test_batch_size_changes_the_speed_not_the_tunes(name: str) -> None:
    """Each tune draws from its own random stream, so one at a time, lockstep batches and (for recurrent
    models) batches whose freed rows take the next tune all write the same tunes. Double precision keeps
    batch-size rounding differences from moving a draw across a token boundary."""
    from tunesmith.representations.abc_char import AbcChar
    from tunesmith.sampling import SampleSettings, generate

    rep = AbcChar.fit(["X:1\nK:G\nGABc|d2|]\n"])
    torch.manual_seed(0)
    model = models.build(name, rep.vocab_size, embed_dim=8, hidden=16, layers=2).double().eval()
    with torch.no_grad():
        for weight in model.parameters():
            weight.mul_(4.0)  # large weights: each draw depends strongly on the state before it

    def tunes(batch: int, seed: int = 3) -> list[tuple[list[int], bool]]:
        made = generate(model, rep, SampleSettings(num=12, batch_size=batch, max_length=25, seed=seed))
        return [(g.tokens.tolist(), g.ended) for g in made]

    one_at_a_time = tunes(1)
    assert len({len(t) for t, _ in one_at_a_time}) >= 4  # tunes end at different steps
    assert 0 < sum(not ended for _, ended in one_at_a_time) < 12  # and some are cut at the limit
    assert all(len(t) == 25 for t, ended in one_at_a_time if not ended)
    assert tunes(5) == one_at_a_time  # 5 rows for 12 tunes: refilled rows, or three lockstep batches
    assert tunes(12) == one_at_a_time
    assert tunes(5, seed=4) != one_at_a_time


def test_sizes_are_known_before_anything_is_allocated() -> None:
    """``models.size`` counts on the meta device: the count matches the built model's for every family, and a
    68 GB model is refused by both checks in well under a second instead of asking the allocator."""

    from tunesmith.config import Config
    from tunesmith.errors import TunesmithError
    from tunesmith.models import size

    debug = {"embed_dim": 8, "hidden": 16, "layers": 2, "dropout": 0.1, "heads": 2, "context": 64}
    debug |= {"channels": 2, "latent": 6, "patch": 16}
    for name in sorted(models.REGISTRY | models.FRAME_REGISTRY):
        hyper = {**Config().model.hyper(), **debug}
        built = models.build(name, VOCAB, **hyper)
        assert size.parameter_count(name, VOCAB, hyper) == sum(p.numel() for p in built.parameters()), name
        assert size.expected_shapes(name, VOCAB, hyper) == {k: tuple(v.shape) for k, v in built.state_dict().items()}

    huge = Config()
    huge.model.name, huge.model.hidden, huge.model.layers = "lstm", 65536, 64
    for check in (size.check_training, size.check_loading):  # a real build would ask for ~68 GB and fail
        with pytest.raises(TunesmithError, match=r"model.hidden=65536, model.layers=64 has [\d,]+ parameters"):
            check(huge, VOCAB, "bundle x")
