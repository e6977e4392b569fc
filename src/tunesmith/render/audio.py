"""MIDI → audio (WAV, FLAC, OGG): FluidSynth with a General MIDI SoundFont, or a small built-in synthesizer.

The real synthesizer is the ``fluidsynth`` program, run in a subprocess with a time limit and no
audio driver (``-ni -F``). Its SoundFont is, in order: the ``soundfont`` option (``--soundfont``),
the ``TUNESMITH_SOUNDFONT`` variable, then the first of FluidR3_GM.sf2, TimGM6mb.sf2 or any other
``.sf2``/``.sf3`` in the usual system folders. Where there is no ``fluidsynth`` or no SoundFont, a
built-in additive synthesizer renders the notes instead (harmonics shaped per instrument family,
with an attack/decay/sustain/release envelope), and says once per process why it had to.

A MIDI file is read within the limits of :mod:`tunesmith.render.limits` (:func:`load_midi`: its size
before symusic parses it, then its tracks, notes and end), and a render lasts at most
:data:`MAX_SECONDS`; each synthesizer has :data:`SYNTH_GRACE_SECONDS` plus the music's own length
to finish in.

Every render is trimmed to the music plus at most :data:`TAIL_SECONDS` of release and reverb,
then peak-normalised to :data:`PEAK_DBFS` (-1 dBFS), so files from either synthesizer and from
any SoundFont play at the same level without clipping. The built-in synthesizer itself is
:mod:`tunesmith.render.builtin_synth`.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tunesmith.abc_text import read_bounded, size_text
from tunesmith.errors import TunesmithError
from tunesmith.render.builtin_synth import builtin_synth
from tunesmith.render.limits import (
    MAX_MIDI_BYTES,
    MAX_NOTES,
    MAX_QUARTERS,
    MAX_SECONDS,
    MAX_TRACKS,
    SYNTH_GRACE_SECONDS,
)

if TYPE_CHECKING:
    import symusic

log = logging.getLogger(__name__)

AUDIO_FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS")}
SAMPLE_RATES = (8000, 96000)  # what FluidSynth accepts
TEMPO_RANGE = (10.0, 1000.0)  # quarter notes per minute
PEAK_DBFS = -1.0
TAIL_SECONDS = 1.0
WRITE_BLOCK = 65536  # frames per write
SOUNDFONT_DIRS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/soundfonts"), Path("/usr/local/share/soundfonts"))
PREFERRED_SOUNDFONTS = ("FluidR3_GM.sf2", "TimGM6mb.sf2")

# General MIDI program numbers (0-based, as MIDI files store them) under names people use.
GM_PROGRAMS = {
    "piano": 0, "grand-piano": 0, "bright-piano": 1, "harpsichord": 6, "celesta": 8, "glockenspiel": 9,
    "music-box": 10, "vibraphone": 11, "marimba": 12, "xylophone": 13, "dulcimer": 15, "organ": 19,
    "reed-organ": 20, "accordion": 21, "harmonica": 22, "concertina": 23, "bandoneon": 23, "guitar": 24,
    "nylon-guitar": 24, "steel-guitar": 25, "bass": 32, "violin": 40, "viola": 41, "cello": 42,
    "contrabass": 43, "pizzicato": 45, "harp": 46, "strings": 48, "choir": 52, "trumpet": 56,
    "trombone": 57, "tuba": 58, "horn": 60, "french-horn": 60, "brass": 61, "soprano-sax": 64,
    "alto-sax": 65, "tenor-sax": 66, "oboe": 68, "english-horn": 69, "bassoon": 70, "clarinet": 71,
    "piccolo": 72, "flute": 73, "recorder": 74, "pan-flute": 75, "whistle": 78, "tin-whistle": 78,
    "ocarina": 79, "sitar": 104, "banjo": 105, "koto": 107, "bagpipe": 109, "pipes": 109, "fiddle": 110,
    "shanai": 111,
}  # fmt: skip

_warned_fallback = False


@dataclass(frozen=True)
class AudioOptions:
    """How to turn MIDI into sound. ``program`` replaces every non-drum instrument; ``tempo`` (quarter
    notes per minute) rescales all tempo marks so the first one becomes it; None keeps the file's."""

    soundfont: Path | None = None
    program: int | None = None
    tempo: float | None = None
    sample_rate: int = 44100
    synth: str = "auto"  # auto | fluidsynth | builtin
    max_seconds: float = MAX_SECONDS

    def check(self) -> AudioOptions:
        lo, hi = SAMPLE_RATES
        if not lo <= self.sample_rate <= hi:
            raise TunesmithError(f"--sample-rate {self.sample_rate} is out of range: choose {lo} to {hi} Hz")
        if self.tempo is not None and not TEMPO_RANGE[0] <= self.tempo <= TEMPO_RANGE[1]:
            lo_t, hi_t = TEMPO_RANGE
            raise TunesmithError(
                f"--tempo {self.tempo:g} is out of range: choose {lo_t:g} to {hi_t:g} quarter notes/min"
            )
        if self.program is not None and not 0 <= self.program <= 127:
            raise TunesmithError(f"--program {self.program} is out of range: choose 0 to 127 or a name")
        if self.synth not in ("auto", "fluidsynth", "builtin"):
            raise TunesmithError(f"--synth {self.synth!r} is unknown: choose auto, fluidsynth or builtin")
        if not 0 < self.max_seconds <= MAX_SECONDS:
            raise TunesmithError(f"the longest render is {MAX_SECONDS / 60:g} minutes")
        return self


