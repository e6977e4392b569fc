"""MIDI representations: every registered one round-trips every built-in chorale, and their checks catch bad tokens."""

from __future__ import annotations

import numpy as np
import pytest

from tunesmith.errors import TunesmithError
from tunesmith.representations import REGISTRY, FrameRepresentation, from_json
from tunesmith.representations.midi_tokens import MidiTokenRepresentation, Notes, build_score, score_notes

MIDI = sorted(n for n, c in REGISTRY.items() if c.medium == "midi")  # every score representation, by its medium


@pytest.fixture(scope="session")
def chorales() -> list:
    """Every built-in chorale as a symusic Score (converted once, then read from the user cache)."""
    from tunesmith.corpora.midi_builtin import builtin_pieces

    pieces, _, _ = builtin_pieces("bach")
    assert len(pieces) >= 340
    return [p.score for p in pieces]


def grid(rep, notes: Notes) -> set[tuple]:
    """The notes a representation promises to keep: (onset, duration, pitch) on its grid, unisons merged."""
    if rep.name == "midi-notes":
        q = rep.per_quarter
        dur = np.clip(np.round(notes.duration * q), 1, rep.max_steps)
        return set(zip(np.round(notes.onset * q).tolist(), dur.tolist(), notes.pitch.tolist(), strict=True))
    if isinstance(rep, FrameRepresentation):  # a piano roll keeps onsets and pitches
        q = rep.steps_per_quarter
        return set(zip(np.round(notes.onset * q).tolist(), notes.pitch.tolist(), strict=True))
    # MidiTok's default beat resolution: 8 steps a beat up to 4 beats, 4 steps a beat up to 12
    dur = np.where(notes.duration <= 4, np.round(notes.duration * 8) / 8, np.round(notes.duration * 4) / 4)
    return set(
        zip(np.round(notes.onset * 8).tolist(), np.clip(dur, 0.125, 12).tolist(), notes.pitch.tolist(), strict=True)
    )


def round_trip(rep, score):
    """encode → decode; a piano roll is stored bit-packed, so it is widened as the model would read it."""
    array = rep.encode(score)
    return rep.decode(rep.to_model(array) if isinstance(rep, FrameRepresentation) else array)


@pytest.mark.slow
@pytest.mark.parametrize("name", MIDI)
def test_round_trip_every_chorale(name: str, chorales: list) -> None:
    rep = REGISTRY[name].fit(chorales)
    rep = from_json(rep.to_json())  # what a run or a bundle restores
    for i, score in enumerate(chorales):
        back = score_notes(round_trip(rep, score))
        assert grid(rep, back) == grid(rep, score_notes(score)), f"{name}: chorale {i} changed"


def _scale_score():
    """A two-bar tune with a chord, a rest, a held note under moving ones and a repeated note."""
    onset = np.array([0, 0, 0, 1, 1, 1.5, 3, 4, 4.5, 5, 5])
    dur = np.array([1, 1, 2, 0.5, 0.5, 0.5, 1, 0.5, 0.5, 1, 1])
    pitch = np.array([60, 64, 48, 62, 67, 62, 65, 67, 67, 72, 76])
    return build_score(Notes(onset, dur, pitch, np.full(pitch.size, 80)))


@pytest.mark.parametrize("name", MIDI)
def test_round_trip_small_score_and_state(name: str) -> None:
    score = _scale_score()
    rep = REGISTRY[name].fit([score])
    again = from_json(rep.to_json())
    ids = rep.encode(score)
    assert np.array_equal(again.encode(score), ids)
    assert grid(rep, score_notes(round_trip(again, score))) == grid(rep, score_notes(score))
    if isinstance(rep, MidiTokenRepresentation):
        assert ids[0] == rep.start_id and ids[-1] == rep.end_id
        assert rep.check(ids).errors == []


@pytest.mark.parametrize("name", MIDI)
def test_primer_is_the_first_bars(name: str) -> None:
    score = _scale_score()  # 4/4: bar one is quarters 0-4
    rep = REGISTRY[name].fit([score])
    primer = rep.primer(score, 1)
    if isinstance(rep, FrameRepresentation):
        assert len(primer) == 4 * rep.steps_per_quarter
        return
    notes = score_notes(rep.decode(np.concatenate([[rep.start_id], primer])))
    assert sorted(notes.pitch.tolist()) == [48, 60, 62, 62, 64, 65, 67]
    assert notes.onset.max() < 4


def test_midi_notes_vocabulary_and_errors() -> None:
    from tunesmith.representations.midi_notes import MidiNotes

    score = _scale_score()
    rep = MidiNotes.fit([score, score])  # every chord twice: each gets a token
    words = [rep.tokens[i] for i in rep.body(rep.encode(score))]
    assert words[:7] == ["C3", "d:2", "w:0", "C4.E4", "d:1", "D4.G4", "d:1/2"]
    assert words[7:12] == ["D4", "d:1/2", "w:3/2", "F4", "d:1"]  # a rest: F4 comes 3/2 after D4 began
    rare = MidiNotes.fit([score], min_chord_count=2)  # chords seen once: written as notes joined by w:0
    assert not rare.chords
    assert grid(rare, score_notes(rare.decode(rare.encode(score)))) == grid(rep, score_notes(score))

    bad = rep.ids("C4.E4 E4 d:1 d:1 w:1")
    report = rep.check(np.concatenate([[rep.start_id], bad]))
    assert report.errors == [
        "C4.E4: a note or chord with no duration",
        "d:1: a duration with no note or chord before it",
    ]
    assert report.share == pytest.approx(2 / 5)
    notes = score_notes(rep.decode(np.concatenate([[rep.start_id], bad])))
    assert notes.pitch.tolist() == [64] and notes.duration.tolist() == [1.0]  # the rest still plays
    with pytest.raises(TunesmithError, match="not a token"):
        rep.ids("C4 d:1 H9")


@pytest.mark.parametrize("name", ["midi-remi", "midi-tsd"])
def test_miditok_check_counts_what_miditok_counts(name: str) -> None:
    rep = REGISTRY[name].fit([_scale_score()])
    rng = np.random.default_rng(0)
    specials = {rep.start_id, rep.end_id, rep.pad_id}
    for _ in range(20):
        ids = np.array([i for i in rng.integers(0, rep.vocab_size, 120) if i not in specials])
        names = rep.tokens(ids)
        assert len(rep.check(ids).errors) == rep.tokenizer._tokens_errors(names)
    report = rep.check(rep.ids("Pitch_60 Pitch_62 Duration_1.0.8"))  # a pitch with no duration
    assert report.errors == ["Pitch_62 cannot follow a Pitch token"]


def test_bpe_learns_a_larger_vocabulary_and_still_round_trips() -> None:
    from tunesmith.representations.midi_remi import MidiRemi

    scores = [_scale_score()] * 4
    base, learned = MidiRemi.fit(scores), MidiRemi.fit(scores, vocab_size=400)
    assert base.vocab_size < learned.vocab_size <= 400  # BPE stops early when the music has no more pairs
    assert len(learned.encode(scores[0])) < len(base.encode(scores[0]))
    again = from_json(learned.to_json())
    assert grid(again, score_notes(again.decode(learned.encode(scores[0])))) == grid(base, score_notes(scores[0]))
