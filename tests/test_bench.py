"""The quick benchmark runs end to end and writes JSON that later runs can be compared against.

The JSON is what results/ keeps across machines, so its shape is tested here rather than
discovered broken when someone compares two runs.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch

from tunesmith.config import load_preset

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"
MACHINE_KEYS = {"cpu_model", "logical_cores", "torch_threads", "torch", "python", "tunesmith", "timestamp"}
TRAIN = ("train.abc-lstm-seed-debug", "train.abc-lstm-demo-debug", "train.abc-lstm-debug")
BASELINES = ("train.baseline.seed-style", "train.baseline.same-batch")
RATIOS = ("train.speedup.vs-seed-style", "train.speedup.vs-same-batch", "sample.speedup")
SAMPLING = ("sample.batched", "sample.one-at-a-time")
# issue 3's model figures, for the debug twins in a quick run
MODEL_PRESETS = ("abc-lstm-seed-debug", "abc-lstm-debug", "abc-transformer-debug")
PEAK = "peak.matmul.fp32"
MODEL_TRAIN = tuple(f"train.{p}.tokens" for p in MODEL_PRESETS)
MODEL_SAMPLE = tuple(f"sample.{p}.batch{b}" for p in MODEL_PRESETS for b in (1, 64))
CACHE = "sample.transformer.cache-speedup"
UNITS = {"chars/s", "tokens/s", "FLOP/s", "x", "s", "share", "bits/char"}
SHOWN_UNITS = (UNITS - {"FLOP/s"}) | {"GFLOP/s"}  # the table shows FLOP/s in GFLOP/s
# what a saved benchmarks/results/quality.json holds, in miniature
SAVED_QUALITY = {
    "mode": "full",
    "machine": {"timestamp": "2026-01-01T00:00:00+00:00"},
    "figures": {
        "quality.abc-lstm-seed.val_bpc": {
            "value": 2.5,
            "unit": "bits/char",
            "target": None,
            "target_op": None,
            "target_met": None,
            "note": "20 min",
            "global_step": 1234,
        },
        "quality.best-vs-seed": {
            "value": 0.2,
            "unit": "share",
            "target": 0.15,
            "target_op": ">=",
            "target_met": True,
            "note": "best / seed",
        },
    },
}


def bench_module(name: str) -> types.ModuleType:
    """A benchmarks/ script imported in this process (they are scripts, not a package), once."""
    key = f"tunesmith_bench_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # dataclasses look their module up while the script runs
        spec.loader.exec_module(module)
    return sys.modules[key]


def run_bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def is_positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One --quick run (untrained model, no conversion), shared by the checks below."""
    tmp = tmp_path_factory.mktemp("bench")
    (tmp / "quality.json").write_text(json.dumps(SAVED_QUALITY))
    # one torch thread: CI runners share cores, and oversubscribed OpenMP threads slow down a hundredfold;
    # saved quality figures rather than quality.py's own smoke run (tested below without training)
    quality = ("--saved-quality", "--quality-json", str(tmp / "quality.json"))
    proc = run_bench("--quick", "--untrained", "--threads", "1", *quality, "--out", str(tmp / "q.json"), cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((tmp / "q.json").read_text()), proc.stdout


@pytest.mark.slow
def test_machine_block_says_where_the_figures_came_from(quick: tuple[dict[str, Any], str]) -> None:
    data, _ = quick
    assert data["mode"] == "quick"
    machine = data["machine"]
    assert machine.keys() >= MACHINE_KEYS
    assert machine["cpu_model"] and isinstance(machine["cpu_model"], str)
    assert machine["torch_threads"] == 1
    assert isinstance(machine["logical_cores"], int) and machine["logical_cores"] >= 1
    assert machine["timestamp"].endswith("+00:00")


@pytest.mark.slow
def test_every_figure_has_a_value_a_unit_and_a_consistent_target(quick: tuple[dict[str, Any], str]) -> None:
    figures = quick[0]["figures"]
    models = (PEAK, *MODEL_TRAIN, *MODEL_SAMPLE, CACHE)
    assert set(TRAIN + BASELINES + RATIOS + SAMPLING + ("prepare.folk",) + models) <= figures.keys()
    assert not any(name.startswith("convert.") for name in figures)  # no --convert-model given
    for name, fig in figures.items():
        assert is_positive_number(fig["value"]), (name, fig)
        assert fig["unit"] in UNITS, (name, fig)
        if fig["target"] is None:
            assert fig["target_met"] is None, name
        elif fig["target_met"] is not None:
            above = fig["value"] >= fig["target"] if fig["target_op"] == ">=" else fig["value"] <= fig["target"]
            assert fig["target_met"] is above, (name, fig)


@pytest.mark.slow
def test_ratios_and_targets_follow_from_the_measurements(quick: tuple[dict[str, Any], str]) -> None:
    figures = quick[0]["figures"]
    for name in TRAIN + BASELINES + SAMPLING:
        assert figures[name]["unit"] == "chars/s"
    ours = figures["train.abc-lstm-seed-debug"]["value"]
    for ratio, baseline in zip(RATIOS[:2], BASELINES, strict=True):
        assert figures[ratio]["value"] == pytest.approx(ours / figures[baseline]["value"])
    speedup = figures["sample.batched"]["value"] / figures["sample.one-at-a-time"]["value"]
    assert figures["sample.speedup"]["value"] == pytest.approx(speedup)
    assert figures["sample.batched"]["batch_size"] == 8 and figures["sample.one-at-a-time"]["batch_size"] == 1
    assert "untrained" in figures["sample.speedup"]["note"]
    # both runs write the same tunes; the ceiling is their characters over the longest tune of each seed
    batched, single = figures["sample.batched"], figures["sample.one-at-a-time"]
    assert figures["sample.speedup"]["same_tunes"] is True and batched["chars"] == single["chars"]
    assert figures["sample.speedup-ceiling"]["value"] == pytest.approx(
        batched["chars"] / batched["longest_tunes_chars"]
    )
    assert 1 <= figures["sample.speedup-ceiling"]["value"] <= 8  # 8 tunes a batch
    refilled = figures["sample.batched-32"]
    assert refilled["num"] == 32 and refilled["batch_size"] == 8
    assert figures["sample.speedup-32"]["value"] == pytest.approx(refilled["value"] / single["value"])
    # the targets; a quick run is too small to judge the two speed-ups, but records them
    assert (figures["train.speedup.vs-seed-style"]["target"], figures["sample.speedup"]["target"]) == (5.0, 20.0)
    assert figures["train.speedup.vs-seed-style"]["target_met"] is None
    prep = figures["prepare.folk"]
    assert (prep["target"], prep["target_op"], prep["unit"]) == (15.0, "<=", "s")
    assert prep["target_met"] is (prep["value"] <= 15.0)
    assert any("conversion section skipped" in note for note in quick[0]["notes"])


@pytest.mark.slow
def test_model_figures_follow_from_their_measurements(quick: tuple[dict[str, Any], str]) -> None:
    data = quick[0]
    figures = data["figures"]
    peak = figures[PEAK]
    assert peak["unit"] == "FLOP/s" and peak["size"] >= 1024
    for preset, name in zip(MODEL_PRESETS, MODEL_TRAIN, strict=True):
        fig = figures[name]
        assert fig["unit"] == "tokens/s"
        assert fig["value"] == pytest.approx(fig["batch"] * fig["seq_len"] / fig["median_step_seconds"], rel=1e-3)
        assert isinstance(fig["flops_per_token"], int) and fig["flops_per_token"] >= 6 * fig["matmul_weights"] > 0
        assert fig["peak"] == PEAK
        assert fig["share_of_peak"] == pytest.approx(fig["value"] * fig["flops_per_token"] / peak["value"])
        assert 0 < fig["share_of_peak"] < 1
        if f"train.{preset}" in figures:  # timed once, by the core section, in chars (= tokens)
            assert fig["value"] == figures[f"train.{preset}"]["value"]
    assert figures["train.abc-transformer-debug.tokens"]["attention_flops_per_token"] > 0
    for name in MODEL_SAMPLE:
        fig = figures[name]
        assert fig["unit"] == "tokens/s" and fig["steps"] == 32  # the same length at both batch sizes
        assert fig["batch_size"] == int(name.rsplit("batch", 1)[1])
        assert fig["tokens"] == fig["batch_size"] * fig["steps"]
        assert fig["value"] == pytest.approx(fig["tokens"] / fig["seconds"])
    cache = figures[CACHE]
    assert (cache["unit"], cache["target"], cache["target_op"], cache["target_met"]) == ("x", 3.0, ">=", None)
    assert (cache["batch_size"], cache["steps"], cache["preset"]) == (64, 48, "abc-transformer-debug")
    assert cache["value"] == pytest.approx(cache["uncached_seconds"] / cache["cached_seconds"])
    assert cache["value"] == pytest.approx(cache["cached_tokens_per_s"] / cache["uncached_tokens_per_s"])
    assert 0 <= cache["identical_share"] <= 1
    if not torch.cuda.is_available():
        assert not any(name.startswith("gpu.") for name in figures)
        assert any("GPU model figures skipped" in note for note in data["notes"])


@pytest.mark.slow
def test_saved_quality_figures_join_the_table_unchanged(quick: tuple[dict[str, Any], str]) -> None:
    data, stdout = quick
    for name, saved in SAVED_QUALITY["figures"].items():
        assert data["figures"][name] == saved, name
    assert list(data["figures"])[-len(SAVED_QUALITY["figures"]) :] == list(SAVED_QUALITY["figures"])
    assert data["quality_source"]["ran_now"] is False and data["quality_source"]["mode"] == "full"
    assert any("quality figures read from" in note and "not rerun" in note for note in data["notes"])
    assert "quality.best-vs-seed" in stdout


@pytest.mark.slow
def test_table_lists_every_figure_in_aligned_columns(quick: tuple[dict[str, Any], str]) -> None:
    data, stdout = quick
    lines = stdout.splitlines()
    assert lines[0].split() == ["figure", "value", "unit", "target", "met", "note"]
    rows = [line for line in lines[2:] if not line.startswith("note:")]
    assert [row.split()[0] for row in rows] == list(data["figures"])
    unit_column = lines[0].index("unit")
    assert all(row[unit_column:].split()[0] in SHOWN_UNITS for row in rows)
    peak_row = next(row for row in rows if row.startswith(PEAK + " "))
    assert float(peak_row.split()[1].replace(",", "")) == pytest.approx(data["figures"][PEAK]["value"] / 1e9, abs=0.06)


@pytest.mark.parametrize("preset", ["abc-lstm-seed", "abc-lstm", "abc-lstm-demo", "abc-transformer"])
def test_flops_count_the_weights_each_token_meets(preset: str) -> None:
    """The analytic count matches the built model: every weight matrix but the embedding lookup,
    with a tied head counted (it shares the embedding's weights but still multiplies)."""
    bench = bench_module("models")
    cfg = load_preset(preset)
    model = bench.build_model(cfg)
    weights = sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith("embed."))
    tied = getattr(model, "embed", None) is not None and model.head.weight is model.embed.weight
    weights += model.head.weight.numel() if tied else 0
    assert bench.matmul_weights(cfg.model) == weights
    attention = 6 * cfg.model.layers * cfg.data.seq_len * cfg.model.hidden if cfg.model.name == "transformer" else 0
    assert bench.flops_per_token(cfg.model, cfg.data.seq_len) == 6 * weights + attention


