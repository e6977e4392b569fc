"""Where music comes from: built-in corpora shipped inside installed packages, and user folders.

Nothing here touches the network: the built-in corpora are files that ``pip install music21``
already put on disk.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from tunesmith.errors import TunesmithError


@dataclass(frozen=True)
class BuiltinCorpus:
    name: str
    kind: str  # "abc" or "midi"; "audio" corpora join later
    description: str
    folders: tuple[str, ...]  # below music21/corpus

    def files(self) -> list[Path]:
        """The source files: ``.abc`` tunebooks, or for a MIDI corpus the music21 scores it converts."""
        if self.kind == "midi":
            from tunesmith.corpora.midi_builtin import source_files

            return source_files(self.name)
        root = music21_corpus_root()
        found: list[Path] = []
        for folder in self.folders:
            found += sorted((root / folder).rglob("*.abc"))
        if not found:
            raise TunesmithError(f"built-in corpus '{self.name}' has no files under {root}; is music21 installed?")
        return found


BUILTIN: dict[str, BuiltinCorpus] = {
    "folk": BuiltinCorpus(
        "folk",
        "abc",
        "music21's ABC folk collections: O'Neill's 1850, Ryan's Mammoth, Aird's Airs, "
        "the Essen folksongs and the misc folk files (about 12,900 tunes)",
        ("oneills1850", "ryansMammoth", "airdsAirs", "essenFolksong", "miscFolk"),
    ),
    "bach": BuiltinCorpus(
        "bach",
        "midi",
        "Bach's four-part chorales in music21 (Riemenschneider's 371, 350 distinct files), "
        "soprano, alto, tenor and bass only, converted once to MIDI and cached",
        ("bach",),
    ),
    "classical": BuiltinCorpus(
        "classical",
        "midi",
        "the other scores music21 ships (Beethoven, Mozart, Haydn, the Schumanns, Chopin, Handel, "
        "Monteverdi, Palestrina, Josquin, trecento and more), converted once to MIDI and cached",
        # every music21 corpus folder that is not the chorales, an ABC folk collection, or a theory
        # exercise, demo or lead sheet (tests/test_midi_corpus.py checks none is left unplaced)
        (
            "beach",
            "beethoven",
            "chopin",
            "ciconia",
            "corelli",
            "cpebach",
            "handel",
            "haydn",
            "johnson_j_r",
            "joplin",
            "josquin",
            "liliuokalani",
            "luca",
            "lusitano",
            "monteverdi",
            "mozart",
            "palestrina",
            "schoenberg",
            "schubert",
            "schumann_clara",
            "schumann_robert",
            "trecento",
            "verdi",
            "weber",
            "webern",
        ),  # fmt: skip
    ),
}


def music21_corpus_root() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.origin:
        raise TunesmithError("music21 is not installed; it provides the built-in corpora")
    return Path(spec.origin).parent / "corpus"


def builtin(name: str) -> BuiltinCorpus:
    if name not in BUILTIN:
        close = difflib.get_close_matches(name.lower(), list(BUILTIN), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise TunesmithError(f"unknown corpus '{name}'; {hint}built-in corpora: {', '.join(BUILTIN)}")
    return BUILTIN[name]
