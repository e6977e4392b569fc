"""The ``pianoroll`` representation: layout, round trips (synthetic and every Bach chorale), storage, state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import symusic

from tunesmith.data.prepared import PreparedData, write_meta, write_split
from tunesmith.errors import TunesmithError
from tunesmith.representations import from_json, get
from tunesmith.representations.pianoroll import MAX_FRAMES, PianoRoll

TPQ = 480


def score(
    notes: list[tuple[int, int, int]], *, drums: list[tuple[int, int, int]] = (), tpq: int = TPQ
) -> symusic.Score:
    """A score from (time, duration, pitch) in ticks; ``drums`` go to a drum track."""
    s = symusic.Score(tpq)
    for group, is_drum in ((notes, False), (drums, True)):
        track = symusic.Track("drums" if is_drum else "part", 0, is_drum)
        for time, duration, pitch in group:
            track.notes.append(symusic.Note(time, duration, pitch, 90))
        s.tracks.append(track)
    return s


def notes_of(s: symusic.Score, step: int = 120) -> list[tuple[int, int, int]]:
    """(onset, length, pitch) on the grid, sorted."""
    out = [(n.time // step, n.duration // step, n.pitch) for t in s.tracks for n in t.notes]
    return sorted(out)


def grid_onsets(s: symusic.Score, steps_per_quarter: int = 4) -> set[tuple[int, int]]:
    """What the issue asks a piano roll to give back: (onset rounded to the grid, pitch) of every non-drum note."""
    tpq = s.ticks_per_quarter
    return {
        ((2 * n.time * steps_per_quarter + tpq) // (2 * tpq), n.pitch)
        for t in s.tracks
        if not t.is_drum
        for n in t.notes
    }


def round_trip(rep: PianoRoll, s: symusic.Score) -> symusic.Score:
    return rep.decode(rep.to_model(rep.encode(s)))


def test_registered_as_a_frame_representation_with_bce() -> None:
    rep = get("pianoroll")()
    assert rep.kind == "frames" and rep.loss == "bce"
    assert rep.frame_dim == 2 * 128 + 1 and rep.end_index == 256
    assert rep.onset_mask().sum() == 128 and rep.onset_mask()[:128].all()


def test_repeated_notes_chords_and_rests_survive() -> None:
    rep = PianoRoll(4, 48, 84)
    s = score([(0, 480, 60), (480, 480, 60), (0, 960, 64), (0, 960, 67), (1440, 240, 72)])
    frames = rep.to_model(rep.encode(s))
    p = rep.pitches
    assert frames.shape == (15, rep.frame_dim)  # 14 sixteenths of music, then the end frame
    assert frames[[0, 4], 60 - 48].tolist() == [1, 1]  # the repeated C: two onsets…
    assert frames[0:8, p + 60 - 48].all()  # …under one unbroken sustain
    assert frames[8:12, : 2 * p].sum() == 0 and frames[12:14, p + 72 - 48].sum() == 2  # a rest, then a short note
    assert frames[-1].sum() == 1 and frames[-1, rep.end_index] == 1 and frames[:-1, rep.end_index].sum() == 0
    assert notes_of(round_trip(rep, s)) == [(0, 4, 60), (0, 8, 64), (0, 8, 67), (4, 4, 60), (12, 2, 72)]


def test_off_grid_notes_round_to_the_nearest_step_and_last_at_least_one() -> None:
    rep = PianoRoll(4, 0, 127)
    s = score([(130, 50, 60), (59, 2, 62), (60, 60, 64), (1000, 0, 65)], tpq=TPQ)
    # 130 → step 1.08 → 1, ends at 1.5 → 2 (half rounds up); 59 → 0.49 → 0; 60 → 0.5 → 1;
    # a zero-length note lasts one step
    assert notes_of(round_trip(rep, s)) == [(0, 1, 62), (1, 1, 60), (1, 1, 64), (8, 1, 65)]
    assert grid_onsets(round_trip(rep, s)) == grid_onsets(s)


def test_other_resolutions_and_grids() -> None:
    s = score([(0, 96, 60), (96, 48, 62), (144, 48, 64)], tpq=96)
    assert notes_of(round_trip(PianoRoll(4), s)) == [(0, 4, 60), (4, 2, 62), (6, 2, 64)]
    triplets = PianoRoll(3)  # decodes at lcm(480, 3) = 480 ticks per quarter, 160 per step
    assert notes_of(round_trip(triplets, score([(0, 160, 60), (160, 160, 62)])), step=160) == [(0, 1, 60), (1, 1, 62)]


def test_drums_ignored_tracks_merged_out_of_range_dropped() -> None:
    rep = PianoRoll(4, 48, 72)
    s = score([(0, 480, 60), (0, 480, 40), (0, 480, 90)], drums=[(0, 120, 36)])
    second = symusic.Track("second", 0, False)
    second.notes.append(symusic.Note(480, 480, 72, 90))
    s.tracks.append(second)
    assert notes_of(round_trip(rep, s)) == [(0, 4, 60), (4, 4, 72)]


def test_empty_score_is_one_end_frame_and_decode_stops_at_the_flag() -> None:
    rep = PianoRoll(4, 60, 71)
    empty = rep.to_model(rep.encode(symusic.Score(TPQ)))
    assert empty.shape == (1, rep.frame_dim) and empty[0, rep.end_index] == 1
    frames = rep.to_model(rep.encode(score([(0, 240, 60)])))
    tail = np.concatenate([frames, frames])  # whatever follows the first end flag is not this piece
    assert notes_of(rep.decode(tail)) == [(0, 2, 60)]
    with pytest.raises(TunesmithError, match="shaped"):
        rep.decode(np.zeros((4, 3)))


def test_a_sustain_without_onset_after_silence_starts_a_note() -> None:
    rep = PianoRoll(4, 60, 61)
    frames = np.zeros((3, rep.frame_dim), dtype=np.float32)
    frames[1:, rep.pitches + 1] = 1  # pitch 61 sustained from frame 1, no onset
    assert notes_of(rep.decode(frames)) == [(1, 2, 61)]


def test_huge_delta_time_is_refused_not_allocated() -> None:
    with pytest.raises(TunesmithError, match="frames long"):
        PianoRoll().encode(score([(MAX_FRAMES * 120, 120, 60)]))


def test_packbits_storage_and_memory_saving() -> None:
    rep = PianoRoll()
    dtype, width = rep.storage()
    assert (dtype, width) == (np.uint8, 33)  # 257 bits in 33 bytes, against 1028 bytes of float32
    stored = rep.encode(score([(0, 480, 60), (240, 480, 64)]))
    assert stored.dtype == np.uint8 and stored.shape == (7, 33)
    model = rep.to_model(stored)
    assert model.dtype == np.float32 and model.shape == (7, 257)
    assert model.nbytes / stored.nbytes > 31
    assert np.array_equal(np.packbits(model.astype(np.uint8), axis=-1), stored)
    assert rep.to_model(np.stack([stored, stored])).shape == (2, 7, 257)  # any leading shape, for batches


def test_prepared_frame_stream_is_rows(tmp_path: Path) -> None:
    rep = PianoRoll(4, 48, 84)
    pieces = [rep.encode(score([(i * 120, 240, 60 + i % 5)])) for i in range(4)]
    write_split(tmp_path, "train", pieces, np.dtype(np.uint8))
    write_meta(tmp_path, rep, {"dtype": "uint8", "frame_width": rep.storage()[1]})
    data = PreparedData.open(tmp_path)
    stream = data.stream("train")
    assert stream.shape == (sum(len(p) for p in pieces), rep.storage()[1])
    assert all(np.array_equal(a, b) for a, b in zip(data.sequences("train"), pieces, strict=True))
    assert data.stream("val").shape == (0, rep.storage()[1])


def test_fit_sizes_the_range_with_a_margin() -> None:
    items = [score([(0, 120, 55), (0, 120, 79)]), score([(0, 120, 50)], drums=[(0, 120, 20)])]
    rep = PianoRoll.fit(items)
    assert (rep.low, rep.high, rep.steps_per_quarter) == (44, 85, 4)
    assert (PianoRoll.fit(items, margin=0, steps_per_quarter=2).low, PianoRoll.fit([]).high) == (50, 127)
    assert PianoRoll.fit([score([(0, 120, 2), (0, 120, 125)])]).pitches == 128  # clipped to MIDI's range


def test_transpose_moves_pitches_and_zeroes_vacated_bins() -> None:
    rep = PianoRoll(4, 48, 84)
    frames = rep.to_model(rep.encode(score([(0, 480, 60), (0, 480, 64), (480, 240, 83)])))
    up = rep.transpose(frames, 1)
    assert notes_of(rep.decode(up)) == [(0, 4, 61), (0, 4, 65), (4, 2, 84)]
    assert up.sum() == frames.sum() and np.array_equal(rep.transpose(up, -1), frames)
    lost = rep.transpose(frames, 2)  # 83 + 2 is past the top: that note is lost, the others move
    assert notes_of(rep.decode(lost)) == [(0, 4, 62), (0, 4, 66)]
    assert rep.transpose(frames, 99)[:, : 2 * rep.pitches].sum() == 0
    assert np.array_equal(rep.transpose(frames, 99)[:, rep.end_index], frames[:, rep.end_index])


def test_tidy_makes_sampled_frames_consistent() -> None:
    rep = PianoRoll(4, 60, 62)
    p = rep.pitches
    previous = np.zeros((1, rep.frame_dim))
    previous[0, p + 0] = 1  # 60 sounding
    drawn = np.zeros((1, rep.frame_dim))
    drawn[0, 1] = 1  # onset of 61 without its sustain
    drawn[0, p + 0] = 1  # 60 continues
    drawn[0, p + 2] = 1  # 62 sustained out of nowhere
    tidy = rep.tidy(drawn, previous)
    assert tidy.dtype == np.uint8
    assert tidy[0, :p].tolist() == [0, 1, 0] and tidy[0, p : 2 * p].tolist() == [1, 1, 0]
    drawn[0, rep.end_index] = 1
    assert rep.tidy(drawn, previous)[0].tolist() == [0] * 2 * p + [1]


def test_state_round_trip_and_hostile_states() -> None:
    rep = PianoRoll(8, 21, 108)
    back = from_json(json.loads(json.dumps(rep.to_json())))
    assert isinstance(back, PianoRoll) and back.state() == rep.state()
    good = rep.to_json()
    for bad in (
        {"low": 50, "high": 40},
        {"high": 128},
        {"low": -1},
        {"steps_per_quarter": 0},
        {"steps_per_quarter": 10**9},
        {"steps_per_quarter": True},
        {"low": "0"},
        {"high": 1.5},
        {"version": 2},
    ):
        with pytest.raises(TunesmithError, match="malformed"):
            from_json({**good, **bad})
    with pytest.raises(TunesmithError, match="malformed"):
        from_json({"name": "pianoroll"})


# -- every built-in chorale ------------------------------------------------------------------------------


def chorales(limit: int | None = None) -> Iterator[symusic.Score]:
    """Bach chorales from music21's corpus, as MIDI read back by symusic (what the corpus module will do)."""
    music21 = pytest.importorskip("music21")
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for i, chorale in enumerate(music21.corpus.chorales.Iterator()):
            if limit is not None and i >= limit:
                return
            try:
                path = chorale.write("midi", fp=Path(folder) / f"{i}.mid")
            except music21.Music21Exception:  # a few have repeats music21 cannot expand; the corpus skips them too
                continue
            yield symusic.Score(str(path))


def check_chorale(rep: PianoRoll, s: symusic.Score) -> None:
    stored = rep.encode(s)
    decoded = rep.decode(rep.to_model(stored))
    assert grid_onsets(decoded) == grid_onsets(s)  # onsets and pitches back, to the grid
    assert np.array_equal(rep.encode(decoded), stored)  # and the roll itself, sustains included


def test_chorales_round_trip_onsets_and_pitches() -> None:
    rep = PianoRoll()
    for s in chorales(limit=4):
        check_chorale(rep, s)
