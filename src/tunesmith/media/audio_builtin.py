"""The built-in audio corpora: the symbolic corpora rendered by a synthesizer once, and cached.

They are the symbolic corpora made audible: ``bach`` (the chorales, as
:func:`tunesmith.corpora.midi_builtin.builtin_pieces` gives them), ``classical`` (likewise) and ``folk``
(music21's ABC tunes through abc2midi). Each piece is rendered with the rendering layer's synthesizer
(FluidSynth with the system SoundFont where installed, else the built-in one) at the target rate,
mixed to mono and cached as 16-bit FLAC under ``cache_dir()/audio/<corpus>/<key>.flac``. The key is
the SHA-256 of the piece (its MIDI bytes, or a folk tune's ABC text), the synthesizer (FluidSynth's
version and the SoundFont's own SHA-256, or "builtin"), the sample rate and
:data:`AUDIO_CACHE_VERSION`: changing any of them renders again. A piece that cannot be rendered is
cached as ``<key>.skip``. Pieces are rendered lazily, as a reader asks for them, in a few threads
(FluidSynth runs as its own process, so threads render in parallel), at most ``2 x workers`` ahead:
memory stays bounded however large the corpus. Cached pieces are then read exactly as a user's FLAC
files are, with the same checks and loudness rule.

This lives with the media, not in :mod:`tunesmith.corpora`, because it needs both the symbolic
corpora and the rendering layer; reading the cached FLAC files is :mod:`tunesmith.corpora.audio`'s.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import subprocess
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tunesmith.corpora.abc import ReadReport
from tunesmith.corpora.audio import MAX_SECONDS, MIN_SECONDS, AudioPiece, AudioSource, read_found
from tunesmith.errors import TunesmithError

AUDIO_CACHE_VERSION = 1  # bump when rendering or the cached format changes; it is part of every key
AUDIO_CORPORA = ("bach", "classical", "folk")


def builtin_sources(name: str, report: ReadReport, *, max_pieces: int = 0) -> tuple[list[AudioSource], dict]:
    """The pieces of built-in corpus ``name`` that will be rendered (``max_pieces``: the first N, 0 = all).

    Skips of the symbolic corpus (a chorale without four voices, a tune without a key…) go to ``report``."""
    from tunesmith import corpora

    if name not in AUDIO_CORPORA:
        raise TunesmithError(f"corpus '{name}' cannot be rendered to audio; choose one of {', '.join(AUDIO_CORPORA)}")
    corpora.builtin(name)
    if name == "folk":
        from tunesmith.corpora.abc import read_tunes

        tunes, found = read_tunes(
            corpora.builtin(name).files(), max_tunes=max_pieces, base=corpora.music21_corpus_root()
        )
        sources = [AudioSource(t.source, t.ref, abc=t.text) for t in tunes]
        info: dict[str, Any] = {}
    else:
        from tunesmith.corpora.midi_builtin import builtin_pieces

        pieces, found, info = builtin_pieces(name, max_pieces=max_pieces)
        sources = [AudioSource(p.source, p.ref, score=p.score) for p in pieces]
    report.files += found.files
    report.read += found.read
    report.skipped.update(found.skipped)
    report.records += found.records
    return sources, {"midi_cache": info.get("cache_dir")} if info else {}


def audio_cache_dir(corpus: str) -> Path:
    """Where the renders of built-in corpus ``corpus`` are cached (beside the MIDI conversions)."""
    from tunesmith.corpora.cache import cache_dir

    return cache_dir() / "audio" / corpus


@functools.lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def _fluidsynth_version(exe: str) -> str:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, errors="replace", timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return next((line.strip() for line in out.stdout.splitlines() if line.strip()), "unknown")


def synth_identity(synth: Any) -> str:
    """What decides how a render sounds: FluidSynth's version and the SoundFont's content, or the built-in synth."""
    if synth.name != "fluidsynth":
        return "builtin"
    stat = synth.soundfont.stat()
    sf_hash = _file_sha256(str(synth.soundfont), stat.st_size, stat.st_mtime_ns)
    return f"fluidsynth={_fluidsynth_version(synth.exe)}\0soundfont={sf_hash}"


def render_key(source: AudioSource, identity: str, sample_rate: int) -> str:
    """SHA-256 of the piece (MIDI bytes, or ABC text), the synthesizer, the rate and the cache version."""
    payload = source.abc.encode() if source.abc is not None else bytes(source.score.dumps_midi())
    tag = f"\0synth={identity}\0rate={sample_rate}\0audio-cache={AUDIO_CACHE_VERSION}\0abc={source.abc is not None}"
    return hashlib.sha256(payload + tag.encode()).hexdigest()


def _render(source: AudioSource, synth: Any, sample_rate: int, flac: Path) -> str:
    """Render one piece to mono 16-bit FLAC at ``flac``; "" on success, else the skip reason."""
    import soundfile

    from tunesmith.corpora.cache import atomic_write
    from tunesmith.render.audio import AudioOptions, apply_options, synthesize

    name = f"{source.source}{':' + source.ref if source.ref else ''}"
    score = source.score
    if source.abc is not None:
        from tunesmith.render.files import abc_score

        try:
            score = abc_score(f"X:1\n{source.abc}", name)
        except TunesmithError:
            return "abc2midi"
    try:
        score = apply_options(score, AudioOptions(sample_rate=sample_rate), name)
        stereo = synthesize(score, sample_rate, synth, name)
    except TunesmithError:
        return "render"
    buffer = io.BytesIO()
    soundfile.write(buffer, stereo.mean(axis=1), sample_rate, format="FLAC", subtype="PCM_16")
    atomic_write(flac, buffer.getvalue())
    return ""


class _Renderer:
    """Cached render of built-in pieces, up to ``2 x workers`` ahead of the reader, in order."""

    def __init__(self, corpus: str, sample_rate: int, workers: int):
        from tunesmith.render.audio import AudioOptions, choose_synth

        self.sample_rate, self.workers = sample_rate, workers
        self.synth = choose_synth(AudioOptions(sample_rate=sample_rate))
        self.identity = synth_identity(self.synth)
        self.directory = audio_cache_dir(corpus)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TunesmithError(f"cannot create the cache folder {self.directory}: {exc.strerror}") from None
        self.stats = {"cached": 0, "rendered": 0, "synth": self.synth.label, "cache_dir": str(self.directory)}
        self._lock = threading.Lock()

    def job(self, source: AudioSource) -> tuple[Path | None, str]:
        from tunesmith.corpora.cache import atomic_write

        key = render_key(source, self.identity, self.sample_rate)
        flac, skip = self.directory / f"{key}.flac", self.directory / f"{key}.skip"
        if flac.exists() or skip.exists():
            with self._lock:
                self.stats["cached"] += 1
            return (flac, "") if flac.exists() else (None, skip.read_text().strip())
        reason = _render(source, self.synth, self.sample_rate, flac)
        if reason:
            atomic_write(skip, reason.encode())
        with self._lock:
            self.stats["rendered"] += 1
        return (None, reason) if reason else (flac, "")

    def run(self, sources: Iterable[AudioSource]) -> Iterator[tuple[AudioSource, Path | None, str]]:
        pending: deque[tuple[AudioSource, Future]] = deque()
        todo = iter(sources)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="tunesmith-render") as pool:
            try:
                for source in todo:
                    pending.append((source, pool.submit(self.job, source)))
                    if len(pending) >= 2 * self.workers:
                        break
                while pending:
                    source, future = pending.popleft()
                    following = next(todo, None)
                    if following is not None:
                        pending.append((following, pool.submit(self.job, following)))
                    yield (source, *future.result())
            finally:
                for _, future in pending:
                    future.cancel()


def read_builtin(
    sources: Iterable[AudioSource],
    sample_rate: int,
    report: ReadReport,
    *,
    corpus: str,
    workers: int = 0,
    stats: dict | None = None,
    min_seconds: float = MIN_SECONDS,
    max_seconds: float = MAX_SECONDS,
) -> Iterator[AudioPiece]:
    """Clean pieces of built-in corpus ``corpus``, one at a time, in order, each rendered or found in the
    cache first; a skipped source is counted in ``report`` and left out. ``stats`` (if given) receives
    the cache counts: one dict counts over several calls (the train split, then validation)."""
    renderer = _Renderer(corpus, sample_rate, workers or min(4, os.cpu_count() or 1))
    if stats is not None:
        for key, value in renderer.stats.items():
            stats.setdefault(key, value)
        renderer.stats = stats
    found = renderer.run(sources)
    yield from read_found(found, sample_rate, report, min_seconds=min_seconds, max_seconds=max_seconds)