def program_number(value: str | int | None) -> int | None:
    """A General MIDI program from a number 0-127 or a name such as ``fiddle``, ``flute``, ``piano``."""
    if value is None or isinstance(value, int):
        return value
    text = value.strip().lower().replace(" ", "-").replace("_", "-")
    if text.isdigit() and 0 <= int(text) <= 127:
        return int(text)
    if text in GM_PROGRAMS:
        return GM_PROGRAMS[text]
    names = ", ".join(sorted({"fiddle", "violin", "piano", "flute", "whistle", "accordion", "harp", "guitar"}))
    raise TunesmithError(f"--program {value!r} is neither 0-127 nor a known instrument (e.g. {names})")


@dataclass(frozen=True)
class Synth:
    """The synthesizer a render will use, and why the built-in one was chosen where it was."""

    name: str  # fluidsynth | builtin
    exe: str | None = None
    soundfont: Path | None = None
    reason: str = ""

    @property
    def label(self) -> str:
        return f"fluidsynth ({self.soundfont.name})" if self.soundfont else "builtin"


def _check_soundfont(path: Path, where: str) -> Path:
    if not path.is_file():
        raise TunesmithError(f"{where}: SoundFont {path} does not exist")
    with path.open("rb") as f:
        head = f.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise TunesmithError(f"{where}: {path} is not a SoundFont (.sf2/.sf3 files start with RIFF…sfbk)")
    return path


def find_soundfont(explicit: Path | str | None = None) -> Path | None:
    """The SoundFont to use: ``explicit``, else ``TUNESMITH_SOUNDFONT``, else the system folders (or None)."""
    if explicit:
        return _check_soundfont(Path(explicit), "--soundfont")
    if os.environ.get("TUNESMITH_SOUNDFONT"):
        return _check_soundfont(Path(os.environ["TUNESMITH_SOUNDFONT"]), "TUNESMITH_SOUNDFONT")
    for folder in SOUNDFONT_DIRS:
        if not folder.is_dir():
            continue
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".sf2", ".sf3") and p.is_file())
        for name in PREFERRED_SOUNDFONTS:
            if folder / name in found:
                return folder / name
        if found:
            return found[0]
    return None


def choose_synth(options: AudioOptions, *, warn: bool = True) -> Synth:
    """FluidSynth where it and a SoundFont exist (or are demanded), else the built-in synthesizer.

    Falling back is logged once per process (with ``warn``; a check before any rendering passes False).
    """
    if options.synth == "builtin":
        return Synth("builtin", reason="asked for")
    exe = os.environ.get("TUNESMITH_FLUIDSYNTH") or shutil.which("fluidsynth")
    soundfont = find_soundfont(options.soundfont)
    if exe and soundfont:
        return Synth("fluidsynth", exe, soundfont)
    if not exe:
        reason = "the fluidsynth program is not on PATH"
    else:
        places = ", ".join(["--soundfont", "TUNESMITH_SOUNDFONT", *map(str, SOUNDFONT_DIRS)])
        reason = f"no General MIDI SoundFont was found ({places})"
    if options.synth == "fluidsynth":
        raise TunesmithError(f"--synth fluidsynth: {reason}; apt-get install fluidsynth timgm6mb-soundfont")
    global _warned_fallback
    if warn and not _warned_fallback:
        _warned_fallback = True
        log.warning(
            f"warning: rendering audio with tunesmith's built-in synthesizer because {reason}; "
            "install fluidsynth and a SoundFont (e.g. timgm6mb-soundfont) for real instruments"
        )
    return Synth("builtin", reason=reason)


