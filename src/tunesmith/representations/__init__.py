"""Representations turn music into arrays and back; import this package to register them all."""

from tunesmith.representations import abc_text  # noqa: F401  (registers abc-char)
from tunesmith.representations.base import REGISTRY, Representation, TokenRepresentation, from_json

__all__ = ["REGISTRY", "Representation", "TokenRepresentation", "from_json", "get"]


def get(name: str) -> type[Representation]:
    from tunesmith.errors import TunesmithError

    if name not in REGISTRY:
        raise TunesmithError(f"unknown representation '{name}'; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]
