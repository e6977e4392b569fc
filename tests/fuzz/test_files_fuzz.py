"""Hostile ABC, MIDI and WAV files for every reader.

Each reader must give back what it reads or raise :class:`TunesmithError` (never another exception),
inside the hang and memory guards of ``conftest.bounded``:

- ABC text (random bytes, header-only tunes, thousands of bars or tunes, unbalanced brackets, weird
  unicode) through the corpus reader and the renderer (``abc2midi``);
- MIDI bytes (random, a header and random chunks, hand-built files with huge delta times, thousands of
  tracks, broken meta events, and mutations of a valid file) through the corpus reader, the MIDI
  primer of ``sample --primer-midi`` and the renderer's built-in synthesizer;
- WAV files (every header field wrong in turn: 0 channels, 0 Hz, 64-bit samples, sizes that claim
  gigabytes, one sample, NaN samples) through the corpus reader and ``load_audio``;

JSON documents are in ``test_json_fuzz.py``; folders of good and hostile files for ``prepare`` are in
``test_prepare_fuzz.py``, which draws its hostile files from the strategies here.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from tests.fuzz.conftest import bounded, fuzz_settings, sandbox
from tunesmith.errors import TunesmithError

REFUSED = object()


def read_or_refuse(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args)`` under the guards: its value, or REFUSED for a TunesmithError; anything else fails the test."""
    with bounded(what):
        try:
            return fn(*args, **kwargs)
        except TunesmithError:
            return REFUSED


# --- ABC ---------------------------------------------------------------------------------------------

ABC_HEADERS = [
    "X:1",
    "X:",
    "X:" + "9" * 500,
    "T:",
    "T:" + "t" * 10_000,
    "M:6/8",
    "M:0/0",
    "M:99999999999999999999/1",
    "M:1/99999999999999999999",
    "M:C|",
    "M:none",
    "M:(2+2+3)/8",
    "L:1/0",
    "L:1/3",
    "L:0/8",
    "L:1/" + "2" * 400,
    "K:G",
    "K:",
    "K:Zz#mixolydian",
    "K:Hp",
    "K:none",
    "K:C clef=treble transpose=-99999999",
    "Q:1/4=0",
    "Q:1/4=99999999999",
    "Q:-1",
    "V:1",
    "V:" + "1 " * 1000,
    "%%MIDI program 999",
    "%%score (1 2",
    "W:" + "\u202e" * 50,
    "I:linebreak $",
    "P:" + "A" * 1000,
]
ABC_BODY = [
    "GAB c2d|",
    "|" * 50_000,
    "[" * 1000,
    "]" * 1000,
    "(" * 1000,
    "{" * 1000,
    '"' * 101,
    "!" * 51,
    "+" * 51,
    "A" + "2" * 400,
    "A/" * 1000,
    "A" + "/" * 1000,
    "a'" + "'" * 1000,
    "C," + "," * 1000,
    "^" * 100 + "C",
    "z" + "9" * 50,
    "[K:G]" * 1000,
    "[M:0/0]A",
    "[L:1/0]A",
    "&" * 200,
    "|:" * 1000,
    ":|" * 1000,
    "[1" * 500,
    "\x00",
    "\u0301" * 500,
    "🎻" * 100,
    "\ufffd",
    "\r",
    "\\\n" * 500,
    "%" + "x" * 5000,
    "X:2\n",
    "\n\n",
    "\t",
]


@st.composite
def abc_documents(draw: Any, many: bool = True) -> bytes:
    """A tunebook: tunes of hostile headers and bodies, or raw text or bytes (or thousands of tunes)."""
    kind = draw(st.sampled_from(["tunes", "tunes", "text", "bytes", *(["many"] if many else [])]))
    if kind == "bytes":
        return draw(st.binary(max_size=2000))
    if kind == "text":
        return draw(st.text(max_size=500)).encode("utf-8", "surrogatepass")
    if kind == "many":  # ten thousand tiny tunes in one book
        return ("".join(f"X:{i}\nK:G\nA{i % 7}|\n\n" for i in range(draw(st.sampled_from([2000, 10_000]))))).encode()
    tunes = []
    for _ in range(draw(st.integers(1, 3))):
        head = draw(st.lists(st.sampled_from(ABC_HEADERS), max_size=6))
        body = draw(st.lists(st.one_of(st.sampled_from(ABC_BODY), st.text(max_size=30)), max_size=6))
        tunes.append("\n".join(head + body))
    return "\n\n".join(tunes).encode("utf-8", "surrogatepass")


