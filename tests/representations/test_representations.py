"""Every registered representation is round-tripped by its medium's test (ABC ones here, on their examples);
abc-char round-trips the whole folk corpus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tunesmith import corpora, media, representations
from tunesmith.corpora.abc import read_tunes
from tunesmith.data import PreparedData
from tunesmith.errors import TunesmithError
from tunesmith.representations.base import MEDIA

EXAMPLES = {
    "abc-char": ["M:6/8\nL:1/8\nK:G\nGAB c2d|e3 d3|]\n", "T:Ä tune\nK:Dm\n(3DEF ^g2 _B,,|\n"],
    "abc-tokens": ["M:6/8\nL:1/8\nK:G\nGAB c2d|e3 d3|]\n", 'T:Ä tune\nK:Dm\n(3DEF ^g2 _B,,|"Am"a4|\n'],
}


ABC = sorted(n for n, c in representations.REGISTRY.items() if c.medium == "abc")  # round-tripped below


def round_trip_gaps() -> list[str]:
    """What keeps the registry from being covered: a representation whose medium is not one of MEDIA, that its
    medium does not list, or that no round-trip test of its medium takes (ABC: EXAMPLES below; MIDI and audio:
    the lists test_midi_representations and test_audio_representations parametrize over)."""
    from tests.representations.test_audio_representations import AUDIO
    from tests.representations.test_midi_representations import MIDI

    covered = {"abc": set(EXAMPLES), "midi": set(MIDI), "audio": set(AUDIO)}
    assert set(covered) == set(MEDIA), "a new medium needs its round-trip test named here"
    gaps = []
    for name, cls in sorted(representations.REGISTRY.items()):
        declared = getattr(cls, "medium", None)
        if declared not in MEDIA:
            gaps.append(f"{name}: medium {declared!r} is not one of {', '.join(MEDIA)}")
            continue
        medium = media.of(name)
        if medium.name != declared or name not in medium.representations():
            gaps.append(f"{name}: media.of gives the {medium.name} medium, which does not list it")
        if name not in covered[declared]:
            gaps.append(f"{name}: no {declared} round-trip test takes it")
    return gaps


def test_every_registered_representation_is_round_tripped_by_its_medium() -> None:
    assert round_trip_gaps() == []


def test_the_round_trip_check_catches_a_representation_nothing_covers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bogus medium, and an ABC representation without examples, are both reported (and unregistered after)."""

    class Video(representations.TokenRepresentation):
        name, medium = "video-frames", "video"

    class Untested(representations.TokenRepresentation):
        name, medium = "abc-untested", "abc"

    for cls in (Video, Untested):
        monkeypatch.setitem(representations.REGISTRY, cls.name, cls)
    assert round_trip_gaps() == [
        "abc-untested: no abc round-trip test takes it",
        "video-frames: medium 'video' is not one of abc, midi, audio",
    ]


@pytest.mark.parametrize("name", ABC)
def test_registered_representation_round_trips(name: str) -> None:
    assert name in EXAMPLES, f"add examples for representation {name}"
    cls = representations.REGISTRY[name]
    rep = cls.fit(EXAMPLES[name])
    restored = representations.from_json(rep.to_json())
    for item in EXAMPLES[name]:
        encoded = rep.encode(item)
        assert rep.decode(encoded) == item
        assert np.array_equal(restored.encode(item), encoded)
        if rep.kind == "tokens":
            assert encoded[0] == rep.start_id and encoded[-1] == rep.end_id
            assert encoded.dtype == rep.dtype


def test_abc_char_uses_one_byte_per_character() -> None:
    rep = representations.get("abc-char").fit(EXAMPLES["abc-char"])
    assert rep.dtype == np.uint8


def test_unknown_character_names_its_position() -> None:
    rep = representations.get("abc-char").fit(["K:C\nCDE|\n"])
    with pytest.raises(TunesmithError, match=r"character '§' at position 4"):
        rep.ids("K:C\n§", "--primer")


def test_decode_stops_at_end_and_ignores_markers() -> None:
    rep = representations.get("abc-char").fit(["K:C\nCDE|\n"])
    ids = np.concatenate([rep.encode("K:C\n"), rep.ids("CD")])
    assert rep.decode(ids) == "K:C\n"


def test_every_builtin_folk_tune_round_trips_exactly(tmp_path: Path) -> None:
    """Prepare the whole folk corpus, then read every tune back out of the memmaps."""
    from tunesmith.pipeline.prepare import prepare

    result = prepare(tmp_path / "folk", corpus="folk")
    assert result.meta["tunes_kept"] > 12_800
    tunes, _ = read_tunes(corpora.builtin("folk").files(), base=corpora.music21_corpus_root())
    data = PreparedData.open(tmp_path / "folk")
    sources = {}
    for split in ("train", "val"):
        refs = json.loads((tmp_path / "folk" / f"{split}_sources.json").read_text())
        for (source, ref), seq in zip(refs, data.sequences(split), strict=True):
            sources[(source, ref, data.representation.decode(seq))] = True
    assert len(sources) == len(tunes)
    rep = data.representation
    for tune in tunes:
        assert rep.decode(rep.encode(tune.text)) == tune.text
        assert (tune.source, tune.ref, tune.text) in sources
