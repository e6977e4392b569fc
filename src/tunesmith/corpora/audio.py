"""Read audio files into clean mono waves: the user's recordings, and the cached renders of the built-in corpora.

A user folder is searched recursively for whatever libsndfile reads (:data:`AUDIO_SUFFIXES`: WAV,
FLAC, OGG/Vorbis/Opus, AIFF, AU, CAF, W64, RF64, MP3). Each file is read in blocks of
:data:`BLOCK` frames, so one long file never needs its whole original-rate, multi-channel
form in memory, and cleaned in stated ways:

- channels are averaged to mono (a stereo recording becomes (L + R) / 2);
- it is resampled to the representation's rate with soxr (high quality), block by block;
- loudness is normalised: the RMS of the whole piece goes to -20 dBFS, unless that would push the
  peak above -1 dBFS, in which case the peak goes to -1 dBFS. Quiet and loud recordings then
  train alike, and nothing clips.

Every file that is not kept is counted under one reason (:data:`SKIP_REASONS`), and nothing in a bad
file crashes the read. The header is checked before any sample is decoded (``probe``): the wrong
kind of file, a truncated WAV or AIFF (the file is shorter than its header says), no samples, more
than 2 channels, a rate outside 8-96 kHz (192 kHz is refused, not decimated), under 0.5 s, or over
an hour (:data:`MAX_SECONDS`). A file over the length cap is skipped, not cut: its header says so
before any decoding, and a cut piece would end mid-phrase. Decoding then catches NaN or infinite
samples, corrupt data and silence (a peak under -60 dBFS), and stops as ``too_long`` the moment a
file decodes to more than the cap, whatever its header claimed (a compressed file's length is the
encoder's word). Memory is the decoded piece at the model's rate, held twice while its blocks are
joined: 4 bytes a sample, so an hour at 16 kHz is 230 MB (0.7 GB at 48 kHz), never the file's own
rate or channels.

The built-in audio corpora (the symbolic ones rendered by a synthesizer and cached) are read by
:mod:`tunesmith.media.audio_builtin`, which needs the rendering layer; this module reads audio files
only, and hands both the same checks and loudness rule (:func:`read_found`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.corpora.abc import ReadReport, find_files, source_name
from tunesmith.errors import TunesmithError
from tunesmith.stft import check_sample_rate

AUDIO_SUFFIXES = (
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".aiff", ".aif", ".aifc", ".au", ".snd", ".caf", ".w64",
    ".rf64", ".mp3",
)  # fmt: skip
INPUT_RATES = (8_000, 96_000)  # Hz a file may have; it is resampled to the representation's rate
MAX_CHANNELS = 2
MIN_SECONDS = 0.5
MAX_SECONDS = 60 * 60.0  # an hour: a whole concert or album side is one piece
SILENCE_DBFS = -60.0
RMS_DBFS = -20.0
PEAK_DBFS = -1.0
BLOCK = 1 << 16  # frames per read

# Reasons a file (or a built-in piece) is skipped; the keys appear in reports and skipped.tsv.
SKIP_REASONS = {
    "not_audio": "not audio (a wrong extension?)",
    "corrupt": "corrupt or truncated",
    "empty": "empty (no samples)",
    "too_short": f"shorter than {MIN_SECONDS:g} s",
    "too_long": f"longer than {MAX_SECONDS / 60:g} minutes (skipped, not cut)",
    "silent": f"silent (peak below {SILENCE_DBFS:g} dBFS)",
    "not_finite": "NaN or infinite samples",
    "channels": f"more than {MAX_CHANNELS} channels",
    "sample_rate": f"sample rate outside {INPUT_RATES[0] // 1000}-{INPUT_RATES[1] // 1000} kHz",
    "abc2midi": "abc2midi could not convert the tune",
    "render": "the synthesizer could not render it",
}

# First bytes of the containers libsndfile reads: a file that starts otherwise is not audio at all.
_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"BW64", b"riff", b"fLaC", b"OggS", b"FORM", b".snd", b"caff", b"ID3")


@dataclass
class AudioPiece:
    """One cleaned mono wave at ``sample_rate`` and where it came from."""

    wave: np.ndarray  # float32, loudness-normalised
    sample_rate: int
    source: str  # path relative to the input folder, or the corpus file it was rendered from
    ref: str

    @property
    def seconds(self) -> float:
        return len(self.wave) / self.sample_rate


@dataclass(frozen=True)
class AudioSource:
    """Something that becomes one piece of audio: a user's file, or a built-in piece still to render."""

    source: str
    ref: str = ""
    path: Path | None = None  # a user's audio file
    score: Any = None  # a built-in MIDI piece (symusic Score)
    abc: str | None = None  # a built-in folk tune (ABC text without its X: line)


