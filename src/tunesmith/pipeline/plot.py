"""``tunesmith plot RUN``: the pictures that tell what a run learned, written to ``RUN/plots/``.

- ``learning_curves.png`` always: train against validation loss, and accuracy (F1 for piano rolls)
  against epoch.
- ``pianoroll_NNN.png`` for ABC and MIDI runs: the latest in-training samples (``samples/epoch_NNN``), or
  ``num`` freshly generated ones (seeded) where there are none or ``fresh`` is asked for. ABC goes to
  MIDI through abc2midi first.
- ``spectrogram_NNN.png`` for audio representations, drawn from the WAV files in the run's samples.
- neurons: for a recurrent ABC model, heat maps of ``tunes`` tunes (``tunes.abc``) coloured by single units
  (:mod:`tunesmith.pipeline.neurons`) and ``neurons.csv`` with every unit's scores; for a transformer,
  attention maps; for MIDI token and frame models, heat maps over the position index.

Each part that cannot be drawn for this run is skipped with its reason, not an error; only a run
with no metrics yet (nothing to plot) is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tunesmith import media
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.attention import attention_figures
from tunesmith.pipeline.neurons import (
    CONTRASTS,
    MAX_RECORD,
    MAX_TUNES,
    Figure,
    UnitScore,
    abc_neuron_figures,
    abc_tunes_for,
    parse_unit,
    raster_figure,
)
from tunesmith.render.curves import learning_curves_png
from tunesmith.training.history import History, read_history

MAX_NUM = 16  # piano rolls or spectrograms per call
MAX_ATTENTION = 512  # positions in an attention map
STALE = (  # what a call writes; an earlier call's files must not pass for this one's
    "tunes.abc",
    "neurons.csv",
    "sample_*.abc",
    "sample_*.mid",
    "activations.png",
    "learning_curves.png",
    "pianoroll_*.png",
    "spectrogram_*.png",
    "neuron_*.png",
    "attention_*.png",
)


@dataclass
class PlotReport:
    run: Path
    out: Path
    history: History
    figures: list[Figure] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    rankings: dict[str, list[UnitScore]] = field(default_factory=dict)


def plot_run(
    run: Path | str,
    *,
    unit: str = "auto",
    tune: Path | str | None = None,
    num: int = 2,
    seed: int = 0,
    fresh: bool = False,
    checkpoint: str = "best",
    max_length: int = 1000,
    attention_length: int = 96,
    tunes: int = 2,
) -> PlotReport:
    """Draw every picture that fits the run; see the module notes."""
    run = Path(run)
    if not 1 <= num <= MAX_NUM:
        raise TunesmithError(f"--num {num} must be between 1 and {MAX_NUM}")
    if not 1 <= max_length <= MAX_RECORD:
        raise TunesmithError(f"--max-length {max_length} must be between 1 and {MAX_RECORD}")
    if not 2 <= attention_length <= MAX_ATTENTION:
        raise TunesmithError(f"--attention-length {attention_length} must be between 2 and {MAX_ATTENTION}")
    if not 1 <= tunes <= MAX_TUNES:
        raise TunesmithError(f"--tunes {tunes} must be between 1 and {MAX_TUNES}")
    chosen = parse_unit(unit)
    if not run.is_dir():
        raise TunesmithError(f"{run} does not exist (expected a run folder)")
    if not (run / "config.yaml").is_file():
        raise TunesmithError(f"{run} is not a run folder (no config.yaml)")
    history = read_history(run)
    out = run / "plots"
    out.mkdir(exist_ok=True)
    for pattern in STALE:
        for old in out.glob(pattern):
            old.unlink()
    report = PlotReport(run, out, history)
    best = history.best()
    detail = f"{history.epochs:.2f} epochs" + (
        f", best val loss {best['val_loss']:.4f} at epoch {best['epoch']:.2f}" if best else ""
    )
    path = learning_curves_png(history, out / "learning_curves.png", title=f"{run.name}: {_describe_run(run)}")
    report.figures.append(Figure("learning curves", path, detail))

    from tunesmith.bundle import load

    loaded = load(run, checkpoint)
    model, rep = loaded.model, loaded.representation
    _piano_rolls(report, run, model, rep, loaded.config, num, seed, fresh)
    _spectrograms(report, run, rep, num)
    tune_path = Path(tune) if tune else None
    _neurons(report, model, rep, loaded.config, chosen, tune_path, seed, max_length, attention_length, tunes)
    return report


def _describe_run(run: Path) -> str:
    from tunesmith.config import read_config

    c = read_config(run / "config.yaml")
    return f"{c.model.name} {c.model.layers}×{c.model.hidden} on {c.data.representation}"


def _latest_samples(run: Path, suffix: str) -> list[Path]:
    """Files with ``suffix`` in the latest ``samples/epoch_NNN`` folder that has any."""
    from tunesmith.pipeline.train import epoch_sample_folders

    for folder in epoch_sample_folders(run):
        files = sorted(folder.glob(f"*{suffix}"))
        if files:
            return files
    return []


def _piano_rolls(
    report: PlotReport, run: Path, model: nn.Module, rep: Any, config: Any, num: int, seed: int, fresh: bool
) -> None:
    import symusic

    from tunesmith.render.pianoroll import pianoroll_png

    if not media.of(rep).notes:
        report.skipped.append(("piano rolls", f"{rep.name} is audio: see the spectrograms"))
        return
    files = [] if fresh else _latest_samples(run, ".mid")[:num]
    if files:
        for i, midi in enumerate(files, 1):
            try:
                score = symusic.Score(str(midi))
            except Exception as exc:  # symusic raises plain RuntimeError/ValueError on a bad file
                report.skipped.append((f"piano roll of {midi.name}", f"unreadable MIDI ({exc})"))
                continue
            label = f"{midi.parent.name}/{midi.name}"
            path = pianoroll_png(score, report.out / f"pianoroll_{i:03d}.png", title=f"{run.name}: {label}")
            report.figures.append(Figure("piano roll", path, label))
        return
    for i, (score, label) in enumerate(_fresh_scores(report, model, rep, config, num, seed), 1):
        path = pianoroll_png(score, report.out / f"pianoroll_{i:03d}.png", title=f"{run.name}: {label}")
        report.figures.append(Figure("piano roll", path, label))


def _fresh_scores(
    report: PlotReport, model: nn.Module, rep: Any, config: Any, num: int, seed: int
) -> list[tuple[Any, str]]:
    """``num`` newly generated pieces as symusic Scores (ABC through abc2midi), with a label each."""
    from tunesmith.sampling import SampleSettings

    settings = SampleSettings(num=num, seed=seed, max_length=config.train.sample_max_length)
    scores, skipped = media.of(rep).scores(model, rep, settings, config.train.onset_weight, report.out)
    report.skipped.extend(skipped)
    return scores


def _spectrograms(report: PlotReport, run: Path, rep: Any, num: int) -> None:
    from tunesmith.render.wav_plot import wav_spectrogram_png

    if media.of(rep).notes:
        report.skipped.append(("spectrograms", f"{rep.name} is not an audio representation"))
        return
    wavs = _latest_samples(run, ".wav")[:num]
    if not wavs:
        report.skipped.append(("spectrograms", f"no WAV files in {run / 'samples'} yet (training writes them)"))
        return
    for i, wav in enumerate(wavs, 1):
        label = f"{wav.parent.name}/{wav.name}"
        path = wav_spectrogram_png(wav, report.out / f"spectrogram_{i:03d}.png", title=f"{run.name}: {label}")
        report.figures.append(Figure("spectrogram", path, label))


def _neurons(
    report: PlotReport,
    model: nn.Module,
    rep: Any,
    config: Any,
    unit: str | None,
    tune: Path | None,
    seed: int,
    max_length: int,
    attention_length: int,
    count: int,
) -> None:
    from tunesmith.models.transformer import TransformerLM

    recurrent = isinstance(getattr(model, "rnn", None), nn.RNNBase)
    transformer = isinstance(model, TransformerLM)
    if not (recurrent or transformer):
        report.skipped.append(("neurons", f"{type(model).__name__} is neither recurrent nor a transformer"))
        return
    text = rep.kind == "tokens" and rep.reads_text  # one id per character: heat maps over the tune's text
    if tune is not None and not text:
        raise TunesmithError(f"--tune takes ABC; this run reads {rep.name}")
    if transformer and unit is not None:
        report.skipped.append((f"unit {unit}", "--unit picks a recurrent unit; a transformer gets attention maps"))
    if text:
        tunes = abc_tunes_for(model, rep, tune, seed, max_length, count)
        book = "\n".join(f"X:{i}\n{t}" for i, t in enumerate(tunes, 1))
        (report.out / "tunes.abc").write_text(book, encoding="utf-8")
        if recurrent:
            figures, report.rankings = abc_neuron_figures(model, rep, tunes, report.out, unit)
            report.figures.extend(figures)
            for contrast, (inside, outside, words) in CONTRASTS.items():
                if unit is None and contrast not in report.rankings:
                    why = f"the tunes have no {inside} or no {outside} characters (try --tune FILE or another --seed)"
                    report.skipped.append((f"neuron heat map for {words}", why))
            return
        text = tunes[0]
        ids = torch.as_tensor(np.concatenate([[rep.start_id], rep.ids(text)]), dtype=torch.long)[:attention_length]
        labels = ["▸", *text][: len(ids)]
        report.figures.extend(attention_figures(model, ids, labels, report.out, "character"))
        return
    inputs, prefix, axis = _generated_inputs(model, rep, config, seed, max_length)
    if len(inputs) < 2:
        report.skipped.append(("neurons", f"the generated piece has {len(inputs)} {axis}s (try another --seed)"))
        return
    if recurrent:
        report.figures.append(raster_figure(model, inputs, report.out, unit, axis, prefix=prefix))
    else:
        whole = torch.cat([prefix, inputs]) if prefix is not None else inputs
        report.figures.extend(attention_figures(model, whole[:attention_length], None, report.out, axis))


def _generated_inputs(
    model: nn.Module, rep: Any, config: Any, seed: int, max_length: int
) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """A seeded piece for a model without text: (its positions, what precedes them, 'token' or 'frame')."""
    from tunesmith.sampling import SampleSettings

    settings = SampleSettings(num=4, seed=seed, max_length=max_length)  # the longest of 4: some stop at once
    arrays = media.of(rep).generate(model, rep, settings, onset_weight=config.train.onset_weight)
    array = max((a for a, _ in arrays), key=len)
    if rep.kind == "frames":
        start = rep.start_frame()
        frames = torch.as_tensor(np.asarray(array, dtype=np.float32))
        return frames, torch.as_tensor(np.asarray(start, dtype=np.float32))[None], "frame"
    return torch.as_tensor(np.asarray(array, dtype=np.int64)), torch.tensor([rep.start_id]), "token"
