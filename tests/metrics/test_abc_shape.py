"""The shape of a tune: hand-made tunes with known parts, bars, repeats and endings; garbage; O'Neill's tunes."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tunesmith.metrics.abc_bars import BarCounter, read_header
from tunesmith.metrics.abc_shape import SHAPE_FEATURES, common_rhythms, rhythm_pattern, shape

REEL = """X:1
T:An AABB reel
M:4/4
L:1/8
K:G
|:GABc dBGB|c2ec BGGB|AGAB cBAG|FGAF DEFA|GABc dBGB|c2ec BGGB|AGAB cAFA|G2GF G4:|
|:g2fg edef|gfge dBGB|c2ec BGGB|ABAG FGAF|g2fg edef|gfge dBGB|c2ec BcAF|G2GF G4:|
"""

# A pickup before the first repeat, 1st and 2nd endings, a pickup inside the second repeat (no X: line).
JIG = """T:A jig
M:6/8
L:1/8
K:D
A|:d2e fed|c2d e2A|d2e fed|cAB c2A|d2e fed|c2d e2f|gfe dcB|1 A3 A2A:|2 A3 A2||
|:e|f2g a2f|g2e f2d|e2f g2e|fed c2A|f2g a2f|g2e f2d|e2f gec|1 d3 d2:|2 d3 d2|]
"""


def values(abc: str, **kw) -> dict[str, float]:
    got = shape(abc, **kw)
    assert list(got) == list(SHAPE_FEATURES)
    return got


def bars_of(abc: str):
    header = read_header(abc)
    counter = BarCounter(header, (0, 127))
    counter.run(header.body, header.first_body_line)
    return counter.bars


def test_an_aabb_reel() -> None:
    got = values(REEL)
    assert got["parts"] == 2 and got["bars"] == 16 and got["bars_per_part"] == 8
    assert got["eight_bar_parts"] == 1.0 and got["repeat_marks"] == 4
    assert got["ends_on_tonic"] == 1.0 and got["ends_on_fifth"] == 0.0
    assert got["part_openings"] == 0.0  # the B part opens on g2fg, the A part on GABc: no onset alike
    assert math.isnan(got["common_rhythms"])  # no table given
    # the same tune spelled :|: and without X: has the same shape
    assert values(REEL.replace("G4:|\n|:", "G4:|:").replace("X:1\n", "")) == pytest.approx(got, nan_ok=True)
    assert values(REEL.replace("G4:|\n|:", "G4::"))["repeat_marks"] == 4


def test_a_jig_with_pickups_and_endings_counts_8_bars_a_part() -> None:
    got = values(JIG)
    assert got["parts"] == 2 and got["bars"] == 16 and got["eight_bar_parts"] == 1.0
    assert got["repeat_marks"] == 8  # per part: |: , |1 , :|2 (an end and an ending)
    assert got["ends_on_tonic"] == 1.0
    # endings written [1 ... :|[2 ..., and the first pickup inside the repeat
    other = JIG.replace("A|:d2e", "|:A|d2e").replace("|1 ", "|[1 ").replace(":|2", ":|[2")
    assert values(other) == pytest.approx(got, nan_ok=True)
    # a 2nd ending with no :| before it is still an alternative, not a bar
    assert values(JIG.replace("A2A:|2", "A2A|2"))["bars"] == 16


def test_a_pickup_and_a_short_last_bar_make_one_bar() -> None:
    tune = "X:1\nM:6/8\nL:1/8\nK:G\nG|" + "GAB c2A|" * 7 + "d2:|\n"
    assert values(tune)["bars"] == 8 and values(tune)["parts"] == 1
    assert values(tune.replace("G|", "", 1))["bars"] == 8  # no pickup
    # a tune in free meter counts what stands between bar lines
    assert values("X:1\nM:none\nL:1/8\nK:G\nGABc|dedB G2|A|]\n")["bars"] == 3


def test_parts_split_at_double_bars_and_p_fields() -> None:
    tune = "X:1\nM:2/4\nL:1/8\nK:C\nP:A\nCDEF|GABc|\nP:B\ncBAG|FEDC||EGEG|C4|]\n"
    got = values(tune)
    assert got["parts"] == 3 and got["bars"] == 6 and got["bars_per_part"] == 2 and got["eight_bar_parts"] == 0
    assert got["repeat_marks"] == 0


def test_ending_on_the_fifth_and_the_key_in_force() -> None:
    got = values("X:1\nM:3/4\nL:1/8\nK:G\nG2B2d2|c2A2F2|G2B2d2|d6|]\n")  # ends on D in G
    assert got["ends_on_fifth"] == 1.0 and got["ends_on_tonic"] == 0.0
    # a mode's tonic is its own: A dorian ends on A
    assert values("X:1\nM:3/4\nL:1/8\nK:Ador\nA2B2c2|e6|d2B2G2|A6|]\n")["ends_on_tonic"] == 1.0
    # a key change in the body: the last K: holds; the last note of a chord is its first
    assert values("X:1\nM:3/4\nL:1/8\nK:G\nG2B2d2|G6|[K:D]d2f2a2|[DFA]6|]\n")["ends_on_tonic"] == 1.0
    # accidentals count: F natural is not the tonic of F# minor; trailing rests are no note
    assert values("X:1\nM:2/4\nL:1/8\nK:F#m\nABcd|=F4|]\n")["ends_on_tonic"] == 0.0
    assert values("X:1\nM:2/4\nL:1/8\nK:F#m\nABcd|F2z2|z4|]\n")["ends_on_tonic"] == 1.0
    got = values("X:1\nM:2/4\nL:1/8\nK:none\nABcd|F2z2|]\n")
    assert math.isnan(got["ends_on_tonic"]) and math.isnan(got["ends_on_fifth"]) and got["bars"] == 2


def test_one_bar_eight_times() -> None:
    got = values("X:1\nM:4/4\nL:1/8\nK:D\n" + "|:" + "DFAF dAFA|" * 8 + "]\n")
    assert got["bars"] == 8 and got["repeated_bars"] == pytest.approx(7 / 8) and got["transposed_bars"] == 0.0


def test_a_sequence_moves_by_scale_steps() -> None:
    # C D E C, D E F D, E F G E, F G A F: the same staff steps up a step each time (in semitones, not the same)
    got = values("X:1\nM:2/4\nL:1/8\nK:C\nCDEC|DEFD|EFGE|FGAF|G2|]\n")
    assert got["transposed_bars"] == pytest.approx(3 / 4) and got["repeated_bars"] == 0.0  # G2 is short: no full bar
    # another rhythm is no transposition; an exact repeat is not counted twice
    got = values("X:1\nM:2/4\nL:1/8\nK:C\nCDEC|D2FD|CDEC|EFGE|]\n")
    assert got["repeated_bars"] == pytest.approx(1 / 4) and got["transposed_bars"] == pytest.approx(1 / 4)
    # the same notes with another accidental is neither
    got = values("X:1\nM:2/4\nL:1/8\nK:C\nCDEC|^CDEC|]\n")
    assert got["repeated_bars"] == 0.0 and got["transposed_bars"] == 0.0


def test_part_openings() -> None:
    same = "X:1\nM:2/4\nL:1/8\nK:C\n|:CDEF|GABc:|\n|:CDEF|cBAG:|\n|:C2E2|G4:|\n"
    # part 2 opens exactly like part 1 (1.0); part 3 shares C at 0 and E at 1/4 with part 1's CDEF:
    # onsets 0, 1/8, 1/4, 3/8 -> C=C, D vs C held, E=E, F vs E held -> 2/4
    assert values(same)["part_openings"] == pytest.approx((1.0 + 0.5) / 2)
    assert math.isnan(values("X:1\nM:2/4\nL:1/8\nK:C\nCDEF|GABc|]\n")["part_openings"])


def test_rhythm_patterns() -> None:
    jig, reel, triplets = bars_of("X:1\nM:6/8\nL:1/8\nK:G\nA2B c2d|A>Bc2 z2d2|(3ABc d2 e2|\n")
    assert rhythm_pattern(jig) == "6:2 1 2 1"
    assert rhythm_pattern(reel) == "16:3 1 4 4r 4"  # a bar of 8/8 in 6/8: shares of what it holds
    assert rhythm_pattern(triplets) == "9:1 1 1 3 3"
    json.dumps(rhythm_pattern(jig))


def test_common_rhythms_table_and_share() -> None:
    tunes = [
        "X:1\nM:6/8\nL:1/8\nK:G\nA2B c2d|A2B c2d|ABc def|g3 g3|]\n",
        "T:b\nM:6/8\nL:1/8\nK:D\nABc def|ABc d2e|ABc def|]\n",
        "X:3\nM:C|\nL:1/8\nK:G\nGABc dBGB|G2B2 d4|]\n",
        "X:4\nM:none\nK:G\nABc|]\n",  # free meter: left out
        "rubbish",
    ]
    table = common_rhythms(tunes)
    assert table == {
        "6/8": ["6:1 1 1 1 1 1", "6:2 1 2 1", "2:1 1", "6:1 1 1 2 1"],  # g3 g3: halves
        "C|": ["4:1 1 2", "8:1 1 1 1 1 1 1 1"],  # ties in text order
    }
    assert common_rhythms(tunes, top=1)["6/8"] == ["6:1 1 1 1 1 1"]
    json.loads(json.dumps(table))
    assert values(tunes[0], rhythms=table)["common_rhythms"] == 1.0
    top = common_rhythms(tunes, top=2)
    assert values(tunes[0], rhythms=top)["common_rhythms"] == pytest.approx(3 / 4)  # g3 g3 is not in the top 2
    assert math.isnan(values(tunes[0], rhythms={"C|": ["8:1 1 1 1 1 1 1 1"]})["common_rhythms"])  # no 6/8 table
    assert math.isnan(values(tunes[3], rhythms=table)["common_rhythms"])


GARBAGE = [
    "",
    "X:1",
    "X:1\nT:only a header\nM:6/8\nK:G\n",
    "K:G\n|:z6:|\n",  # rests only: no note, no shape
    "\x00\x01\x02\xff\ufffd" * 50,
    "X:1\nM:6/x\nL:1/3\nK:Hxx\nABC|]\n",
    "K:G\nA" + "9" * 5000,  # a length no int() reads
    "K:G\nA" + ">" * 3000 + "B|",
    "K:G\n:|2 AB :|2 [2 |1 |] :: ||" * 20,
]


def check(got: dict[str, float]) -> None:
    assert list(got) == list(SHAPE_FEATURES)
    for name, value in got.items():
        assert isinstance(value, float)
        assert math.isnan(value) or (math.isfinite(value) and value >= 0), (name, value)
        if SHAPE_FEATURES[name][1] == "share" and not math.isnan(value):
            assert value <= 1, (name, value)


def test_garbage_never_raises() -> None:
    rng = random.Random(7)
    alphabet = "ABCDEFGabcdefgzxZ|:[]()^_=,'/0123456789<>{}!\"~.-+ \n%\\&yMKLPV"
    noise = ["".join(rng.choice(alphabet) for _ in range(5000)) for _ in range(5)]
    table = {"6/8": ["6:1 1 1 1 1 1"], "4/4": []}
    for text in GARBAGE + noise + ["X:1\nM:6/8\nK:G\n" + n for n in noise]:
        check(shape(text, rhythms=table))
    assert all(math.isnan(v) for v in shape("").values())
    assert all(math.isnan(v) for v in shape(GARBAGE[3]).values())
    assert shape("K:G\nA" + ">" * 3000 + "B|")["bars"] == 1.0
    assert isinstance(common_rhythms(GARBAGE + noise), dict)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_gives_a_shape(text: str) -> None:
    check(shape(text))
    check(shape("X:1\nM:3/4\nK:Am\n" + text, rhythms={"3/4": ["6:2 2 2"]}))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ABCDEFGabcz|:[]12()3<>/2,'^_=\n ", max_size=300))
def test_abc_like_text_gives_a_shape(text: str) -> None:
    check(shape("X:1\nM:6/8\nL:1/8\nK:D\n" + text))


def test_oneills_tunes_have_the_shape_of_dance_music() -> None:
    """300 of O'Neill's 1850 tunes: mostly 8-bar parts, two of them, ending on the tonic (figures measured
    0.75 of parts with 8 bars, 2.05 parts and 17.2 bars a tune, 0.81 ending on the tonic, 0.25 of bars
    repeated exactly, 0.03 transposed, 0.96 of bars in a common rhythm)."""
    from tunesmith import corpora
    from tunesmith.corpora.abc import read_tunes

    files = [f for f in corpora.builtin("folk").files() if "oneills1850" in f.parts]
    tunes, _ = read_tunes(files, max_chars=10**6)
    texts = [t.text for t in tunes][::6][:300]
    assert len(texts) == 300
    table = common_rhythms(texts)
    rows = [shape(t, rhythms=table) for t in texts]

    def mean(name: str) -> float:
        got = [r[name] for r in rows if not math.isnan(r[name])]
        assert len(got) > 250, name
        return sum(got) / len(got)

    assert 0.6 < mean("eight_bar_parts") < 0.9
    assert 1.7 < mean("parts") < 2.5 and 14 < mean("bars") < 21
    assert 0.7 < mean("ends_on_tonic") < 0.95 and mean("ends_on_fifth") < 0.1
    assert 0.15 < mean("repeated_bars") < 0.35 and 0.005 < mean("transposed_bars") < 0.08
    assert 0.85 < mean("common_rhythms") <= 1.0
    assert 0.03 < mean("part_openings") < 0.3
    assert 0.5 < mean("repeat_marks") < 3
    for name in SHAPE_FEATURES:  # no feature is a constant
        assert len({r[name] for r in rows if not math.isnan(r[name])}) > 1, name
