"""Render .abc and .mid files (or folders of them) to audio, SVG scores, MusicXML and MIDI.

An ABC file may be a tunebook: each tune gets its own outputs, named ``STEM-X`` after its ``X:``
number (a file with one tune keeps its plain ``STEM``). A tune that fails in one format is
reported and the rest carry on, so one odd tune in a book of fifty costs only itself.

Every file is held to the limits of :mod:`tunesmith.render.limits` before any tool runs: an ABC
file's size before it is read, its number of tunes and each tune's length as text; a MIDI file's
size, tracks, notes and end (:func:`tunesmith.render.audio.load_midi`), and for a score its notes
and bars. Tunes with a header and no music are skipped together, in one line of the report.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tunesmith.abc_text import count_tunes, read_bounded, size_text, split_tunebook, tune_music
from tunesmith.errors import TunesmithError
from tunesmith.render.audio import AUDIO_FORMATS, AudioOptions, apply_options, choose_synth, load_midi, render_audio
from tunesmith.render.limits import (
    MAX_ABC_BYTES,
    MAX_FILE_TUNES,
    MAX_REF_CHARS,
    MAX_SCORE_NOTES,
    MAX_SCORE_QUARTERS,
    MAX_TUNE_CHARS,
    MAX_TUNES,
)
from tunesmith.render.midi import abc_to_midi
from tunesmith.render.score import abc_to_musicxml, engrave, midi_to_musicxml, write_pages

if TYPE_CHECKING:
    import symusic

FORMATS = ("wav", "flac", "ogg", "svg", "musicxml", "mid")
ABC_SUFFIXES = (".abc",)
MIDI_SUFFIXES = (".mid", ".midi")


@dataclass
class Output:
    """Files written for one tune in one format, with a short human detail (length, pages, notes)."""

    source: Path
    tune: str
    format: str
    paths: list[Path]
    detail: str


@dataclass
class Failure:
    source: Path
    tune: str
    format: str
    reason: str


@dataclass
class RenderReport:
    outputs: list[Output] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    def merge(self, other: RenderReport) -> None:
        self.outputs += other.outputs
        self.failures += other.failures


def parse_formats(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"wav,svg"`` → ``("wav", "svg")``, in the given order, each once; unknown names are an error."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [i.strip().lower().lstrip(".") for i in items if i.strip()]
    names = ["musicxml" if n in ("xml", "mxl") else "mid" if n == "midi" else n for n in names]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        what = f"unknown format {unknown[0]!r}" if unknown else "no format given"
        raise TunesmithError(f"--to: {what}; choose from {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(names))


def read_abc(path: Path) -> str:
    """The text of an ABC file: UTF-8, else Latin-1 (older tunebooks); binary files, and files over
    :data:`MAX_ABC_BYTES` (before a byte of them is read), are refused."""
    data = read_bounded(path, MAX_ABC_BYTES)
    if data is None:
        raise TunesmithError(f"{path} is larger than {size_text(MAX_ABC_BYTES)}, the largest ABC file render reads")
    if b"\x00" in data:
        raise TunesmithError(f"{path} is not an ABC text file (it holds binary data)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def split_tunes(text: str, path: Path) -> list[tuple[str, str]]:
    """``(X number, tune text)`` for each tune; a lone tune without an ``X:`` line becomes ``X:1``. The
    number is cut to :data:`MAX_REF_CHARS`: it goes into file names and messages. A file of more than
    :data:`MAX_FILE_TUNES` tunes is refused before it is split."""
    count = count_tunes(text)
    if count > MAX_FILE_TUNES:
        raise TunesmithError(f"{path} holds {count:,} tunes (X: lines); render reads at most {MAX_FILE_TUNES:,}")
    tunes = [(_ref(t), t.strip() + "\n") for t in split_tunebook(text)]
    if not tunes and re.search(r"^K:", text, re.MULTILINE):
        tunes = [("1", "X:1\n" + text.strip() + "\n")]
    if not tunes:
        raise TunesmithError(f"{path} holds no ABC tune (no X: or K: line)")
    return tunes


def _ref(tune: str) -> str:
    """The ``X:`` number of a tune, cut to :data:`MAX_REF_CHARS`."""
    end = tune.find("\n", 0, MAX_REF_CHARS + 2)
    return tune[: end if end >= 0 else MAX_REF_CHARS + 2][2:].strip()[:MAX_REF_CHARS]


def _too_long(tune: str, name: str) -> str:
    """Why ``tune`` is refused for its length (over :data:`MAX_TUNE_CHARS`), or ``""``."""
    if len(tune) <= MAX_TUNE_CHARS:
        return ""
    return f"{name} is {len(tune):,} characters long; render takes tunes of at most {MAX_TUNE_CHARS:,}"


def _empty(tune: str) -> bool:
    """A header and no music: every tool would only say it found no notes."""
    return tune_music(tune) == ""


def with_music(
    tunes: list[tuple[str, str]], stems: list[Path], path: Path
) -> tuple[list[tuple[str, str, Path]], Failure | None]:
    """``(ref, tune, stem)`` for the tunes with music after their header, and one failure that lists the
    rest: a tunebook of thousands of empty tunes is skipped at once, not rendered one by one."""
    kept, empty = [], []
    for (ref, text), stem in zip(tunes, stems, strict=True):
        if _empty(text):
            empty.append(ref)
        else:
            kept.append((ref, text, stem))
    if not empty:
        return kept, None
    if len(tunes) == 1:
        return kept, Failure(path, empty[0], "*", f"{path} has no music after K:")
    listed = ", ".join(f"X:{ref}" for ref in empty[:3]) + (", …" if len(empty) > 3 else "")
    some = f"{len(empty):,} tunes have" if len(empty) > 1 else "1 tune has"
    return kept, Failure(path, "", "*", f"{path}: {some} no music after K: ({listed}); skipped")


def _stems(path: Path, refs: list[str], out_dir: Path) -> list[Path]:
    if len(refs) == 1:
        return [out_dir / path.stem]
    stems, seen = [], set()
    for i, ref in enumerate(refs, start=1):
        base = f"{path.stem}-{re.sub(r'[^A-Za-z0-9_-]+', '_', ref) or i}"
        name, n = base, 2
        while name in seen:
            name, n = f"{base}-{n}", n + 1
        seen.add(name)
        stems.append(out_dir / name)
    return stems


def render_tune(
    abc: str,
    stem: Path,
    formats: Iterable[str],
    options: AudioOptions | None = None,
    *,
    name: str,
    source: Path | None = None,
    midi: Path | None = None,
) -> RenderReport:
    """Render one ABC tune to ``stem.<format>`` for each format; ``midi`` reuses an existing conversion."""
    options = (options or AudioOptions()).check()
    report = RenderReport()
    source = source or stem
    ref = _ref(abc) if abc.startswith("X:") else ""
    formats = tuple(formats)
    why = _too_long(abc, name) or (f"{name} has no music after K:" if _empty(abc) else "")
    if why:  # refused before any tool sees it
        report.failures += [Failure(source, ref, fmt, why) for fmt in formats]
        return report
    score, midi_error = None, None
    if any(f in AUDIO_FORMATS or f == "mid" for f in formats):
        try:
            score = load_midi(midi) if midi is not None else abc_score(abc, name)
        except TunesmithError as exc:
            midi_error = str(exc)
    for fmt in formats:
        try:
            if fmt in AUDIO_FORMATS or fmt == "mid":
                if score is None:
                    raise TunesmithError(midi_error or f"{name} has no MIDI")
                report.outputs.append(_from_score(score, stem, fmt, options, name, source, ref))
            elif fmt == "svg":
                paths = write_pages(engrave_abc(abc, name), stem)
                report.outputs.append(Output(source, ref, fmt, paths, _pages(paths)))
            elif fmt == "musicxml":
                report.outputs.append(_write_musicxml(abc_to_musicxml(abc, name), stem, source, ref))
        except TunesmithError as exc:
            report.failures.append(Failure(source, ref, fmt, str(exc)))
    return report


def engrave_abc(abc: str, name: str) -> list[str]:
    """SVG pages of one tune: verovio's own ABC reader, else music21's by way of MusicXML. verovio's reader
    drops every note of some tunes that abc2midi plays (a body thick with quoted annotations), and a tune
    that sounds should have a score; music21's failure reports verovio's first complaint."""
    try:
        return engrave(abc, "abc", name)
    except TunesmithError as first:
        try:
            return engrave(abc_to_musicxml(abc, name), "musicxml", name)
        except TunesmithError:
            raise first from None


def abc_score(abc: str, name: str) -> symusic.Score:
    """One ABC tune (with its ``X:`` line) as a symusic score, through abc2midi; a TunesmithError naming
    ``name`` and abc2midi's first error if it does not convert. The built-in audio corpora render with it."""
    with tempfile.TemporaryDirectory(prefix="tunesmith-render-") as tmp:
        conv = abc_to_midi(abc, Path(tmp) / "tune.mid")
        if conv.converted:
            return load_midi(Path(tmp) / "tune.mid")
    first = next((m for m in conv.messages if m.startswith("Error")), "")
    why = f"abc2midi: {first[:160]}" if first else "abc2midi found no notes"
    raise TunesmithError(f"{name} does not convert to MIDI ({why})")


