"""The audio medium: recordings in (the user's files, or rendered built-in corpora), continuations of a
prompt out as ``.wav`` + spectrogram ``.png``, judged by whether they fade or get stuck."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunesmith.errors import TunesmithError
from tunesmith.media import Medium, PrepareRequest, SampleRequest, Studio
from tunesmith.media.audio_prepare import prepare_audio
from tunesmith.representations import Representation

if TYPE_CHECKING:  # the sampling side loads torch; preparing a corpus never needs it
    from tunesmith.media.audio_samples import AudioSampleReport
    from tunesmith.sampling import SampleSettings

FLAGS = {"transpose": "--transpose", "tempo_factors": "--tempo-stretch", "normalize_key": "--normalize-key"}


class AudioMedium(Medium):
    name = "audio"
    notes = False  # sound, not notes: evaluate's note statistics do not apply

    def describe_loss(self, rep: Representation, loss: float) -> str:
        if rep.kind == "tokens":  # mu-law levels: a cross-entropy like any token model's
            return super().describe_loss(rep, loss)
        what = "magnitude MSE + phase loss" if rep.phase_columns is not None else "mean squared error per value"  # type: ignore[attr-defined]
        return f"{loss:.4f} ({what})"

    def prepare(self, request: PrepareRequest) -> tuple[dict[str, Any], float]:
        r = request
        ignored = [FLAGS.get(key, "--" + key.replace("_", "-")) for key in r.midi]
        ignored += [
            name for name, used in (("--drop-fields", r.drop_fields), ("--keep-comments", r.keep_comments)) if used
        ]
        ignored += ["--max-chars"] if r.max_chars != 5000 else []
        ignored += ["--only-valid"] if r.only_valid else []
        if ignored:
            verb = "does" if len(ignored) == 1 else "do"
            raise TunesmithError(
                f"{', '.join(ignored)} {verb} not apply to audio representations like {r.representation}"
            )
        return prepare_audio(r)

    def training_samples(
        self, model: Any, data: Any, config: Any, settings: SampleSettings, folder: Path, epoch: int
    ) -> None:
        """A continuation (or a reconstruction) of the first validation piece: WAV + PNG."""
        from tunesmith.media.audio_samples import write_training_samples

        write_training_samples(model, data, config, settings, folder, extra={"epoch": epoch})

    def write_samples(
        self, loaded: Any, settings: SampleSettings, out: Path, request: SampleRequest
    ) -> AudioSampleReport:
        from tunesmith.media.audio_samples import prime_for_model, write_audio_samples

        if request.primer_midi or request.render:
            raise TunesmithError(
                f"--primer-midi and --render are for symbolic models; {request.model} continues audio (WAV + PNG)"
            )
        prime = prime_for_model(Path(request.model), loaded.representation, request.prime_audio)
        extra = {"model": request.model, "model_kind": request.model_kind}
        return write_audio_samples(
            loaded.model,
            loaded.representation,
            loaded.config,
            settings,
            out,
            prime=prime,
            seconds=request.seconds,
            extra=extra,
        )

    def compose(self, loaded: Any, settings: SampleSettings, studio: Studio) -> None:
        """A sound model continues a recording; the studio composes notes."""
        raise TunesmithError(
            f"'{loaded.representation.name}' models continue a recording; "
            "use 'tunesmith sample MODEL --prime-audio FILE.wav'"
        )


MEDIUM = AudioMedium()