def check_tunes(value: Any) -> None:
    if value is REFUSED:
        return
    tunes, report = value
    for tune in tunes:
        assert isinstance(tune.text, str) and "\x00" not in tune.text, tune
    assert report.read >= len(tunes)


@fuzz_settings(60)
@given(document=abc_documents())
def test_abc_files_are_read_or_refused(document: bytes, fuzz_root: Path) -> None:
    from tunesmith.corpora.abc import read_tunes

    note(f"{document[:500]!r}")
    with sandbox(fuzz_root / "abc") as box:
        path = box / "tunes.abc"
        path.write_bytes(document)
        check_tunes(read_or_refuse("read_tunes", read_tunes, [path]))
        check_tunes(read_or_refuse("read_tunes(max_chars=50)", read_tunes, [path], max_chars=50, keep_comments=True))


@fuzz_settings(20)
@given(document=abc_documents(many=False))  # abc2midi runs once per tune: thousands are for the reader
def test_abc_files_are_rendered_or_refused(document: bytes, fuzz_root: Path) -> None:
    from tunesmith.render.files import render_path

    note(f"{document[:500]!r}")
    with sandbox(fuzz_root / "abc-render") as box:
        path = box / "tunes.abc"
        path.write_bytes(document)
        read_or_refuse("render ABC to MIDI", render_path, path, ("mid",), box / "out")


# --- MIDI --------------------------------------------------------------------------------------------


def vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def good_midi(notes: int = 16, pitch: int = 60, tracks: int = 1) -> bytes:
    import symusic

    score = symusic.Score(480)
    for t in range(tracks):
        track = symusic.Track(program=t % 128)
        for j in range(notes):
            track.notes.append(symusic.Note(j * 240, 200, pitch + (j * 5 + t) % 12, 80))
        score.tracks.append(track)
    return bytes(score.dumps_midi())


MIDI_EVENTS = [
    b"\x90\x3c\x40",  # note on
    b"\x80\x3c\x40",  # note off
    b"\x90\xff\xff",  # data bytes above 127
    b"\x99\x24\x64",  # a drum
    b"\x3c\x40",  # running status with no status before it
    b"\xc0\x05",  # program change
    b"\xe0\x00\x40",  # pitch bend
    b"\xff\x51\x03\x00\x00\x00",  # tempo 0
    b"\xff\x51\x03\xff\xff\xff",  # the slowest tempo
    b"\xff\x51\x00",  # a tempo with no bytes
    b"\xff\x58\x04\x04\xff\x18\x08",  # time signature 4/2**255
    b"\xff\x58\x04\x00\x00\x18\x08",  # time signature 0/1
    b"\xff\x59\x02\x80\x05",  # key signature -128 flats, mode 5
    b"\xff\x03\x8f\xff\xff\x7f",  # a track name claiming 32 MB
    b"\xf0\x8f\xff\xff\x7f\x00",  # sysex claiming 32 MB
    b"\xff\x2f\x00",  # end of track
    b"\xff\x2f\x00\x00\x90\x40\x40",  # events after the end
    b"\xf7\x00",
    b"\xff",
]
DELTAS = [0, 1, 127, 128, 0x3FFF, 0x0FFFFFFF]


