"""Sampling: determinism, filters, primers, cut tunes, and bundles that match their runs."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from tunesmith import bundle
from tunesmith.errors import TunesmithError
from tunesmith.media.abc_samples import write_samples
from tunesmith.sampling import SampleSettings, filter_logits, generate, unescape


def _texts(loaded: bundle.LoadedModel, **kw) -> list[tuple[str, bool]]:
    out = generate(loaded.model, loaded.representation, SampleSettings(**kw))
    return [(loaded.representation.decode(g.tokens), g.ended) for g in out]


def test_same_seed_same_tunes(trained_run: Path) -> None:
    loaded = bundle.load(trained_run)
    a = _texts(loaded, num=6, seed=5, max_length=300)
    assert a == _texts(loaded, num=6, seed=5, max_length=300)
    assert a != _texts(loaded, num=6, seed=6, max_length=300)
    assert len({t for t, _ in a}) > 1  # tunes within a batch differ


def test_batched_and_one_at_a_time_give_valid_tunes(trained_run: Path) -> None:
    loaded = bundle.load(trained_run)
    for batch in (1, 4):
        for text, ended in _texts(loaded, num=4, batch_size=batch, max_length=150, seed=1):
            assert len(text) <= 150
            assert ended or len(text) == 150  # cut tunes are exactly at the limit and flagged


def test_a_tune_cut_at_the_length_is_forced_and_one_the_model_ended_is_not(trained_run: Path) -> None:
    loaded = bundle.load(trained_run)
    made = generate(loaded.model, loaded.representation, SampleSettings(num=12, max_length=40, seed=2))
    assert {g.ending for g in made} == {"ended", "forced"}  # a short limit: some end by themselves, some are cut
    for g in made:
        assert g.ending == ("ended" if g.ended else "forced") and not g.forced  # free sampling narrows nothing
        assert g.ended or g.tokens.size == 40


def test_greedy_top_k_ignores_the_seed(trained_run: Path) -> None:
    loaded = bundle.load(trained_run)
    assert _texts(loaded, num=2, top_k=1, seed=1, max_length=80) == _texts(
        loaded, num=2, top_k=1, seed=9, max_length=80
    )


def test_primer_starts_every_tune(trained_run: Path) -> None:
    loaded = bundle.load(trained_run)
    primer = unescape(r"M:6/8\nL:1/8\nK:G\n")
    assert primer == "M:6/8\nL:1/8\nK:G\n"
    for text, _ in _texts(loaded, num=3, primer=primer, max_length=120):
        assert text.startswith(primer)


def test_filters_keep_the_right_tokens() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isfinite(filter_logits(logits, 2, 1.0)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, 0, 0.7)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, 0, 0.1)).tolist() == [[True, False, False, False]]


def test_bundle_gives_the_same_logits_as_its_run(trained_run: Path, tmp_path: Path) -> None:
    out = bundle.export(trained_run, tmp_path / "bundle")
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "corpus.json",  # the profile its tunes are judged by
        "model.safetensors",
        "representation.json",
        "versions.json",
    ]
    assert {"torch", "lightning", "tunesmith"} <= json.loads((out / "versions.json").read_text()).keys()
    run, shared = bundle.load(trained_run), bundle.load(out)
    tokens = torch.from_numpy(run.representation.encode("M:6/8\nK:G\nGAB|\n").astype("int64"))[None]
    with torch.no_grad():
        assert torch.equal(run.model(tokens)[0], shared.model(tokens)[0])
    settings = dict(num=3, seed=2, max_length=200)
    assert _texts(run, **settings) == _texts(shared, **settings)


def test_loading_a_bundle_unpickles_nothing(trained_run: Path, tmp_path: Path, monkeypatch) -> None:
    out = bundle.export(trained_run, tmp_path / "bundle")

    def refuse(*args, **kwargs):
        raise AssertionError("a bundle load tried to unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    loaded = bundle.load(out)
    assert loaded.kind == "bundle"


def test_write_samples_reports_each_tune(trained_run: Path, tmp_path: Path) -> None:
    loaded = bundle.load(trained_run)
    report = write_samples(loaded.model, loaded.representation, SampleSettings(num=3, max_length=200), tmp_path / "s")
    summary = json.loads((tmp_path / "s" / "samples.json").read_text())
    assert len(summary["tunes"]) == 3 and summary["converted_share"] == report.converted_share
    for tune in summary["tunes"]:
        assert (tmp_path / "s" / tune["file"]).read_text().startswith("X:")
        assert set(tune) >= {"length", "ending", "ended_cleanly", "converts_to_midi", "abc2midi_errors"}
        assert tune["ended_cleanly"] == (tune["ending"] == "ended")
        assert tune["valid"] == (not tune["validity"]["reasons"])
        assert (tune["midi"] is not None) == tune["converts_to_midi"]
        if tune["midi"]:
            assert (tmp_path / "s" / tune["midi"]).read_bytes()[:4] == b"MThd"
        errors = sum(m.startswith("Error") for m in tune["messages"])
        assert errors == min(tune["abc2midi_errors"], 20)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(temperature=0.0), "--temperature 0.0 is out of range"),
        (dict(temperature=-1.0), "--temperature -1.0 is out of range"),
        (dict(num=1001), "--num 1001 is out of range: choose 1 to 1000"),
        (dict(top_p=0.0), "--top-p 0.0 is out of range"),
        (dict(max_length=20001), "--max-length 20001 is out of range"),
        (dict(primer="K:C\n", max_length=3), "--primer \\(4 characters\\) must be shorter"),
        (dict(seed=-1), "--seed -1 is out of range: choose 0 to"),
    ],
)
def test_bad_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(TunesmithError, match=message):
        SampleSettings(**settings).check()


def test_generated_tokens_never_include_start(trained_run: Path) -> None:
    loaded = bundle.load(trained_run)
    for g in generate(loaded.model, loaded.representation, SampleSettings(num=4, max_length=100, temperature=3.0)):
        assert not np.any(g.tokens == loaded.representation.start_id)
        assert not np.any(g.tokens == loaded.representation.end_id)


def test_a_bundle_with_hostile_sizes_is_refused(trained_run: Path, tmp_path: Path) -> None:
    out = bundle.export(trained_run, tmp_path / "bundle")
    info = json.loads((out / "config.json").read_text())
    info["config"]["model"]["hidden"] = 10**9
    (out / "config.json").write_text(json.dumps(info))
    with pytest.raises(TunesmithError, match="model.hidden must be between"):
        bundle.load(out)


def test_a_truncated_bundle_is_named(trained_run: Path, tmp_path: Path) -> None:
    out = bundle.export(trained_run, tmp_path / "bundle")
    weights = out / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(TunesmithError, match="model.safetensors is corrupt or truncated"):
        bundle.load(out)


def test_draw_follows_the_distribution_and_skips_masked_tokens() -> None:
    from tunesmith.sampling import draw

    probs = torch.tensor([[0.0, 0.2, 0.0, 0.5, 0.3]]).expand(20000, -1)
    drawn = draw(probs, torch.rand(20000, generator=torch.Generator().manual_seed(0)))
    counts = torch.bincount(drawn, minlength=5).double() / drawn.numel()
    assert counts[0] == 0 and counts[2] == 0
    assert torch.allclose(counts, probs[0].double(), atol=0.015)


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"seconds": -1.0}, "--seconds -1.0 is out of range"),
        ({"seconds": 0.0}, "--seconds 0.0 is out of range"),
        ({"seconds": float("nan")}, "--seconds nan is out of range"),
        ({"seconds": float("inf")}, "--seconds inf is out of range"),
        ({"seconds": 61.0}, "at most 60"),
        ({"primer_bars": 0}, "--primer-bars 0 is out of range"),
        ({"primer_bars": 65}, "--primer-bars 65 is out of range: choose 1 to 64"),
    ],
)
def test_sample_options_are_bounded_whatever_the_medium(request_fields: dict, message: str) -> None:
    """Checked before a model loads, so an ABC model refuses ``--seconds -1`` although it has no use for it."""
    from tunesmith.media import SampleRequest
    from tunesmith.sampling.settings import check_request

    check_request(SampleRequest())  # the defaults pass
    with pytest.raises(TunesmithError, match=message.replace("(", r"\(")):
        check_request(SampleRequest(**request_fields))


def test_sample_option_limits_match_the_media_that_use_them() -> None:
    from tunesmith.media import audio_samples, midi_samples
    from tunesmith.sampling import settings

    assert settings.MAX_SECONDS == audio_samples.MAX_SECONDS
    assert settings.MAX_PRIMER_BARS == midi_samples.MAX_PRIMER_BARS


def test_sampling_into_a_folder_of_another_model_is_refused_before_it_loads(tmp_path: Path) -> None:
    """The generic path (``pipeline.sample``) checks ``out`` whatever the medium, before loading the model."""
    from tunesmith.media import SampleRequest
    from tunesmith.pipeline.sample import sample

    out = tmp_path / "s"
    out.mkdir()
    (out / "samples.json").write_text(json.dumps({"model": str(tmp_path / "another-run"), "pieces": []}))
    (out / "001.mid").write_bytes(b"MThd")
    with pytest.raises(TunesmithError, match="another model .*another-run.*--overwrite"):
        sample(tmp_path / "no-model-here", SampleSettings(num=1), out, SampleRequest())
    with pytest.raises(TunesmithError, match="is a file"):
        sample(tmp_path / "no-model-here", SampleSettings(num=1), out / "001.mid", SampleRequest())
    with pytest.raises(TunesmithError, match="no-model-here"):  # with --overwrite it goes on to load the model
        sample(tmp_path / "no-model-here", SampleSettings(num=1), out, SampleRequest(), overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["001.mid", "samples.json"]  # nothing removed by a failure