def reason_text(key: str) -> str:
    """The words for a skip reason, whichever reader (audio, MIDI, ABC) counted it."""
    from tunesmith.corpora.abc import SKIP_REASONS as ABC
    from tunesmith.corpora.midi import SKIP_REASONS as MIDI

    return SKIP_REASONS.get(key) or MIDI.get(key) or ABC.get(key) or key


def find_audio_files(root: Path) -> list[Path]:
    """``root`` itself if it is a file, else every audio file below it (any case of suffix), sorted."""
    return find_files(root, AUDIO_SUFFIXES)


# --- one file ------------------------------------------------------------------------------------


def _not_audio_or_corrupt(path: Path) -> str:
    """Why libsndfile refused a file: it does not even start like audio, or it is broken."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError:
        return "corrupt"
    mp3_sync = len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
    return "corrupt" if head.startswith(_MAGIC) or mp3_sync else "not_audio"


def _truncated(path: Path) -> bool:
    """A RIFF (WAV) or FORM (AIFF) file shorter than its header's own size: cut off in a copy or download.

    libsndfile reads such a file up to where it stops, which would silently keep a fragment. Sizes
    0 and 0xFFFFFFFF are what streaming writers put before they know the length, and one byte of slack
    allows for a missing pad byte."""
    with path.open("rb") as f:
        head = f.read(8)
    if len(head) < 8 or head[:4] not in (b"RIFF", b"FORM"):
        return False
    declared = int.from_bytes(head[4:8], "little" if head[:4] == b"RIFF" else "big")
    return declared not in (0, 0xFFFFFFFF) and path.stat().st_size < declared + 8 - 1


def probe(path: Path, *, min_seconds: float = MIN_SECONDS, max_seconds: float = MAX_SECONDS) -> str:
    """The reason to skip ``path`` from its header alone, or "" if it looks usable; decodes no samples."""
    import soundfile

    try:
        info = soundfile.info(str(path))
        if _truncated(path):
            return "corrupt"
    except OSError as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise TunesmithError(f"cannot read {path}: {exc.strerror}") from None
        return _not_audio_or_corrupt(path)
    except Exception:  # libsndfile raises its own error types (LibsndfileError, RuntimeError) on bad headers
        return _not_audio_or_corrupt(path)
    if info.channels > MAX_CHANNELS:
        return "channels"
    if not INPUT_RATES[0] <= info.samplerate <= INPUT_RATES[1]:
        return "sample_rate"
    if info.frames <= 0:
        return "empty"
    seconds = info.frames / info.samplerate
    if seconds < min_seconds:
        return "too_short"
    if seconds > max_seconds:
        return "too_long"
    return ""


def normalise_loudness(wave: np.ndarray) -> np.ndarray:
    """RMS to -20 dBFS, but the peak no higher than -1 dBFS (in place; a silent wave is left alone)."""
    peak = float(np.abs(wave).max(initial=0.0))
    rms = float(np.sqrt(np.mean(np.square(wave, dtype=np.float64)))) if wave.size else 0.0
    if peak > 0 and rms > 0:
        wave *= np.float32(min(10 ** (RMS_DBFS / 20) / rms, 10 ** (PEAK_DBFS / 20) / peak))
    return wave


def _decode(path: Path, sample_rate: int, max_seconds: float = MAX_SECONDS) -> tuple[np.ndarray | None, str]:
    """Every sample of ``path`` as mono at ``sample_rate``, read and resampled block by block; ``too_long``
    as soon as it passes ``max_seconds``, whatever the header said."""
    import soundfile
    import soxr

    parts: list[np.ndarray] = []
    most, total = int(max_seconds * sample_rate) + BLOCK, 0  # a block of slack for the resampler
    try:
        with soundfile.SoundFile(str(path)) as f:
            stream = None if f.samplerate == sample_rate else soxr.ResampleStream(f.samplerate, sample_rate, 1)
            for block in f.blocks(blocksize=BLOCK, dtype="float32", always_2d=True):
                if not np.isfinite(block).all():
                    return None, "not_finite"
                mono = np.ascontiguousarray(block.mean(axis=1) if block.shape[1] > 1 else block[:, 0])
                parts.append(stream.resample_chunk(mono) if stream else mono)
                total += len(parts[-1])
                if total > most:
                    return None, "too_long"
            if stream:
                parts.append(stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    except (FileNotFoundError, PermissionError) as exc:
        raise TunesmithError(f"cannot read {path}: {exc.strerror}") from None
    except Exception:  # libsndfile errors on corrupt data surface here, mid-file
        return None, "corrupt"
    return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)), ""


def read_audio_file(
    path: Path,
    sample_rate: int,
    *,
    min_seconds: float = MIN_SECONDS,
    max_seconds: float = MAX_SECONDS,
    normalise: bool = True,
) -> tuple[np.ndarray | None, str]:
    """One file as a clean float32 mono wave at ``sample_rate``, or ``(None, reason)``; never raises on bad bytes."""
    reason = probe(path, min_seconds=min_seconds, max_seconds=max_seconds)
    if reason:
        return None, reason
    wave, reason = _decode(path, sample_rate, max_seconds)
    if wave is None:
        return None, reason
    if wave.size == 0:
        return None, "empty"
    if wave.size < min_seconds * sample_rate:
        return None, "too_short"
    if float(np.abs(wave).max()) < 10 ** (SILENCE_DBFS / 20):
        return None, "silent"
    return (normalise_loudness(wave) if normalise else wave), ""


def load_audio(
    path: Path | str,
    sample_rate: int,
    *,
    max_seconds: float = MAX_SECONDS,
    min_seconds: float = 0.0,
    normalise: bool = True,
) -> np.ndarray:
    """One audio file (a prompt, a file to reconstruct) as a clean float32 mono wave at ``sample_rate``,
    loudness-normalised as the training corpus is; a problem is a TunesmithError naming the file."""
    path = Path(path)
    check_sample_rate(sample_rate)
    if not 0 < max_seconds <= MAX_SECONDS or not 0 <= min_seconds <= max_seconds:
        raise TunesmithError(f"audio lengths must satisfy 0 <= min <= max <= {MAX_SECONDS:g} s")
    if not path.is_file():
        raise TunesmithError(f"{path} does not exist or is not a file")
    wave, reason = read_audio_file(
        path, sample_rate, min_seconds=min_seconds, max_seconds=max_seconds, normalise=normalise
    )
    if wave is None:
        why = {
            "too_short": f"shorter than {min_seconds:g} s",
            "too_long": f"longer than {max_seconds:g} s",
        }.get(reason, SKIP_REASONS[reason])
        raise TunesmithError(f"{path} cannot be used as audio: {why}")
    return wave


def user_sources(
    files: Iterable[Path],
    report: ReadReport,
    *,
    base: Path | None = None,
    max_pieces: int = 0,
    min_seconds: float = MIN_SECONDS,
    max_seconds: float = MAX_SECONDS,
) -> list[AudioSource]:
    """The files whose headers pass :func:`probe` (at most ``max_pieces``, 0 = all); the rest are counted."""
    kept: list[AudioSource] = []
    for path in files:
        if max_pieces and len(kept) >= max_pieces:
            break
        report.files += 1
        report.read += 1
        name = source_name(path, base)
        reason = probe(path, min_seconds=min_seconds, max_seconds=max_seconds)
        if reason:
            report.skip(name, "", reason)
        else:
            kept.append(AudioSource(name, "", path=path))
    return kept


def read_audio_files(
    files: Iterable[Path],
    sample_rate: int,
    report: ReadReport | None = None,
    *,
    base: Path | None = None,
    max_pieces: int = 0,
    min_seconds: float = MIN_SECONDS,
    max_seconds: float = MAX_SECONDS,
) -> Iterator[AudioPiece]:
    """Clean pieces from ``files``, one at a time (the corpus is never all in memory); skips go to ``report``."""
    report = report if report is not None else ReadReport()
    kept = 0
    for path in files:
        if max_pieces and kept >= max_pieces:
            return
        sources = user_sources([path], report, base=base, min_seconds=min_seconds, max_seconds=max_seconds)
        for piece in read_sources(sources, sample_rate, report, min_seconds=min_seconds, max_seconds=max_seconds):
            kept += 1
            yield piece


def read_found(
    found: Iterable[tuple[AudioSource, Path | None, str]],
    sample_rate: int,
    report: ReadReport,
    *,
    min_seconds: float = MIN_SECONDS,
    max_seconds: float = MAX_SECONDS,
) -> Iterator[AudioPiece]:
    """Clean pieces from ``(source, audio file or None, skip reason)`` triples, one at a time, in order.

    A triple without a file, or whose file fails :func:`read_audio_file`, is counted in ``report`` and
    left out. User files and the built-in corpora's cached renders are read alike through here."""
    for source, path, reason in found:
        wave = None
        if path is not None:
            wave, reason = read_audio_file(path, sample_rate, min_seconds=min_seconds, max_seconds=max_seconds)
        if wave is None:
            report.skip(source.source, source.ref, reason)
            continue
        yield AudioPiece(wave, sample_rate, source.source, source.ref)


def read_sources(
    sources: Iterable[AudioSource],
    sample_rate: int,
    report: ReadReport,
    *,
    min_seconds: float = MIN_SECONDS,
    max_seconds: float = MAX_SECONDS,
) -> Iterator[AudioPiece]:
    """Clean pieces of the user's files (:func:`user_sources`), one at a time, in order; skips go to
    ``report``. The built-in corpora are read by :func:`tunesmith.media.audio_builtin.read_builtin`."""
    found = ((s, s.path, "") for s in sources)
    yield from read_found(found, sample_rate, report, min_seconds=min_seconds, max_seconds=max_seconds)
