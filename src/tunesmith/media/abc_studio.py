"""A tune for the studio: written, converted, checked and rendered into its own folder.

Two ways in: a tune the model just wrote (:func:`studio_piece`), and a tune a person edited on the page
(:func:`edited_piece`). Both end in :func:`piece_from_text`, so an edited tune gets exactly the checks,
score and sound a generated one does: its wrong bars named in words and marked on the score, its audio at
the tempo and instrument asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunesmith.media import STUDIO_STEM, StudioPiece

MAX_WRONG_SHOWN = 50  # wrong bars a result lists in words


def studio_piece(rep: Any, tune: Any, number: int, folder: Path, profile: Any = None, audio: Any = None) -> StudioPiece:
    """Write, convert, check and render one generated tune (as ``tunesmith sample --render wav,svg`` does)."""
    from tunesmith.media.abc_samples import tune_text

    text = tune_text(rep, tune.tokens, number)
    return piece_from_text(text, tune.ending, number, folder, profile, audio, length=int(tune.tokens.size))


def edited_piece(text: str, folder: Path, profile: Any = None, audio: Any = None) -> StudioPiece:
    """A tune a person edited, checked and rendered again in its folder (the old files are replaced)."""
    for old in folder.glob(f"{STUDIO_STEM}*"):
        old.unlink(missing_ok=True)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return piece_from_text(text if text.endswith("\n") else text + "\n", None, 1, folder, profile, audio)


def piece_from_text(
    text: str,
    ending: str | None,
    number: int,
    folder: Path,
    profile: Any = None,
    audio: Any = None,
    length: int | None = None,
) -> StudioPiece:
    """Write ``text``, convert it with abc2midi, check it against ``profile`` and render WAV and SVG; the wrong
    bars are marked on the score where its bars line up with the check's. ``ending`` is the sampler's ("ended"
    or "forced"), None for a tune a person wrote."""
    from tunesmith.abc_text import header_fields
    from tunesmith.metrics.validity import check
    from tunesmith.render.files import render_tune
    from tunesmith.render.midi import abc_to_midi

    stem = STUDIO_STEM
    (folder / f"{stem}.abc").write_text(text, encoding="utf-8")
    conv = abc_to_midi(text, folder / f"{stem}.mid")
    report = check(text, ending=ending, conversion=conv, profile=profile).to_json()
    rendered = render_tune(
        text,
        folder / stem,
        ("wav", "svg"),
        audio,
        name=f"tune {number}",
        midi=folder / f"{stem}.mid" if conv.converted else None,
    )
    files = [("abc", f"{stem}.abc")] + ([("midi", f"{stem}.mid")] if conv.converted else [])
    marked = False
    for output in rendered.outputs:
        if output.format == "svg":
            marked = _mark(output.paths, report)
        kind = "audio" if output.format == "wav" else "score"
        files += [(kind, p.name) for p in output.paths]
    fields = header_fields(text)
    facts = [("meter", fields.get("M", "") or "-"), ("key", fields.get("K", "") or "-")]
    facts.append(("length", f"{length if length is not None else len(text)} characters"))
    return StudioPiece(
        folder=folder,
        number=number,
        title=" ".join(fields.get("T", "").split())[:80],
        text=text,
        files=files,
        facts=facts,
        checks=_checks(report, ending, conv, profile),
        valid=bool(report["valid"]),
        problems=[f"{f.format}: {f.reason}" for f in rendered.failures],
        details={"validity": report, "wrong_bars": report.get("wrong_bars", [])[:MAX_WRONG_SHOWN], "marked": marked},
    )


def _mark(pages: list[Path], report: dict[str, Any]) -> bool:
    """Mark the wrong bars on the engraved pages in place; False where the score's bars do not line up."""
    from tunesmith.render.score_marks import mark_bars

    wrong = {int(w["number"]): str(w["words"]) for w in report.get("wrong_bars", [])}
    if not wrong:
        return False
    svgs = [p.read_text(encoding="utf-8") for p in pages]
    new, marked = mark_bars(svgs, wrong, report.get("engraved_bars", 0))
    if marked:
        for path, svg in zip(pages, new, strict=True):
            path.write_text(svg, encoding="utf-8")
    return marked


def _checks(report: dict[str, Any], ending: str | None, conv: Any, profile: Any) -> list[dict[str, Any]]:
    """The checks a result shows, each with a line that says what was found (no "ended" for a person's tune)."""
    bars = report["bars"]
    share = profile.baseline_share() if profile is not None else None
    real = f" (real tunes of its corpus: {100 * share:.0f}%)" if share is not None else ""
    corpus = "its training corpus" if profile is not None and not profile.generic else "any tune (no corpus profile)"
    checks = [
        {"label": "valid ABC", "ok": report["valid"], "detail": "every check below passes" + real},
        {
            "label": "header",
            "ok": report["header_ok"],
            "detail": "; ".join(report["header_problems"][:2]) or "X:, M:, L: and K: readable",
        },
        {
            "label": "ended",
            "ok": ending == "ended",
            "detail": "the model ended it" if ending == "ended" else "forced: cut at the length or steered to end",
        },
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
        {
            "label": "like its corpus",
            "ok": not report["corpus_problems"],
            "detail": "; ".join(report["corpus_problems"][:2]) or f"length, header, meter and key as in {corpus}",
        },
    ]
    return [c for c in checks if c["label"] != "ended" or ending is not None]
