"""The built-in MIDI corpora (``bach``, ``classical``): music21's own scores, converted once and cached.

music21 is slow (about 0.3 s of CPU a chorale, a minute or more for a Beethoven quartet movement), so
each source file is converted once, in worker processes, to MIDI and cached under
``cache_dir()/midi/<corpus>/<key>.mid``, where ``key`` is the SHA-256 of the source bytes, the music21
version, ``CONVERTER_VERSION`` and the corpus name: upgrading music21 or changing the converter
invalidates the cache by itself. A file music21 cannot convert is cached as ``<key>.skip`` so it is not
retried on every read. Writes are atomic (a temporary file renamed into place), so an interrupted
conversion leaves no half-written MIDI and the next call picks up where it stopped. The converted
pieces pass the same checks as a user's files (:func:`tunesmith.corpora.midi.clean_score`).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from tunesmith.corpora import builtin, music21_corpus_root
from tunesmith.corpora.abc import ReadReport, source_name
from tunesmith.corpora.cache import atomic_write, cache_dir
from tunesmith.corpora.midi import MAX_QUARTERS, Piece, clean_score
from tunesmith.errors import TunesmithError

# What music21 reads into notes; other files in the classical folders (Finale .mus/.musx, roman
# numeral analyses .rntxt) are counted as ``format`` skips.
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc", ".mid", ".midi")
CONVERTER_VERSION = 2  # bump when _convert changes what it writes; it is part of every cache key

VOICES = ("soprano", "alto", "tenor", "bass")

# The classical corpus's folders (listed in corpora.BUILTIN) and the folders it leaves out on purpose.
CLASSICAL_FOLDERS = builtin("classical").folders
NOT_CLASSICAL = (
    "bach", "oneills1850", "ryansMammoth", "airdsAirs", "essenFolksong", "miscFolk",
    "nottingham-dataset", "theoryExercises", "demos", "leadSheet", "_metadataCache", "__pycache__",
)  # fmt: skip


# --- the built-in corpora: which files -------------------------------------------------------------


def _chorale_files(root: Path) -> list[Path]:
    """Riemenschneider's 371 chorales as music21's chorale list names them, each file once.

    The list names 350 distinct files (some chorales appear twice); music21's ``getWork`` would
    fuzzy-match a name to several files, so a name is resolved exactly (``.mxl``, then ``.xml``,
    then ``.krn``), else to the one file whose name starts with it (``bwv18.5-l`` is ``bwv18.5-lz``).
    """
    from music21.corpus import chorales

    found: list[Path] = []
    for name in dict.fromkeys(chorales.Iterator(returnType="filename")):
        path = next(
            (root / f"{name}{ext}" for ext in (".mxl", ".xml", ".krn") if (root / f"{name}{ext}").exists()), None
        )
        if path is None:
            folder, stem = (root / name).parent, (root / name).name
            near = sorted(p for p in folder.glob(f"{stem}*") if p.suffix in SCORE_SUFFIXES)
            path = near[0] if near else None
        if path is not None and path not in found:
            found.append(path)
    return found


def _classical_files(root: Path) -> list[Path]:
    """Every file in ``CLASSICAL_FOLDERS``, sorted; unreadable formats are kept here and counted later."""
    found: list[Path] = []
    for folder in CLASSICAL_FOLDERS:
        found += sorted(p for p in (root / folder).rglob("*") if p.is_file() and not p.name.startswith("."))
    return found


def source_files(name: str) -> list[Path]:
    """The music21 files behind built-in MIDI corpus ``name``."""
    root = music21_corpus_root()
    if name == "bach":
        return _chorale_files(root)
    if name == "classical":
        return _classical_files(root)
    raise TunesmithError(f"'{name}' is not a built-in MIDI corpus")


# --- conversion (runs in worker processes) --------------------------------------------------------


def _four_voices(score: Any) -> Any | None:
    """The score with only its soprano, alto, tenor and bass parts, or None if it lacks one of each.

    A part is a voice by the first word of its name, so ``Soprano Oboe 1 Violin1`` (a voice doubled
    by instruments) counts, renamed ``Soprano``, and ``Horn 1`` or ``Continuo`` is dropped.
    """
    by_voice: dict[str, list] = {v: [] for v in VOICES}
    for part in score.parts:
        words = re.findall(r"[a-z]+", (part.partName or "").lower())
        if words and words[0] in by_voice:
            by_voice[words[0]].append(part)
    if any(len(parts) != 1 for parts in by_voice.values()):
        return None
    keep = {id(parts[0]) for parts in by_voice.values()}
    for part in list(score.parts):
        if id(part) not in keep:
            score.remove(part)
    for voice, parts in by_voice.items():  # "Soprano Oboe 1 Violin1" becomes "Soprano"
        parts[0].partName = voice.capitalize()
        for instrument in parts[0].recurse().getElementsByClass("Instrument"):
            instrument.partName = voice.capitalize()  # the MIDI track name comes from here
    return score


def _convert(path: str, corpus: str) -> tuple[list[bytes], str]:
    """MIDI bytes for each piece in one music21 file, or ``([], reason)``.

    An ``Opus`` whose scores share one title is one piece written voice by voice (music21's Josquin
    ABC files) and is merged; otherwise each score of an ``Opus`` is a piece of its own.
    """
    import warnings

    from music21 import converter, stream
    from music21.midi.translate import music21ObjectToMidiFile

    with warnings.catch_warnings():  # music21 warns per odd measure; the skip count says enough
        warnings.simplefilter("ignore")
        try:
            parsed = converter.parse(path)
            if isinstance(parsed, stream.Opus):
                titles = {s.metadata.title if s.metadata else None for s in parsed.scores}
                scores = [parsed.mergeScores()] if len(titles) == 1 else list(parsed.scores)
            else:
                scores = [parsed]
            if corpus == "bach":
                scores = [s for s in map(_four_voices, scores) if s is not None]
                if not scores:
                    return [], "not_four_voices"
            return [_midi_bytes(s, music21ObjectToMidiFile) for s in scores], ""
        except Exception:  # music21 raises many types on files it cannot read; each is one counted skip
            return [], "conversion"


def _midi_bytes(score: Any, to_midi: Callable[[Any], Any]) -> bytes:
    """MIDI bytes with repeats played out as music21 does; if music21 cannot expand the repeats
    (badly formed ones, as in a Beethoven quartet), the marks are removed and it is written once through."""
    try:
        return to_midi(score).writestr()
    except Exception as exc:
        if type(exc).__name__ != "ExpanderException":
            raise
    from music21 import bar, repeat, spanner, stream

    for measure in score.recurse().getElementsByClass(stream.Measure):
        if isinstance(measure.leftBarline, bar.Repeat):
            measure.leftBarline = None
        if isinstance(measure.rightBarline, bar.Repeat):
            measure.rightBarline = bar.Barline()
    marks = score.recurse().getElementsByClass((repeat.RepeatExpression, spanner.RepeatBracket))
    for mark in list(marks):
        score.remove(mark, recurse=True)
    return to_midi(score).writestr()


def _cache_key(data: bytes, corpus: str) -> str:
    import music21

    tag = f"\0music21={music21.__version__}\0converter={CONVERTER_VERSION}\0corpus={corpus}".encode()
    return hashlib.sha256(data + tag).hexdigest()


def _cache_read(directory: Path, key: str) -> tuple[list[bytes], str] | None:
    """The cached conversion of ``key``, or None if there is none yet."""
    skip = directory / f"{key}.skip"
    if skip.exists():
        return [], skip.read_text().strip()
    first = directory / f"{key}.mid"
    if not first.exists():
        return None
    out, n = [first.read_bytes()], 2
    while (more := directory / f"{key}.{n}.mid").exists():
        out.append(more.read_bytes())
        n += 1
    return out, ""


def _cache_write(directory: Path, key: str, result: tuple[list[bytes], str]) -> None:
    """Extra pieces first, ``<key>.mid`` last: its presence means the entry is complete."""
    midis, reason = result
    if reason:
        atomic_write(directory / f"{key}.skip", reason.encode())
        return
    for n, data in enumerate(midis[1:], start=2):
        atomic_write(directory / f"{key}.{n}.mid", data)
    atomic_write(directory / f"{key}.mid", midis[0])


class _Converter:
    """Runs ``_convert`` in a pool of worker processes, started on first need, or in this process.

    Workers are spawned, not forked: the caller may hold threads (torch's) that a fork would copy
    mid-lock. If the pool breaks (a worker killed, or a ``__main__`` that cannot be re-imported, as
    with a script on stdin), the jobs left are converted here instead.
    """

    def __init__(self, corpus: str, workers: int) -> None:
        self.corpus, self.workers = corpus, workers
        self.pool: ProcessPoolExecutor | None = None

    def run(self, jobs: dict[int, str]) -> Iterator[tuple[int, tuple[list[bytes], str]]]:
        """``(job id, result)`` for every job, in the order they finish."""
        left = dict(jobs)
        if len(jobs) > 1 and self.workers > 1:
            if self.pool is None:
                import multiprocessing

                context = multiprocessing.get_context("spawn")
                self.pool = ProcessPoolExecutor(min(self.workers, len(jobs)), mp_context=context)
            futures = {self.pool.submit(_convert, path, self.corpus): i for i, path in jobs.items()}
            try:
                for future in as_completed(futures):
                    result = future.result()
                    del left[futures[future]]
                    yield futures[future], result
            except BrokenProcessPool:
                self.close()
                self.workers = 1
        for i, path in left.items():
            yield i, _convert(path, self.corpus)

    def close(self, wait: bool = True) -> None:
        """Stop the pool; ``wait=False`` on an error or Ctrl-C, not to sit out a worker's long file."""
        if self.pool is not None:
            self.pool.shutdown(wait=wait, cancel_futures=True)
            self.pool = None


def builtin_pieces(
    name: str,
    *,
    max_pieces: int = 0,
    workers: int = 0,
    max_notes: int = 200_000,
    max_quarters: int = MAX_QUARTERS,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Piece], ReadReport, dict]:
    """Pieces of built-in MIDI corpus ``name`` (``bach`` or ``classical``), converting what is not cached.

    - ``bach``: the chorales of Riemenschneider's edition as music21's chorale list names them (371
      numbers, 350 distinct files in music21 10.5), each reduced to its soprano, alto, tenor and
      bass parts (instrumental parts some of them carry are dropped; one with two soprano parts is
      a ``not_four_voices`` skip). The other files in music21's ``bach`` folder (instrumental
      versions, roman-numeral analyses) are not used.
    - ``classical``: every file in the folders of ``CLASSICAL_FOLDERS``: beach, beethoven, chopin,
      ciconia, corelli, cpebach, handel, haydn, johnson_j_r, joplin, josquin, liliuokalani, luca,
      lusitano, monteverdi, mozart, palestrina, schoenberg, schubert, schumann_clara,
      schumann_robert, trecento, verdi, weber, webern. Finale files and roman-numeral analyses
      there are ``format`` skips. Not included: the chorales, the ABC folk collections
      (oneills1850, ryansMammoth, airdsAirs, essenFolksong, miscFolk, nottingham-dataset), and
      theoryExercises, demos, leadSheet.

    Repeats are played out (music21's MIDI writer expands them). Files are taken in order until
    ``max_pieces`` are kept (0 = all). ``workers`` processes convert
    (0 = one per CPU); ``progress(done, total)`` is called as conversions finish. Returns the pieces,
    the report, and ``{"cached", "converted", "seconds", "cache_dir"}`` (counts of source files).
    """
    corpus = builtin(name)
    if corpus.kind != "midi":
        raise TunesmithError(f"corpus '{name}' is {corpus.kind}, not MIDI")
    files, root = corpus.files(), music21_corpus_root()
    directory = cache_dir() / "midi" / name
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TunesmithError(f"cannot create the cache folder {directory}: {exc.strerror}") from None
    workers = workers or os.cpu_count() or 1
    started = time.perf_counter()
    stats = {"cached": 0, "converted": 0}
    report, pieces = ReadReport(), []
    converter = _Converter(name, workers)
    done = 0
    try:
        start = 0
        while start < len(files) and not (max_pieces and len(pieces) >= max_pieces):
            batch = files[start : start + (max_pieces - len(pieces) if max_pieces else len(files))]
            start += len(batch)
            results: dict[int, tuple[list[bytes], str]] = {}
            todo: dict[int, str] = {}
            for i, path in enumerate(batch):
                if path.suffix.lower() not in SCORE_SUFFIXES:
                    results[i] = [], "format"
                    continue
                key = _cache_key(path.read_bytes(), name)
                hit = _cache_read(directory, key)
                if hit is None:
                    todo[i] = key
                else:
                    results[i] = hit
                    stats["cached"] += 1
            jobs = {i: str(batch[i]) for i in todo}
            for i, result in converter.run(jobs):
                _cache_write(directory, todo[i], result)
                results[i] = result
                stats["converted"] += 1
                done += 1
                if progress:
                    progress(done, len(files))
            for i, path in enumerate(batch):
                if max_pieces and len(pieces) >= max_pieces:
                    break
                _add(pieces, report, results[i], source_name(path, root), max_notes, max_quarters)
    except BaseException:
        converter.close(wait=False)
        raise
    converter.close()
    seconds = round(time.perf_counter() - started, 3)
    if max_pieces:
        del pieces[max_pieces:]  # a file of several scores may overshoot
    return pieces, report, {**stats, "seconds": seconds, "cache_dir": str(directory)}


def _add(
    pieces: list[Piece],
    report: ReadReport,
    result: tuple[list[bytes], str],
    source: str,
    max_notes: int,
    max_quarters: int,
) -> None:
    """Count one converted source file and keep its pieces that pass the same checks as user MIDI."""
    midis, reason = result
    report.files += 1
    if reason:
        report.skip(source, "", reason)
        return
    for n, data in enumerate(midis, start=1):
        ref = str(n) if len(midis) > 1 else ""
        report.read += 1
        score, why = clean_score(data, max_notes=max_notes, max_quarters=max_quarters)
        if score is None:
            report.skip(source, ref, why)
        else:
            pieces.append(Piece(score, source, ref))
