"""Representations turn music into arrays and back; importing this package registers them all.

Every module in this folder that defines a representation registers it with ``@register`` when it is
imported, and this package imports each of them (in name order), so a new representation is one new
file here: no list to edit. ``base`` holds the interface; helpers shared by several representations
(``audio``, ``midi_tokens``, ``miditok_base``) register nothing themselves.
"""

import importlib
import pkgutil

from tunesmith.representations.base import (
    MEDIA,
    REGISTRY,
    FrameRepresentation,
    Representation,
    TokenRepresentation,
    from_json,
)

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "MEDIA",
    "REGISTRY",
    "FrameRepresentation",
    "Representation",
    "TokenRepresentation",
    "from_json",
    "get",
    "names_of",
]


def names_of(medium: str) -> list[str]:
    """The registered representations of one medium, in registration order: the registry is the only list."""
    return [name for name, cls in REGISTRY.items() if cls.medium == medium]


def get(name: str) -> type[Representation]:
    from tunesmith.errors import TunesmithError

    if name not in REGISTRY:
        raise TunesmithError(f"unknown representation '{name}'; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]
