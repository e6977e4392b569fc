"""``tunesmith reconstruct``: put a recording through a mel autoencoder and hear what it kept.

The file is loaded at the model's sample rate (:func:`tunesmith.corpora.audio.load_audio`), turned
into log-mel frames, cut into patches of the length the model trained on (the end padded with
silence frames), encoded and decoded patch by patch, stitched back, cropped, and turned into a wave
by the representation's Griffin-Lim. Written: ``reconstruction.wav``, ``reconstruction.png`` (the
original and the reconstruction's mel spectrograms side by side) and ``reconstruct.json``.

Three sets of distances (formulas in :mod:`tunesmith.metrics.audio`):

- ``model``: the autoencoder alone, its output frames against its input frames, in mel dB;
- ``reconstruction``: the wave it gives back against the original (mel MSE in dB, spectral
  convergence, log-spectral distance), which adds the phase Griffin-Lim has to guess;
- ``griffinlim_only``: the original's own mel frames through Griffin-Lim, no model: the floor any
  mel model reaches, so the model's share of the error can be read off.

Speed: seconds of audio per second of mel analysis + encode + decode + Griffin-Lim (loading the
file, the distances, and a warm-up pass over the first half second are not counted), a multiple of
real time.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from tunesmith import models
from tunesmith.errors import TunesmithError
from tunesmith.metrics.audio import mel_mse_db, reconstruction_distances
from tunesmith.representations import Representation
from tunesmith.sampling.audio import autoencode

MAX_SECONDS = 600.0  # of a file to reconstruct


@dataclass
class ReconstructReport:
    out: Path
    seconds: float  # audio
    realtime: float  # audio seconds per second of analysis + encode + decode + Griffin-Lim
    model: dict[str, float]
    reconstruction: dict[str, float]
    griffinlim_only: dict[str, float]

    def rows(self) -> list[list[Any]]:
        """One row per distance: through the model and Griffin-Lim, and Griffin-Lim alone."""
        names = [
            ("mel_rmse_db", "mel RMS error (dB)"),
            ("mel_mse_db2", "mel MSE (dB²)"),
            ("spectral_convergence", "spectral convergence"),
            ("log_spectral_distance_db", "log-spectral distance (dB)"),
        ]
        return [[label, f"{self.reconstruction[k]:.4g}", f"{self.griffinlim_only[k]:.4g}"] for k, label in names]


def check_autoencoder(name: str, rep: Representation, source: Path | str) -> None:
    """A clear error unless ``name`` is an autoencoder over mel frames."""
    if not models.is_autoencoder(name):
        raise TunesmithError(
            f"{source} holds a '{name}' model, which predicts the next frame; reconstruct needs an autoencoder "
            f"such as mel-cae (continue audio with 'tunesmith sample {source} --prime-audio FILE')"
        )
    from tunesmith.representations.mel import Mel

    if not isinstance(rep, Mel):  # the autoencoder's patches are mel frames
        raise TunesmithError(f"{source} reads '{rep.name}' frames; reconstruct needs a model of mel frames")


def reconstruct_wave(
    model: nn.Module, rep: Any, wave: np.ndarray, patch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames, the model's frames, the reconstructed wave) of ``wave``."""
    frames = rep.frames_of(wave)
    made = autoencode(model, frames, patch, rep.start_frame())
    return frames, made, rep.decode(made)


def write_reconstruction(
    model: nn.Module, rep: Any, wave: np.ndarray, patch: int, out: Path | str, *, source: str = ""
) -> ReconstructReport:
    """Reconstruct ``wave`` and write ``reconstruction.wav``, ``reconstruction.png`` and ``reconstruct.json``."""
    from tunesmith.render.audio import write_audio
    from tunesmith.render.spectrogram import mel_pair_png

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    reconstruct_wave(model, rep, wave[: rep.sample_rate // 2], patch)  # warm-up: library start-up is not timed
    started = time.perf_counter()
    frames, made, rebuilt = reconstruct_wave(model, rep, wave, patch)
    took = time.perf_counter() - started
    seconds = len(wave) / rep.sample_rate
    original_db, rebuilt_db = rep.mel_db(wave), rep.mel_db(rebuilt)
    model_mse, model_rmse = mel_mse_db(rep.frames_db(frames), rep.frames_db(made))
    floor = rep.decode(frames)  # no model: Griffin-Lim of the original's own mel frames
    report = ReconstructReport(
        out,
        seconds,
        seconds / max(took, 1e-9),
        {"mel_mse_db2": round(model_mse, 4), "mel_rmse_db": round(model_rmse, 4)},
        reconstruction_distances(wave, rebuilt, original_db, rebuilt_db),
        reconstruction_distances(wave, floor, original_db, rep.mel_db(floor)),
    )
    write_audio(rebuilt[:, None], rep.sample_rate, out / "reconstruction.wav")
    mel_pair_png(original_db, rebuilt_db, rep.frames_per_second, out / "reconstruction.png")
    summary = {
        "source": source,
        "representation": rep.name,
        "sample_rate": rep.sample_rate,
        "audio_seconds": round(seconds, 3),
        "patch_frames": patch,
        "patches": -(-len(frames) // patch),
        "seconds_taken": round(took, 4),
        "realtime": round(report.realtime, 2),
        "model": report.model,
        "reconstruction": report.reconstruction,
        "griffinlim_only": report.griffinlim_only,
    }
    (out / "reconstruct.json").write_text(json.dumps(summary, indent=2))
    return report


def reconstruct(
    model_path: Path | str, audio: Path | str, out: Path | str, checkpoint: str = "best"
) -> ReconstructReport:
    """``tunesmith reconstruct``: load the run or bundle, check it is a mel autoencoder, reconstruct ``audio``."""
    from tunesmith.bundle import load
    from tunesmith.corpora.audio import MIN_SECONDS, load_audio

    loaded = load(model_path, checkpoint)
    rep = loaded.representation
    check_autoencoder(loaded.config.model.name, rep, model_path)
    wave = load_audio(Path(audio), rep.sample_rate, max_seconds=MAX_SECONDS, min_seconds=MIN_SECONDS)
    return write_reconstruction(loaded.model, rep, wave, loaded.config.data.seq_len, out, source=str(audio))
