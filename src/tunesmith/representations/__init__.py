"""Representations turn music into arrays and back; import this package to register them all."""

from tunesmith.representations import (  # noqa: F401  (register them)
    abc_text,
    audio_spectral,
    audio_wave,
    mel,
    midi_notes,
    midi_remi,
    midi_tsd,
    pianoroll,
)
from tunesmith.representations.base import (
    REGISTRY,
    FrameRepresentation,
    Representation,
    TokenRepresentation,
    from_json,
)

__all__ = ["REGISTRY", "FrameRepresentation", "Representation", "TokenRepresentation", "from_json", "get", "is_audio"]


def is_audio(rep: Representation) -> bool:
    """Audio frames or audio tokens: models of these continue sound, not scores."""
    from tunesmith.representations.audio import AudioRepresentation
    from tunesmith.representations.audio_wave import AudioMulaw

    return isinstance(rep, (AudioRepresentation, AudioMulaw))


def get(name: str) -> type[Representation]:
    from tunesmith.errors import TunesmithError

    if name not in REGISTRY:
        raise TunesmithError(f"unknown representation '{name}'; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]