def load_midi(path: Path | str) -> symusic.Score:
    """Read a MIDI file with symusic, within the render limits: a file over :data:`MAX_MIDI_BYTES` is
    refused before it is parsed, and a score over :func:`check_limits` before anything is made of it.
    A damaged or oversized file is a TunesmithError naming it."""
    import symusic

    path = Path(path)
    if not path.is_file():
        raise TunesmithError(f"{path} does not exist")
    data = read_bounded(path, MAX_MIDI_BYTES)
    if data is None:
        raise TunesmithError(f"{path} is larger than {size_text(MAX_MIDI_BYTES)}, the largest MIDI file render reads")
    try:
        score = symusic.Score.from_midi(data)
    except Exception as exc:  # symusic raises plain RuntimeError on bad MIDI
        raise TunesmithError(f"{path} is not a readable MIDI file ({str(exc).splitlines()[0]})") from None
    return check_limits(score, str(path))


def check_limits(score: symusic.Score, name: str) -> symusic.Score:
    """``score`` if it is within :data:`MAX_TRACKS`, :data:`MAX_NOTES` and :data:`MAX_QUARTERS` (its
    end, in quarter notes: one huge delta time puts it months away), else a TunesmithError naming the limit."""
    if len(score.tracks) > MAX_TRACKS:
        raise TunesmithError(f"{name} has {len(score.tracks):,} tracks; render takes at most {MAX_TRACKS}")
    if score.note_num() > MAX_NOTES:
        raise TunesmithError(f"{name} has {score.note_num():,} notes; render takes at most {MAX_NOTES:,}")
    if score.ticks_per_quarter <= 0:
        raise TunesmithError(f"{name} is not a readable MIDI file (its division is {score.ticks_per_quarter})")
    quarters = score.end() / score.ticks_per_quarter
    if quarters > MAX_QUARTERS:
        raise TunesmithError(
            f"{name} ends after {quarters:,.0f} quarter notes (a corrupt delta time?); "
            f"render takes at most {MAX_QUARTERS:,}"
        )
    return score


def apply_options(score: symusic.Score, options: AudioOptions, name: str) -> symusic.Score:
    """A copy of ``score`` with the chosen program and tempo, checked to be within the length limit."""
    import symusic

    score = score.copy()
    if options.program is not None:
        for track in score.tracks:
            if not track.is_drum:
                track.program = options.program
    if options.tempo is not None:
        first = score.tempos[0].qpm if len(score.tempos) else 120.0
        factor = options.tempo / first
        tempos = [symusic.Tempo(t.time, qpm=t.qpm * factor) for t in score.tempos] or [
            symusic.Tempo(0, qpm=options.tempo)
        ]
        score.tempos = tempos
    if score.note_num() == 0:
        raise TunesmithError(f"{name} has no notes to render")
    seconds = score_seconds(score)
    if seconds > options.max_seconds:
        raise TunesmithError(
            f"{name} lasts {seconds / 60:.1f} minutes; the longest render is {options.max_seconds / 60:g} minutes"
        )
    return score


def score_seconds(score: symusic.Score) -> float:
    """When the last note ends, in seconds."""
    return float(score.to("second").end())


@dataclass
class AudioResult:
    path: Path
    seconds: float
    synth: str


def render_audio(
    midi: Path | str | symusic.Score, out: Path | str, options: AudioOptions | None = None, name: str | None = None
) -> AudioResult:
    """Render a MIDI file (or a symusic Score) to ``out``; the suffix picks WAV, FLAC or OGG."""
    options = (options or AudioOptions()).check()
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in AUDIO_FORMATS:
        raise TunesmithError(f"{out}: audio files end in {', '.join('.' + f for f in AUDIO_FORMATS)}")
    if isinstance(midi, (str, Path)):
        name = name or str(midi)
        midi = load_midi(midi)
    name = name or out.stem
    score = apply_options(midi, options, name)
    synth = choose_synth(options)
    samples = synthesize(score, options.sample_rate, synth, name)
    write_audio(samples, options.sample_rate, out)
    return AudioResult(out, len(samples) / options.sample_rate, synth.label)


