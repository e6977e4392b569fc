"""The transformer: its key/value cache changes nothing but speed, and the opt-in bf16 and compile paths."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.conftest import run_cli
from tunesmith import bundle
from tunesmith.config import load_preset
from tunesmith.models.transformer import TransformerLM, Uncached
from tunesmith.sampling import SampleSettings, generate
from tunesmith.training.checkpoint_io import load_checkpoint


@pytest.fixture(scope="module")
def transformer_run(small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tunesmith.pipeline.train import train

    run = tmp_path_factory.mktemp("runs") / "transformer"
    train("abc-transformer-debug", small_data, run, progress=False)
    return run


def _model(context: int = 64) -> TransformerLM:
    torch.manual_seed(0)
    model = TransformerLM(40, dim=32, layers=2, heads=4, context=context, dropout=0.1)
    for p in model.parameters():  # larger weights than the initialisation, so differences would show
        p.data.normal_(0, 0.3)
    return model.eval()


def test_cached_logits_equal_a_full_pass() -> None:
    """Prefill, then single steps, with finished rows leaving (sparse rows, then compaction): within 1e-5."""
    model = _model()
    tokens = torch.randint(0, 40, (5, 60))
    with torch.no_grad():
        full, _ = model(tokens)
        state = model.init_state(5)
        logits, state = model(tokens[:, :12], state)
        assert (logits - full[:, :12]).abs().max() < 1e-5
        rows = torch.arange(5)
        for t in range(12, 60):
            if t == 20:  # one of five finishes: the cache keeps it as a dead row
                keep = torch.tensor([0, 1, 3, 4])
                state, rows = model.select_state(state, keep), rows[keep]
                assert state.rows is not None and state.keys[0].size(0) == 5
            if t == 30:  # two of five left: the cache is compacted
                keep = torch.tensor([1, 3])
                state, rows = model.select_state(state, keep), rows[keep]
                assert state.rows is None and state.keys[0].size(0) == 2
            step, state = model.step(tokens[rows, t], state)
            assert (step - full[rows, t]).abs().max() < 1e-5, t


def test_attention_maps_are_the_weights_the_forward_pass_uses() -> None:
    """The declared hook: causal distributions per layer and head, and the explicit pass gives forward's logits."""
    model = _model()
    tokens = torch.randint(0, 40, (2, 30))
    outputs: list[torch.Tensor] = []
    hook = model.blocks[-1].register_forward_hook(lambda _m, _a, out: outputs.append(out))
    with torch.no_grad():
        maps = model.attention_maps(tokens)
        logits, _ = model(tokens)
    hook.remove()
    assert [tuple(w.shape) for w in maps] == [(2, 4, 30, 30)] * 2
    for w in maps:
        torch.testing.assert_close(w.sum(-1), torch.ones(2, 4, 30))
        assert (w.triu(1) == 0).all()
    torch.testing.assert_close(model.head(model.norm(outputs[0])), logits, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="context"):
        model.attention_maps(torch.zeros(1, 65, dtype=torch.long))


def test_sampling_with_and_without_the_cache_gives_the_same_tunes(transformer_run: Path) -> None:
    loaded = bundle.load(transformer_run)
    settings = dict(num=6, batch_size=6, max_length=60, seed=3)
    cached = generate(loaded.model, loaded.representation, SampleSettings(**settings))
    uncached = generate(Uncached(loaded.model), loaded.representation, SampleSettings(**settings))
    assert [g.tokens.tolist() for g in cached] == [g.tokens.tolist() for g in uncached]
    assert len({tuple(g.tokens.tolist()) for g in cached}) > 1


def test_a_tune_longer_than_the_context_slides_the_cache() -> None:
    model = _model(context=16)
    tokens = torch.randint(0, 40, (2, 100))
    with torch.no_grad():
        state = model.init_state(2)
        _, state = model(tokens[:, :1], state)
        for t in range(1, 100):
            logits, state = model.step(tokens[:, t], state)
            assert torch.isfinite(logits).all()
            if t < 15:  # before the first slide the cache holds every token
                full, _ = model(tokens[:, : t + 1])
                assert (logits - full[:, -1]).abs().max() < 1e-5
    assert state.evictions > 0 and state.position == 100 and state.length <= 16


def test_transformer_samples_deterministically_and_its_bundle_matches(transformer_run: Path, tmp_path: Path) -> None:
    loaded = bundle.load(transformer_run)
    a = generate(loaded.model, loaded.representation, SampleSettings(num=4, max_length=120, seed=1))
    b = generate(loaded.model, loaded.representation, SampleSettings(num=4, max_length=120, seed=1))
    assert [g.tokens.tolist() for g in a] == [g.tokens.tolist() for g in b]
    out = bundle.export(transformer_run, tmp_path / "bundle")  # tied weights survive safetensors
    shared = bundle.load(out)
    tokens = torch.randint(2, loaded.representation.vocab_size, (2, 40))
    with torch.no_grad():
        assert torch.equal(loaded.model(tokens)[0], shared.model(tokens)[0])


@pytest.mark.parametrize("precision", ["bf16-mixed"])
def test_bf16_autocast_trains_on_cpu(small_data: Path, tmp_path: Path, precision: str) -> None:
    run = tmp_path / "bf16"
    args = ["train", "--preset", "abc-transformer-debug", "--data", small_data, "--run", run, "--no-progress"]
    proc = run_cli(*args, "--precision", precision, "--set", "train.max_epochs=2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "precision: bf16-mixed" in (run / "config.yaml").read_text()
    ckpt = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 40
    assert all(v.dtype == torch.float32 for v in ckpt["state_dict"].values())  # autocast keeps fp32 weights
    lines = (run / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    val = [float(line.split(",")[header.index("val_loss")]) for line in lines[1:]]
    assert val[-1] < val[0], val
    # precision is how the maths runs, not what is learned: the run resumes in fp32 (e.g. moved off a GPU)
    more = run_cli(*args, "--set", "train.max_epochs=3")
    assert more.returncode == 0, more.stderr[-2000:]
    assert "resumed from step 40" in more.stdout
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 60


def test_compiled_training_matches_eager_and_saves_plain_weights(small_data: Path) -> None:
    """``train.compile`` runs the same maths through torch.compile; checkpoints keep plain names."""
    from tunesmith.training.module import TokenLM

    cfg = load_preset("abc-transformer-debug")
    cfg.model.dropout = 0.0
    eager = TokenLM(cfg, 40)
    cfg.train.compile = True
    compiled = TokenLM(cfg, 40)
    compiled.model.load_state_dict(eager.model.state_dict())
    assert list(compiled.state_dict()) == list(eager.state_dict())
    assert not any("_orig_mod" in k for k in compiled.state_dict())
    tokens = torch.randint(0, 40, (2, 16))
    loss_e = eager(tokens).logsumexp(-1).mean()
    loss_c = compiled(tokens).logsumexp(-1).mean()
    loss_e.backward()
    loss_c.backward()
    assert abs(loss_e.item() - loss_c.item()) < 1e-4
    for (name, a), b in zip(eager.model.named_parameters(), compiled.model.parameters(), strict=True):
        assert torch.allclose(a.grad, b.grad, atol=1e-4), name
