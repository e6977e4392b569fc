"""``tunesmith evaluate``: make models comparable by likelihood, validity, musical statistics and novelty.

For one run or bundle, in plain order:

1. **Likelihood** on the held-out (``val``) split of its prepared data: loss, bits per token and
   accuracy for token models; the frame module's loss (and F1 for piano rolls) for frame models.
2. **Samples** at each temperature (0.5, 1.0 and 2.0 by default, as seed 002 compared them):
   ``num`` pieces, the same seed at every temperature, decoded to music. ABC goes through the same
   abc2midi conversion as ``tunesmith sample``; MIDI tokens and piano rolls through their decoder.
3. **Validity**: for ABC the shares of :mod:`tunesmith.metrics.validity` (valid, forced endings, bars
   of the right length, and why tunes fail), judged by the model's corpus profile
   (:mod:`tunesmith.metrics.abc_corpus`) exactly as real held-out tunes are; for MIDI tokens the
   syntax-error rate; for every model the share that ended by itself and the share with notes.
4. **Musical statistics** (:mod:`tunesmith.metrics.features`) of the samples against an equal-size
   seeded draw of training pieces: means, overlapping area and KL divergence per feature
   (:mod:`tunesmith.metrics.distributions`). ABC is read as its melody (abc2midi's first track).
   For ABC, also the shape of a tune (:mod:`tunesmith.metrics.abc_shape`: bars, parts, 8-bar parts,
   the last note, repetition, common rhythms), compared the same way.
5. **Novelty** (:mod:`tunesmith.metrics.novelty`): every sample against the whole training split.
6. **Told apart** (ABC): a classifier two-sample test (:mod:`tunesmith.metrics.two_sample`) of each
   temperature's tunes against the real held-out ones; 0.5 means it cannot tell them apart.

Besides the samples, a seeded draw of held-out pieces, music no model wrote, goes through steps 3
to 6 as a reference row (its two-sample test is against the training draw): what real, unseen tunes
score against the same training set.

Progress goes to ``progress`` (the CLI: stderr), one line per stage, per tenth of the likelihood's
batches and per temperature, each starting ``evaluate:``, so a long evaluation shows where it is.

Audio models have no notes: they get the likelihood, and the note statistics say why they are not
applicable. Training pieces made by augmentation (transposed or tempo-stretched copies, ``ref``
labels like ``+3`` or ``x1.1`` in ``train_sources.json``) are left out of the draw and of novelty;
novelty compares intervals, so a transposed copy of a training piece is still found.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith import media
from tunesmith.errors import TunesmithError
from tunesmith.metrics.distributions import compare
from tunesmith.metrics.features import FEATURES, POLYPHONIC_ONLY, features
from tunesmith.metrics.novelty import MAX_CORPUS_TOKENS, NoveltySettings, compare_runs, note_tokens, piece_novelty
from tunesmith.metrics.pieces import Group, Piece
from tunesmith.pipeline.evaluate_json import group_json, json_safe, profile_json
from tunesmith.pipeline.likelihood import Progress, likelihood
from tunesmith.untrusted import read_json

DEFAULT_TEMPERATURES = (0.5, 1.0, 2.0)
MAX_NUM = 2000
MAX_TEMPERATURES = 8
SAMPLER_CHUNK = 1000  # the sampler's own per-call limit; larger --num is drawn in chunks
POLYPHONIC_RATE = 0.01  # a corpus whose training draw sounds two pitches this often is polyphonic
_AUGMENTED_REF = re.compile(r"(?:^|\s)(?:[+-]\d+(?:\s+x\S+)?|x\S+)$")


@dataclass
class EvaluateSettings:
    """What ``tunesmith evaluate`` was asked for; every value is bounded by :meth:`check`."""

    num: int = 200
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    seed: int = 0
    max_length: int = 1000  # characters, tokens or frames per sample
    batch_size: int = 64
    max_batches: int = 0  # likelihood: 0 = the whole held-out split
    novelty: NoveltySettings = field(default_factory=NoveltySettings)

    def check(self) -> None:
        from tunesmith.sampling import SampleSettings

        if not 1 <= self.num <= MAX_NUM:
            raise TunesmithError(f"--num {self.num} is out of range: choose 1 to {MAX_NUM}")
        if not 1 <= len(self.temperatures) <= MAX_TEMPERATURES:
            raise TunesmithError(f"give 1 to {MAX_TEMPERATURES} --temperature values, not {len(self.temperatures)}")
        for t in self.temperatures:  # the sampler's own checks: temperature (NaN too), length, batch size
            SampleSettings(temperature=t, max_length=self.max_length, batch_size=self.batch_size).check()
        if len(set(self.temperatures)) != len(self.temperatures):
            raise TunesmithError("each --temperature may be given once")
        if not 0 <= self.seed < 2**31:
            raise TunesmithError(f"--seed {self.seed} must be between 0 and {2**31 - 1}")
        if not 0 <= self.max_batches <= 1_000_000:
            raise TunesmithError(f"--max-batches {self.max_batches} must be between 0 (all) and 1000000")
        self.novelty.check()


@dataclass
class Evaluation:
    """Everything a report is written from."""

    report: dict[str, Any]  # what report.json holds
    groups: list[Group]  # samples first, then the held-out reference; training draw last
    out: Path


# -- inputs ------------------------------------------------------------------------------------


def data_folder(model_path: Path, kind: str, data: Path | None) -> Path:
    """The prepared folder to evaluate on: ``--data``, else the one a run records in ``data.json``."""
    if data is not None:
        return Path(data)
    if kind != "run":
        from tunesmith.pretrained import builtin_models

        named = {n for n, p in builtin_models().items() if str(model_path) == n or p == Path(model_path)}
        name = min(named, default=None)
        if name is not None:  # its card says how its held-out split is made
            raise TunesmithError(
                f"the built-in model '{name}' is measured on its corpus's held-out tunes: run "
                f"'tunesmith prepare --corpus {name} --out data/{name}', then add --data data/{name}"
            )
        raise TunesmithError(f"{model_path} is a bundle; name the prepared folder it was trained on with --data DIR")
    try:
        recorded = read_json(model_path / "data.json").get("data")
    except TunesmithError:
        recorded = None
    if not recorded or not isinstance(recorded, str):
        raise TunesmithError(f"{model_path}/data.json does not name its prepared folder; pass --data DIR")
    return Path(recorded)


def original_pieces(data: Any, split: str) -> np.ndarray:
    """Indices of the split's pieces that are not augmentation copies (see the module docstring)."""
    count = len(data.offsets(split)) - 1
    path = data.folder / f"{split}_sources.json"
    if not data.meta.get("augmentation") or not path.is_file():
        return np.arange(count)
    pairs = _source_pairs(path)
    if pairs is None or len(pairs) != count:
        return np.arange(count)
    return np.array([i for i, (_, ref) in enumerate(pairs) if not _AUGMENTED_REF.search(ref)], dtype=np.int64)


