"""What the command line says: ``presets`` whole and wrapped, ``presets NAME`` the recipe, near misses named for
presets, corpora and verbs, and plain help without type placeholders on flags."""

from __future__ import annotations

import pytest

from tests.cli.in_process import invoke, one_line_error
from tunesmith.config import load_preset, preset_names
from tunesmith.errors import TunesmithError


def test_presets_lists_every_description_whole_and_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = invoke("presets")
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    flowing = " ".join(result.output.split())
    for name in preset_names():  # nothing is cut: each description's last words are there
        words = load_preset(name).description.split()
        assert name in flowing and " ".join(words[-3:]) in flowing, name
        assert any(line.startswith(name + "  ") for line in result.output.splitlines()), name  # never run together


def test_presets_name_prints_the_whole_recipe() -> None:
    result = invoke("presets", "abc-lstm-folk")
    assert result.exit_code == 0, result.output
    assert "hidden: 512" in result.output and "warmup_steps: 200" in result.output
    assert "tunesmith train --preset abc-lstm-folk" in result.output


def test_a_misspelt_preset_names_the_near_one() -> None:
    one_line_error(invoke("presets", "abc-lstm-dmo"), "unknown preset 'abc-lstm-dmo'", "did you mean 'abc-lstm-demo'")
    with pytest.raises(TunesmithError, match="did you mean 'abc-transformer'"):
        load_preset("abc-transformr")
    with pytest.raises(TunesmithError, match="choose one of: abc-lstm, "):  # nothing near: every name
        load_preset("zzz")


def test_misspelt_corpora_and_verbs_name_the_near_one() -> None:
    one_line_error(invoke("prepare", "--corpus", "folks", "--out", "unused"), "did you mean 'folk'?")
    one_line_error(invoke("sampel", "folk"), "Did you mean 'sample'?")


def test_help_is_plain_words_without_type_placeholders_on_flags() -> None:
    result = invoke("sample", "--help")
    assert result.exit_code == 0 and "<bool>" not in result.output
    assert "--constrain / --no-constrain" in result.output
    listing = " ".join(invoke("--help").output.split())
    assert "and print both models' figures side by side." in listing  # whole summaries, not cut at 45


def test_the_sample_table_shows_unreadable_header_values_as_a_question_mark() -> None:
    from tunesmith.abc_text import normal_key, normal_meter
    from tunesmith.media.abc_samples import _cell, _title

    assert _cell("6/8 % jig", normal_meter) == "6/8" and _cell("G major", normal_key) == "G"
    assert _cell("3/4 and then some words", normal_meter) == "?" and _cell("", normal_key) == "-"
    assert _cell("K:G garbage text that is long", normal_key) == "?"
    assert _title("The Kesh") == "The Kesh" and len(_title("x" * 90)) == 28 and _title("x" * 90).endswith("…")
