"""``tunesmith sample``: load a run or bundle, then let its medium generate, write and report the pieces."""

from __future__ import annotations

from pathlib import Path

from tunesmith import media
from tunesmith.media import PiecesReport, SampleRequest
from tunesmith.sampling import SampleSettings


def sample(
    model: Path | str, settings: SampleSettings, out: Path | str, request: SampleRequest, checkpoint: str = "best"
) -> PiecesReport:
    """Generate ``settings.num`` pieces with the model at ``model`` into ``out``; the medium writes its files
    (ABC + MIDI, MIDI + piano roll + WAV, or WAV + spectrogram) and ``samples.json``."""
    from tunesmith.bundle import load

    settings.check()  # range checks before the model is loaded; the representation's checks follow
    loaded = load(model, checkpoint)
    request.model, request.model_kind = str(model), loaded.kind
    return media.of(loaded.representation).write_samples(loaded, settings, Path(out), request)
