"""ABC → MIDI through symusic's abc2midi, with its messages parsed rather than guessed."""

from __future__ import annotations

from pathlib import Path

import symusic

from tunesmith.render.midi import abc_to_midi, convert_many

GOOD = "X:1\nT:Test\nM:6/8\nL:1/8\nK:G\nGAB c2d|e3 d3|]\n"
BROKEN = "X:1\nT:Test\nM:6/8\nL:1/8\nK:G\nGAB c2d|e3 d3 ((((]] zz9/0 |\n"


def test_good_tune_converts_cleanly(tmp_path: Path) -> None:
    result = abc_to_midi(GOOD, tmp_path / "good.mid")
    assert (result.converted, result.errors, result.warnings) == (True, 0, 0)
    score = symusic.Score(str(tmp_path / "good.mid"))
    assert [n.pitch for n in score.tracks[0].notes] == [67, 69, 71, 72, 74, 76, 74]


def test_errors_and_warnings_are_counted_from_abc2midi(tmp_path: Path) -> None:
    result = abc_to_midi(BROKEN, tmp_path / "broken.mid")
    assert result.errors == 2 and result.warnings == 4
    assert any("Chord already finished" in m for m in result.messages)
    assert any("Slur within slur" in m for m in result.messages)


def test_text_without_a_tune_does_not_convert(tmp_path: Path) -> None:
    result = abc_to_midi("this is not ABC\n", tmp_path / "none.mid")
    assert not result.converted and result.errors >= 1
    assert not (tmp_path / "none.mid").exists()


def test_many_in_parallel_keep_their_order(tmp_path: Path) -> None:
    results = convert_many([GOOD, "nothing\n", GOOD], [tmp_path / "a.mid", None, tmp_path / "c.mid"])
    assert [r.converted for r in results] == [True, False, True]
