"""The MIDI medium's samples: generate, decode, and write ``.mid``, ``.wav`` and a piano-roll ``.png``.

Token models (``midi-notes``, ``midi-remi``, ``midi-tsd``) are checked against their grammar
before decoding: every token out of place is reported with its reason, and the share of such
tokens is the *syntax error rate*. Frame models (``pianoroll``) always decode.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.media import numbered
from tunesmith.render.audio import AudioOptions
from tunesmith.representations import FrameRepresentation, Representation
from tunesmith.representations.midi_tokens import score_notes
from tunesmith.sampling import SampleSettings, generate_arrays

MAX_PRIMER_BARS = 64


@dataclass
class MidiSampleReport:
    out: Path
    pieces: list[dict[str, Any]]
    seconds: float
    steps_per_second: float
    unit: str  # "tokens" or "frames"

    @property
    def items(self) -> list[dict[str, Any]]:
        return self.pieces

    @property
    def wrote(self) -> str:
        return f"wrote        {self.out}/  (NNN.mid, NNN.png, NNN.wav; samples.json has each piece's details)"

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Size, notes, range and polyphony per piece (and syntax errors for token models)."""
        tokens = self.unit == "tokens"
        rows = [
            [
                p["file"],
                p[self.unit],
                p["notes"],
                p["quarters"],
                "-" if p["pitch_range"] is None else "{}-{}".format(*p["pitch_range"]),
                p["pitch_classes"],
                p["polyphony"],
                *([p["syntax_errors"]] if tokens else []),
            ]
            for p in self.pieces
        ]
        headers = ["file", self.unit, "notes", "quarters", "pitches", "classes", "poly"]
        return headers + (["syntax"] if tokens else []), rows

    def summary(self) -> str:
        n = len(self.pieces)
        line = f"{sum(p['notes'] > 0 for p in self.pieces)}/{n} pieces have notes"
        if self.unit == "tokens":
            clean = sum(p["syntax_errors"] == 0 for p in self.pieces)
            line += f", {clean}/{n} decode with no syntax error; syntax error rate {100 * self.syntax_error_rate:.2f}%"
        return f"{line}; {self.steps_per_second:,.0f} {self.unit}/s"

    @property
    def syntax_error_rate(self) -> float:
        """Erroneous tokens over all generated tokens (MidiTok's tokenization syntax error rate)."""
        tokens = sum(p["tokens"] for p in self.pieces if "syntax_errors" in p)
        return sum(p["syntax_errors"] for p in self.pieces if "syntax_errors" in p) / tokens if tokens else 0.0

    @property
    def clean_share(self) -> float:
        """Share of pieces that decode with no syntax error."""
        return sum(p.get("syntax_errors", 0) == 0 for p in self.pieces) / max(1, len(self.pieces))


def primer_from_midi(rep: Representation, path: Path | str, bars: int) -> tuple[np.ndarray, float]:
    """The first ``bars`` bars of a MIDI file in ``rep``'s encoding, and their length in quarter notes."""
    from tunesmith.corpora.midi import SKIP_REASONS, read_midi_files

    if not 1 <= bars <= MAX_PRIMER_BARS:
        raise TunesmithError(f"--primer-bars {bars} must be between 1 and {MAX_PRIMER_BARS}")
    path = Path(path)
    if not path.is_file():
        raise TunesmithError(f"--primer-midi {path} does not exist")
    pieces, report = read_midi_files([path], base=path.parent)
    if not pieces:
        reason = next(iter(report.records), ("", "", "unreadable"))[2]
        raise TunesmithError(f"--primer-midi {path} cannot be used: {SKIP_REASONS.get(reason, reason)}")
    score = pieces[0].score
    num, den = score_notes(score).meter
    quarters = bars * num * 4.0 / den
    primer = rep.primer(score, bars)
    if isinstance(rep, FrameRepresentation) and primer.shape[-1] != rep.frame_dim:
        primer = rep.to_model(primer)  # stored (bit-packed) rows → what the model reads
    return primer, quarters


