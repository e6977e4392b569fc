"""The one place where the studio generates music: sample, decode, check and render, a tune at a time.

Everything that depends on what a model writes (ABC text today; MIDI tokens soon) lives here, so a
new representation changes this module only. The rest of the studio sees a :class:`Piece`: a title,
a few facts and checks to show, and a list of files by kind (``abc``, ``midi``, ``audio``, ``score``,
``image``), which fits a MIDI result (no ABC, a WAV and a piano-roll PNG) as well as an ABC one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError

STEM = "tune"  # files in a result folder: tune.abc, tune.mid, tune.wav, tune.svg (tune-p2.svg…)
MEDIA_TYPES = {
    ".abc": "text/vnd.abc; charset=utf-8",
    ".mid": "audio/midi",
    ".wav": "audio/wav",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
}


@dataclass
class Piece:
    """One finished tune, written into its own folder."""

    folder: Path
    number: int  # 1-based within its request
    title: str
    text: str | None  # the ABC, when the representation writes text
    files: list[tuple[str, str]] = field(default_factory=list)  # (kind, file name in folder)
    facts: list[tuple[str, str]] = field(default_factory=list)  # shown as "label value"
    checks: list[dict[str, Any]] = field(default_factory=list)  # {"label", "ok", "detail"}
    valid: bool | None = None
    problems: list[str] = field(default_factory=list)  # what could not be rendered, and why
    details: dict[str, Any] = field(default_factory=dict)  # the full validity report, for the API


def settings_for(request: dict[str, Any], seed: int) -> Any:
    """Sampling settings from a checked request (``tunesmith.web.schemas.GenerateRequest`` as a dict)."""
    from tunesmith.sampling import SampleSettings

    return SampleSettings(
        num=request["num"],
        temperature=request["temperature"],
        top_k=request["top_k"],
        top_p=request["top_p"],
        primer=request["primer"],
        max_length=request["max_length"],
        seed=seed,
        batch_size=min(64, request["num"]),
        constrain=request["constrain"],
    )


def compose(
    loaded: Any,
    settings: Any,
    new_folder: Callable[[], Path],
    on_stage: Callable[[str], None],
    on_piece: Callable[[Piece], None],
) -> None:
    """Generate ``settings.num`` tunes with ``loaded`` (a ``LoadedModel``), handing each over as soon as it is
    checked and rendered. Raises TunesmithError for settings the model cannot take."""
    from tunesmith.pipeline.sample_midi import is_midi
    from tunesmith.representations import is_audio
    from tunesmith.sampling import generate

    rep = loaded.representation
    if is_audio(rep):  # a sound model continues a recording; the studio composes notes
        raise TunesmithError(
            f"'{rep.name}' models continue a recording; use 'tunesmith sample MODEL --prime-audio FILE.wav'"
        )
    if getattr(rep, "name", "") != "abc-char" and settings.constrain:
        raise TunesmithError("constrained sampling needs an abc-char model; untick 'constrain'")
    if is_midi(rep):
        if settings.primer:
            raise TunesmithError("the primer is ABC text; a MIDI model takes none here (use tunesmith sample)")
        on_stage("writing")
        _midi_pieces(loaded, settings, new_folder, on_stage, on_piece)
        return
    on_stage("writing")
    generated = generate(loaded.model, rep, settings)
    for number, tune in enumerate(generated, start=1):
        on_stage(f"rendering tune {number} of {len(generated)}")
        on_piece(_abc_piece(rep, tune, number, new_folder()))


def _abc_piece(rep: Any, tune: Any, number: int, folder: Path) -> Piece:
    """Write, convert, check and render one ABC tune (as ``tunesmith sample --render wav,svg`` does)."""
    from tunesmith.corpora.abc import header_fields
    from tunesmith.metrics.validity import check
    from tunesmith.pipeline.sample import tune_text
    from tunesmith.render.files import render_tune
    from tunesmith.render.midi import abc_to_midi

    text = tune_text(rep, tune.tokens, number)
    (folder / f"{STEM}.abc").write_text(text, encoding="utf-8")
    conv = abc_to_midi(text, folder / f"{STEM}.mid")
    report = check(text, ended=tune.ended, conversion=conv).to_json()
    rendered = render_tune(
        text,
        folder / STEM,
        ("wav", "svg"),
        name=f"tune {number}",
        midi=folder / f"{STEM}.mid" if conv.converted else None,
    )
    files = [("abc", f"{STEM}.abc")] + ([("midi", f"{STEM}.mid")] if conv.converted else [])
    for output in rendered.outputs:
        kind = "audio" if output.format == "wav" else "score"
        files += [(kind, p.name) for p in output.paths]
    fields = header_fields(text)
    bars = report["bars"]
    checks = [
        {"label": "valid ABC", "ok": report["valid"], "detail": "every check below passes"},
        {
            "label": "header",
            "ok": report["header_ok"],
            "detail": "; ".join(report["header_problems"][:2]) or "X:, M:, L: and K: readable",
        },
        {"label": "ended", "ok": tune.ended, "detail": "the model ended it" if tune.ended else "cut at the length"},
        {
            "label": "converts",
            "ok": conv.converted and conv.errors == 0,
            "detail": f"abc2midi: {conv.errors} errors, {conv.warnings} warnings" if conv.converted else "no MIDI",
        },
        {
            "label": "bars",
            "ok": bars > 0 and report["bars_ok"] == bars,
            "detail": f"{report['bars_ok']} of {bars} bars fit the meter" if bars else "no bar to judge",
        },
    ]
    facts = [("meter", fields.get("M", "") or "-"), ("key", fields.get("K", "") or "-")]
    facts.append(("length", f"{tune.tokens.size} characters"))
    problems = [f"{f.format}: {f.reason}" for f in rendered.failures]
    return Piece(
        folder=folder,
        number=number,
        title=fields.get("T", "") or f"Tune {number}",
        text=text,
        files=files,
        facts=facts,
        checks=checks,
        valid=bool(report["valid"]),
        problems=problems,
        details={"validity": report},
    )


def _midi_pieces(
    loaded: Any,
    settings: Any,
    new_folder: Callable[[], Path],
    on_stage: Callable[[str], None],
    on_piece: Callable[[Piece], None],
) -> None:
    """MIDI and piano-roll models: decode each piece, write MIDI, WAV and a piano-roll PNG."""
    from tunesmith.pipeline.sample_midi import decode_piece, describe, generate_arrays, write_piece
    from tunesmith.representations.midi_tokens import score_notes

    rep = loaded.representation
    arrays = generate_arrays(loaded.model, rep, settings, onset_weight=loaded.config.train.onset_weight)
    for number, (array, ended) in enumerate(arrays, start=1):
        on_stage(f"rendering piece {number} of {len(arrays)}")
        folder = new_folder()
        score, syntax = decode_piece(rep, array)
        stats = describe(score_notes(score))
        written, problems = write_piece(score, folder / STEM, ("wav",), None, f"piece {number} ({rep.name})")
        kinds = {".mid": "midi", ".wav": "audio", ".png": "image"}
        files = [(kinds[Path(n).suffix], n) for n in written if Path(n).suffix in kinds]
        checks = [
            {"label": "has notes", "ok": stats["notes"] > 0, "detail": f"{stats['notes']} notes"},
            {"label": "ended", "ok": bool(ended), "detail": "the model ended it" if ended else "cut at the length"},
        ]
        if syntax is not None:
            detail = "; ".join(syntax.errors[:2]) or "every token in place"
            checks.append({"label": "decodes", "ok": not syntax.errors, "detail": detail})
        facts = [("notes", str(stats["notes"])), ("quarters", str(stats["quarters"]))]
        if stats["pitch_range"]:
            facts.append(("pitches", "{}-{}".format(*stats["pitch_range"])))
        on_piece(
            Piece(
                folder=folder,
                number=number,
                title=f"Piece {number}",
                text=None,
                files=files,
                facts=facts,
                checks=checks,
                valid=all(c["ok"] for c in checks),
                problems=problems,
                details={"syntax_errors": None if syntax is None else syntax.errors[:20], **stats},
            )
        )
