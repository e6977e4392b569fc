"""Musical features on hand-built scores, and overlapping area / KL divergence against scipy's KDE."""

from __future__ import annotations

import math

import numpy as np
import pytest
import symusic

from tunesmith.metrics.distributions import EPSILON, compare
from tunesmith.metrics.features import FEATURES, features, first_voice, piece_notes, top_line
from tunesmith.representations.midi_tokens import Notes, build_score


def score(notes: list[tuple[float, float, int]], extra_track: list[tuple[float, float, int]] | None = None):
    """A symusic score from (onset, duration, pitch) in quarter notes; optionally a second track."""
    arr = np.array(notes, dtype=float)
    made = build_score(Notes(arr[:, 0], arr[:, 1], arr[:, 2].astype(np.int64), np.full(len(arr), 80)))
    if extra_track:
        other = build_score(
            Notes(*(np.array(c, dtype=float) for c in zip(*extra_track, strict=True)), np.full(len(extra_track), 80))
        )
        made.tracks.append(other.tracks[0])
    return made


C_MAJOR = [(float(i), 1.0, p) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]


def test_c_major_scale_by_hand() -> None:
    f = features(piece_notes(score(C_MAJOR)))
    assert f["pitch_range"] == 12  # C4 to C5
    assert f["n_pitches_used"] == 8
    assert f["n_pitch_classes_used"] == 7  # the two Cs are one class
    # C twice, six other classes once each, out of 8 notes
    assert f["pitch_class_entropy"] == pytest.approx(-(2 / 8 * math.log2(2 / 8)) - 6 * (1 / 8 * math.log2(1 / 8)))
    assert f["scale_consistency"] == 1.0
    assert f["mean_interval"] == pytest.approx((2 + 2 + 1 + 2 + 2 + 2 + 1) / 7)  # tone, tone, semitone…
    assert f["note_density"] == pytest.approx(8 / 8)  # 8 notes in 8 quarters
    assert f["ioi_mean"] == pytest.approx(1.0)
    assert f["polyphony_rate"] == 0.0
    assert f["empty_beat_rate"] == 0.0


def test_rests_and_chromatic_notes_by_hand() -> None:
    # C at beat 0, then F# at beat 3: beat 2 is empty; MusPy counts beats 0..4 (a note marks the beat it ends on)
    f = features(piece_notes(score([(0.0, 1.0, 60), (3.0, 1.0, 66)])))
    assert f["empty_beat_rate"] == pytest.approx(1 / 5)
    assert f["ioi_mean"] == pytest.approx(3.0)
    assert f["note_density"] == pytest.approx(2 / 4)
    assert f["mean_interval"] == pytest.approx(6.0)
    assert f["scale_consistency"] == 1.0  # C and F# both fit G major
    # three notes: C, D, and C#: at most two of them share a major or minor scale
    assert features(piece_notes(score([(0, 1, 60), (1, 1, 62), (2, 1, 61)])))["scale_consistency"] == pytest.approx(
        2 / 3
    )


def test_a_chord_then_a_note_by_hand() -> None:
    # C-E-G for one quarter, then D alone for one quarter
    f = features(piece_notes(score([(0, 1, 60), (0, 1, 64), (0, 1, 67), (1, 1, 62)])))
    assert f["pitch_range"] == 7
    assert f["n_pitches_used"] == 4
    assert f["pitch_class_entropy"] == pytest.approx(2.0)  # four classes, once each
    assert f["polyphony_rate"] == pytest.approx(0.5)  # three pitches in the first half, one in the second
    assert f["mean_interval"] == pytest.approx(5.0)  # top line G then D
    assert f["ioi_mean"] == pytest.approx(1.0)  # the chord is one onset
    assert f["note_density"] == pytest.approx(4 / 2)
    # a chord alone: one onset, so no interval and no inter-onset interval
    alone = features(piece_notes(score([(0, 2, 60), (0, 2, 64), (0, 2, 67)])))
    assert alone["polyphony_rate"] == 1.0
    assert math.isnan(alone["mean_interval"]) and math.isnan(alone["ioi_mean"])


def test_top_line_keeps_a_held_upper_note() -> None:
    # a held E5 over two bass notes: the second bass note is not the melody; then the soprano moves to D5
    notes = piece_notes(score([(0, 2, 76), (0, 1, 48), (1, 1, 50), (2, 1, 74)]))
    assert top_line(notes).tolist() == [76, 74]


