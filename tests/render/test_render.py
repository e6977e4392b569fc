"""Rendering: real audio from FluidSynth (and the built-in fallback), SVG scores, MusicXML, and the CLI."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import soundfile
import symusic

from tests.cli.test_cli import _fails_cleanly
from tests.conftest import run_cli
from tunesmith.errors import TunesmithError
from tunesmith.render import audio
from tunesmith.render.audio import AudioOptions, choose_synth, program_number, render_audio, write_audio
from tunesmith.render.files import parse_formats, render_file, render_path
from tunesmith.render.midi import abc_to_midi

# Eight quarter notes at 120 per minute: the music lasts 4.0 seconds.
TUNE = "X:1\nT:Scale\nM:4/4\nL:1/4\nQ:1/4=120\nK:C\nCDEF|GABc|]\n"
PITCHES = [60, 62, 64, 65, 67, 69, 71, 72]
# One A (440 Hz) held for two seconds, for looking at spectra.
HELD_A = "X:1\nT:A\nL:1/4\nQ:1/4=60\nK:C\nA2|]\n"
# verovio 6.4 aborts the process (std::out_of_range) on the unclosed annotation; abc2midi plays CDEF.
CRASHES_VEROVIO = 'X:1\nT:Crash\nK:C\nCDEF|"^Segno""_(B2 F)B a2|\n'
PEAK = 10 ** (-1 / 20)
RATE = 22050


def _needs_fluidsynth() -> None:
    """Skip on a machine without FluidSynth, except in CI (.ci/run installs it and sets the variable)."""
    if choose_synth(AudioOptions()).name != "fluidsynth":
        if os.environ.get("TUNESMITH_REQUIRE_FLUIDSYNTH"):
            pytest.fail("FluidSynth or a SoundFont is missing although TUNESMITH_REQUIRE_FLUIDSYNTH is set")
        pytest.skip("needs fluidsynth and a SoundFont: apt-get install fluidsynth timgm6mb-soundfont")


@pytest.fixture
def no_fluidsynth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine with neither the fluidsynth program nor a SoundFont, and a fresh 'warned once' flag."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("TUNESMITH_SOUNDFONT", raising=False)
    monkeypatch.delenv("TUNESMITH_FLUIDSYNTH", raising=False)
    monkeypatch.setattr(audio, "SOUNDFONT_DIRS", ())
    monkeypatch.setattr(audio, "_warned_fallback", False)


def _spectrum(path: Path, start: float, stop: float) -> tuple[np.ndarray, np.ndarray]:
    data, rate = soundfile.read(str(path))
    x = data[int(start * rate) : int(stop * rate), 0]
    return np.fft.rfftfreq(len(x), 1 / rate), np.abs(np.fft.rfft(x * np.hanning(len(x))))


def _centroid(path: Path) -> float:
    freqs, mags = _spectrum(path, 0.1, 1.5)
    return float((freqs * mags).sum() / mags.sum())


def _check_wav(path: Path, rate: int, music_seconds: float) -> np.ndarray:
    head = path.read_bytes()[:12]
    assert head[:4] == b"RIFF" and head[8:12] == b"WAVE"
    info = soundfile.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (rate, 2, "PCM_16")
    data, _ = soundfile.read(str(path))
    assert music_seconds <= len(data) / rate <= music_seconds + audio.TAIL_SECONDS + 0.05
    assert abs(np.abs(data).max() - PEAK) < 2e-3  # peak-normalised to -1 dBFS
    assert np.sqrt(np.mean(data**2)) > 0.02  # clearly audible, not a click
    return data


def test_fluidsynth_renders_the_tune_to_wav(tmp_path: Path) -> None:
    _needs_fluidsynth()
    (tmp_path / "scale.abc").write_text(TUNE)
    report = render_file(tmp_path / "scale.abc", ["wav"], tmp_path / "out", AudioOptions(sample_rate=RATE))
    assert not report.failures
    assert report.outputs[0].detail.startswith("4.") and "fluidsynth" in report.outputs[0].detail
    data = _check_wav(tmp_path / "out" / "scale.wav", RATE, 4.0)
    # each second holds two notes: the music really fills the whole four seconds
    assert all(np.abs(data[int(s * RATE) : int((s + 0.5) * RATE)]).max() > 0.1 for s in range(4))


def test_flac_and_ogg_are_written_and_flac_round_trips(tmp_path: Path) -> None:
    abc_to_midi(TUNE, tmp_path / "scale.mid")
    result = render_audio(tmp_path / "scale.mid", tmp_path / "scale.flac", AudioOptions(sample_rate=RATE))
    info = soundfile.info(str(tmp_path / "scale.flac"))
    assert (info.format, info.samplerate) == ("FLAC", RATE)
    assert abs(info.duration - result.seconds) < 1e-3
    render_audio(tmp_path / "scale.mid", tmp_path / "scale.ogg", AudioOptions(sample_rate=RATE, synth="builtin"))
    assert soundfile.info(str(tmp_path / "scale.ogg")).format == "OGG"
    tone = (0.5 * np.sin(np.arange(RATE) * 2 * np.pi * 440 / RATE)).astype(np.float32)
    write_audio(np.stack([tone, -tone], axis=1), RATE, tmp_path / "tone.flac")
    back, rate = soundfile.read(str(tmp_path / "tone.flac"), dtype="float32")
    assert rate == RATE and np.abs(back[:, 0] - tone).max() < 1 / 32768 + 1e-6
    assert np.abs(back[:, 1] + tone).max() < 1 / 32768 + 1e-6


def test_long_ogg_files_do_not_crash(tmp_path: Path) -> None:
    """One libvorbis call for a whole long tune overflows the stack; write_audio writes in blocks."""
    code = (
        "import sys, numpy as np; from pathlib import Path; from tunesmith.render.audio import write_audio; "
        "x = np.full((2_600_000, 2), 0.1, np.float32); write_audio(x, 8000, Path(sys.argv[1]))"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "long.ogg")], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()[-500:]
    assert soundfile.info(str(tmp_path / "long.ogg")).frames == 2_600_000


def test_program_changes_the_midi_and_the_sound(tmp_path: Path) -> None:
    _needs_fluidsynth()
    (tmp_path / "a.abc").write_text(HELD_A)
    centroids = {}
    for name in ("flute", "piano"):
        out = tmp_path / name
        render_file(
            tmp_path / "a.abc", ["wav", "mid"], out, AudioOptions(program=program_number(name), sample_rate=RATE)
        )
        programs = {t.program for t in symusic.Score(str(out / "a.mid")).tracks}
        assert programs == {audio.GM_PROGRAMS[name]}
        centroids[name] = _centroid(out / "a.wav")
    assert abs(np.log(centroids["flute"] / centroids["piano"])) > 0.2, centroids


def test_program_names_and_numbers() -> None:
    assert [program_number(p) for p in ("fiddle", "Violin", "flute", "tin whistle", "0", "127", None)] == [
        110,
        40,
        73,
        78,
        0,
        127,
        None,
    ]
    for bad in ("kazoo", "128", "-1"):
        with pytest.raises(TunesmithError, match="--program"):
            program_number(bad)


def test_tempo_override_rescales_the_music(tmp_path: Path) -> None:
    (tmp_path / "scale.abc").write_text(TUNE)
    options = AudioOptions(tempo=60, sample_rate=RATE, synth="builtin")
    render_file(tmp_path / "scale.abc", ["wav", "mid"], tmp_path, options)
    assert abs(symusic.Score(str(tmp_path / "scale.mid")).to("second").end() - 8.0) < 0.01
    assert 8.0 <= soundfile.info(str(tmp_path / "scale.wav")).duration <= 8.0 + audio.TAIL_SECONDS


def test_builtin_fallback_sounds_like_an_instrument_and_warns_once(
    no_fluidsynth: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a.abc").write_text(HELD_A)
    (tmp_path / "scale.abc").write_text(TUNE)
    options = AudioOptions(program=program_number("violin"), sample_rate=RATE)
    with caplog.at_level(logging.WARNING, logger="tunesmith.render.audio"):
        held = render_file(tmp_path / "a.abc", ["wav"], tmp_path, options)
        scale = render_file(tmp_path / "scale.abc", ["wav"], tmp_path, options)
    assert [o.detail.split(", ")[1] for o in held.outputs + scale.outputs] == ["builtin", "builtin"]
    warnings = [r.getMessage() for r in caplog.records if "built-in synthesizer" in r.getMessage()]
    assert len(warnings) == 1 and "fluidsynth program" in warnings[0]
    _check_wav(tmp_path / "scale.wav", RATE, 4.0)
    freqs, mags = _spectrum(tmp_path / "a.wav", 0.3, 1.8)
    level = [mags[np.abs(freqs - 440 * k) < 10].max() for k in (1, 2, 3, 4)]
    floor = np.median(mags)
    assert level[0] > 1000 * floor
    assert all(h > 0.05 * level[0] for h in level[1:]), level  # harmonics, not a bare sine


def test_missing_soundfont_falls_back_and_says_why(no_fluidsynth: None, caplog: pytest.LogCaptureFixture) -> None:
    fake = Path(os.environ["PATH"])
    fake.mkdir()
    (fake / "fluidsynth").write_text("#!/bin/sh\nexit 1\n")
    (fake / "fluidsynth").chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="tunesmith.render.audio"):
        assert choose_synth(AudioOptions()).reason.startswith("no General MIDI SoundFont was found (--soundfont")
    assert "built-in synthesizer because no General MIDI SoundFont" in caplog.text
    with pytest.raises(TunesmithError, match="--synth fluidsynth: no General MIDI SoundFont was found"):
        choose_synth(AudioOptions(synth="fluidsynth"))


def test_soundfont_lookup_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    header = b"RIFF\x00\x00\x00\x00sfbk"
    for name in ("Aaa.sf2", "TimGM6mb.sf2", "FluidR3_GM.sf2", "env.sf3", "given.sf2"):
        (tmp_path / name).write_bytes(header)
    (tmp_path / "bad.sf2").write_bytes(b"garbage, not a SoundFont")
    monkeypatch.setattr(audio, "SOUNDFONT_DIRS", (tmp_path / "missing", tmp_path))
    monkeypatch.delenv("TUNESMITH_SOUNDFONT", raising=False)
    assert audio.find_soundfont().name == "FluidR3_GM.sf2"
    (tmp_path / "FluidR3_GM.sf2").unlink()
    assert audio.find_soundfont().name == "TimGM6mb.sf2"
    monkeypatch.setenv("TUNESMITH_SOUNDFONT", str(tmp_path / "env.sf3"))
    assert audio.find_soundfont().name == "env.sf3"
    assert audio.find_soundfont(tmp_path / "given.sf2").name == "given.sf2"
    with pytest.raises(TunesmithError, match="--soundfont: .*bad.sf2 is not a SoundFont"):
        audio.find_soundfont(tmp_path / "bad.sf2")
    monkeypatch.setenv("TUNESMITH_SOUNDFONT", str(tmp_path / "gone.sf2"))
    with pytest.raises(TunesmithError, match="TUNESMITH_SOUNDFONT: SoundFont .*gone.sf2 does not exist"):
        audio.find_soundfont()


def test_svg_is_valid_and_holds_every_note(tmp_path: Path) -> None:
    (tmp_path / "scale.abc").write_text(TUNE)
    report = render_file(tmp_path / "scale.abc", ["svg"], tmp_path)
    assert [p.name for p in report.outputs[0].paths] == ["scale.svg"]
    root = ET.parse(tmp_path / "scale.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert sum(1 for e in root.iter() if e.get("class") == "note") == len(PITCHES)


def test_a_tune_verovio_reads_no_notes_in_is_engraved_through_music21(tmp_path: Path) -> None:
    """A constrained debug-model tune thick with quoted annotations: abc2midi plays it, verovio's ABC reader finds
    no note in it, so the score comes from music21's reader by way of MusicXML (the studio showed no score)."""
    body = '::ve1cd aed/e\'/">sircw )/M/y yoeiv Cili.l f|ls"::">z3 T/r JM. A g| "A2FeBB|cdc4|eAdBfd|dAAddA|AAg:|e|g\n'
    (tmp_path / "quoted.abc").write_text("X:1\nM:6/8\nL:1/8\nK:G\n" + body)
    report = render_file(tmp_path / "quoted.abc", ["svg"], tmp_path)
    assert report.failures == []
    root = ET.parse(tmp_path / "quoted.svg").getroot()
    assert sum(1 for e in root.iter() if e.get("class") == "note") >= 20


