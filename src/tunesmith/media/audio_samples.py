"""The audio medium's samples: continue a prompt as seed 001 did, and say whether it faded.

A frame model (``audio-wave``, ``audio-spectral``, ``mel``) reads the prompt's frames, then predicts
one frame at a time from its own output for ``--seconds``. An ``audio-mulaw`` token model does the
same one sample at a time through the token loop (:func:`tunesmith.sampling.audio.continue_tokens`). Each
continuation is decoded together with its prime (``audio-spectral`` with the model's own phase,
``mel`` by Griffin-Lim) and written as ``NNN.wav`` with ``NNN.png``: the spectrogram of prime and
continuation side by side, the boundary marked. ``samples.json`` holds the fade and fixed-point
measures of :mod:`tunesmith.metrics.audio` for every continuation, and for the prime as reference.

How continuations are drawn (``--num N``): a frame model trained by mean squared error predicts the
mean of a Gaussian whose variance the loss leaves fixed, and seed 001 wrote that mean as it was: every
frame the average of what might come next, so a continuation loses energy step by step and fades
(measured: 10 of 10 wave-lstm continuations below -40 dBFS within 4 s). tunesmith draws from that
Gaussian instead, as a token model draws from its softmax: each frame is the prediction plus
``--temperature`` × σ × N(0, 1), σ being the model's own error per value measured on the prompt (the
model reads the prompt teacher-forced and its residuals give σ, phase residuals wrapped). The draw is
what is written and what is fed back. Each continuation draws its own seeded noise, so they differ.
Token models draw each sample (temperature, top-k, top-p), as for every token model.

Frames fed back are made to look like encoded ones: phase columns wrapped to (−π, π], every other
value clipped to [−1, 1], the range of every audio representation's values (samples, or decibels
mapped by ``dB / 50 + 1``).

The prompt: ``--prime-audio FILE`` (an audio file of 0.5 s to 30 s, :data:`MIN_PRIME_SECONDS` and
:data:`MAX_PRIME_SECONDS`, both read from its header before a sample is decoded; resampled to the
model's rate and loudness-normalised by :func:`tunesmith.corpora.audio.load_audio`), or without it
the first second of the first validation piece of the data the run was trained on (``data.json`` in
the run).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith import models
from tunesmith.config import Config
from tunesmith.data.prepared import PreparedData
from tunesmith.errors import TunesmithError
from tunesmith.media import numbered
from tunesmith.metrics.audio import SILENCE_DBFS, continuation_measures
from tunesmith.representations import Representation
from tunesmith.representations.audio_wave import AudioMulaw
from tunesmith.sampling import MAX_LENGTH, SampleSettings
from tunesmith.sampling.audio import continue_frames, continue_tokens, prompt_spread

MAX_SECONDS = 60.0  # per continuation
MAX_PRIME_SECONDS = 30.0  # the longest prompt file
MIN_PRIME_SECONDS = 0.5  # the shortest: as long as the shortest training file (a 1-sample WAV primes nothing)
DATA_PRIME_SECONDS = 1.0  # of the first validation piece, when no prompt file is given


@dataclass
class Prime:
    """What a continuation starts from: frames ``(T, frame_dim)`` float32, or sample ids (no markers)."""

    array: np.ndarray
    source: str


@dataclass
class AudioSampleReport:
    out: Path
    pieces: list[dict[str, Any]]
    prime: dict[str, Any]
    seconds: float  # generating (model only)
    realtime: float  # seconds of audio generated per second of generating
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def items(self) -> list[dict[str, Any]]:
        return self.pieces

    @property
    def wrote(self) -> str:
        return f"wrote        {self.out}/  (NNN.wav, NNN.png; samples.json has each continuation's measures)"

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Headers and one row per continuation (and the prime first, for reference)."""
        headers = ["file", "seconds", "mean dBFS", "min dBFS", "silent at", "stuck", "longest stuck", "flux"]

        def row(name: str, m: dict[str, Any]) -> list[Any]:
            silent = "-" if m["silent_at"] is None else f"{m['silent_at']:.2f} s"
            return [
                name,
                f"{m['seconds']:.2f}",
                f"{m['mean_dbfs']:.1f}",
                f"{m['min_dbfs']:.1f}",
                silent,
                f"{100 * m['stuck_share']:.0f}%",
                f"{m['longest_stuck_seconds']:.2f} s",
                f"{m['mean_flux']:.3f}",
            ]

        return headers, [row("(prime)", self.prime), *(row(p["file"], p["continuation"]) for p in self.pieces)]

    def summary(self) -> str:
        n = len(self.pieces)
        kept = sum(p["continuation"]["silent_at"] is None for p in self.pieces)
        lowest = min((p["continuation"]["min_dbfs"] for p in self.pieces), default=float("nan"))
        return (
            f"{kept}/{n} continuations stay above {SILENCE_DBFS:.0f} dBFS throughout (lowest {lowest:.1f} dBFS); "
            f"generated at {self.realtime:.1f}x real time"
        )


