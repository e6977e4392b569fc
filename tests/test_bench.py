"""The quick benchmark runs end to end and writes JSON that later runs can be compared against.

The JSON is what results/ keeps across machines, so its shape is tested here rather than
discovered broken when someone compares two runs.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"
MACHINE_KEYS = {"cpu_model", "logical_cores", "torch_threads", "torch", "python", "tunesmith", "timestamp"}
TRAIN = ("train.abc-lstm-seed-debug", "train.abc-lstm-demo-debug", "train.abc-lstm-debug")
BASELINES = ("train.baseline.seed-style", "train.baseline.same-batch")
RATIOS = ("train.speedup.vs-seed-style", "train.speedup.vs-same-batch", "sample.speedup")
SAMPLING = ("sample.batched", "sample.one-at-a-time")


def run_bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def is_positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One --quick run (untrained model, no conversion), shared by the checks below."""
    tmp = tmp_path_factory.mktemp("bench")
    # one torch thread: CI runners share cores, and oversubscribed OpenMP threads slow down a hundredfold
    proc = run_bench("--quick", "--untrained", "--threads", "1", "--out", str(tmp / "q.json"), cwd=tmp)
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
    assert set(TRAIN + BASELINES + RATIOS + SAMPLING + ("prepare.folk",)) <= figures.keys()
    assert not any(name.startswith("convert.") for name in figures)  # no --convert-model given
    for name, fig in figures.items():
        assert is_positive_number(fig["value"]), (name, fig)
        assert fig["unit"] in ("chars/s", "x", "s", "share"), (name, fig)
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
    # the targets; a quick run is too small to judge the two speed-ups, but records them
    assert (figures["train.speedup.vs-seed-style"]["target"], figures["sample.speedup"]["target"]) == (5.0, 20.0)
    assert figures["train.speedup.vs-seed-style"]["target_met"] is None
    prep = figures["prepare.folk"]
    assert (prep["target"], prep["target_op"], prep["unit"]) == (15.0, "<=", "s")
    assert prep["target_met"] is (prep["value"] <= 15.0)
    assert any("conversion section skipped" in note for note in quick[0]["notes"])


@pytest.mark.slow
def test_table_lists_every_figure_in_aligned_columns(quick: tuple[dict[str, Any], str]) -> None:
    data, stdout = quick
    lines = stdout.splitlines()
    assert lines[0].split() == ["figure", "value", "unit", "target", "met", "note"]
    rows = [line for line in lines[2:] if not line.startswith("note:")]
    assert [row.split()[0] for row in rows] == list(data["figures"])
    unit_column = lines[0].index("unit")
    assert all(row[unit_column:].split()[0] in ("chars/s", "x", "s", "share") for row in rows)


def test_a_malformed_convert_model_is_refused(tmp_path: Path) -> None:
    proc = run_bench("--quick", "--convert-model", "no-equals-sign", "--out", str(tmp_path / "q.json"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "LABEL=PATH" in proc.stderr
    assert not (tmp_path / "q.json").exists()
