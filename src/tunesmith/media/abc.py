"""The ABC medium: tunebooks in, tunes out as ``.abc`` + ``.mid``, judged by the validity checks.

Its guard is the ABC grammar (``--constrain``); its loss unit the representation's symbol (a character
for ``abc-char``); its pieces are tunes with a title, a meter and a key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunesmith.errors import TunesmithError
from tunesmith.media import (
    Medium,
    PrepareRequest,
    SampleRequest,
    Studio,
    refuse_sample_rate,
)
from tunesmith.media.abc_prepare import prepare_abc
from tunesmith.metrics.abc_shape import SHAPE_FEATURES
from tunesmith.representations import Representation

if TYPE_CHECKING:  # the sampling side loads torch; preparing a corpus never needs it
    import numpy as np

    from tunesmith.media.abc_samples import SampleReport
    from tunesmith.metrics.novelty import Runs
    from tunesmith.metrics.pieces import Group, Piece
    from tunesmith.sampling import Guard, SampleSettings


class AbcMedium(Medium):
    name = "abc"
    constrains = True

    def loss_unit(self, rep: Representation) -> str:
        return rep.unit

    def prepare(self, request: PrepareRequest) -> tuple[dict[str, Any], float]:
        refuse_sample_rate(request)
        return prepare_abc(request)

    def kind_primer(self, loaded: Any, settings: SampleSettings, request: SampleRequest) -> str:
        """The header primer for ``--meter``/``--key``/``--rhythm``, held to the model's corpus; with ``--constrain``
        walked through the grammar here, so a header it cannot take is refused naming these options."""
        from tunesmith.constraints import tables_for
        from tunesmith.constraints.abc_words import missing_chars
        from tunesmith.media.abc_kind import kind_primer, tune_book

        primer = kind_primer(loaded.corpus, request.meter, request.key, request.rhythm)
        rep = loaded.representation
        if settings.constrain and hasattr(rep, "tokens") and not missing_chars(set(rep.chars)):
            tables_for(list(rep.tokens), tune_book(loaded.corpus)).walk(
                primer, f"the header {' '.join(primer.split())!r}"
            )
        return primer

    def guard(self, rep: Representation, settings: SampleSettings) -> Guard | None:
        from tunesmith.media.abc_samples import grammar_guard

        return grammar_guard(rep, settings)  # type: ignore[arg-type]

    def training_samples(
        self, model: Any, data: Any, config: Any, settings: SampleSettings, folder: Path, epoch: int
    ) -> None:
        from tunesmith.media.abc_samples import write_samples
        from tunesmith.metrics import abc_corpus

        profile = abc_corpus.read(data.folder)
        write_samples(model, data.representation, settings, folder, extra={"epoch": epoch}, profile=profile)

    def scores(
        self, model: Any, rep: Representation, settings: SampleSettings, onset_weight: float, folder: Path
    ) -> tuple[list[tuple[Any, str]], list[tuple[str, str]]]:
        """Tunes written as ``sample_NNN.abc`` into ``folder`` and read through abc2midi."""
        import symusic

        from tunesmith.media.abc_samples import generate_tunes, tune_text
        from tunesmith.render.midi import abc_to_midi

        scores, skipped = [], []
        for i, made in enumerate(generate_tunes(model, rep, settings), 1):  # type: ignore[arg-type]
            text = tune_text(rep, made.tokens, i)
            (folder / f"sample_{i:03d}.abc").write_text(text, encoding="utf-8")
            midi = folder / f"sample_{i:03d}.mid"
            conversion = abc_to_midi(text, midi)
            if not conversion.converted:
                why = conversion.messages[0] if conversion.messages else "no notes"
                skipped.append((f"piano roll of sample_{i:03d}.abc", f"does not convert to MIDI ({why})"))
                continue
            scores.append((symusic.Score(str(midi)), f"generated tune {i} (seed {settings.seed})"))
        return scores, skipped

    def write_samples(self, loaded: Any, settings: SampleSettings, out: Path, request: SampleRequest) -> SampleReport:
        from tunesmith.media.abc_kind import tune_book
        from tunesmith.media.abc_samples import write_samples

        if request.prime_audio:
            raise TunesmithError(
                f"--prime-audio is for audio models; {request.model} writes {loaded.representation.name}"
            )
        if request.primer_midi:
            raise TunesmithError(
                f"--primer-midi is for MIDI models; {request.model} writes {loaded.representation.name}"
            )
        extra: dict[str, Any] = {"model": request.model, "model_kind": request.model_kind}
        if request.kind():
            extra["asked"] = {option.lstrip("-"): value for option, value in request.kind().items()}
        return write_samples(
            loaded.model,
            loaded.representation,
            settings,
            out,
            extra=extra,
            render=request.render,
            profile=loaded.corpus,
            grammar_profile=tune_book(loaded.corpus) if request.kind() else None,
        )

    def compose(self, loaded: Any, settings: SampleSettings, studio: Studio) -> None:
        from tunesmith.media import abc_kind
        from tunesmith.media.abc_samples import generate_tunes
        from tunesmith.media.abc_studio import studio_piece

        studio.on_stage("writing")
        grammar = abc_kind.tune_book(loaded.corpus) if studio.tune_book else loaded.corpus
        generated = generate_tunes(loaded.model, loaded.representation, settings, grammar)
        for number, tune in enumerate(generated, start=1):
            studio.on_stage(f"rendering tune {number} of {len(generated)}")
            piece = studio_piece(loaded.representation, tune, number, studio.new_folder(), loaded.corpus, studio.audio)
            studio.on_piece(piece)

    def evaluation_group(self, loaded: Any, chunks: list[SampleSettings], temperature: float, folder: Path) -> Group:
        from tunesmith.media.abc_evaluate import evaluation_group

        return evaluation_group(loaded, chunks, temperature, folder)

    def real_pieces(self, data: Any, split: str, indices: np.ndarray) -> list[Piece]:
        from tunesmith.media.abc_evaluate import real_pieces

        return real_pieces(data, split, indices)

    def held_out_validity(self, pieces: list[Piece], profile: Any = None) -> dict[str, Any]:
        from tunesmith.media.abc_evaluate import held_out_validity

        return held_out_validity(pieces, profile)

    form_features = SHAPE_FEATURES

    def form_values(self, pieces: list[Piece], profile: Any = None) -> dict[str, np.ndarray]:
        from tunesmith.media.abc_evaluate import shape_values

        return shape_values(pieces, profile)

    def tell_apart(self, real: list[Piece], other: list[Piece], seed: int) -> dict[str, Any] | None:
        from tunesmith.media.abc_evaluate import tell_apart

        return tell_apart(real, other, seed)

    def bar_runs(self, queries: list[Piece], corpus: list[Piece]) -> list[Runs] | None:
        from tunesmith.media.abc_evaluate import bar_runs

        return bar_runs(queries, corpus)


MEDIUM = AbcMedium()
