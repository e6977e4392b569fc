"""Loading a stranger's bundle or run folder: every check comes before the real model is allocated, and every
refusal is one line naming the file (never torch's many-line size-mismatch report)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.conftest import run_cli
from tunesmith import models
from tunesmith.bundle import BUNDLE_FORMAT, load
from tunesmith.config import Config
from tunesmith.errors import TunesmithError

BUILD = models.build  # the real one, for writing test bundles while ``no_real_build`` guards loading
TUNES = ["X:1\nT:a\nM:6/8\nK:G\nGAB c2d|e3 d2B|]\n", "X:2\nM:4/4\nK:D\nDEFG ABcd|]\n"]


def small_config(**model: Any) -> Config:
    config = Config()
    config.preset = "tiny"
    config.data.seq_len, config.data.batch_size = 32, 4
    for key, value in {"name": "lstm", "embed_dim": 8, "hidden": 16, "layers": 1, "dropout": 0.0, **model}.items():
        setattr(config.model, key, value)
    return config


def make_bundle(folder: Path, **model: Any) -> Path:
    """A bundle as ``tunesmith export`` writes it, for a tiny untrained model: no training needed."""
    from safetensors.torch import save_file

    from tunesmith.representations.abc_char import AbcChar

    folder.mkdir(parents=True)
    config, rep = small_config(**model), AbcChar.fit(TUNES)
    torch.manual_seed(0)
    built = BUILD(config.model.name, rep.vocab_size, **config.model.hyper())
    save_file({k: v.contiguous() for k, v in built.state_dict().items()}, folder / "model.safetensors")
    info = {"format": BUNDLE_FORMAT, "config": config.to_dict(), "vocab_size": rep.vocab_size, "trained": {}}
    (folder / "config.json").write_text(json.dumps(info, indent=2))
    (folder / "representation.json").write_text(json.dumps(rep.to_json()))
    return folder


def make_run(folder: Path, **model: Any) -> Path:
    """A run folder (config.yaml, representation.json, checkpoints/best.ckpt) for a tiny untrained model."""
    import yaml

    bundle = make_bundle(folder.parent / f"{folder.name}-bundle", **model)
    folder.mkdir(parents=True)
    config = json.loads((bundle / "config.json").read_text())["config"]
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / "representation.json").write_text((bundle / "representation.json").read_text())
    (folder / "checkpoints").mkdir()
    from safetensors.torch import load_file

    state = {f"model.{k}": v for k, v in load_file(bundle / "model.safetensors").items()}
    torch.save({"state_dict": state, "global_step": 3, "epoch": 0}, folder / "checkpoints" / "best.ckpt")
    return folder


def edit_config(bundle: Path, **model: Any) -> None:
    info = json.loads((bundle / "config.json").read_text())
    info["config"]["model"].update(model)
    (bundle / "config.json").write_text(json.dumps(info))


@pytest.fixture
def no_real_build(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make building a model anywhere but on the meta device an error, and record each attempt: a refusal
    must come from shapes alone, never after the allocator was asked for the model."""
    attempts: list[str] = []

    def guarded(name: str, vocab_size: int, **hyper: Any) -> torch.nn.Module:
        if torch.empty(0).device.type != "meta":
            attempts.append(f"{name} hidden={hyper.get('hidden')} layers={hyper.get('layers')}")
            raise AssertionError(f"a real {name} was built before the bundle was checked")
        return BUILD(name, vocab_size, **hyper)

    monkeypatch.setattr(models, "build", guarded)
    return attempts


def refusal(path: Path, *pieces: str) -> str:
    with pytest.raises(TunesmithError) as caught:
        load(path)
    message = str(caught.value)
    assert "\n" not in message, message
    for piece in pieces:
        assert piece in message, message
    return message


def test_a_bundle_loads_and_nothing_is_unpickled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = make_bundle(tmp_path / "bundle")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a bundle was unpickled")

    for name in ("load", "loads"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)
    loaded = load(bundle)
    assert loaded.kind == "bundle" and loaded.config.model.hidden == 16
    weights = dict(loaded.model.state_dict())
    assert weights["rnn.weight_ih_l0"].shape == (64, 8)


def test_a_config_larger_than_its_weights_is_refused_before_anything_is_built(
    tmp_path: Path, no_real_build: list[str]
) -> None:
    """hidden 8192 used to allocate the whole model (gigabytes) before load_state_dict noticed."""
    bundle = make_bundle(tmp_path / "bundle")
    edit_config(bundle, hidden=8192)
    message = refusal(bundle, f"bundle {bundle}", "weight 'rnn.weight_ih_l0' is (64, 8) in the file but (32768, 8)")
    assert "size mismatch" not in message and "state_dict" not in message  # not torch's words
    assert no_real_build == []


