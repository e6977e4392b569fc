"""The MIDI medium: scores in (built-in chorales or the user's MIDI files), pieces out as ``.mid``, a
piano-roll ``.png`` and audio, judged by notes, range and (for tokens) the tokenizer's syntax."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunesmith import corpora
from tunesmith.errors import TunesmithError
from tunesmith.media import (
    STUDIO_STEM,
    Medium,
    PrepareRequest,
    SampleRequest,
    Studio,
    StudioPiece,
    refuse_sample_rate,
)
from tunesmith.media.midi_prepare import prepare_midi
from tunesmith.representations import Representation

if TYPE_CHECKING:  # the sampling side loads torch; preparing a corpus never needs it
    import numpy as np

    from tunesmith.media.midi_samples import MidiSampleReport
    from tunesmith.metrics.pieces import Group, Piece
    from tunesmith.sampling import SampleSettings


class MidiMedium(Medium):
    name = "midi"

    def prepare(self, request: PrepareRequest) -> tuple[dict[str, Any], float]:
        refuse_sample_rate(request)
        r = request
        if r.corpus is not None and corpora.builtin(r.corpus).kind != "midi":
            raise TunesmithError(f"corpus '{r.corpus}' is ABC; {r.representation} reads MIDI (try --corpus bach)")
        if r.only_valid:
            raise TunesmithError(f"--only-valid applies to ABC representations only, not {r.representation}")
        return prepare_midi(r)

    def training_samples(
        self, model: Any, data: Any, config: Any, settings: SampleSettings, folder: Path, epoch: int
    ) -> None:
        """MIDI and piano-roll PNG only: audio would slow every epoch down."""
        from tunesmith.media.midi_samples import write_midi_samples

        write_midi_samples(
            model,
            data.representation,
            settings,
            folder,
            extra={"epoch": epoch},
            render=(),
            onset_weight=config.train.onset_weight,
        )

    def scores(
        self, model: Any, rep: Representation, settings: SampleSettings, onset_weight: float, folder: Path
    ) -> tuple[list[tuple[Any, str]], list[tuple[str, str]]]:
        from tunesmith.media.midi_samples import decode_piece

        arrays = self.generate(model, rep, settings, onset_weight=onset_weight)
        label = "generated piece {} (seed {})"
        return [(decode_piece(rep, a)[0], label.format(i, settings.seed)) for i, (a, _) in enumerate(arrays, 1)], []

    def write_samples(
        self, loaded: Any, settings: SampleSettings, out: Path, request: SampleRequest
    ) -> MidiSampleReport:
        from tunesmith.media.midi_samples import primer_from_midi, write_midi_samples

        rep = loaded.representation
        if request.prime_audio:
            raise TunesmithError(f"--prime-audio is for audio models; {request.model} writes {rep.name}")
        primer_ids, quarters = (
            primer_from_midi(rep, request.primer_midi, request.primer_bars) if request.primer_midi else (None, None)
        )
        return write_midi_samples(
            loaded.model,
            rep,
            settings,
            out,
            extra={
                "model": request.model,
                "model_kind": request.model_kind,
                "primer_midi": str(request.primer_midi or ""),
            },
            render=request.render or ("wav",),
            primer=primer_ids,
            primer_quarters=quarters,
            onset_weight=loaded.config.train.onset_weight,
        )

    def compose(self, loaded: Any, settings: SampleSettings, studio: Studio) -> None:
        """Decode each piece, write MIDI, WAV and a piano-roll PNG, with the checks ``sample`` reports."""
        rep = loaded.representation
        if settings.primer:
            raise TunesmithError("the primer is ABC text; a MIDI model takes none here (use tunesmith sample)")
        studio.on_stage("writing")
        arrays = self.generate(loaded.model, rep, settings, onset_weight=loaded.config.train.onset_weight)
        for number, (array, ended) in enumerate(arrays, start=1):
            studio.on_stage(f"rendering piece {number} of {len(arrays)}")
            studio.on_piece(studio_piece(rep, array, ended, number, studio.new_folder(), studio.audio))

    def evaluation_group(self, loaded: Any, chunks: list[SampleSettings], temperature: float, folder: Path) -> Group:
        from tunesmith.media.midi_evaluate import evaluation_group

        return evaluation_group(loaded, chunks, temperature, folder)

    def real_pieces(self, data: Any, split: str, indices: np.ndarray) -> list[Piece]:
        from tunesmith.media.midi_evaluate import real_pieces

        return real_pieces(data, split, indices)


def studio_piece(
    rep: Representation, array: Any, ended: bool, number: int, folder: Path, audio: Any = None
) -> StudioPiece:
    from tunesmith.media.midi_samples import decode_piece, describe, write_piece
    from tunesmith.representations.midi_tokens import score_notes

    score, syntax = decode_piece(rep, array)
    stats = describe(score_notes(score))
    written, problems = write_piece(score, folder / STUDIO_STEM, ("wav",), audio, f"piece {number} ({rep.name})")
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
    return StudioPiece(
        folder=folder,
        number=number,
        title="",
        untitled="Piece",
        text=None,
        files=files,
        facts=facts,
        checks=checks,
        valid=all(c["ok"] for c in checks),
        problems=problems,
        details={"syntax_errors": None if syntax is None else syntax.errors[:20], **stats},
    )


MEDIUM = MidiMedium()