def _source_pairs(path: Path) -> list[tuple[str, str]] | None:
    """``[file, ref]`` per piece from a ``*_sources.json`` (None when it is missing or not such a list: a
    prepared folder may be a stranger's, and names are only decoration)."""
    try:
        raw = read_json(path, expect=list)
    except TunesmithError:
        return None
    if not all(isinstance(item, list) and len(item) == 2 for item in raw):
        return None
    return [(str(src), str(ref) if ref is not None else "") for src, ref in raw]


def source_names(data: Any, split: str) -> list[str] | None:
    """ "file #ref" for each piece of a split, to name the training tune a sample copies."""
    pairs = _source_pairs(data.folder / f"{split}_sources.json")
    return None if pairs is None else [f"{src} #{ref}" if ref else src for src, ref in pairs]


def real_pieces(data: Any, split: str, indices: np.ndarray) -> list[Piece]:
    """Pieces of a prepared split read as its medium reads the samples (so a training piece is quantised
    exactly as a generated one)."""
    return media.of(data.representation).real_pieces(data, split, indices)


def same_vocabulary(prepared: Any, rep: Any, model: Path) -> None:
    """A model is measured on any corpus written in its own representation, state and all (the corpus it was
    trained on, or one prepared with ``--vocab-from``); every other corpus is refused, with how to make one."""
    mine = prepared.representation
    if mine.to_json() == rep.to_json():
        return
    if rep.medium != mine.medium:
        raise TunesmithError(
            f"{prepared.folder} holds {mine.medium} data ('{mine.name}') but the model reads {rep.medium} "
            f"('{rep.name}'); pass a prepared folder of its own medium with --data"
        )
    what = f"'{mine.name}'" if mine.name == rep.name else f"'{mine.name}' (the model reads '{rep.name}')"
    fix = (
        f"prepare the corpus with 'tunesmith prepare --vocab-from {model} …' to measure the model on it, or "
        if rep.medium == "abc"
        else ""
    )
    raise TunesmithError(
        f"{prepared.folder} was prepared with another {what} vocabulary or settings than the model's; "
        f"{fix}pass the folder it was trained on with --data"
    )


# -- samples -----------------------------------------------------------------------------------