def test_long_tunes_get_one_svg_per_page(tmp_path: Path) -> None:
    long = "X:7\nT:Long\nM:4/4\nL:1/8\nK:D\n" + "|: defg abag | f2d2 e4 | dcBA GFED | C8 :|\n" * 40
    (tmp_path / "long.abc").write_text(long)
    paths = render_file(tmp_path / "long.abc", ["svg"], tmp_path).outputs[0].paths
    assert len(paths) >= 2 and [p.name for p in paths[:2]] == ["long.svg", "long-p2.svg"]


def test_musicxml_parses_back_with_the_same_notes(tmp_path: Path) -> None:
    from music21 import converter

    (tmp_path / "scale.abc").write_text(TUNE)
    render_file(tmp_path / "scale.abc", ["musicxml"], tmp_path)
    notes = converter.parse(str(tmp_path / "scale.musicxml")).flatten().notes
    assert [n.pitch.midi for n in notes] == PITCHES


def test_midi_input_renders_to_score_and_audio(tmp_path: Path) -> None:
    abc_to_midi(TUNE, tmp_path / "scale.mid")
    report = render_file(
        tmp_path / "scale.mid", ["svg", "musicxml", "wav"], tmp_path / "out", AudioOptions(synth="builtin")
    )
    assert not report.failures and len(report.outputs) == 3
    svg = (tmp_path / "out" / "scale.svg").read_text()
    assert svg.count('class="note"') == len(PITCHES)
    assert (tmp_path / "out" / "scale.musicxml").read_text().count("<pitch>") == len(PITCHES)