@st.composite
def midi_documents(draw: Any) -> bytes:
    kind = draw(st.sampled_from(["built", "built", "mutated", "mutated", "random", "header", "tracks"]))
    if kind == "random":
        return draw(st.binary(max_size=1000))
    if kind == "header":
        return b"MThd" + draw(st.binary(max_size=300))
    if kind == "tracks":  # thousands of tracks, each with a note
        return good_midi(notes=1, tracks=draw(st.sampled_from([300, 2000])))
    if kind == "mutated":
        data = bytearray(good_midi(notes=draw(st.integers(1, 40))))
        for _ in range(draw(st.integers(1, 4))):
            how = draw(st.sampled_from(["set", "cut", "insert", "repeat"]))
            at = draw(st.integers(0, len(data)))
            if how == "set" and at < len(data):
                data[at] = draw(st.integers(0, 255))
            elif how == "cut":
                del data[at:]
            elif how == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=8))
            else:
                data[at:at] = data[at : at + draw(st.integers(1, 64))] * draw(st.integers(2, 50))
        return bytes(data)
    fmt = draw(st.sampled_from([0, 1, 2, 3, 0xFFFF]))
    division = draw(st.sampled_from([0, 1, 96, 480, 0x7FFF, 0x8000, 0xE250, 0xFFFF]))
    chunks = []
    for _ in range(draw(st.integers(0, 3))):
        events = b"".join(
            vlq(draw(st.sampled_from(DELTAS))) + draw(st.sampled_from(MIDI_EVENTS))
            for _ in range(draw(st.integers(0, 12)))
        )
        length = draw(st.sampled_from([len(events), len(events), 0, 0xFFFFFFFF, len(events) + 100, 1]))
        chunks.append(b"MTrk" + struct.pack(">I", length) + events)
    ntracks = draw(st.sampled_from([len(chunks), len(chunks), 0, 0xFFFF]))
    header_length = draw(st.sampled_from([6, 6, 0, 5, 0xFFFFFFFF, 100]))
    return b"MThd" + struct.pack(">IHHH", header_length, fmt, ntracks, division) + b"".join(chunks)


@pytest.fixture(scope="module")
def midi_rep(fuzz_root: Path) -> Any:
    """A fitted MIDI representation (midi-notes), from a tiny prepared folder of good files."""
    from tunesmith.data import PreparedData
    from tunesmith.pipeline.prepare import prepare

    folder = fuzz_root / "good-midi-for-rep"
    folder.mkdir(exist_ok=True)
    for i in range(3):
        (folder / f"good{i}.mid").write_bytes(good_midi(pitch=55 + 4 * i))
    prepare(fuzz_root / "midi-rep-data", input_path=folder, representation="midi-notes")
    return PreparedData.open(fuzz_root / "midi-rep-data").representation


@fuzz_settings(60)
@given(document=midi_documents())
def test_midi_files_are_read_or_refused(document: bytes, fuzz_root: Path, midi_rep: Any) -> None:
    from tunesmith.corpora.midi import clean_score, read_midi_files
    from tunesmith.media.midi_samples import primer_from_midi

    note(f"{len(document)} bytes: {document[:300]!r}")
    with bounded("clean_score"):
        score, reason = clean_score(document)  # documented: never raises on bad bytes
    assert (score is None) == bool(reason), (score, reason)
    with sandbox(fuzz_root / "midi") as box:
        path = box / "piece.mid"
        path.write_bytes(document)
        read = read_or_refuse("read_midi_files", read_midi_files, [path])
        if read is not REFUSED:
            pieces, report = read
            assert len(pieces) + sum(report.skipped.values()) == 1, (pieces, report)
        read_or_refuse("sample --primer-midi", primer_from_midi, midi_rep, path, 2)


@fuzz_settings(20)
@given(document=midi_documents())
def test_midi_files_are_rendered_or_refused(document: bytes, fuzz_root: Path) -> None:
    from tunesmith.render.audio import AudioOptions
    from tunesmith.render.files import render_path

    note(f"{len(document)} bytes: {document[:300]!r}")
    with sandbox(fuzz_root / "midi-render") as box:
        path = box / "piece.mid"
        path.write_bytes(document)
        options = AudioOptions(sample_rate=8000, synth="builtin")
        read_or_refuse("render MIDI to WAV", render_path, path, ("wav",), box / "out", options)