def _chunks(settings: EvaluateSettings, temperature: float) -> list[Any]:
    """SampleSettings for ``num`` pieces in chunks the sampler accepts, seeded alike at every temperature."""
    from tunesmith.sampling import SampleSettings

    return [
        SampleSettings(
            num=min(SAMPLER_CHUNK, settings.num - first),
            temperature=temperature,
            max_length=settings.max_length,
            seed=settings.seed + 7919 * (first // SAMPLER_CHUNK),
            batch_size=settings.batch_size,
        )
        for first in range(0, settings.num, SAMPLER_CHUNK)
    ]


# -- statistics --------------------------------------------------------------------------------


def feature_values(group: Group) -> None:
    """One value per piece and feature (NaN for a piece without notes or where a feature is undefined)."""
    rows = [features(p.notes) if p.notes is not None else None for p in group.pieces]
    group.values = {name: np.array([r[name] if r else math.nan for r in rows], dtype=np.float64) for name in FEATURES}


def shown_features(training: Group) -> list[str]:
    """The features a report shows: polyphony only for a polyphonic corpus (see ``POLYPHONIC_RATE``)."""
    poly = training.values.get("polyphony_rate", np.zeros(0))
    polyphonic = bool(np.isfinite(poly).any() and np.nanmean(poly) >= POLYPHONIC_RATE)
    return [f for f in FEATURES if f not in POLYPHONIC_ONLY or polyphonic]


def novelty_of(
    groups: list[Group], corpus: list[Piece], medium: media.Medium, settings: NoveltySettings, seed: int
) -> dict[str, Any]:
    """Fill each group's ``novelty`` against the whole training corpus; returns what was compared."""
    tokens = [note_tokens(p.notes) if p.notes is not None else np.zeros(0, np.int64) for p in corpus]
    used = np.arange(len(corpus))
    if sum(t.size for t in tokens) > MAX_CORPUS_TOKENS:  # a huge corpus: a seeded subset that fits
        order = np.random.default_rng([seed, 3]).permutation(len(corpus))
        sizes = np.cumsum([tokens[i].size for i in order])
        used = np.sort(order[sizes <= MAX_CORPUS_TOKENS])
    queries = [p for g in groups for p in g.pieces]
    note_runs = compare_runs(
        [note_tokens(p.notes) if p.notes is not None else np.zeros(0, np.int64) for p in queries],
        [tokens[i] for i in used],
    )
    bar_runs: list[Any] = medium.bar_runs(queries, [corpus[i] for i in used]) or [None] * len(queries)
    results = iter(piece_novelty(n, settings, b) for n, b in zip(note_runs, bar_runs, strict=True))
    for group in groups:
        group.novelty = [next(results) for _ in group.pieces]
        for item in group.novelty:  # training-piece index in the corpus list, not in the subset
            item.closest = int(used[item.closest]) if item.closest >= 0 else -1
            if item.closest_bars is not None and item.closest_bars >= 0:
                item.closest_bars = int(used[item.closest_bars])
    return {
        "pieces": int(used.size),
        "of_pieces": len(corpus),
        "notes": int(sum(tokens[i].size for i in used)),
    }


# -- the workflow ------------------------------------------------------------------------------


def _draw(count: int, size: int, seed: int, stream: int) -> np.ndarray:
    """A seeded draw of ``size`` indices out of ``count`` (all of them when there are fewer), sorted."""
    rng = np.random.default_rng([seed, stream])
    return np.sort(rng.choice(count, size=min(size, count), replace=False)) if count else np.zeros(0, np.int64)


def evaluate(
    model: Path | str,
    out: Path | str,
    settings: EvaluateSettings | None = None,
    *,
    data: Path | str | None = None,
    checkpoint: str = "best",
    progress: Progress = lambda line: None,
) -> Evaluation:
    """Evaluate a run or bundle and write ``report.json``, ``report.md``, ``report.html`` and PNGs to ``out``;
    ``progress`` hears a line per stage, per tenth of the likelihood and per temperature."""
    from tunesmith.bundle import load
    from tunesmith.data.prepared import PreparedData
    from tunesmith.pipeline.report import write_report

    settings = settings or EvaluateSettings()
    settings.check()
    started = time.perf_counter()
    model, out = Path(model), Path(out)
    if out.exists() and not out.is_dir():
        raise TunesmithError(f"--out {out} is a file; give a folder for the report")
    if data is not None and not Path(data).is_dir():
        raise TunesmithError(f"--data {data} is not a folder")
    loaded = load(model, checkpoint)
    folder = data_folder(model, loaded.kind, Path(data) if data is not None else None)
    prepared = PreparedData.open(folder)
    rep = loaded.representation
    same_vocabulary(prepared, rep, model)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "model": str(model),
        "model_kind": loaded.kind,
        "checkpoint": loaded.info.get("checkpoint"),
        "representation": rep.name,
        "data": str(folder),
        "settings": {
            "num": settings.num,
            "temperatures": list(settings.temperatures),
            "seed": settings.seed,
            "max_length": settings.max_length,
            "batch_size": settings.batch_size,
            "max_batches": settings.max_batches,
        },
    }
    report["likelihood"] = {k: json_safe(v) for k, v in likelihood(loaded, prepared, settings, progress).items()}
    medium = media.of(rep)
    why = medium.why_no_notes(rep)
    report["note_statistics"] = why
    if why is not None:
        report["groups"] = []
        report["seconds"] = round(time.perf_counter() - started, 1)
        progress(f"evaluate: writing the report to {out}")
        return Evaluation(report, [], write_report(report, [], out))

    train_index = original_pieces(prepared, "train")
    progress(f"evaluate: reading {len(train_index)} training pieces for novelty and the statistics draw")
    corpus = medium.real_pieces(prepared, "train", train_index)
    groups: list[Group] = []
    unit = "tunes" if medium.name == "abc" else "pieces"
    for t in settings.temperatures:
        group_folder = Path("samples") / f"T{t:g}"
        progress(f"evaluate: temperature {t:g}: 0/{settings.num} {unit} → {out / group_folder}")
        group = medium.evaluation_group(loaded, _chunks(settings, t), t, out / group_folder)
        group.folder = str(group_folder)
        groups.append(group)
        progress(f"evaluate: temperature {t:g}: {len(group.pieces)}/{settings.num} {unit} in {group.seconds:.0f} s")
    n_val = len(prepared.offsets("val")) - 1
    val_index = _draw(n_val, settings.num, settings.seed, 2)
    held = Group("held-out", None, medium.real_pieces(prepared, "val", val_index))
    val_names = source_names(prepared, "val")
    for i, piece in zip(val_index, held.pieces, strict=True):
        piece.record["file"] = val_names[i] if val_names and i < len(val_names) else f"validation piece {i}"
        piece.record["index"] = int(i)  # in the validation split
    profile = loaded.corpus
    held.validity = medium.held_out_validity(held.pieces, profile)
    training = Group("training", None, [corpus[i] for i in _draw(len(corpus), settings.num, settings.seed, 1)])
    progress(f"evaluate: statistics of {len(training.pieces)} training and {len(held.pieces)} held-out pieces")
    for group in [*groups, held, training]:
        feature_values(group)
        group.values.update(medium.form_values(group.pieces, profile))
    shown = shown_features(training)
    for group in [*groups, held]:
        names = [*FEATURES, *medium.form_features]
        group.comparisons = {f: compare(training.values[f], group.values[f]) for f in names}
    if medium.form_features:
        progress("evaluate: telling each group from real held-out tunes (a classifier two-sample test)")
    for group in groups:  # samples against real held-out pieces; the held-out row against the training draw
        group.two_sample = medium.tell_apart(held.pieces, group.pieces, settings.seed)
    held.two_sample = medium.tell_apart(training.pieces, held.pieces, settings.seed)
    progress(f"evaluate: novelty of every sample against all {len(corpus)} training pieces")
    novelty_info = novelty_of([*groups, held], corpus, medium, settings.novelty, settings.seed)
    names = source_names(prepared, "train")
    report["features"] = {f: {"label": FEATURES[f][0], "unit": FEATURES[f][1]} for f in shown}
    report["shape_features"] = {f: {"label": label, "unit": unit} for f, (label, unit) in medium.form_features.items()}
    report["corpus_profile"] = profile_json(profile)
    report["novelty_settings"] = {**settings.novelty.__dict__, "corpus": novelty_info, "kind": medium.name}
    report["training_draw"] = {
        "pieces": len(training.pieces),
        "with_notes": sum(p.notes is not None for p in training.pieces),
        "means": {
            f: json_safe(np.nanmean(v)) if np.isfinite(v).any() else None
            for f, v in training.values.items()
            if f in shown or f in medium.form_features
        },
    }
    shapes = list(medium.form_features)
    report["groups"] = [group_json(g, shown, names, train_index, shapes) for g in [*groups, held]]
    report["seconds"] = round(time.perf_counter() - started, 1)
    progress(f"evaluate: writing the report to {out}")
    return Evaluation(report, [*groups, held, training], write_report(report, [*groups, held, training], out))