def test_a_tunebook_gives_one_output_per_tune_and_keeps_going(tmp_path: Path) -> None:
    book = (
        TUNE + "\n" + TUNE.replace("X:1", "X:2").replace("CDEF", "FEDC") + "\n" + CRASHES_VEROVIO.replace("X:1", "X:3")
    )
    (tmp_path / "book.abc").write_text(book)
    report = render_file(tmp_path / "book.abc", ["svg", "mid"], tmp_path, AudioOptions(synth="builtin"))
    written = sorted(p.name for o in report.outputs for p in o.paths)
    assert written == ["book-1.mid", "book-1.svg", "book-2.mid", "book-2.svg", "book-3.mid"]
    [failure] = report.failures
    assert (failure.tune, failure.format) == ("3", "svg") and "verovio crashed" in failure.reason


def test_bad_settings_are_refused() -> None:
    with pytest.raises(TunesmithError, match="--sample-rate 1000 is out of range"):
        AudioOptions(sample_rate=1000).check()
    with pytest.raises(TunesmithError, match="--tempo 5000"):
        AudioOptions(tempo=5000).check()
    with pytest.raises(TunesmithError, match=r"--to: unknown format 'mp3'"):
        parse_formats("wav,mp3")
    assert parse_formats("WAV, svg,xml,wav") == ("wav", "svg", "musicxml")


