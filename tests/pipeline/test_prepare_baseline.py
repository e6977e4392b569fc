"""``prepare`` measures the corpus's profile and validity baseline, and ``--only-valid`` keeps the tunes that pass;
the profile travels with the run and the bundle."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tunesmith.data.prepared import PreparedData
from tunesmith.metrics import abc_corpus
from tunesmith.metrics.validity import check
from tunesmith.pipeline.prepare import prepare
from tunesmith.render.midi import check_tunebook

# Ryan's Mammoth Collection (the second book of the built-in corpus) holds tunes with abc2midi errors and
# bars of the wrong length, so --only-valid has something to drop.
SOME_TUNES = 160


def _tunes(folder: Path, split: str) -> list[str]:
    data = PreparedData.open(folder)
    return [data.representation.decode(s) for s in data.sequences(split)]


def test_only_valid_keeps_exactly_the_tunes_that_pass(tmp_path: Path) -> None:
    every = prepare(tmp_path / "all", corpus="folk", max_tunes=SOME_TUNES).meta
    valid = prepare(tmp_path / "valid", corpus="folk", max_tunes=SOME_TUNES, only_valid=True).meta
    base = every["baseline"]
    assert base["all"]["tunes"] == SOME_TUNES and 0 < base["all"]["valid_share"] < 1, base
    assert valid["baseline"]["all"] == base["all"]  # measured before anything is dropped
    kept = valid["baseline"]["kept"]
    assert valid["tunes_kept"] == kept["train"] + kept["val"] == round(SOME_TUNES * base["all"]["valid_share"])
    profile = abc_corpus.read(tmp_path / "valid")
    assert profile is not None and profile == abc_corpus.read(tmp_path / "all")
    for split in ("train", "val"):
        tunes = _tunes(tmp_path / "valid", split)
        assert len(tunes) == kept[split]
        conversions = check_tunebook(tunes)
        reports = [check(f"X:1\n{t}", conversion=c, profile=profile) for t, c in zip(tunes, conversions, strict=True)]
        assert all(r.valid for r in reports), [r.reasons for r in reports if not r.valid][:3]


def test_prepare_prints_the_baseline_and_midi_refuses_only_valid(tmp_path: Path) -> None:
    proc = run_cli("prepare", "--corpus", "folk", "--max-tunes", "160", "--only-valid", "--out", tmp_path / "d")
    assert proc.returncode == 0, proc.stderr
    assert "% of the corpus's tunes (train" in proc.stdout and "only valid   kept" in proc.stdout
    meta = json.loads((tmp_path / "d" / "meta.json").read_text())
    from tunesmith.metrics.validity import REASONS

    for reason, share in meta["baseline"]["all"]["by_reason"].items():
        shown = f"{100 * share:>5.1f}%" if share >= 0.001 else " <0.1%"
        assert f"{shown}  {REASONS[reason]}" in proc.stdout, reason
    args = ("--corpus", "bach", "--representation", "midi-remi", "--only-valid", "--out", tmp_path / "m")
    midi = run_cli("prepare", *args)
    assert midi.returncode == 2 and midi.stderr.strip() == (
        "error: --only-valid applies to ABC representations only, not midi-remi"
    )


def test_the_profile_travels_with_the_run_and_the_bundle(trained_run: Path, small_data: Path, tmp_path: Path) -> None:
    from tunesmith.bundle import export, load

    assert (trained_run / "corpus.json").read_text() == (small_data / "corpus.json").read_text()
    bundle = export(trained_run, tmp_path / "bundle")
    assert load(bundle).corpus == load(trained_run).corpus == abc_corpus.read(small_data)
    (bundle / "corpus.json").write_text('{"tunes": -3}')
    proc = run_cli("sample", bundle, "--num", "1", "--out", tmp_path / "s")
    assert proc.returncode == 2 and "corpus.json: not a corpus profile" in proc.stderr
