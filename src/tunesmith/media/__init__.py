"""The media layer: what a representation's pieces *are* (ABC text, MIDI scores, audio), asked once.

Every representation declares its ``medium``; :func:`of` returns the one :class:`Medium` that knows
how to read a corpus of it, take a primer, write generated pieces with their report (files, facts,
checks, a table and a summary line), show them in the studio and name the loss unit. Prepare, sample,
train, evaluate, plot, the report and the studio ask here; nothing above this layer tests a
representation's name or kind to find out what it holds.

A new representation of an existing medium costs one file in ``representations/``; a new medium one
module here (plus its helpers beside it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.representations import REGISTRY, Representation, names_of

if TYPE_CHECKING:  # torch loads only when something is sampled: `prepare` stays quick to start
    from tunesmith.metrics.novelty import Runs
    from tunesmith.metrics.pieces import Group, Piece
    from tunesmith.sampling import Guard, SampleSettings

STUDIO_STEM = "tune"  # files in a studio result folder: tune.abc, tune.mid, tune.wav, tune.svg…


@dataclass
class PrepareRequest:
    """What ``tunesmith prepare`` was asked, before a medium reads its own options from it."""

    out: Path
    representation: str
    corpus: str | None = None
    input_path: Path | str | None = None
    val_fraction: float = 0.1
    seed: int = 0
    max_tunes: int = 0
    drop_fields: list[str] = field(default_factory=list)
    keep_comments: bool = False
    max_chars: int = 5000
    midi: dict[str, Any] = field(default_factory=dict)  # transpose, tempo_factors, normalize_key, vocab_size
    sample_rate: int | None = None
    only_valid: bool = False  # ABC: keep only the tunes that pass the validity check


@dataclass
class SampleRequest:
    """The options of ``tunesmith sample`` beyond the sampling settings; each medium takes its own and
    refuses the others with the option named."""

    model: str = ""  # where the model came from, recorded in samples.json
    model_kind: str = ""  # run or bundle
    render: tuple[str, ...] = ()
    primer_midi: Path | None = None
    primer_bars: int = 2
    prime_audio: Path | None = None
    seconds: float = 4.0
    meter: str = ""  # ABC: the kind of tune asked for ("" each: not asked), built into a header primer
    key: str = ""
    rhythm: str = ""

    def kind(self) -> dict[str, str]:
        """The asked ``--meter``, ``--key`` and ``--rhythm``, by option name (empty when none is)."""
        return {f"--{k}": v for k in ("meter", "key", "rhythm") if (v := getattr(self, k))}


class PiecesReport(Protocol):
    """What writing generated pieces returns: the CLI prints ``table()``, ``summary()`` and ``wrote``."""

    out: Path

    def table(self) -> tuple[list[str], list[list[Any]]]: ...

    def summary(self) -> str: ...

    @property
    def wrote(self) -> str: ...

    @property
    def items(self) -> list[dict[str, Any]]: ...


@dataclass
class StudioPiece:
    """One finished piece for the studio, written into its own folder."""

    folder: Path
    number: int  # 1-based within its request
    title: str  # "" when untitled: the studio names it
    text: str | None  # the ABC, when the medium writes text
    files: list[tuple[str, str]] = field(default_factory=list)  # (kind, file name in folder)
    facts: list[tuple[str, str]] = field(default_factory=list)  # shown as "label value"
    checks: list[dict[str, Any]] = field(default_factory=list)  # {"label", "ok", "detail"}
    valid: bool | None = None
    problems: list[str] = field(default_factory=list)  # what could not be rendered, and why
    details: dict[str, Any] = field(default_factory=dict)  # the full check report, for the API
    untitled: str = "Tune"  # what an untitled piece is called, before the studio numbers it


NewFolder = Callable[[], Path]  # the studio's next empty result folder
OnStage = Callable[[str], None]  # what a job is doing now, in words
OnPiece = Callable[[StudioPiece], None]  # a finished piece, handed over at once


@dataclass
class Studio:
    """Where a studio request's pieces go and how they sound: each is written into ``new_folder()``, the work
    is told through ``on_stage`` and each finished piece handed to ``on_piece`` at once."""

    new_folder: NewFolder
    on_stage: OnStage
    on_piece: OnPiece
    audio: Any = None  # AudioOptions: playback's tempo and instrument (None: the tune's own, piano)
    tune_book: bool = False  # hold --constrain to a tune book's header, as when a kind of tune is asked for


class Medium(ABC):
    """One medium's whole life cycle; subclasses fill in the abstract methods."""

    name: ClassVar[str]  # "abc", "midi" or "audio"
    notes: ClassVar[bool] = True  # its pieces decode to notes (evaluate's musical statistics apply)
    constrains: ClassVar[bool] = False  # has a grammar guard for ``--constrain``

    def representations(self) -> list[str]:
        """The registered representations of this medium, by name: the registry is the only list."""
        return sorted(names_of(self.name))

    # -- training ---------------------------------------------------------------------------------------

    def loss_unit(self, rep: Representation) -> str:
        """What one step of the loss predicts: "char" for ABC characters, "token", "bit" for on/off frames."""
        return rep.unit

    def describe_loss(self, rep: Representation, loss: float) -> str:
        return f"{loss:.4f} nats/{self.loss_unit(rep)}"

    @abstractmethod
    def prepare(self, request: PrepareRequest) -> tuple[dict[str, Any], float]:
        """Read, clean, split and encode a corpus into ``request.out``: (meta.json's content, seconds)."""

    @abstractmethod
    def training_samples(
        self, model: Any, data: Any, config: Any, settings: SampleSettings, folder: Path, epoch: int
    ) -> None:
        """What a run writes to ``samples/epoch_NNN`` after an epoch (kept cheap: it runs every few epochs)."""

    # -- sampling ---------------------------------------------------------------------------------------

    def kind_primer(self, loaded: Any, settings: SampleSettings, request: SampleRequest) -> str:
        """The primer that asks for ``request``'s kind of tune (``--meter``, ``--key``, ``--rhythm``); only a
        medium with headers has one."""
        raise TunesmithError(
            f"{', '.join(request.kind())} are for ABC models; {request.model} writes {loaded.representation.name}"
        )

    def guard(self, rep: Representation, settings: SampleSettings) -> Guard | None:
        """The guard ``--constrain`` hands the token loop; only a medium with a grammar has one."""
        if settings.constrain:
            raise TunesmithError(f"--constrain is for ABC models; {rep.name} samples are checked and reported instead")
        return None

    def generate(
        self,
        model: Any,
        rep: Representation,
        settings: SampleSettings,
        primer: np.ndarray | None = None,
        onset_weight: float = 1.0,
    ) -> list[tuple[np.ndarray, bool]]:
        """(array after <start>, ended) per piece, through the one sampling package and this medium's guard."""
        from tunesmith.sampling import generate_arrays

        settings.check_for(rep)
        return generate_arrays(model, rep, settings, primer, onset_weight, guard=self.guard(rep, settings))

    def scores(
        self, model: Any, rep: Representation, settings: SampleSettings, onset_weight: float, folder: Path
    ) -> tuple[list[tuple[Any, str]], list[tuple[str, str]]]:
        """Newly generated pieces as symusic Scores with a label each, and (what, why) for pieces that have
        none: what the piano-roll and neuron pictures draw. Media without notes have no scores."""
        return [], [("piano rolls", f"{rep.name} is audio: see the spectrograms")]

    @abstractmethod
    def write_samples(self, loaded: Any, settings: SampleSettings, out: Path, request: SampleRequest) -> PiecesReport:
        """``tunesmith sample``: generate ``settings.num`` pieces of ``loaded`` into ``out``, with their report."""

    @abstractmethod
    def compose(self, loaded: Any, settings: SampleSettings, studio: Studio) -> None:
        """The studio: generate, check and render pieces one folder each, handing each over when it is ready."""

    # -- evaluation -------------------------------------------------------------------------------------

    def why_no_notes(self, rep: Representation) -> str | None:
        """Why ``evaluate``'s note statistics do not apply to ``rep`` (None when they do)."""
        return None if self.notes else f"not applicable: '{rep.name}' is {self.name}, which has no notes to count"

    def evaluation_group(self, loaded: Any, chunks: list[SampleSettings], temperature: float, folder: Path) -> Group:
        """``evaluate``'s samples at one temperature: generate ``chunks``, write numbered files into ``folder``
        and check each piece (its notes, its record in report.json, the group's validity shares)."""
        raise TunesmithError(self.why_no_notes(loaded.representation) or f"{self.name} pieces cannot be evaluated")

    def real_pieces(self, data: Any, split: str, indices: np.ndarray) -> list[Piece]:
        """Pieces ``indices`` of a prepared split, read as the samples are (quantised alike)."""
        raise TunesmithError(self.why_no_notes(data.representation) or f"{self.name} pieces cannot be evaluated")

    def held_out_validity(self, pieces: list[Piece], profile: Any = None) -> dict[str, Any]:
        """Validity shares of real held-out pieces for the reference row (and each piece's record), judged as
        the samples are (against the model's corpus ``profile`` where the medium has one); none here."""
        return {}

    # Per-piece measures of form beyond the note statistics (ABC: the shape of a tune): name -> (label, unit).
    form_features: ClassVar[dict[str, tuple[str, str]]] = {}

    def form_values(self, pieces: list[Piece], profile: Any = None) -> dict[str, np.ndarray]:
        """One value per piece and form feature (NaN where undefined); none here."""
        return {}

    def tell_apart(self, real: list[Piece], other: list[Piece], seed: int) -> dict[str, Any] | None:
        """A two-sample test: how well a classifier tells ``other`` from ``real`` (None: none for this medium)."""
        return None

    def bar_runs(self, queries: list[Piece], corpus: list[Piece]) -> list[Runs] | None:
        """Novelty by whole bars: the longest run each query shares with a corpus piece (None: no bars to compare)."""
        return None


