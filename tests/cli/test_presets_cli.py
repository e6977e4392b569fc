"""``tunesmith presets``: every description whole, wrapped to the terminal; ``presets NAME`` the whole recipe;
a misspelt preset names the near one."""

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
