"""The spectrogram of an audio file on disk, for ``tunesmith plot`` (the WAV samples a run wrote).

It reads the file and hands the wave to :func:`tunesmith.render.spectrogram.spectrogram_png`, which
draws continuations for ``tunesmith sample``, so the two pictures compare.
"""

from __future__ import annotations

from pathlib import Path

from tunesmith.errors import TunesmithError


def wav_spectrogram_png(wav: Path | str, path: Path | str, *, title: str = "", max_seconds: float = 30.0) -> Path:
    """The spectrogram of (the first ``max_seconds`` of) an audio file, drawn as ``tunesmith sample`` draws
    continuations (:func:`tunesmith.render.spectrogram.spectrogram_png`), so the two pictures compare."""
    import soundfile as sf

    from tunesmith.render.spectrogram import spectrogram_png

    try:
        with sf.SoundFile(str(wav)) as f:
            rate = f.samplerate
            y = f.read(frames=int(max_seconds * rate), dtype="float32", always_2d=True).mean(axis=1)
    except (RuntimeError, OSError) as exc:  # soundfile's LibsndfileError is a RuntimeError
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TunesmithError(f"cannot read {wav}: {reason}") from None
    if y.size == 0:
        raise TunesmithError(f"{wav} holds no audio")
    return spectrogram_png(y, rate, path, title=title or Path(wav).name)