def render_midi_file(path: Path, stem: Path, formats: Iterable[str], options: AudioOptions) -> RenderReport:
    """Render a MIDI file; an unreadable one is raised (it has no tunes to carry on with)."""
    score = load_midi(path)
    report = RenderReport()
    name = str(path)
    quarters = score.end() / score.ticks_per_quarter
    too_big_for_a_score = (
        f"{name} has {score.note_num():,} notes; scores are made of at most {MAX_SCORE_NOTES:,}"
        if score.note_num() > MAX_SCORE_NOTES
        else f"{name} lasts {quarters:,.0f} quarter notes; scores are made of at most {MAX_SCORE_QUARTERS:,}"
        if quarters > MAX_SCORE_QUARTERS
        else ""
    )
    for fmt in formats:
        try:
            if fmt in AUDIO_FORMATS or fmt == "mid":
                if fmt == "mid" and stem.with_suffix(".mid").resolve() == path.resolve():
                    raise TunesmithError(f"{path}: writing MIDI here would overwrite the input; choose --out")
                report.outputs.append(_from_score(score, stem, fmt, options, name, path, ""))
            else:
                if too_big_for_a_score:
                    raise TunesmithError(too_big_for_a_score)
                xml = midi_to_musicxml(path, name)
                if fmt == "musicxml":
                    report.outputs.append(_write_musicxml(xml, stem, path, ""))
                else:
                    paths = write_pages(engrave(xml, "musicxml", name), stem)
                    report.outputs.append(Output(path, "", fmt, paths, _pages(paths)))
        except TunesmithError as exc:
            report.failures.append(Failure(path, "", fmt, str(exc)))
    return report