# --- WAV ---------------------------------------------------------------------------------------------


@st.composite
def wav_documents(draw: Any) -> bytes:
    kind = draw(st.sampled_from(["built", "built", "built", "random", "riff", "good-mutated"]))
    if kind == "random":
        return draw(st.binary(max_size=600))
    if kind == "riff":
        return b"RIFF" + draw(st.binary(max_size=4)) + b"WAVE" + draw(st.binary(max_size=300))
    if kind == "good-mutated":
        data = bytearray(tone_wav(seconds=draw(st.sampled_from([0.01, 0.6]))))
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, min(len(data) - 1, 60)))  # the header, mostly
            data[at] = draw(st.integers(0, 255))
        return bytes(data)
    tag = draw(st.sampled_from([1, 3, 0xFFFE, 0, 2, 6, 7, 85, 0xFFFF]))
    channels = draw(st.sampled_from([1, 2, 0, 3, 8, 255, 65535]))
    rate = draw(st.sampled_from([8000, 16000, 44100, 0, 1, 7999, 96001, 192000, 2**31 - 1, 2**32 - 1]))
    bits = draw(st.sampled_from([16, 8, 24, 32, 64, 0, 1, 7, 12, 65535]))
    align = draw(st.sampled_from([max(1, channels * bits // 8) % 65536, 0, 1, 65535]))
    samples = draw(
        st.one_of(
            st.binary(max_size=4000),
            st.sampled_from(
                [
                    b"",
                    b"\x01\x00",  # one sample
                    struct.pack("<f", math.nan) * 8000,
                    struct.pack("<f", math.inf) * 8000,
                    b"\x00" * 32000,  # a second of silence
                    struct.pack("<d", 1e308) * 4000,
                ]
            ),
        )
    )
    data_size = draw(st.sampled_from([len(samples), len(samples), 0, 0xFFFFFFFF, len(samples) * 1000, 1]))
    fmt_size = draw(st.sampled_from([16, 16, 18, 40, 0, 14, 0xFFFFFFFF]))
    fmt = struct.pack("<HHIIHH", tag, channels % 65536, rate, rate * align % 2**32, align, bits)
    fmt = fmt + b"\x00" * max(0, min(fmt_size, 64) - 16)
    extra = draw(
        st.sampled_from(
            [b"", b"LIST\xff\xff\xff\x7f", b"fact\x04\x00\x00\x00\xff\xff\xff\xff", b"odd!\x03\x00\x00\x00abc"]
        )
    )
    body = b"WAVE" + b"fmt " + struct.pack("<I", fmt_size) + fmt + extra
    body += b"data" + struct.pack("<I", data_size) + samples
    riff_size = draw(st.sampled_from([len(body), len(body), 0, 0xFFFFFFFF, 4, len(body) + 1000]))
    return b"RIFF" + struct.pack("<I", riff_size) + body


def tone_wav(seconds: float = 1.0, rate: int = 8000, hz: float = 440.0) -> bytes:
    import io

    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


@fuzz_settings(60)
@given(document=wav_documents(), suffix=st.sampled_from([".wav", ".wav", ".flac", ".mp3", ".aiff"]))
def test_wav_files_are_read_or_refused(document: bytes, suffix: str, fuzz_root: Path) -> None:
    from tunesmith.corpora.audio import load_audio, read_audio_file

    note(f"{len(document)} bytes: {document[:120]!r}")
    with sandbox(fuzz_root / "wav") as box:
        path = box / f"sound{suffix}"
        path.write_bytes(document)
        read = read_or_refuse("read_audio_file", read_audio_file, path, 16_000)
        if read is not REFUSED:
            wave, reason = read
            assert (wave is None) == bool(reason), (wave, reason)
            if wave is not None:
                assert wave.ndim == 1 and wave.dtype == np.float32 and np.isfinite(wave).all()
        wave = read_or_refuse("load_audio", load_audio, path, 16_000, min_seconds=0.0)
        if wave is not REFUSED:
            assert wave.ndim == 1 and np.isfinite(wave).all()