def of(rep: Representation | str) -> Medium:
    """The medium of a representation (an instance, or a registered name)."""
    from tunesmith.media import abc, audio, midi

    media: dict[str, Medium] = {m.name: m for m in (abc.MEDIUM, midi.MEDIUM, audio.MEDIUM)}
    if isinstance(rep, str):
        if rep not in REGISTRY:
            raise TunesmithError(f"unknown representation '{rep}'; known: {', '.join(sorted(REGISTRY))}")
        rep_medium = REGISTRY[rep].medium
    else:
        rep_medium = rep.medium
    if rep_medium not in media:
        raise TunesmithError(f"representation '{rep}' declares an unknown medium '{rep_medium}'")
    return media[rep_medium]


def refuse_sample_rate(request: PrepareRequest) -> None:
    """``--sample-rate`` is an audio option; the other media name the representations that take it."""
    if request.sample_rate is not None:
        audio = ", ".join(names_of("audio"))
        raise TunesmithError(f"--sample-rate applies to audio representations ({audio})")


def numbered(count: int) -> list[str]:
    """File stems ``001``, ``002``… wide enough for ``count`` pieces."""
    width = max(3, len(str(count)))
    return [f"{i + 1:0{width}d}" for i in range(count)]


def clear_numbered(folder: Path, suffixes: tuple[str, ...]) -> None:
    """Create ``folder``; numbered files (``001.abc``…) an earlier run left there must not pass for new ones."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.suffix in suffixes and path.stem.isdigit():
            path.unlink()
