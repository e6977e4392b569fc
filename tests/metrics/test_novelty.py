"""Novelty: exact longest shared runs (against brute force), n-gram overlap, ABC bars, near-copy flags."""

from __future__ import annotations

import numpy as np
import pytest

from tunesmith.metrics.novelty import (
    NoveltySettings,
    abc_bars,
    bar_tokens,
    cap_periodic,
    compare_runs,
    note_tokens,
    piece_novelty,
)
from tunesmith.representations.midi_tokens import Notes


def brute_longest(query: np.ndarray, corpus: list[np.ndarray]) -> list[int]:
    """For each position of ``query``, the longest run starting there found in one corpus piece."""
    out = []
    for i in range(len(query)):
        best = 0
        for piece in corpus:
            for j in range(len(piece)):
                k = 0
                while i + k < len(query) and j + k < len(piece) and query[i + k] == piece[j + k]:
                    k += 1
                best = max(best, k)
        out.append(best)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_runs_equal_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    corpus = [rng.integers(0, 3, rng.integers(0, 40)) for _ in range(5)]
    queries = [rng.integers(0, 3, rng.integers(1, 30)) for _ in range(3)]
    queries.append(np.concatenate([corpus[1][5:], corpus[2][:7]]))  # a run ending where another piece starts
    for query, runs in zip(queries, compare_runs(queries, corpus), strict=True):
        assert runs.run.tolist() == brute_longest(query, corpus)
        if runs.longest:  # the named piece really holds the run
            start = int(runs.run.argmax())
            piece = corpus[runs.longest_source]
            window = query[start : start + runs.longest].tolist()
            assert any(piece[j : j + runs.longest].tolist() == window for j in range(len(piece)))


def test_a_run_never_crosses_from_one_training_piece_into_the_next() -> None:
    runs = compare_runs([np.array([1, 2, 3, 4])], [np.array([1, 2]), np.array([3, 4])])[0]
    assert runs.longest == 2


def test_ngram_overlap_by_hand() -> None:
    # 2-grams of the query: (1,2) (2,3) (3,9) (9,4) (4,5); three of the five are in the corpus
    runs = compare_runs([np.array([1, 2, 3, 9, 4, 5])], [np.array([1, 2, 3, 4, 5])])[0]
    assert runs.overlap(2) == pytest.approx(3 / 5)
    assert np.isnan(runs.overlap(7))  # shorter than n


def melody(pitches: np.ndarray, lengths: np.ndarray) -> Notes:
    onsets = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    return Notes(onsets, lengths.astype(float), pitches.astype(np.int64), np.full(len(pitches), 80))


@pytest.fixture(scope="module")
def tunes() -> list[Notes]:
    """Forty random-walk melodies in eighth and quarter notes: a small 'training set'."""
    rng = np.random.default_rng(7)
    return [melody(60 + np.cumsum(rng.integers(-3, 4, 80)) % 24, rng.choice([0.5, 0.5, 1.0], 80)) for _ in range(40)]


def test_copies_are_flagged_and_new_tunes_are_not(tunes: list[Notes]) -> None:
    rng = np.random.default_rng(8)
    source = tunes[11]
    edited = melody(source.pitch.copy(), source.duration.copy())
    edited.pitch[-3:] += 5  # the last three notes changed
    moved = melody(source.pitch + 5, source.duration)  # the whole tune a fourth higher
    shuffled = melody(rng.permutation(source.pitch), source.duration)
    fresh = melody(60 + np.cumsum(rng.integers(-3, 4, 80)) % 24, rng.choice([0.5, 0.5, 1.0], 80))
    queries = [source, edited, moved, shuffled, fresh]
    corpus = [note_tokens(t) for t in tunes]
    settings = NoveltySettings()
    result = [piece_novelty(r, settings) for r in compare_runs([note_tokens(q) for q in queries], corpus)]
    copy, near, transposed, mixed, new = result
    assert copy.near_copy and copy.longest_run_notes == 80 and copy.closest == 11 and copy.ngram_overlap == 1.0
    assert near.near_copy and near.longest_run_notes >= 77 and near.closest == 11
    assert transposed.near_copy and transposed.longest_run_notes == 80  # intervals: the key does not matter
    assert not mixed.near_copy and mixed.longest_run_notes < settings.copy_notes
    assert not new.near_copy and new.longest_run_notes < settings.copy_notes and new.ngram_overlap < 0.2


def test_abc_bars_ignore_spacing_chords_and_decorations() -> None:
    tune = 'T:Test\nM:4/4\nK:G\n|:"G"G2 BG dGBG|!trill!A2 (AB) c2 BA|\nP:B\n[1 G4 z4:|[2 G8||\n'
    assert abc_bars(tune) == ["G2BGdGBG", "A2ABc2BA", "G4z4", "G8"]
    vocabulary: dict[str, int] = {}
    first = bar_tokens(tune, vocabulary)
    again = bar_tokens("K:D\n| G2BG dGBG | A2AB c2BA |\n", vocabulary)
    assert first.tolist()[:2] == again.tolist() and len(vocabulary) == 4


def test_copied_bars_flag_an_abc_tune() -> None:
    training = ["K:G\n|GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|GABc dedB|\n", "K:D\n|DEFG ABcd|e4 d4|\n"]
    copied = "K:G\n|GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|f8|\n"
    vocabulary: dict[str, int] = {}
    corpus = [bar_tokens(t, vocabulary) for t in training]
    bars = compare_runs([bar_tokens(copied, vocabulary)], corpus)[0]
    notes = compare_runs([np.arange(5)], [np.arange(100, 110)])[0]  # no note in common
    flagged = piece_novelty(notes, NoveltySettings(), bars)
    assert flagged.longest_run_bars == 4 and flagged.closest_bars == 0 and flagged.near_copy
    assert not piece_novelty(notes, NoveltySettings(copy_bars=5), bars).near_copy


def test_trills_and_repeated_notes_count_for_eight_notes() -> None:
    assert cap_periodic(np.array([1, 2] * 10 + [3])).tolist() == [1, 2] * 4 + [3]
    assert cap_periodic(np.array([4] + [5] * 10 + [6])).tolist() == [4] + [5] * 8 + [6]
    assert cap_periodic(np.array([1, 2, 3] * 4)).tolist() == [1, 2, 3] * 4  # a longer figure is melody
    # two different tunes that both hold a trill of 64 alternating 32nd notes
    rng = np.random.default_rng(3)
    trill = (np.array([72, 74] * 32), np.full(64, 0.125))
    tunes = [
        melody(
            np.concatenate([60 + rng.integers(0, 12, 20), trill[0], 60 + rng.integers(0, 12, 20)]),
            np.concatenate([rng.choice([0.5, 1.0], 20), trill[1], rng.choice([0.5, 1.0], 20)]),
        )
        for _ in range(2)
    ]
    assert note_tokens(tunes[0]).size == 20 + 9 + 20  # the leap into the trill, then 8 notes of it
    runs = compare_runs([note_tokens(tunes[0])], [note_tokens(tunes[1])])[0]
    assert runs.longest <= 10 and not piece_novelty(runs, NoveltySettings()).near_copy
