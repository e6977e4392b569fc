"""Where the studio generates music: its request becomes sampling settings, and the model's medium
writes, checks and renders each piece (:meth:`tunesmith.media.Medium.compose`), a piece at a time.

The rest of the studio sees a :class:`Piece`: a title, a few facts and checks to show, and a list of
files by kind (``abc``, ``midi``, ``audio``, ``score``, ``image``), which fits a MIDI result (no ABC, a
WAV and a piano-roll PNG) as well as an ABC one.
"""

from __future__ import annotations

from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.media import STUDIO_STEM, Studio, StudioPiece

STEM = STUDIO_STEM
MEDIA_TYPES = {
    ".abc": "text/vnd.abc; charset=utf-8",
    ".mid": "audio/midi",
    ".wav": "audio/wav",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".pdf": "application/pdf",
}


Piece = StudioPiece  # one finished piece, written into its own folder


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


def compose(loaded: Any, settings: Any, studio: Studio) -> None:
    """Generate ``settings.num`` pieces with ``loaded`` (a ``LoadedModel``), handing each to ``studio.on_piece`` as
    soon as it is checked and rendered: the model's medium writes them, with the same checks ``tunesmith sample``
    reports, and sounds them with ``studio.audio`` (tempo and instrument). Raises TunesmithError for settings
    the model cannot take."""
    from tunesmith import media

    medium = media.of(loaded.representation)
    if settings.constrain and not medium.constrains:
        raise TunesmithError("constrained sampling needs an ABC model; untick 'constrain'")
    medium.compose(loaded, settings, studio)