def synthesize(score: symusic.Score, sample_rate: int, synth: Synth, name: str = "tune") -> np.ndarray:
    """Stereo float32 samples ``(frames, 2)``: trimmed, faded out and peak-normalised to PEAK_DBFS."""
    end = score_seconds(score)
    if synth.name == "fluidsynth":
        audio = _fluidsynth(score, sample_rate, synth, end, name)
    else:
        timeout = SYNTH_GRACE_SECONDS + end
        try:
            audio = builtin_synth(score, sample_rate, timeout=timeout)
        except TimeoutError:
            raise TunesmithError(f"{name}: the built-in synthesizer took longer than {timeout:.0f} s") from None
    return finish(audio, sample_rate, end, name)


def finish(audio: np.ndarray, sample_rate: int, end: float, name: str) -> np.ndarray:
    """Trim to the music plus at most TAIL_SECONDS, drop trailing near-silence, fade, normalise the peak."""
    audio = np.ascontiguousarray(audio[: int((end + TAIL_SECONDS) * sample_rate)], dtype=np.float32)
    flat = audio.reshape(-1)  # whole-array reductions: numpy is slow along a 2-wide axis
    peak = float(np.abs(flat).max()) if flat.size else 0.0
    if peak <= 0 or not np.isfinite(peak):
        raise TunesmithError(f"{name}: the synthesizer produced silence (does the SoundFont have the instrument?)")
    quiet_end = int(np.argmax(np.abs(flat[::-1]) > peak * 1e-4))  # samples after the last one above -80 dB
    audio = audio[: max((flat.size - quiet_end + 1) // audio.shape[1], int(end * sample_rate))]
    fade = min(len(audio), int(0.02 * sample_rate))
    audio[len(audio) - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    audio *= np.float32(10 ** (PEAK_DBFS / 20) / peak)
    return audio


def write_audio(samples: np.ndarray, sample_rate: int, out: Path) -> None:
    import soundfile

    container, subtype = AUDIO_FORMATS[out.suffix.lower().lstrip(".")]
    out.parent.mkdir(parents=True, exist_ok=True)
    # In blocks: libvorbis allocates the whole buffer on the stack, so one OGG write of a few
    # minutes overflows it and kills the process (libsndfile#1095, python-soundfile#426).
    with soundfile.SoundFile(str(out), "w", sample_rate, samples.shape[1], subtype, format=container) as f:
        for start in range(0, len(samples), WRITE_BLOCK):
            f.write(samples[start : start + WRITE_BLOCK])


def _fluidsynth(score: symusic.Score, sample_rate: int, synth: Synth, end: float, name: str) -> np.ndarray:
    import soundfile

    assert synth.exe and synth.soundfont
    with tempfile.TemporaryDirectory(prefix="tunesmith-synth-") as tmp:
        midi, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        score.dump_midi(str(midi))
        cmd = [synth.exe, "-ni", "-q", "-g", "0.5", "-r", str(sample_rate), "-O", "float", "-T", "wav"]
        cmd += ["-F", str(wav), str(synth.soundfont), str(midi)]
        timeout = SYNTH_GRACE_SECONDS + end  # real time and a minute; FluidSynth is 100x faster
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TunesmithError(f"{name}: fluidsynth took longer than {timeout:.0f} s") from None
        complaint = next((ln.strip() for ln in proc.stderr.splitlines() if "error" in ln.lower()), "")
        failed = proc.returncode != 0 or not wav.is_file()
        if not failed:
            audio, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
            failed = bool(complaint) and not audio.any()  # it wrote silence and said why
        if failed:
            detail = complaint or f"exit status {proc.returncode}"
            raise TunesmithError(f"{name}: fluidsynth failed with {synth.soundfont} ({detail})")
    if rate != sample_rate:
        raise TunesmithError(f"{name}: fluidsynth wrote {rate} Hz instead of {sample_rate} Hz")
    return audio