def test_too_long_a_tune_is_refused(tmp_path: Path) -> None:
    abc_to_midi(TUNE, tmp_path / "scale.mid")
    with pytest.raises(TunesmithError, match="lasts 0.1 minutes; the longest render is 0.05 minutes"):
        render_audio(tmp_path / "scale.mid", tmp_path / "x.wav", AudioOptions(max_seconds=3, synth="builtin"))


def test_cli_renders_a_folder(tmp_path: Path) -> None:
    src = tmp_path / "tunes"
    (src / "more").mkdir(parents=True)
    (src / "scale.abc").write_text(TUNE)
    abc_to_midi(HELD_A, src / "more" / "a.mid")
    proc = run_cli(
        "render", src, "--to", "wav,svg", "--out", tmp_path / "out", "--program", "fiddle", "--synth", "builtin"
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("scale.wav", "scale.svg", "more/a.wav", "more/a.svg"):
        assert (tmp_path / "out" / name).is_file(), name
    assert "wrote" in proc.stdout and "4 files in" in proc.stdout and "builtin" in proc.stdout


def test_write_samples_renders_beside_each_tune(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tunesmith.media import abc_samples as sample
    from tunesmith.representations.abc_char import AbcChar
    from tunesmith.sampling import Generated, SampleSettings

    bodies = ["T:Scale\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|]\n", "T:Nothing\nK:C\n"]
    rep = AbcChar.fit(bodies)
    monkeypatch.setattr(sample, "generate_tunes", lambda *a: [Generated(rep.ids(b), True) for b in bodies])
    report = sample.write_samples(
        None, rep, SampleSettings(num=2), tmp_path, render=("wav", "svg"), audio=AudioOptions(synth="builtin")
    )
    assert report.tunes[0]["rendered"] == ["001.wav", "001.svg"] and not report.tunes[0]["render_errors"]
    assert report.tunes[1]["rendered"] == [] and len(report.tunes[1]["render_errors"]) == 2
    assert (tmp_path / "001.wav").is_file() and (tmp_path / "001.svg").is_file()


@pytest.mark.parametrize(
    ("make", "args", "fragments"),
    [
        (None, ["missing.abc"], ["missing.abc does not exist"]),
        ("scale.abc", ["scale.abc", "--to", "wav,mp3"], ["--to: unknown format 'mp3'"]),
        ("bad.mid", ["bad.mid"], ["bad.mid is not a readable MIDI file"]),
        ("binary.abc", ["binary.abc"], ["binary.abc is not an ABC text file"]),
        ("empty.abc", ["empty.abc", "--to", "wav"], ["empty.abc has no music after K:"]),
        ("rests.abc", ["rests.abc", "--to", "wav"], ["rests.abc does not convert to MIDI"]),
        ("scale.abc", ["scale.abc", "--program", "kazoo"], ["--program 'kazoo'"]),
        ("scale.abc", ["scale.abc", "--soundfont", "none.sf2"], ["--soundfont: SoundFont none.sf2 does not exist"]),
        ("scale.abc", ["scale.abc", "--sample-rate", "500"], ["--sample-rate 500 is out of range"]),
    ],
)
def test_cli_render_mistakes_are_one_line(
    tmp_path: Path, make: str | None, args: list[str], fragments: list[str]
) -> None:
    files = {
        "scale.abc": TUNE.encode(),
        "bad.mid": b"MThd\x00\x00\x00\x06garbage",
        "binary.abc": b"\x00\x01\x02X:1\nK:C\n",
        "empty.abc": b"X:1\nT:Nothing here\nK:C\n",
        "rests.abc": b"X:1\nT:Only rests\nK:C\nz4|z4|\n",
    }
    if make:
        (tmp_path / make).write_bytes(files[make])
    _fails_cleanly(run_cli("render", *args, cwd=tmp_path), *fragments)


def test_cli_sample_checks_render_formats_before_loading(tmp_path: Path) -> None:
    _fails_cleanly(run_cli("sample", tmp_path / "no-run", "--render", "wav,aiff"), "--to: unknown format 'aiff'")


def test_render_path_reports_a_bad_file_and_renders_the_rest(tmp_path: Path) -> None:
    (tmp_path / "scale.abc").write_text(TUNE)
    (tmp_path / "bad.mid").write_bytes(b"not midi at all")
    report = render_path(tmp_path, ["mid"], tmp_path / "out")
    assert [p.name for o in report.outputs for p in o.paths] == ["scale.mid"]
    assert len(report.failures) == 1 and "bad.mid is not a readable MIDI file" in report.failures[0].reason
