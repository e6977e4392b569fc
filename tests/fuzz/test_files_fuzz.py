"""Hostile ABC, MIDI, WAV and JSON files for every reader, and folders of good and hostile files for prepare.

Each reader must give back what it reads or raise :class:`TunesmithError` (never another exception),
inside the hang and memory guards of ``conftest.bounded``:

- ABC text (random bytes, header-only tunes, thousands of bars or tunes, unbalanced brackets, weird
  unicode) through the corpus reader and the renderer (``abc2midi``);
- MIDI bytes (random, a header and random chunks, hand-built files with huge delta times, thousands of
  tracks, broken meta events, and mutations of a valid file) through the corpus reader, the MIDI
  primer of ``sample --primer-midi`` and the renderer's built-in synthesizer;
- WAV files (every header field wrong in turn: 0 channels, 0 Hz, 64-bit samples, sizes that claim
  gigabytes, one sample, NaN samples) through the corpus reader and ``load_audio``;
- JSON documents (deep, huge, NaN and 1e400, duplicate keys, invalid UTF-8, special files) through
  ``tunesmith.untrusted``: what it returns must be of the expected type, finite and no deeper than
  its limit.

Then ``tunesmith prepare`` on a folder of good files plus hostile ones must succeed from the good ones
and account for every file: its pieces are in the prepared sources, or it is listed in skipped.tsv.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.fuzz.conftest import GOOD_TUNES, bounded, fuzz_settings, json_values, sandbox
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


# --- JSON --------------------------------------------------------------------------------------------

JSON_TEXTS = [
    "",
    "null",
    "[]",
    "{}",
    "NaN",
    '{"a": NaN}',
    '{"a": [Infinity]}',
    '{"a": -Infinity}',
    '{"a": 1e400}',
    '{"a": -1e400}',
    '{"a": [1e309, 2]}',
    '{"a": ' + "9" * 5000 + "}",
    '{"a": 1, "a": 2}',
    "\ufeff{}",
    '{"a": "\\ud800"}',
    '{"a": "\x00"}',
    '{"a": "\\u0000"}',
    '{"a": 1,}',
    "{" * 33,
    '{"a":' * 33 + "1" + "}" * 33,
    "[" * 32 + "]" * 32,
    "[" * 33 + "]" * 33,
    "[" * 100_000 + "]" * 100_000,
    '["\\\\"' + "[" * 40 + "]" * 40 + "]",  # an escaped backslash before the quote that ends a string
    '["\\"' + "[" * 40 + '"]',  # an escaped quote: the brackets are inside the string
    '{"a": "' + "x" * 100_000 + '"}',
    "[" + "0," * 100_000 + "0]",
]
SCANNER_ALPHABET = '[]{}",:\\0123456789e-+. tnaulrsfINy\n'


@st.composite
def json_documents(draw: Any, big: bool = True) -> bytes:
    kinds = ["value", "value", "text", "text", "scanner", "scanner", "bytes", "bytes", *(["big"] if big else [])]
    kind = draw(st.sampled_from(kinds))
    if kind == "value":
        return json.dumps(draw(json_values), ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if kind == "text":
        return draw(st.sampled_from(JSON_TEXTS)).encode("utf-8", "surrogatepass")
    if kind == "scanner":  # text near JSON's grammar, to trip the depth scanner against the parser
        return draw(st.text(alphabet=SCANNER_ALPHABET, max_size=200)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    size = draw(st.sampled_from([16 * 1024 * 1024 + 1, 4_000_004]))  # over the byte limit, or the item limit
    return b"[" + b"0," * (size // 2) + b"0]"


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def finite_everywhere(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_everywhere(v) for v in value.values())
    if isinstance(value, list):
        return all(finite_everywhere(v) for v in value)
    return True


def check_json(value: Any, expect: type, max_depth: int) -> None:
    if value is REFUSED:
        return
    assert isinstance(value, expect), type(value)
    assert finite_everywhere(value), f"NaN or Infinity came through: {str(value)[:200]}"
    assert depth(value) <= max_depth, f"nested {depth(value)} deep, over the limit of {max_depth}"


@fuzz_settings(60)
@given(document=json_documents(), expect=st.sampled_from([dict, list]))
def test_json_documents_are_read_or_refused(document: bytes, expect: type, fuzz_root: Path) -> None:
    from tunesmith.untrusted import MAX_JSON_DEPTH, parse_json, read_json

    note(f"{len(document)} bytes: {document[:300]!r}")
    with sandbox(fuzz_root / "json") as box:
        path = box / "doc.json"
        path.write_bytes(document)
        check_json(read_or_refuse("read_json", read_json, path, expect=expect), expect, MAX_JSON_DEPTH)
        if len(document) > 1 << 20:
            return  # a document of megabytes is read once: scanning it three times is all the CI budget
        check_json(
            read_or_refuse("parse_json", parse_json, document, "doc.json", expect=expect), expect, MAX_JSON_DEPTH
        )
        check_json(read_or_refuse("read_json(max_depth=2)", read_json, path, expect=expect, max_depth=2), expect, 2)


def test_special_files_are_refused_as_json(fuzz_root: Path) -> None:
    """A FIFO, /dev/zero behind a link, a folder, a loop of links, a missing file: refused at once."""
    from tunesmith.untrusted import read_json

    with sandbox(fuzz_root / "json-special") as box:
        os.mkfifo(box / "fifo.json")
        (box / "zero.json").symlink_to("/dev/zero")
        (box / "folder.json").mkdir()
        (box / "loop.json").symlink_to(box / "loop.json")
        for name in ("fifo.json", "zero.json", "folder.json", "loop.json", "missing.json"):
            assert read_or_refuse(f"read_json {name}", read_json, box / name) is REFUSED, name
        for special in ("/proc/self/mem", "/proc/self/status", "/dev/null"):
            assert read_or_refuse(f"read_json {special}", read_json, special) is REFUSED, special


# --- prepare: good files and hostile ones ------------------------------------------------------------


def accounted(out: Path, names: list[str]) -> list[str]:
    """The files of ``names`` that the prepared folder neither holds pieces of nor lists as skipped."""
    sources = set()
    for split in ("train", "val"):
        if (out / f"{split}_sources.json").is_file():
            sources |= {Path(s[0]).name for s in json.loads((out / f"{split}_sources.json").read_text())}
    skipped = {Path(line.split("\t")[0]).name for line in (out / "skipped.tsv").read_text().splitlines()[1:]}
    return [n for n in names if n not in sources | skipped]


def prepare_mixed(box: Path, good: dict[str, bytes], hostile: list[bytes], suffix: str, *extra: str) -> None:
    """``tunesmith prepare`` on good files plus hostile ones: it succeeds, keeps the good, accounts for all."""
    from tunesmith.cli import app

    folder = box / "corpus"
    folder.mkdir()
    for name, data in good.items():
        (folder / name).write_bytes(data)
    names = [f"z_hostile_{i}{suffix}" for i in range(len(hostile))]
    for name, data in zip(names, hostile, strict=True):
        (folder / name).write_bytes(data)
    argv = ["prepare", "--input", str(folder), "--out", str(box / "out"), *extra]
    with bounded("tunesmith prepare on a mixed folder"):
        result = CliRunner().invoke(app, argv)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise AssertionError("".join(traceback.format_exception(*result.exc_info))[-4000:])
    assert result.exit_code == 0, f"prepare failed on good files mixed with hostile ones: {result.stderr!r}"
    meta = json.loads((box / "out" / "meta.json").read_text())
    kept = meta.get("tunes_kept", meta.get("pieces_kept"))
    assert kept >= len(good) if suffix != ".abc" else kept >= len(GOOD_TUNES), meta
    missing = accounted(box / "out", list(good) + names)
    assert not missing, f"files neither prepared nor listed in skipped.tsv: {missing}"


@fuzz_settings(8)
@given(hostile=st.lists(abc_documents(many=False), min_size=1, max_size=3))
def test_prepare_keeps_good_tunes_and_reports_hostile_files(hostile: list[bytes], fuzz_root: Path) -> None:
    good = {f"a_book{i}.abc": "\n".join(GOOD_TUNES[3 * i : 3 * i + 3]).encode() for i in range(2)}
    with sandbox(fuzz_root / "prepare-abc") as box:
        prepare_mixed(box, good, hostile, ".abc")


@fuzz_settings(8)
@given(hostile=st.lists(midi_documents(), min_size=1, max_size=3), rep=st.sampled_from(["midi-notes", "pianoroll"]))
def test_prepare_keeps_good_midi_and_reports_hostile_files(hostile: list[bytes], rep: str, fuzz_root: Path) -> None:
    good = {f"a_good{i}.mid": good_midi(pitch=50 + 5 * i) for i in range(3)}
    with sandbox(fuzz_root / "prepare-midi") as box:
        prepare_mixed(box, good, hostile, ".mid", "--representation", rep)


@fuzz_settings(8)
@given(hostile=st.lists(wav_documents(), min_size=1, max_size=3))
def test_prepare_keeps_good_audio_and_reports_hostile_files(hostile: list[bytes], fuzz_root: Path) -> None:
    good = {f"a_good{i}.wav": tone_wav(hz=220.0 * (i + 1)) for i in range(3)}
    with sandbox(fuzz_root / "prepare-audio") as box:
        prepare_mixed(box, good, hostile, ".wav", "--representation", "audio-spectral", "--sample-rate", "8000")


def test_generators_make_valid_files_too(fuzz_root: Path) -> None:
    """The starting points of the mutations are themselves readable, so the mutations test something."""
    from tunesmith.corpora.audio import read_audio_file
    from tunesmith.corpora.midi import clean_score

    assert clean_score(good_midi())[1] == ""
    with sandbox(fuzz_root / "generators") as box:
        (box / "tone.wav").write_bytes(tone_wav())
        wave, reason = read_audio_file(box / "tone.wav", 8000)
        assert reason == "" and wave is not None
    shutil.rmtree(fuzz_root / "generators", ignore_errors=True)
