"""Audio end to end: debug runs of every audio preset on prepared synthetic tones, continuation and
reconstruction through the CLI, kill-and-resume, refusals, and seed 001's shifted-window batches."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from typer.testing import CliRunner

from tests.conftest import kill_at_first_checkpoint, run_cli
from tunesmith.cli import app
from tunesmith.data.frames import frame_loaders
from tunesmith.data.prepared import PreparedData
from tunesmith.data.windows import WindowSampler
from tunesmith.metrics.audio import continuation_measures, spectral_convergence, stft_magnitude
from tunesmith.training.checkpoint_io import load_checkpoint

RATE = 16_000
PRESETS = {"wave-lstm": "audio-wave", "spectral-lstm": "audio-spectral", "mel-cae": "mel"}
runner = CliRunner()


def tone(seed: int, seconds: float = 2.0) -> np.ndarray:
    """Four notes with their octave, one after another: a little melody a small model can learn."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    wave = np.zeros_like(t)
    for k, f in enumerate(rng.choice([220.0, 262.0, 330.0, 392.0, 440.0], size=4)):
        part = slice(k * len(t) // 4, (k + 1) * len(t) // 4)
        wave[part] = 0.3 * np.sin(2 * np.pi * f * t[part]) + 0.1 * np.sin(4 * np.pi * f * t[part])
    return wave.astype(np.float32)


@pytest.fixture(scope="module")
def wavs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tones")
    for i in range(8):
        soundfile.write(folder / f"tone{i}.wav", tone(i), RATE)
    return folder


@pytest.fixture(scope="module")
def prepared(wavs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tunesmith.pipeline.prepare import prepare

    root = tmp_path_factory.mktemp("prepared")
    for rep in sorted(set(PRESETS.values())):
        prepare(root / rep, input_path=wavs, representation=rep, val_fraction=0.25)
    return {rep: root / rep for rep in PRESETS.values()}


@pytest.fixture(scope="module")
def runs(prepared: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tunesmith.pipeline.train import train

    root = tmp_path_factory.mktemp("audio-runs")
    for preset, rep in PRESETS.items():
        train(f"{preset}-debug", prepared[rep], root / preset, progress=False)
    return {preset: root / preset for preset in PRESETS}


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as f:
        return list(csv.DictReader(f))


def _one_line_error(result, needle: str) -> None:  # noqa: ANN001
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr


# -- training ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_debug_run_lowers_validation_loss_and_writes_audible_samples(runs: dict[str, Path], preset: str) -> None:
    run = runs[preset]
    rows = _rows(run)
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    val = [float(r["val_loss"]) for r in rows]
    assert val[-1] < val[0], val
    if preset == "spectral-lstm":  # the circular phase error is logged beside the loss
        for r in rows:
            assert 0 <= float(r["val_phase_error"]) <= 2 and 0 <= float(r["val_phase_radians"]) <= np.pi
            assert float(r["val_loss"]) == pytest.approx(
                float(r["val_magnitude_mse"]) + float(r["val_phase_error"]), rel=1e-3
            )
    name = "reconstruction" if preset == "mel-cae" else "001"
    wave, rate = soundfile.read(run / "samples" / "epoch_003" / f"{name}.wav", dtype="float32")
    assert rate == RATE and np.abs(wave).max() > 0.01  # in-training samples: WAV and PNG
    assert (run / "samples" / "epoch_003" / f"{name}.png").stat().st_size > 1000


@pytest.mark.parametrize("preset", ["wave-lstm", "spectral-lstm"])
def test_sample_continues_a_prompt_file(runs: dict[str, Path], wavs: Path, tmp_path: Path, preset: str) -> None:
    out = tmp_path / "samples"
    args = ["sample", str(runs[preset]), "--prime-audio", str(wavs / "tone7.wav"), "--seconds", "0.5"]
    result = runner.invoke(app, [*args, "--num", "2", "--out", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "min dBFS" in result.stdout and "continuations stay above -40 dBFS" in result.stdout
    summary = json.loads((out / "samples.json").read_text())
    boundary = round(summary["prime"]["seconds"] * RATE)
    assert summary["prime"]["seconds"] == pytest.approx(2.0, abs=0.05)  # the whole prompt file primes it
    waves = []
    for piece in summary["pieces"]:
        wave, rate = soundfile.read(out / piece["file"], dtype="float32")
        assert rate == RATE and (out / piece["png"]).stat().st_size > 1000
        assert (len(wave) - boundary) / RATE == pytest.approx(0.5, abs=0.05)
        continuation = wave[boundary:]
        assert np.sqrt(np.mean(continuation**2)) > 1e-3  # not silent
        measured = continuation_measures(continuation, RATE)  # the report is the WAV's, recomputed
        assert measured["min_dbfs"] == pytest.approx(piece["continuation"]["min_dbfs"], abs=0.1)
        waves.append(wave)
    assert np.array_equal(waves[0][: boundary // 2], waves[1][: boundary // 2])  # the same prime…
    assert not np.array_equal(waves[0][boundary:], waves[1][boundary:])  # …two continuations


def test_sample_without_a_prompt_uses_the_runs_validation_data(runs: dict[str, Path], tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["sample", str(runs["wave-lstm"]), "--seconds", "0.3", "--num", "1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "samples.json").read_text())
    assert "val piece 1" in summary["prime"]["source"] and summary["prime"]["seconds"] == pytest.approx(1.0, abs=0.02)


def test_reconstruct_writes_the_wave_the_picture_and_the_distances(
    runs: dict[str, Path], wavs: Path, tmp_path: Path
) -> None:
    from tunesmith.corpora.audio import load_audio

    result = runner.invoke(app, ["reconstruct", str(runs["mel-cae"]), str(wavs / "tone6.wav"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "spectral convergence" in result.stdout and "x real time" in result.stdout
    report = json.loads((tmp_path / "reconstruct.json").read_text())
    rebuilt, rate = soundfile.read(tmp_path / "reconstruction.wav", dtype="float32")
    assert rate == RATE and np.sqrt(np.mean(rebuilt**2)) > 1e-3
    assert (tmp_path / "reconstruction.png").stat().st_size > 1000
    original = load_audio(wavs / "tone6.wav", RATE)
    convergence = spectral_convergence(stft_magnitude(original), stft_magnitude(rebuilt))
    assert convergence == pytest.approx(report["reconstruction"]["spectral_convergence"], rel=0.02)
    assert report["patch_frames"] == 16 and report["realtime"] > 0
    assert report["griffinlim_only"]["spectral_convergence"] < report["reconstruction"]["spectral_convergence"]
    one = tmp_path / "one.wav"  # one sample is no recording: refused from its header, like a 1-sample prime
    soundfile.write(one, np.float32([0.5]), RATE)
    refused = runner.invoke(app, ["reconstruct", str(runs["mel-cae"]), str(one), "--out", str(tmp_path / "one")])
    _one_line_error(refused, "one.wav cannot be used as audio: shorter than 0.5 s")


# -- resume ---------------------------------------------------------------------------------------------------


def test_audio_kill_and_resume_matches_an_uninterrupted_run(prepared: dict[str, Path], tmp_path: Path) -> None:
    """SIGKILL a wave-lstm run (shifted windows, input noise) after its first checkpoint; the same command
    resumes it and ends on exactly the weights of a run that was never stopped."""
    from tunesmith.pipeline.train import train

    extra = ["--set", "train.max_epochs=5", "--set", "train.sample_every=0"]
    args = ["train", "--preset", "wave-lstm-debug", "--data", str(prepared["audio-wave"]), "--no-progress", *extra]
    killed = tmp_path / "killed"
    slow_checkpoints = ["--set", "train.checkpoint_minutes=0.0002"]
    saved_step = kill_at_first_checkpoint([*args, *slow_checkpoints], killed, env={"OMP_NUM_THREADS": "1"})
    last = killed / "checkpoints" / "last.ckpt"
    assert 0 < saved_step < 25
    resumed = run_cli(*args, "--set", "train.checkpoint_minutes=0.0002", "--run", killed, env={"OMP_NUM_THREADS": "1"})
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from step {saved_step}" in resumed.stdout and "mean squared error per value" in resumed.stdout
    straight = tmp_path / "straight"
    train("wave-lstm-debug", prepared["audio-wave"], straight, overrides=extra[1::2], progress=False)
    a = load_checkpoint(last)
    b = load_checkpoint(straight / "checkpoints" / "last.ckpt")
    assert a["global_step"] == b["global_step"] == 25
    for name in b["state_dict"]:
        assert torch.equal(a["state_dict"][name], b["state_dict"][name]), name
    assert [r["epoch"] for r in _rows(killed)] == ["0", "1", "2", "3", "4"]


# -- refusals --------------------------------------------------------------------------------------------------


def _abc_bundle(folder: Path) -> Path:
    """A tiny untrained ABC model as a bundle, made without training."""
    from safetensors.torch import save_file

    from tunesmith import models
    from tunesmith.bundle import BUNDLE_FORMAT
    from tunesmith.config import load_preset
    from tunesmith.representations.abc_char import AbcChar

    cfg = load_preset("abc-lstm-debug")
    rep = AbcChar.fit(["X:1\nK:G\nGABc|\n"])
    model = models.build(cfg.model.name, rep.vocab_size, **cfg.model.hyper())
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, folder / "model.safetensors")
    info = {"format": BUNDLE_FORMAT, "config": cfg.to_dict(), "vocab_size": rep.vocab_size}
    (folder / "config.json").write_text(json.dumps(info))
    (folder / "representation.json").write_text(json.dumps(rep.to_json()))
    return folder


def test_bad_requests_give_one_line_and_exit_2(runs: dict[str, Path], wavs: Path, tmp_path: Path) -> None:
    wave_run, cae_run, prompt = str(runs["wave-lstm"]), str(runs["mel-cae"]), str(wavs / "tone0.wav")
    out = ["--out", str(tmp_path / "out")]
    _one_line_error(runner.invoke(app, ["reconstruct", wave_run, prompt, *out]), "reconstruct needs an autoencoder")
    abc = str(_abc_bundle(tmp_path / "abc"))
    _one_line_error(runner.invoke(app, ["sample", abc, "--prime-audio", prompt, *out]), "--prime-audio is for audio")
    missing = str(tmp_path / "missing.wav")
    _one_line_error(runner.invoke(app, ["sample", wave_run, "--prime-audio", missing, *out]), "missing.wav")
    _one_line_error(runner.invoke(app, ["reconstruct", cae_run, missing, *out]), "missing.wav")
    _one_line_error(runner.invoke(app, ["sample", cae_run, *out]), "use 'tunesmith reconstruct")
    _one_line_error(runner.invoke(app, ["sample", wave_run, "--seconds", "0", *out]), "--seconds 0")
    _one_line_error(runner.invoke(app, ["sample", wave_run, "--seconds", "61", *out]), "at most 60")
    _one_line_error(runner.invoke(app, ["sample", wave_run, "--top-k", "5", *out]), "--top-k")
    _one_line_error(runner.invoke(app, ["sample", wave_run, "--render", "wav", *out]), "--render")
    _one_line_error(runner.invoke(app, ["sample", wave_run, "--constrain", *out]), "--constrain")
    text = tmp_path / "text.wav"
    text.write_text("not audio at all")
    _one_line_error(runner.invoke(app, ["sample", wave_run, "--prime-audio", str(text), *out]), "text.wav")


def test_a_prompt_shorter_than_half_a_second_is_refused_from_its_header(runs: dict[str, Path], tmp_path: Path) -> None:
    """A 1-sample WAV used to prime a model (one sample makes no frame of music); now the header says it
    is under MIN_PRIME_SECONDS and nothing is decoded. Half a second is still enough."""
    from tunesmith.media.audio_samples import MIN_PRIME_SECONDS

    one = tmp_path / "one.wav"
    soundfile.write(one, np.float32([0.5]), RATE)
    out = ["--out", str(tmp_path / "out"), "--seconds", "0.1"]
    for preset in ("wave-lstm", "spectral-lstm"):
        args = ["sample", str(runs[preset]), "--prime-audio", str(one), *out]
        _one_line_error(
            runner.invoke(app, args), f"one.wav cannot be used as audio: shorter than {MIN_PRIME_SECONDS:g} s"
        )
    half = tmp_path / "half.wav"
    soundfile.write(half, tone(3, MIN_PRIME_SECONDS), RATE)
    result = runner.invoke(app, ["sample", str(runs["wave-lstm"]), "--prime-audio", str(half), *out])
    assert result.exit_code == 0, result.output


def test_audio_models_are_not_midi_models(runs: dict[str, Path]) -> None:
    from tunesmith import media
    from tunesmith.bundle import load
    from tunesmith.representations.audio_wave import AudioMulaw
    from tunesmith.representations.pianoroll import PianoRoll

    rep = load(runs["wave-lstm"]).representation
    assert media.of(rep).name == "audio" and not media.of(rep).notes
    assert media.of(AudioMulaw()).name == "audio"
    assert media.of(PianoRoll()).name == "midi" and media.of(PianoRoll()).notes


def test_a_mulaw_token_model_continues_audio_through_the_token_sampler(tmp_path: Path) -> None:
    from tunesmith import models
    from tunesmith.config import load_preset
    from tunesmith.errors import TunesmithError
    from tunesmith.media.audio_samples import prime_from_wave, write_audio_samples
    from tunesmith.representations.audio_wave import AudioMulaw
    from tunesmith.sampling import SampleSettings

    rep, cfg = AudioMulaw(), load_preset("abc-lstm-debug")
    torch.manual_seed(0)
    model = models.build("lstm", rep.vocab_size, **cfg.model.hyper())
    prime = prime_from_wave(rep, tone(1, 0.05), "tone")
    assert np.array_equal(prime.array, rep.quantise(tone(1, 0.05)))
    report = write_audio_samples(model, rep, cfg, SampleSettings(num=2, seed=1), tmp_path, prime=prime, seconds=0.01)
    assert len(report.pieces) == 2
    for piece in report.pieces:
        wave, _ = soundfile.read(tmp_path / piece["file"], dtype="float32")
        head = rep.dequantise(prime.array)
        assert np.allclose(wave[: len(head)], head, atol=1e-4)  # the prime, then up to 160 drawn samples
        assert len(wave) - len(head) <= 160 and (len(wave) - len(head) == 160 or piece["ended_early"])
    with pytest.raises(TunesmithError, match="continues at most 19999"):
        write_audio_samples(model, rep, cfg, SampleSettings(num=1), tmp_path, prime=prime, seconds=2.0)


# -- shifted windows -------------------------------------------------------------------------------------------


def test_shifted_batches_are_consecutive_shifts_seeded_by_epoch() -> None:
    def epoch(seed: int, number: int, rank: int = 0, world: int = 1) -> list[np.ndarray]:
        sampler = WindowSampler(5000, 16, 8, shuffle=True, seed=seed, rank=rank, world_size=world, shift=3)
        sampler.set_epoch(number)
        return list(sampler.batches())

    first = epoch(1, 0)
    assert len(first) == (5000 - 16) // 16 // 8
    for starts in first:
        assert np.array_equal(np.diff(starts), np.full(7, 3)) and starts[0] >= 0
        assert starts[-1] + 16 + 1 <= 5000  # every window, with its target frame, inside the stream
    assert len({int(s[0]) for s in first}) > len(first) // 2  # one random start per batch
    assert all(np.array_equal(a, b) for a, b in zip(first, epoch(1, 0), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, epoch(1, 1), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, epoch(2, 0), strict=True))
    ranks = [epoch(1, 0, r, 2) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == len(first) // 2
    assert not any(np.array_equal(a, b) for a, b in zip(*ranks, strict=True))
    with pytest.raises(ValueError, match="shuffle"):
        WindowSampler(5000, 16, 8, shuffle=False, shift=1)


def test_shifted_frame_windows_overlap_and_resume_mid_epoch(prepared: dict[str, Path]) -> None:
    data = PreparedData.open(prepared["audio-wave"])

    def loader() -> object:
        train, _ = frame_loaders(data, seq_len=16, batch_size=8, seed=4, windows="shifted", shift=1)
        train.sampler.set_epoch(2)
        return train

    full = [x for x, _ in loader()]
    for inputs in full:  # window k+1 is window k moved on by one frame
        assert torch.equal(inputs[1:, :-1], inputs[:-1, 1:])
    partial = loader()
    it = iter(partial)
    for _ in range(2):
        next(it)
    resumed = loader()
    resumed.load_state_dict(partial.state_dict())
    rest = [x for x, _ in resumed]
    assert len(rest) == len(full) - 2 >= 1
    assert all(torch.equal(a, b) for a, b in zip(rest, full[2:], strict=True))


def test_plot_draws_an_audio_runs_learning_curves_and_spectrograms(runs: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    import matplotlib.image

    run = tmp_path / "wave"
    shutil.copytree(runs["wave-lstm"], run)
    result = CliRunner().invoke(app, ["plot", str(run)])
    assert result.exit_code == 0, result.output
    pictures = sorted((run / "plots").glob("spectrogram_*.png"))
    assert pictures and (run / "plots" / "learning_curves.png").is_file()
    image = matplotlib.image.imread(pictures[0])
    assert image.shape[1] > 300 and image[..., :3].std() > 0.05  # a drawn spectrogram, not a blank canvas


def test_continuations_draw_around_the_mean_with_the_prompts_own_error(runs: dict[str, Path]) -> None:
    """σ is the RMS of the model's teacher-forced errors on the prompt (recomputed here); a temperature near 0
    writes the mean, identical for every seed, while temperature 1 gives different draws."""
    import torch

    from tunesmith.bundle import load
    from tunesmith.sampling.audio import continue_frames, prompt_spread

    loaded = load(runs["wave-lstm"])
    rep, model = loaded.representation, loaded.model
    prime = rep.frames_of(tone(3)[: RATE // 2])
    with torch.inference_mode():
        out, _ = model(torch.from_numpy(np.concatenate([rep.start_frame()[None], prime]))[None])
    error = prime - out[0, : len(prime)].numpy()
    expected = np.sqrt((error[len(prime) // 4 :] ** 2).mean(0))
    assert np.allclose(prompt_spread(model, rep, prime), expected, atol=1e-5)
    means = [continue_frames(model, rep, prime, 20, num=1, seed=s, spread=0.0) for s in (0, 1)]
    assert np.array_equal(means[0], means[1])
    drawn = [continue_frames(model, rep, prime, 20, num=1, seed=s, spread=expected) for s in (0, 1)]
    assert not np.allclose(drawn[0], drawn[1])
    assert np.array_equal(drawn[0], continue_frames(model, rep, prime, 20, num=1, seed=0, spread=expected))