# -- prompts ---------------------------------------------------------------------------------------------


def _trailing_padded_frames(rep: Representation) -> int:
    """Frames at the end of an STFT encoding whose windows reach past the wave into padding."""
    n_fft = rep.n_fft if rep.kind == "frames" else 0  # type: ignore[attr-defined]
    return -(-n_fft // (2 * rep.hop)) if n_fft else 0  # type: ignore[attr-defined]


def prime_from_wave(rep: Representation, wave: np.ndarray, source: str) -> Prime:
    """A prompt wave in ``rep``'s encoding. STFT frames whose windows reach past the prompt's end are
    dropped, so the model's last input is music, not the zeros padding the end."""
    if isinstance(rep, AudioMulaw):
        return Prime(rep.quantise(wave), source)
    frames = rep.frames_of(wave)
    cut = _trailing_padded_frames(rep)
    if len(frames) - cut < 1:
        raise TunesmithError(f"{source} is too short to prime this model: it makes no whole frame")
    return Prime(frames[: len(frames) - cut] if cut else frames, source)


def prime_from_audio(rep: Representation, path: Path | str) -> Prime:
    """An audio file of 0.5 s to 30 s (others are refused, naming the limit), at the model's sample rate."""
    from tunesmith.corpora.audio import load_audio

    wave = load_audio(Path(path), rep.sample_rate, max_seconds=MAX_PRIME_SECONDS, min_seconds=MIN_PRIME_SECONDS)
    return prime_from_wave(rep, wave, str(path))


def prime_from_data(
    rep: Representation, data: PreparedData, seconds: float = DATA_PRIME_SECONDS, piece: int = 0
) -> Prime:
    """The first ``seconds`` of validation piece number ``piece`` (from 0) of a prepared dataset."""
    offsets = data.offsets("val")
    if not 0 <= piece < len(offsets) - 1 or offsets[piece + 1] <= offsets[piece]:
        raise TunesmithError(
            f"{data.folder} has no validation piece {piece + 1} to take a prompt from; give --prime-audio"
        )
    rows = data.stream("val")[offsets[piece] : offsets[piece + 1]]
    where = f"{data.folder} (val piece {piece + 1}"
    if isinstance(rep, AudioMulaw):
        ids = np.asarray(rows, dtype=np.int64)
        ids = ids[(ids >= 0) & (ids < rep.levels)]  # the markers go
        return Prime(ids[: max(1, int(seconds * rep.sample_rate))], f"{where})")
    frames = rep.to_model(np.asarray(rows[: max(1, int(round(seconds * rep.frames_per_second)))]))
    return Prime(frames, f"{where}, first {len(frames) / rep.frames_per_second:.2f} s)")


def prime_for_model(source: Path, rep: Representation, prime_audio: Path | None) -> Prime:
    """``--prime-audio`` if given; else a prompt from the validation data the run at ``source`` records."""
    if prime_audio is not None:
        return prime_from_audio(rep, prime_audio)
    record = Path(source) / "data.json"
    if not record.is_file():
        raise TunesmithError(f"{source} records no training data to take a prompt from; give --prime-audio FILE")
    try:
        folder = Path(json.loads(record.read_text())["data"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TunesmithError(f"{record} is unreadable ({exc}); give --prime-audio FILE") from None
    if not (folder / "meta.json").is_file():
        raise TunesmithError(f"the data {source} was trained on ({folder}) is gone; give --prime-audio FILE")
    return prime_from_data(rep, PreparedData.open(folder))


# -- generation -----------------------------------------------------------------------------------------------


def write_audio_samples(
    model: Any,
    rep: Representation,
    config: Config,
    settings: SampleSettings,
    out: Path | str,
    *,
    prime: Prime,
    seconds: float,
    extra: dict[str, Any] | None = None,
) -> AudioSampleReport:
    """Continue ``prime`` ``settings.num`` times for ``seconds`` each; write ``NNN.wav``, ``NNN.png``, samples.json."""
    from tunesmith.render.audio import write_audio
    from tunesmith.render.spectrogram import spectrogram_png

    if not 0 < seconds <= MAX_SECONDS:
        raise TunesmithError(f"--seconds {seconds} must be above 0 and at most {MAX_SECONDS:g}")
    if models.is_autoencoder(config.model.name):
        raise TunesmithError(
            f"model '{config.model.name}' is an autoencoder: it reconstructs audio rather than continuing it; "
            "use 'tunesmith reconstruct RUN FILE.wav'"
        )
    if settings.primer:
        raise TunesmithError("--primer is ABC text; an audio model is primed with --prime-audio FILE")
    if settings.constrain:
        raise TunesmithError("--constrain is for ABC models; an audio model's continuation is measured instead")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sr = rep.sample_rate
    started = time.perf_counter()
    if isinstance(rep, AudioMulaw):
        bodies, prime_ids, ended = _continue_tokens(model, rep, settings, prime.array, seconds)
        generating, spread = time.perf_counter() - started, np.zeros(1, dtype=np.float32)
        prime_wave = rep.dequantise(prime_ids)
        waves = [np.concatenate([prime_wave, rep.decode(body)]) for body in bodies]
        boundary = len(prime_wave)
    else:
        if settings.top_k or settings.top_p < 1.0:
            raise TunesmithError("--top-k and --top-p choose among tokens; an audio frame model predicts frames")
        settings.check_for(rep)
        n_frames = max(1, int(round(seconds * rep.frames_per_second)))
        spread = settings.temperature * prompt_spread(model, rep, prime.array)
        made = continue_frames(
            model, rep, prime.array, n_frames, num=settings.num, seed=settings.seed, spread=spread,
            batch_size=settings.batch_size,
        )  # fmt: skip
        generating = time.perf_counter() - started
        waves = [rep.decode(np.concatenate([prime.array, frames])) for frames in made]  # spectral: model phase
        boundary = min(len(prime.array) * rep.hop, min(len(w) for w in waves))
        ended = [False] * len(waves)
    pieces = []
    for i, (name, wave) in enumerate(zip(numbered(len(waves)), waves, strict=True)):
        write_audio(wave[:, None], sr, out / f"{name}.wav")
        title = f"{name} ({rep.name}): prime {boundary / sr:.2f} s, then the model"
        spectrogram_png(wave, sr, out / f"{name}.png", title=title, mark_seconds=boundary / sr)
        measures = continuation_measures(wave[boundary:], sr)
        pieces.append({"file": f"{name}.wav", "png": f"{name}.png", "ended_early": ended[i], "continuation": measures})
    prime_measures = continuation_measures(waves[0][:boundary], sr) if waves else {}
    made_seconds = sum(len(w) - boundary for w in waves) / sr
    report = AudioSampleReport(out, pieces, prime_measures, generating, made_seconds / max(generating, 1e-9))
    summary = {
        "settings": settings.__dict__,
        "representation": rep.name,
        "sample_rate": sr,
        "prime": {"source": prime.source, "seconds": round(boundary / sr, 3), "measures": prime_measures},
        "seconds_asked": seconds,
        "draw_spread_mean": round(float(np.mean(spread)), 6),  # mean σ × temperature over the values
        "generating_seconds": round(generating, 3),
        "realtime": round(report.realtime, 2),
        "silence_dbfs": SILENCE_DBFS,
        **(extra or {}),
        "pieces": pieces,
    }
    (out / "samples.json").write_text(json.dumps(summary, indent=2))
    return report


def write_training_samples(
    model: Any,
    data: PreparedData,
    config: Config,
    settings: SampleSettings,
    out: Path | str,
    *,
    extra: dict[str, Any] | None = None,
) -> None:
    """In-training samples of an audio run: ``settings.num`` continuations of ``train.sample_max_length``
    frames (or samples) from the start of the first validation piece; for an autoencoder, that start
    reconstructed instead (``reconstruction.wav`` and the two mel spectrograms in ``reconstruction.png``)."""
    rep = data.representation
    prime = prime_from_data(rep, data)
    if models.is_autoencoder(config.model.name):
        from tunesmith.render.audio import write_audio
        from tunesmith.render.spectrogram import mel_pair_png
        from tunesmith.sampling.audio import autoencode

        frames = prime.array
        made = autoencode(model, frames, config.data.seq_len, rep.start_frame())
        out = Path(out)
        write_audio(rep.decode(made)[:, None], rep.sample_rate, out / "reconstruction.wav")
        mel_pair_png(rep.frames_db(frames), rep.frames_db(made), rep.frames_per_second, out / "reconstruction.png")
        return
    steps = settings.max_length if not isinstance(rep, AudioMulaw) else min(settings.max_length, MAX_LENGTH - 2)
    seconds = min(MAX_SECONDS, steps / rep.frames_per_second)
    write_audio_samples(model, rep, config, settings, out, prime=prime, seconds=seconds, extra=extra)


def _continue_tokens(
    model: Any, rep: AudioMulaw, settings: SampleSettings, prime: np.ndarray, seconds: float
) -> tuple[list[np.ndarray], np.ndarray, list[bool]]:
    """``--seconds`` of samples from a token model of audio, refused with the limit in seconds when too long."""
    n = int(round(seconds * rep.sample_rate))
    if n >= MAX_LENGTH:
        raise TunesmithError(
            f"--seconds {seconds:g} is {n} samples; an {rep.name} model continues at most {MAX_LENGTH - 1} "
            f"({(MAX_LENGTH - 1) / rep.sample_rate:.2f} s at {rep.sample_rate} Hz)"
        )
    return continue_tokens(model, rep, settings, prime, n)
