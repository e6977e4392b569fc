"""The ABC medium's samples: generate tunes, write ABC and MIDI, and report what converts and what is valid."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.abc_text import header_fields, normal_key, normal_meter
from tunesmith.constraints import AbcConstraint
from tunesmith.media import numbered
from tunesmith.metrics.abc_corpus import CorpusProfile
from tunesmith.metrics.validity import REASONS, check
from tunesmith.render.audio import AudioOptions
from tunesmith.render.midi import convert_many
from tunesmith.representations import TokenRepresentation
from tunesmith.sampling import Generated, SampleSettings, generate_tokens


def grammar_guard(
    rep: TokenRepresentation, settings: SampleSettings, profile: CorpusProfile | None = None
) -> AbcConstraint | None:
    """The ABC grammar for ``--constrain`` (held to the model's corpus ``profile`` where it has one), over what
    the primer leaves of ``--max-length``."""
    if not settings.constrain:
        return None
    primer = rep.ids(settings.primer, "--primer") if settings.primer else np.zeros(0, dtype=np.int64)
    return AbcConstraint(rep, settings.primer, settings.max_length - primer.size, profile)


def generate_tunes(
    model: Any, rep: TokenRepresentation, settings: SampleSettings, profile: CorpusProfile | None = None
) -> list[Generated]:
    """Tunes from the token loop, with the grammar guard when ``--constrain`` asks for it."""
    settings.check_for(rep)
    return generate_tokens(model, rep, settings, guard=grammar_guard(rep, settings, profile))


CELL = 12  # the widest meter or key a table shows; the full text stays in samples.json
TITLE = 28


def _cell(value: str, normal: Callable[[str], str]) -> str:
    """A header value as a musician reads it (one spelling: ``Gmaj`` → ``G``), ``?`` when no tool reads it or it
    would not fit, ``-`` when there is none."""
    if not value:
        return "-"
    try:
        shown = normal(value)
    except ValueError:
        return "?"
    return shown if len(shown) <= CELL else "?"


def _title(title: str) -> str:
    title = " ".join(title.split())
    return "-" if not title else title if len(title) <= TITLE else title[: TITLE - 1] + "…"


@dataclass
class SampleReport:
    out: Path
    tunes: list[dict[str, Any]]
    seconds: float
    chars_per_second: float
    baseline: float | None = None  # the share of the corpus's real (held-out) tunes that are valid

    @property
    def items(self) -> list[dict[str, Any]]:
        return self.tunes

    @property
    def wrote(self) -> str:
        return f"wrote        {self.out}/  (samples.json has abc2midi's messages per tune)"

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Headers and one row per tune: what a musician checks first."""
        rows = [
            [
                t["file"],
                _title(t["title"]),
                _cell(t["meter"], normal_meter),
                _cell(t["key"], normal_key),
                t["length"],
                "yes" if t["ending"] == "ended" else "forced",
                "yes" if t["converts_to_midi"] else "no",
                t["abc2midi_errors"],
                f"{100 * t['validity']['bars_ok_share']:.0f}%" if t["validity"]["bars"] else "-",  # no bar to judge
                "yes" if t["valid"] else "no",
            ]
            for t in self.tunes
        ]
        return ["file", "title", "meter", "key", "length", "ended", "midi", "errors", "bars ok", "valid"], rows

    def summary(self) -> str:
        n = len(self.tunes)
        judged = any(t["validity"]["bars"] for t in self.tunes)  # no meter or no bar line: nothing to judge
        bars = f"{100 * self.bars_ok_share:.1f}% of bars the right length" if judged else "no bar could be judged"
        real = f" (real tunes: {100 * self.baseline:.0f}%)" if self.baseline is not None else ""
        forced = sum(t["ending"] == "forced" for t in self.tunes)
        return (
            f"{sum(t['converts_to_midi'] for t in self.tunes)}/{n} convert to MIDI "
            f"({100 * self.converted_share:.0f}%), {100 * self.clean_share:.0f}% with zero abc2midi errors, "
            f"{bars}, {forced}/{n} endings forced, {100 * self.valid_share:.0f}% valid{real}{self.why_not()}; "
            f"{self.chars_per_second:,.0f} chars/s"
        )

    def why_not(self) -> str:
        """The commonest reasons tunes are not valid, for the summary line."""
        counts = {r: sum(r in t["validity"]["reasons"] for t in self.tunes) for r in REASONS}
        top = sorted((c, -i, r) for i, (r, c) in enumerate(counts.items()) if c)[::-1][:3]
        return (" — not valid: " + ", ".join(f"{REASONS[r]} {c}" for c, _, r in top)) if top else ""

    @property
    def converted_share(self) -> float:
        return sum(t["converts_to_midi"] for t in self.tunes) / max(1, len(self.tunes))

    @property
    def clean_share(self) -> float:
        """Share that converted with zero abc2midi errors."""
        return sum(t["converts_to_midi"] and t["abc2midi_errors"] == 0 for t in self.tunes) / max(1, len(self.tunes))

    @property
    def valid_share(self) -> float:
        """Share that pass every check of :mod:`tunesmith.metrics.validity`."""
        return sum(t["valid"] for t in self.tunes) / max(1, len(self.tunes))

    @property
    def bars_ok_share(self) -> float:
        """Share of all bars, over all tunes, whose length matches the meter."""
        bars = sum(t["validity"]["bars"] for t in self.tunes)
        return sum(t["validity"]["bars_ok"] for t in self.tunes) / bars if bars else 1.0


def tune_text(rep: TokenRepresentation, tokens: Any, number: int) -> str:
    """A generated tune as a complete ABC file: a fresh ``X:`` line, then the model's text."""
    body = rep.decode(tokens)
    return f"X:{number}\n{body}" + ("" if body.endswith("\n") else "\n")


def write_samples(
    model: Any,
    rep: TokenRepresentation,
    settings: SampleSettings,
    out: Path | str,
    *,
    extra: dict[str, Any] | None = None,
    render: tuple[str, ...] = (),
    audio: AudioOptions | None = None,
    profile: CorpusProfile | None = None,
    grammar_profile: CorpusProfile | None = None,
) -> SampleReport:
    """Generate ``settings.num`` tunes into ``out`` as ``NNN.abc`` + ``NNN.mid`` and ``samples.json``, each judged
    against the training corpus's ``profile`` (the generic floor when None). ``grammar_profile`` holds
    ``--constrain`` to less than the corpus (a tune book's header: :func:`tunesmith.media.abc_kind.tune_book`).

    ``render`` names more formats (wav, flac, ogg, svg, musicxml) written beside each tune as ``NNN.<format>``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    generated = generate_tunes(model, rep, settings, grammar_profile or profile)
    seconds = time.perf_counter() - started
    texts = [tune_text(rep, g.tokens, i + 1) for i, g in enumerate(generated)]
    names = numbered(len(generated))
    for name, text in zip(names, texts, strict=False):
        (out / f"{name}.abc").write_text(text, encoding="utf-8")
    for name in names:  # a MIDI file left from an earlier run must not pass for this one
        (out / f"{name}.mid").unlink(missing_ok=True)
    conversions = convert_many(texts, [out / f"{n}.mid" for n in names])
    tunes = []
    for name, text, g, conv in zip(names, texts, generated, conversions, strict=False):
        fields = header_fields(text)
        validity = check(text, ending=g.ending, conversion=conv, profile=profile).to_json()
        del validity["messages"]  # already below, once
        tunes.append(
            {
                "file": f"{name}.abc",
                "midi": f"{name}.mid" if conv.converted else None,
                "title": fields.get("T", ""),
                "meter": fields.get("M", ""),
                "key": fields.get("K", ""),
                "length": len(rep.decode(g.tokens)),  # characters, whatever the model's unit
                "tokens": int(g.tokens.size),
                "ending": g.ending,  # "ended": the model wrote <end> on its own; "forced": cut or steered
                "ended_cleanly": g.ending == "ended",
                "converts_to_midi": conv.converted,
                "abc2midi_errors": conv.errors,
                "abc2midi_warnings": conv.warnings,
                "notes": conv.notes,
                "messages": conv.messages[:20],
                "valid": validity["valid"],
                "validity": validity,
                **(render_sample(text, out, name, render, audio, conv.converted) if render else {}),
            }
        )
    chars = sum(t["length"] for t in tunes)
    baseline = profile.baseline_share() if profile is not None else None
    report = SampleReport(out, tunes, seconds, chars / seconds if seconds else 0.0, baseline)
    summary = {
        "settings": settings.__dict__,
        "converted_share": report.converted_share,
        "zero_error_share": report.clean_share,
        "ended_share": sum(t["ending"] == "ended" for t in tunes) / max(1, len(tunes)),
        "forced_share": sum(t["ending"] == "forced" for t in tunes) / max(1, len(tunes)),
        "valid_share": report.valid_share,
        "real_valid_share": baseline,
        "corpus_profile": "generic floor" if profile is None or profile.generic else "training corpus",
        "bars_ok_share": report.bars_ok_share,
        "sampling_seconds": round(seconds, 3),
        "chars_per_second": round(report.chars_per_second, 1),
        **(extra or {}),
        "tunes": tunes,
    }
    (out / "samples.json").write_text(json.dumps(summary, indent=2))
    return report


def render_sample(
    text: str, out: Path, name: str, formats: tuple[str, ...], audio: AudioOptions | None, converted: bool
) -> dict[str, list[str]]:
    """Render one sampled tune beside its ``.abc``; what failed is kept as a reason, not raised."""
    from tunesmith.render.files import render_tune

    formats = tuple(f for f in formats if f != "mid")  # NNN.mid is always written
    for fmt in formats:  # a file left from an earlier run must not pass for this one
        (out / f"{name}.{fmt}").unlink(missing_ok=True)
    report = render_tune(
        text, out / name, formats, audio, name=f"{name}.abc", midi=out / f"{name}.mid" if converted else None
    )
    return {
        "rendered": [p.name for o in report.outputs for p in o.paths],
        "render_errors": [f"{f.format}: {f.reason}" for f in report.failures],
    }
