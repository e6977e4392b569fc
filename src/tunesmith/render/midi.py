"""ABC → MIDI with abc2midi (the one symusic ships and uses), with its messages kept.

symusic's ``Score.from_abc`` runs the same bundled ``abc2midi`` program but lets its
messages go to the terminal. We run it ourselves, in a subprocess with a time limit (a
garbled tune must not hang or crash the caller), parse its ``Error``/``Warning`` lines,
and then load the MIDI it wrote with symusic to confirm it holds notes.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tunesmith.errors import TunesmithError
from tunesmith.render.limits import ABC2MIDI_TIMEOUT

_MESSAGE = re.compile(r"^(Error|Warning)\b.*$", re.MULTILINE)


@dataclass
class Conversion:
    """What abc2midi made of one tune."""

    converted: bool  # a MIDI file with at least one note was written
    errors: int
    warnings: int
    notes: int = 0
    messages: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def abc2midi_path() -> str:
    """The abc2midi binary: ``TUNESMITH_ABC2MIDI``, else the one inside symusic."""
    if os.environ.get("TUNESMITH_ABC2MIDI"):
        return os.environ["TUNESMITH_ABC2MIDI"]
    import importlib.util

    spec = importlib.util.find_spec("symusic")
    if spec is None or not spec.origin:
        raise TunesmithError("symusic is not installed; it provides abc2midi")
    exe = Path(spec.origin).parent / "bin" / ("abc2midi.exe" if os.name == "nt" else "abc2midi")
    if not exe.is_file():
        raise TunesmithError(f"abc2midi is missing from symusic ({exe})")
    return str(exe)


def abc_to_midi(abc: str, midi_path: Path | str | None = None, timeout: float = ABC2MIDI_TIMEOUT) -> Conversion:
    """Convert one tune (with its ``X:`` line); write ``midi_path`` if it converts."""
    import symusic

    with tempfile.TemporaryDirectory(prefix="tunesmith-abc-") as tmp:
        src, dst = Path(tmp) / "tune.abc", Path(tmp) / "tune.mid"
        src.write_text(abc, encoding="utf-8")
        try:
            proc = subprocess.run(
                [abc2midi_path(), str(src), "-o", str(dst)],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                cwd=tmp,
            )
            output = proc.stdout + proc.stderr
            crashed = proc.returncode < 0
        except subprocess.TimeoutExpired:
            return Conversion(False, 1, 0, messages=[f"Error: abc2midi took longer than {timeout:g} s"])
        messages = [m.group(0).strip() for m in _MESSAGE.finditer(output)]
        errors = sum(m.startswith("Error") for m in messages)
        warnings = len(messages) - errors
        if crashed:
            messages.append(f"Error: abc2midi crashed (signal {-proc.returncode})")
            errors += 1
        notes = 0
        if dst.is_file() and dst.stat().st_size > 0:
            try:
                score = symusic.Score(str(dst))
                notes = sum(len(t.notes) for t in score.tracks)
            except Exception as exc:  # symusic raises plain RuntimeError/ValueError on bad MIDI
                messages.append(f"Error: the MIDI abc2midi wrote does not load ({exc})")
                errors += 1
        converted = notes > 0
        if converted and midi_path is not None:
            Path(midi_path).write_bytes(dst.read_bytes())
        return Conversion(converted, errors, warnings, notes, messages)


def convert_many(tunes: list[str], midi_paths: list[Path | None], workers: int | None = None) -> list[Conversion]:
    """Convert several tunes in parallel (each in its own abc2midi process)."""
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(abc_to_midi, tunes, midi_paths))


def convert_tunebook(tunes: list[str], folder: Path) -> list[Path | None]:
    """Convert many tunes with a single abc2midi run over one tunebook in ``folder`` (0.6 s for the
    11,600 folk training tunes, where one process per tune takes minutes): each tune's ``.mid``, or
    None where abc2midi wrote none. If abc2midi crashes, the tunes it did not reach go one by one."""
    folder = Path(folder)
    book = folder / "book.abc"
    book.write_text("".join(f"X:{i + 1}\n{t.strip()}\n\n" for i, t in enumerate(tunes)), encoding="utf-8")
    try:
        proc = subprocess.run(
            [abc2midi_path(), book.name], cwd=folder, capture_output=True, timeout=60 + 0.05 * len(tunes)
        )
        crashed = proc.returncode < 0
    except subprocess.TimeoutExpired:
        crashed = True
    paths: list[Path | None] = [folder / f"book{i + 1}.mid" for i in range(len(tunes))]
    missing = [i for i, path in enumerate(paths) if not path.is_file()]
    for i in missing:
        paths[i] = None
    if crashed and missing:
        singles = [folder / f"single{i}.mid" for i in missing]
        conversions = convert_many([f"X:1\n{tunes[i]}" for i in missing], singles)
        for i, single, conv in zip(missing, singles, conversions, strict=True):
            paths[i] = single if conv.converted else None
    return paths


_LINE_OF = re.compile(r"line-char (\d+)-")
BOOK_CHUNK = 200  # tunes per abc2midi run: its time grows faster than the book, and chunks run side by side


def check_tunebook(tunes: list[str]) -> list[Conversion]:
    """What abc2midi makes of each of many tunes, from one run per chunk of :data:`BOOK_CHUNK` tunes: each
    tune's errors and warnings (told apart by the line numbers abc2midi gives) and its notes. The corpus
    baseline of the validity check uses it: the 12,900 folk tunes take seconds, where one process per tune
    takes minutes. A tune abc2midi did not finish (a crash) is converted on its own."""
    chunks = [tunes[i : i + BOOK_CHUNK] for i in range(0, len(tunes), BOOK_CHUNK)]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return [c for chunk in pool.map(_check_chunk, chunks) for c in chunk]


def _check_chunk(tunes: list[str]) -> list[Conversion]:
    import bisect

    import symusic

    with tempfile.TemporaryDirectory(prefix="tunesmith-book-") as tmp:
        folder = Path(tmp)
        starts, lines, parts = [], 1, []
        for i, tune in enumerate(tunes):
            text = f"X:{i + 1}\n{tune.strip()}\n\n"
            starts.append(lines)
            lines += text.count("\n")
            parts.append(text)
        (folder / "book.abc").write_text("".join(parts), encoding="utf-8")
        try:
            proc = subprocess.run(
                [abc2midi_path(), "book.abc"],
                cwd=folder,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=ABC2MIDI_TIMEOUT + 0.1 * len(tunes),
            )
            output, crashed = proc.stdout + proc.stderr, proc.returncode < 0
        except subprocess.TimeoutExpired:
            output, crashed = "", True
        found: list[list[str]] = [[] for _ in tunes]
        for match in _MESSAGE.finditer(output):
            where = _LINE_OF.search(match.group(0))
            if where:
                found[max(0, bisect.bisect_right(starts, int(where.group(1))) - 1)].append(match.group(0).strip())
        out = []
        for i, messages in enumerate(found):
            path, notes = folder / f"book{i + 1}.mid", 0
            if path.is_file() and path.stat().st_size > 0:
                try:
                    notes = sum(len(t.notes) for t in symusic.Score(str(path)).tracks)
                except Exception:  # symusic raises plain RuntimeError/ValueError on bad MIDI
                    messages.append("Error: the MIDI abc2midi wrote does not load")
            errors = sum(m.startswith("Error") for m in messages)
            out.append(Conversion(notes > 0, errors, len(messages) - errors, notes, messages[:20]))
    if crashed:
        redo = [i for i, c in enumerate(out) if not c.converted]
        for i, conv in zip(redo, convert_many([f"X:1\n{tunes[i]}" for i in redo], [None] * len(redo)), strict=True):
            out[i] = conv
    return out