def _checked(formats: Iterable[str], options: AudioOptions | None) -> tuple[tuple[str, ...], AudioOptions]:
    """Formats and options checked once, before any tune: a bad --soundfont is one error, not one per tune."""
    formats = parse_formats(formats)
    options = (options or AudioOptions()).check()
    if any(f in AUDIO_FORMATS for f in formats):
        choose_synth(options, warn=False)
    return formats, options


def render_file(
    path: Path | str, formats: Iterable[str], out_dir: Path | str | None = None, options: AudioOptions | None = None
) -> RenderReport:
    """Render one .abc (every tune in it) or .mid file into ``out_dir`` (default: beside the file)."""
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise TunesmithError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    formats, options = _checked(formats, options)
    out = Path(out_dir) if out_dir is not None else path.parent
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        report = render_midi_file(path, out / path.stem, formats, options)
    elif suffix in ABC_SUFFIXES:
        tunes = split_tunes(read_abc(path), path)
        kept, empty = with_music(tunes, _stems(path, [r for r, _ in tunes], out), path)
        if len(kept) > MAX_TUNES:
            raise TunesmithError(f"{path} holds {len(kept):,} tunes; render takes at most {MAX_TUNES:,} a file")
        report = RenderReport(failures=[empty] if empty else [])
        for ref, text, stem in kept:
            name = f"{path} (X:{ref})" if len(tunes) > 1 else str(path)
            if why := _too_long(text, name):  # one line for the tune, not one per format
                report.failures.append(Failure(path, ref, "*", why))
            else:
                report.merge(render_tune(text, stem, formats, options, name=name, source=path))
    else:
        raise TunesmithError(f"{path}: can render .abc, .mid and .midi files, not {path.suffix or 'no suffix'}")
    report.seconds = time.perf_counter() - started
    return report


def render_path(
    path: Path | str, formats: Iterable[str], out_dir: Path | str | None = None, options: AudioOptions | None = None
) -> RenderReport:
    """Render a file, or every .abc/.mid file below a folder (outputs mirror its sub-folders)."""
    started = time.perf_counter()
    path = Path(path)
    if not path.is_dir():
        return render_file(path, formats, out_dir, options)
    formats, options = _checked(formats, options)
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in ABC_SUFFIXES + MIDI_SUFFIXES and p.is_file())
    if not files:
        raise TunesmithError(f"{path} holds no .abc, .mid or .midi files")
    report = RenderReport()
    for file in files:
        target = Path(out_dir) / file.parent.relative_to(path) if out_dir is not None else None
        try:
            report.merge(render_file(file, formats, target, options))
        except TunesmithError as exc:
            report.failures.append(Failure(file, "", "*", str(exc)))
    report.seconds = time.perf_counter() - started
    return report


def _from_score(
    score: symusic.Score, stem: Path, fmt: str, options: AudioOptions, name: str, source: Path, ref: str
) -> Output:
    target = stem.with_name(f"{stem.name}.{fmt}")
    if fmt == "mid":
        ready = apply_options(score, options, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        ready.dump_midi(str(target))
        return Output(source, ref, fmt, [target], f"{ready.note_num()} notes")
    result = render_audio(score, target, options, name)
    return Output(source, ref, fmt, [target], f"{result.seconds:.1f} s, {result.synth}")


def _write_musicxml(xml: str, stem: Path, source: Path, ref: str) -> Output:
    target = stem.with_name(f"{stem.name}.musicxml")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(xml, encoding="utf-8")
    return Output(source, ref, "musicxml", [target], f"{xml.count('<pitch>')} notes")


def _pages(paths: list[Path]) -> str:
    return f"{len(paths)} page" + ("s" if len(paths) != 1 else "")
