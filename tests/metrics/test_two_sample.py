"""The classifier two-sample test (:mod:`tunesmith.metrics.two_sample`): power where it must, none where it must not.

On the built-in folk corpus (12,914 tunes, read once for the module), with fixed seeds, 5 folds and 3 repeats:

1. 100 real tunes the debug model never saw (the 100 read right after the 400 it was prepared from, O'Neill's like
   them) against 100 of its samples at temperature 2 (``max_length`` 300): accuracy >= 0.95.
2. Real against real: 1,000 tunes drawn at random from the whole corpus, split into two halves of 500: accuracy
   within 0.5 +- 0.05 (0.494 here). Over 30 other draws the accuracies had mean 0.502, sd 0.017, range 0.470-0.539.
3. 200 random real tunes against the same 200 with their bars shuffled: accuracy >= 0.8 (0.89 here; 0.87-0.92 over 10
   other draws). A bag of notes scores 0.36 on the same tunes (at most 0.55 is asserted), so the check can fail: what
   tells them apart is order across bar lines. (It scores below 0.5 because each tune's twin, in training with the
   other label, pulls it the wrong way.)

About 20 s on two cores (half of it sampling), besides the shared ``small_data`` and ``trained_run`` fixtures (about
a minute more when this file runs alone).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer

from tunesmith.errors import TunesmithError
from tunesmith.metrics.two_sample import GLOBAL_WEIGHT, GLOBALS, HASH_FEATURES, shuffle_bars, tune_features
from tunesmith.metrics.two_sample import two_sample_test as c2st


@pytest.fixture(scope="module")
def folk_tunes() -> list:
    """The folk corpus read as ``tunesmith prepare --corpus folk`` reads it (so the first 400 are small_data's)."""
    from tunesmith import corpora
    from tunesmith.corpora.abc import read_tunes

    return read_tunes(corpora.builtin("folk").files(), base=corpora.music21_corpus_root())[0]


@pytest.fixture(scope="module")
def folk(folk_tunes: list) -> list[str]:
    return [t.text for t in folk_tunes]


@pytest.fixture(scope="module")
def samples_t2(trained_run: Path) -> list[str]:
    from tunesmith.bundle import load
    from tunesmith.media.abc_samples import generate_tunes, tune_text
    from tunesmith.sampling.settings import SampleSettings

    loaded = load(trained_run)
    settings = SampleSettings(num=100, temperature=2.0, max_length=300, seed=0, batch_size=100)
    generated = generate_tunes(loaded.model, loaded.representation, settings)
    return [tune_text(loaded.representation, g.tokens, i + 1) for i, g in enumerate(generated)]


def test_samples_at_temperature_2_are_told_apart_from_tunes_the_model_never_saw(
    folk_tunes: list, samples_t2: list[str], small_data: Path
) -> None:
    prepared = [json.loads((small_data / f"{split}_sources.json").read_text()) for split in ("train", "val")]
    assert sorted(tuple(s) for split in prepared for s in split) == sorted((t.source, t.ref) for t in folk_tunes[:400])
    held_out = [t.text for t in folk_tunes[400:500]]  # O'Neill's, as the 400 are, and none of them
    result = c2st(held_out, samples_t2, seed=0)
    assert result.n_each == 100 and result.accuracy >= 0.95, result
    assert result.low >= 0.9


def test_two_random_halves_of_the_corpus_cannot_be_told_apart(folk: list[str]) -> None:
    pick = np.random.default_rng(2024).permutation(len(folk))[:1000]
    result = c2st([folk[i] for i in pick[:500]], [folk[i] for i in pick[500:]], seed=0)
    assert abs(result.accuracy - 0.5) <= 0.05, result
    assert result.low < 0.5 < result.high  # this draw's interval holds chance, as 95% of them should
    assert 0.05 < result.high - result.low < 0.1  # Wilson on 1000 / 1.5 trials: about +-0.038


def bag_of_notes(texts: list[str]) -> object:
    """What check 3 must beat: counts of the notes (pitch letters with accidentals and octave marks), in no order."""
    vectorizer = HashingVectorizer(token_pattern=r"[\^_=]*[A-Ga-g][,']*", lowercase=False, alternate_sign=False)
    return vectorizer.transform(re.sub(r"\A(?:[A-Za-z]:.*\n)*", "", t) for t in texts)


def test_tunes_with_their_bars_shuffled_are_told_apart_and_a_bag_of_notes_cannot(folk: list[str]) -> None:
    rng = np.random.default_rng(7)
    real = [folk[i] for i in rng.permutation(len(folk))[:200]]
    shuffled = [shuffle_bars(t, rng) for t in real]
    result = c2st(real, shuffled, seed=0)
    assert result.accuracy >= 0.8, result
    assert c2st(real, shuffled, seed=0, features=bag_of_notes).accuracy <= 0.55


GARBAGE = [
    "",
    "\n\n \n",
    "X:1",
    "X:1\nT:only a header\nM:6/8\nL:1/8\nK:G",
    "K:",
    "T:no key\nM:4/4\nabc|def|",
    "\x00\x01\x02\xff\ufffd" * 60,
    bytes(range(256)).decode("latin-1") * 3,
    "X:1\nK:C\n" + "|" * 500 + ":" * 100 + "]" * 50,
    "X:1\nK:C\n" + "[" * 300 + "(" * 300 + "{" * 300 + '"' * 3 + "!" * 7,
    "X:1\nM:0/0\nL:1/0\nK:Zz\n[L:1/0][L:1e400][L:-1/8][L:nan][K:nonsense][M:9999999999999999999999/1]a9999/9999|",
    "X:1\nM:none\nK:none\nc''''''''''d,,,,,,,,,, ^^^^c ____d (9abcdefghi (3:2:9a >>>>>> <<< z0 x/0 Z9999 a0/0",
    "X:1\nL:1/" + "9" * 5000 + "\nM:" + "9" * 5000 + "/4\nK:C\nabc|",
    "X:1\r\nM:3/4\r\nK:D\r\nabc|def|\\\r\n|]",
    "%%%\n% a comment only\n%%MIDI program 1",
    'X:1\nK:C\n\\\n\\\n[1abc:|[2def|]\n|1 abc :|2 def ||\n[ceg]2 [] [z] [ab]/0 {abc} !trill!c "Am"A',
    "X:1\nK:C\n" + "abc|" * 5000,
]


def random_texts(count: int, seed: int) -> list[str]:
    """ABC-ish noise: the characters a sampler at a high temperature strews about, with or without a header."""
    rng = np.random.default_rng(seed)
    alphabet = list("ABCDEFGabcdefgzxZX|:[]()<>{}!+\"^_=,'/0123456789 \n\n\nKLMTPVXw%\\-.~&$*")
    texts = []
    for _ in range(count):
        body = "".join(rng.choice(alphabet, size=int(rng.integers(0, 300))))
        texts.append(("X:1\nM:6/8\nL:1/8\nK:Em\n" if rng.random() < 0.5 else "") + body)
    return texts


def test_features_of_garbage_are_finite_and_never_raise() -> None:
    texts = GARBAGE + random_texts(300, seed=0)
    x = tune_features(texts)
    assert x.shape == (len(texts), HASH_FEATURES + len(GLOBALS))
    assert np.isfinite(x.data).all()
    assert tune_features([]).shape == (0, HASH_FEATURES + len(GLOBALS))
    for i, text in enumerate(texts):
        shuffle_bars(text, np.random.default_rng(i))  # never raises either


def test_a_sample_of_garbage_is_told_apart_and_never_raises(folk: list[str]) -> None:
    garbage = GARBAGE + random_texts(43, seed=1)
    result = c2st(folk[1000:1060], garbage, seed=0)
    assert result.n_each == 60 and result.accuracy >= 0.95
    assert c2st(["", ""], ["", "", ""]).accuracy == 0.5  # one and the same text everywhere: no split can be made
    assert c2st(["K:C\nabc|", "K:C\ndef|"], ["K:G\nabc|", "", "K:D\nGAB|"]).folds == 2  # as many folds as tunes allow


def test_globals_of_a_tune_worked_by_hand() -> None:
    body = "A|d2 fe|d2 A2|B2 A2|F2 E2|d4|]"  # D major, 2/4: a pickup, then five bars of 2/4
    row = tune_features([f"X:1\nT:By hand\nM:2/4\nL:1/8\nK:D\n{body}\n"])[0, HASH_FEATURES:].toarray().ravel()
    got = dict(zip(GLOBALS, row / GLOBAL_WEIGHT, strict=True))
    # semitones above the tonic (MIDI - 2): A 67 | d 72, f# 76, e 74 | d 72, A 67 | B 69, A 67 | F# 64, E 62 | d 72
    # intervals inside bars: +4 -2 -5 -2 -2; across bar lines: +5 -2 +2 -3 +10
    expected = {
        "bars": np.log1p(6) / 5,
        "chars": np.log1p(len(body)) / 8,
        "no_notes": 0.0,
        "unreadable": 0.0,
        "header_problems": 0.0,
        "rests": 0.0,
        "no_meter": 0.0,
        "range": (76 - 62) / 24,
        "count_off": 3 / 6,  # notes a bar: 1 3 2 2 2 1, usually 2
        "length_off": 1 / 6,  # the pickup; every other bar lasts 2/4
        "meter_off": 1 / 6,
        "short_inside": 0.0,  # the only short bar opens the tune
        "step_in": 3 / 5,
        "step_across": 2 / 5,
        "leap_in": 0.0,
        "leap_across": 1 / 5,
        "ends_tonic": 1.0,
        "starts_triad": 1.0,  # A, the fifth
        "cadence_tonic": 1.0,
        "cadence_few": 1.0,  # the last bar has one note
        "bar_repeats": 0.0,
        "pair_repeats": 0.0,
    }
    assert set(expected) == set(GLOBALS)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value), name