def test_overlapping_notes_of_one_pitch_count_once() -> None:
    # two Cs overlapping for a quarter are one sounding pitch: no polyphony
    assert features(piece_notes(score([(0, 2, 60), (1, 2, 60)])))["polyphony_rate"] == 0.0


def test_empty_piece_gives_nan_not_errors() -> None:
    empty = symusic.Score(480)
    f = features(piece_notes(empty))
    assert set(f) == set(FEATURES) and all(math.isnan(v) for v in f.values())


def test_first_voice_drops_the_accompaniment() -> None:
    made = score(C_MAJOR, extra_track=[(0.0, 4.0, 36), (4.0, 4.0, 43)])
    assert len(piece_notes(made)) == 10
    melody = piece_notes(made, melody_only=True)
    assert melody.pitch.tolist() == [60, 62, 64, 65, 67, 69, 71, 72]
    assert len(made.tracks) == 2 and len(first_voice(made).tracks) == 1  # the original is untouched


# -- overlapping area and KL divergence ---------------------------------------------------------


def test_identical_samples_overlap_fully() -> None:
    x = np.random.default_rng(0).normal(3.0, 2.0, 200)
    c = compare(x, x.copy())
    assert c.oa == pytest.approx(1.0, abs=1e-9)
    assert c.kl == pytest.approx(0.0, abs=1e-9)
    assert c.reference_mean == pytest.approx(x.mean())


def test_disjoint_samples_do_not_overlap() -> None:
    rng = np.random.default_rng(1)
    c = compare(rng.normal(0, 1, 100), rng.normal(100, 1, 100))
    assert c.oa < 1e-6
    assert c.kl > 10  # bounded only by the epsilon


def test_oa_and_kl_match_scipy_gaussian_kde() -> None:
    from scipy.stats import gaussian_kde

    rng = np.random.default_rng(2)
    a, b = rng.normal(0.0, 1.0, 50), rng.normal(0.8, 1.6, 80)
    # the documented rule: one bandwidth, the smaller Scott bandwidth sigma * n^(-1/5)
    h = min(np.std(a, ddof=1) * 50**-0.2, np.std(b, ddof=1) * 80**-0.2)
    p = gaussian_kde(a, bw_method=h / np.std(a, ddof=1))
    q = gaussian_kde(b, bw_method=h / np.std(b, ddof=1))
    grid = np.linspace(-15, 17, 40001)
    pg, qg = p(grid), q(grid)
    oa = np.trapezoid(np.minimum(pg, qg), grid)
    kl = np.trapezoid(pg * np.log((pg + EPSILON) / (qg + EPSILON)), grid)
    c = compare(a, b)
    assert 0.3 < oa < 0.9  # a real partial overlap
    assert c.oa == pytest.approx(oa, abs=2e-3)
    assert c.kl == pytest.approx(kl, rel=1e-2)


def test_a_sample_of_wild_values_does_not_smooth_itself_into_the_reference() -> None:
    """Tunes of hundreds of bars (T = 2) against the corpus's 8 to 24: they hardly overlap, and OA says so."""
    rng = np.random.default_rng(3)
    corpus = rng.integers(8, 25, 200).astype(float)
    wild = np.concatenate([rng.integers(8, 25, 10), rng.integers(100, 2000, 190)]).astype(float)
    assert compare(corpus, wild).oa < 0.1
    assert compare(corpus, rng.integers(8, 25, 200).astype(float)).oa > 0.85


@pytest.mark.parametrize(
    ("a", "b", "oa"),
    [
        ([2.0] * 10, [2.0] * 7, 1.0),  # one and the same constant
        ([1.0] * 10, [3.0] * 10, 0.0),  # two different constants
        ([5.0], [5.0], 1.0),  # one value each
        ([0.0] * 19 + [0.1], [0.0] * 20, 0.95),  # nearly constant: 19 of 20 agree
    ],
)
def test_constant_and_tiny_samples_stay_finite(a: list[float], b: list[float], oa: float) -> None:
    c = compare(a, b)
    assert math.isfinite(c.oa) and math.isfinite(c.kl)
    assert c.oa == pytest.approx(oa, abs=0.02)
    assert c.kl >= 0


def test_missing_values_are_dropped_and_empty_samples_are_nan() -> None:
    c = compare([1.0, math.nan, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert c.n_reference == 3 and c.oa == pytest.approx(1.0, abs=1e-9)
    empty = compare([math.nan], [1.0, 2.0])
    assert math.isnan(empty.oa) and math.isnan(empty.kl) and empty.to_json()["oa"] is None