def test_a_model_too_large_to_load_is_refused_before_it_is_built(tmp_path: Path, no_real_build: list[str]) -> None:
    bundle = make_bundle(tmp_path / "bundle")
    edit_config(bundle, hidden=65536, layers=64)  # ~68 GB of weights: asking the allocator would fail otherwise
    refusal(bundle, "model.hidden=65536, model.layers=64", "parameters; at most")
    assert no_real_build == []


def test_missing_and_extra_weights_are_named(tmp_path: Path, no_real_build: list[str]) -> None:
    from safetensors.torch import load_file, save_file

    bundle = make_bundle(tmp_path / "bundle")
    weights = bundle / "model.safetensors"
    state = load_file(weights)
    save_file({k: v for k, v in state.items() if k != "head.bias"}, weights)
    refusal(bundle, "weight 'head.bias' of the config's model is not in the file")
    save_file({**state, "rnn.weight_ih_l9": torch.zeros(2, 2)}, weights)
    refusal(bundle, "weight 'rnn.weight_ih_l9' in the file is not in the config's model")
    edit_config(bundle, layers=2)
    save_file(state, weights)
    refusal(bundle, "weight 'rnn.weight_ih_l1' of the config's model is not in the file (3 more)")
    assert no_real_build == []


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8", "not UTF-8 text"),
        (b'[{"format": 1}]', "must hold an object, not list"),
        (b'{"format": 1, "config": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests 100001 levels deep"),
        (b'{"format": 1, "config": [1, 2]}', "'config' must be an object of settings"),
        (b'{"format": 1, "config": {"model": {"hidden": [1]}}}', "a setting has a value of the wrong kind"),
        (b'{"format": 1, "config": {"model": {"hidden": 1e999}}}', "not valid JSON"),
        (b'{"format": true, "config": {}}', "bundle format True is not 1"),
    ],
)
def test_bad_config_json_is_one_line(tmp_path: Path, no_real_build: list[str], content: bytes, why: str) -> None:
    bundle = make_bundle(tmp_path / "bundle")
    (bundle / "config.json").write_bytes(content)
    refusal(bundle, str(bundle / "config.json") if "format" not in why else str(bundle), why)
    assert no_real_build == []


@pytest.mark.parametrize("name", ["config.json", "representation.json"])
def test_json_linked_to_an_endless_file_is_not_read(tmp_path: Path, name: str) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    bundle = make_bundle(tmp_path / "bundle")
    (bundle / name).unlink()
    (bundle / name).symlink_to("/dev/zero")
    refusal(bundle, f"{bundle / name} is not a regular file")


def test_a_malformed_representation_is_one_line(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "bundle")
    (bundle / "representation.json").write_text('{"name": "abc-char", "vocab": 7}')
    refusal(bundle, "representation")
    (bundle / "representation.json").write_text('{"name": ["abc-char"]}')
    refusal(bundle, "representation.json")


def test_weights_larger_than_the_config_allows_are_not_opened(tmp_path: Path, no_real_build: list[str]) -> None:
    bundle = make_bundle(tmp_path / "bundle")
    with (bundle / "model.safetensors").open("r+b") as f:
        f.truncate(50 * 1024**3)  # sparse: 50 GB on paper, nothing on disk
    refusal(bundle, "model.safetensors is 53,687,091,200 bytes; at most")
    assert no_real_build == []


def test_runs_are_checked_the_same_way(tmp_path: Path, no_real_build: list[str]) -> None:
    import yaml

    run = make_run(tmp_path / "run")
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["model"]["hidden"] = 8192
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    refusal(run, "weight 'rnn.weight_ih_l0' is (64, 8) in the file but (32768, 8)")
    (run / "config.yaml").write_text("a: &x [1, 2]\nb: *x\n")
    refusal(run, "config.yaml", "aliases")
    (run / "config.yaml").write_text("model: " + "[" * 50_000 + "]" * 50_000 + "\n")
    refusal(run, "config.yaml")
    if Path("/dev/zero").exists():
        (run / "config.yaml").unlink()
        (run / "config.yaml").symlink_to("/dev/zero")
        refusal(run, "config.yaml is not a regular file")
    assert no_real_build == []


def test_a_good_run_loads(tmp_path: Path) -> None:
    loaded = load(make_run(tmp_path / "run"))
    assert loaded.kind == "run" and loaded.info["global_step"] == 3


def test_the_cli_prints_one_error_line_for_a_deeply_nested_config(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "bundle")
    (bundle / "config.json").write_text('{"config": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = run_cli("sample", bundle, "--num", "1", "--out", tmp_path / "out", timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nests 100001 levels deep" in lines[0], lines