def test_shuffle_bars_keeps_the_header_the_bar_lines_and_the_bars() -> None:
    head = "X:3\nT:Shuffle me\nM:4/4\nL:1/8\nK:G\n"
    tune = head + "|:GABc d2B2|c2A2 B2G2|A2F2 G4:|\nP:B\n|:gfed B2d2|e2c2 d4|cBAG A2B2|G8:|\n"

    def parts(text: str) -> tuple[str, list[str], list[str]]:
        top, body = text.split("K:G\n")
        pieces = re.split(r"(\|:|:\||\||\n)", body)
        return top, pieces[1::2], sorted(pieces[::2])

    shuffled = shuffle_bars(tune, np.random.default_rng(0))
    assert shuffled != tune and shuffled == shuffle_bars(tune, np.random.default_rng(0))
    assert parts(shuffled) == parts(tune)  # the same header, bar lines and bars; only the bars' order moved
    assert shuffled.split("\n")[6] == "P:B"  # a field in the body stays where it was
    assert shuffle_bars("X:1\nK:C\n", np.random.default_rng(0)) == "X:1\nK:C\n"


def test_identical_samples_score_one_half_exactly(folk: list[str]) -> None:
    tunes = folk[2000:2060]
    assert c2st(tunes, tunes, seed=0).accuracy == 0.5
    numbered = [f"X:{i + 1}\n{t}" for i, t in enumerate(tunes)]  # generated tunes carry an X: line, corpus ones not
    assert c2st(tunes, numbered, seed=3).accuracy == 0.5


def test_same_seed_same_result_and_the_larger_side_is_subsampled(folk: list[str]) -> None:
    real, other = folk[3000:3040], folk[4000:4070]
    first = c2st(real, other, seed=5, folds=4, repeats=2)
    assert first == c2st(real, other, seed=5, folds=4, repeats=2)
    assert (first.n_each, first.folds, first.repeats) == (40, 4, 2)
    report = json.loads(json.dumps(first.to_json()))
    assert report["accuracy"] == first.accuracy and report["low"] <= first.accuracy <= report["high"]
    with pytest.raises(TunesmithError, match="2\\+ tunes a side"):
        c2st(real[:1], other)