def write_midi_samples(
    model: Any,
    rep: Representation,
    settings: SampleSettings,
    out: Path | str,
    *,
    extra: dict[str, Any] | None = None,
    render: tuple[str, ...] = ("wav",),
    audio: AudioOptions | None = None,
    primer: np.ndarray | None = None,
    primer_quarters: float | None = None,
    onset_weight: float = 1.0,
) -> MidiSampleReport:
    """Generate ``settings.num`` pieces into ``out`` as ``NNN.mid`` + ``NNN.png`` (+ ``render`` formats)."""
    if settings.constrain:
        raise TunesmithError("--constrain is for ABC models; MIDI samples are checked and reported instead")
    if settings.primer:
        raise TunesmithError("--primer takes ABC text; for a MIDI model use --primer-midi FILE --primer-bars N")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    frames = isinstance(rep, FrameRepresentation)
    settings.check_for(rep)
    arrays = generate_arrays(model, rep, settings, primer, onset_weight)
    seconds = time.perf_counter() - started
    formats = tuple(f for f in render if f not in ("mid", "png"))
    pieces = []
    for name, (array, ended) in zip(numbered(len(arrays)), arrays, strict=True):
        piece: dict[str, Any] = {"file": f"{name}.mid", rep_unit(rep): int(len(array)), "ended_cleanly": bool(ended)}
        score, syntax = decode_piece(rep, array)
        if syntax is not None:
            piece.update(syntax_errors=len(syntax.errors), syntax_error_share=syntax.share, reasons=syntax.errors[:20])
        piece.update(describe(score_notes(score)))
        title = f"{name} ({rep.name})"
        piece["rendered"], piece["render_errors"] = write_piece(
            score, out / name, formats, audio, title, primer_quarters
        )
        pieces.append(piece)
    steps = sum(len(a) for a, _ in arrays)
    result = MidiSampleReport(out, pieces, seconds, steps / seconds if seconds else 0.0, rep_unit(rep))
    summary = {
        "settings": settings.__dict__,
        "representation": rep.name,
        "syntax_error_rate": None if frames else result.syntax_error_rate,
        "clean_share": result.clean_share,
        "sampling_seconds": round(seconds, 3),
        f"{result.unit}_per_second": round(result.steps_per_second, 1),
        "primer_quarters": primer_quarters,
        **(extra or {}),
        "pieces": pieces,
    }
    (out / "samples.json").write_text(json.dumps(summary, indent=2))
    return result


def decode_piece(rep: Representation, array: np.ndarray) -> tuple[Any, Any]:
    """A generated array (after <start>) → (symusic Score, its syntax report, or None for frames)."""
    if isinstance(rep, FrameRepresentation):
        return rep.decode(array), None
    ids = np.concatenate([[rep.start_id], array])
    return rep.decode(ids), rep.check(ids)


def write_piece(
    score: Any,
    stem: Path,
    formats: tuple[str, ...],
    audio: AudioOptions | None,
    title: str,
    primer_quarters: float | None = None,
) -> tuple[list[str], list[str]]:
    """``stem.mid``, ``stem.png`` and ``stem.<format>`` for each of ``formats``: the names written, and what failed."""
    from tunesmith.render.files import render_midi_file
    from tunesmith.render.pianoroll import pianoroll_png

    for stale in ("mid", "png", *formats):  # files left from an earlier run must not pass for this one
        stem.with_name(f"{stem.name}.{stale}").unlink(missing_ok=True)
    midi = stem.with_name(f"{stem.name}.mid")
    score.dump_midi(str(midi))
    pianoroll_png(score, stem.with_name(f"{stem.name}.png"), title=title, mark_quarters=primer_quarters)
    written, errors = [midi.name, f"{stem.name}.png"], []
    if formats and score.note_num():
        report = render_midi_file(midi, stem, formats, (audio or AudioOptions()).check())
        written += [p.name for o in report.outputs for p in o.paths]
        errors = [f"{f.format}: {f.reason}" for f in report.failures]
    elif formats:
        errors = [f"{f}: no notes to render" for f in formats]
    return written, errors


def rep_unit(rep: Representation) -> str:
    return "frames" if isinstance(rep, FrameRepresentation) else "tokens"


def describe(notes: Any) -> dict[str, Any]:
    """Simple counts a musician reads at a glance: notes, length, pitch range, pitch classes, polyphony."""
    n = len(notes)
    if not n:
        return {"notes": 0, "quarters": 0.0, "pitch_range": None, "pitch_classes": 0, "polyphony": 0.0}
    end = notes.onset + notes.duration
    onsets = np.unique(np.round(notes.onset * 12))
    return {
        "notes": n,
        "quarters": round(float(end.max()), 2),
        "pitch_range": [int(notes.pitch.min()), int(notes.pitch.max())],
        "pitch_classes": int(np.unique(notes.pitch % 12).size),
        "polyphony": round(n / max(1, onsets.size), 2),  # notes per distinct onset
    }