def test_with_quality_runs_quality_py_and_reads_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--with-quality hands quality.py its own arguments (checked by its parser) and puts its table on
    stderr; a stand-in main writes the JSON, so nothing trains here."""
    run, quality = bench_module("run"), bench_module("quality")
    calls = []

    def fake_main(argv: list[str]) -> int:
        calls.append(quality.parse_args(argv))
        print("quality's own table")
        Path(calls[-1].out).write_text(json.dumps(SAVED_QUALITY))
        return 0

    monkeypatch.setitem(sys.modules, "quality", types.SimpleNamespace(main=fake_main))
    out, work = tmp_path / "quality.json", tmp_path / "work"
    args = run.parse_args(
        ["--with-quality", "--budget-minutes", "0.5", "--quality-json", str(out), "--quality-work", str(work)]
    )
    figures, source = run.quality_section(args, notes := [])
    (passed,) = calls
    assert (passed.budget_minutes, passed.out, passed.work, passed.quick) == (0.5, out, work, False)
    assert [f.name for f in figures] == list(SAVED_QUALITY["figures"])
    assert {f.name: f.to_json() for f in figures} == SAVED_QUALITY["figures"]
    assert source["ran_now"] is True and notes == []
    captured = capsys.readouterr()
    assert "quality's own table" in captured.err and "quality's own table" not in captured.out
    # a quick run does quality.py's --quick smoke run by default
    assert run.parse_args(["--quick"]).run_quality and not run.parse_args(["--quick", "--saved-quality"]).run_quality
    assert not run.parse_args([]).run_quality


def test_quality_options_without_a_quality_run_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    run = bench_module("run")
    with pytest.raises(SystemExit) as exc:
        run.parse_args(["--budget-minutes", "5"])
    assert exc.value.code == 2 and "--with-quality" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run.parse_args(["--with-quality", "--saved-quality"])


def test_a_malformed_convert_model_is_refused(tmp_path: Path) -> None:
    proc = run_bench("--quick", "--convert-model", "no-equals-sign", "--out", str(tmp_path / "q.json"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "LABEL=PATH" in proc.stderr
    assert not (tmp_path / "q.json").exists()
