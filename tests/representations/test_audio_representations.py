"""Audio representations: every registered one round-trips within its stated tolerance, and checks its input.

The tolerances are the figures each module's docstring states: wave frames exactly in float32 and
within float16's 2**-12; STFT frames through the inverse STFT above 60 dB SNR (55 dB via float16);
Griffin-Lim and mel decodes by spectral convergence on a harmonic tone; mu-law within its bound.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from tunesmith.errors import TunesmithError
from tunesmith.representations import REGISTRY, from_json
from tunesmith.representations.audio import AudioRepresentation, griffin_lim, pad_to
from tunesmith.stft import istft, stft

AUDIO = sorted(n for n, c in REGISTRY.items() if c.medium == "audio")
FRAMES = sorted(n for n in AUDIO if issubclass(REGISTRY[n], AudioRepresentation))
SR = 16_000


def tone(seconds: float = 2.0, f0: float = 220.0, sr: int = SR) -> np.ndarray:
    """Five harmonics of ``f0`` under a slow swell, peak 0.5: a note with a spectrum worth keeping."""
    t = np.arange(int(sr * seconds)) / sr
    wave = sum(0.5 / k * np.sin(2 * np.pi * f0 * k * t + k) for k in range(1, 6))
    wave = wave * (0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t))
    return (0.5 * wave / np.abs(wave).max()).astype(np.float32)


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((estimate - reference) ** 2)))


def convergence(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Spectral convergence: ||S - Ŝ|| / ||S|| over magnitudes."""
    return float(np.linalg.norm(estimate - reference) / np.linalg.norm(reference))


def test_the_audio_loop_covers_every_audio_representation() -> None:
    assert AUDIO == ["audio-mulaw", "audio-spectral", "audio-wave", "mel"]


@pytest.mark.parametrize("name", AUDIO)
def test_state_round_trips_and_options_survive(name: str) -> None:
    cls = REGISTRY[name]
    rep = cls.fit([], sample_rate=22_050)
    restored = from_json(rep.to_json())
    assert type(restored) is cls and restored.to_json() == rep.to_json()
    assert restored.sample_rate == 22_050
    wave = tone(0.5, sr=22_050)
    assert np.array_equal(restored.encode(wave), rep.encode(wave))
    assert rep.frames_per_second == pytest.approx(22_050 / getattr(rep, "hop", 1))


@pytest.mark.parametrize("name", AUDIO)
def test_malformed_states_and_options_are_refused(name: str) -> None:
    good = REGISTRY[name].fit([]).to_json()
    for key, bad in (("sample_rate", True), ("sample_rate", "16000"), ("sample_rate", 4000), ("version", 99)):
        with pytest.raises(TunesmithError, match="malformed state"):
            from_json({**good, key: bad})
    with pytest.raises(TunesmithError, match="no option"):
        REGISTRY[name].fit([], hop_length=3)


@pytest.mark.parametrize("name", FRAMES)
def test_frame_layout_storage_and_silence(name: str) -> None:
    rep = REGISTRY[name].fit([])
    wave = tone(1.01)
    stored = rep.encode(wave)
    frames = rep.frames_of(wave)
    assert stored.dtype == np.float16 and rep.storage() == (np.dtype(np.float16), rep.frame_dim)
    n = len(pad_to(wave, rep.hop))
    expected = n // rep.hop if name == "audio-wave" else n // rep.hop + 1  # STFT frames are centred
    assert stored.shape == frames.shape == (expected, rep.frame_dim)
    widened = rep.to_model(stored)
    assert widened.dtype == np.float32 and np.array_equal(widened, frames.astype(np.float16).astype(np.float32))
    silence = rep.frames_of(np.zeros(8 * rep.hop, dtype=np.float32))
    assert np.array_equal(rep.start_frame(), silence[len(silence) // 2])  # away from the edges
    assert rep.loss in ("mse", "spectral")


@pytest.mark.parametrize("name", FRAMES)
def test_bad_waves_and_frames_are_clear_errors(name: str) -> None:
    rep = REGISTRY[name].fit([])
    with pytest.raises(TunesmithError, match="1-D"):
        rep.encode(np.zeros((100, 2), dtype=np.float32))
    with pytest.raises(TunesmithError, match="NaN"):
        rep.encode(np.array([0.0, np.nan] * 300, dtype=np.float32))
    with pytest.raises(TunesmithError, match="float"):
        rep.encode(np.zeros(600, dtype=np.int16))
    with pytest.raises(TunesmithError, match=rf"\(T, {rep.frame_dim}\)"):
        rep.decode(np.zeros((4, rep.frame_dim + 1), dtype=np.float32))


def test_audio_wave_round_trip_is_exact_in_float32_and_within_float16() -> None:
    rep = REGISTRY["audio-wave"].fit([], frame_size=100)
    wave = np.random.default_rng(0).uniform(-1, 1, 1234).astype(np.float32)
    back = rep.decode(rep.frames_of(wave))
    assert back.dtype == np.float32 and len(back) == 1300
    assert back[:1234].tobytes() == wave.tobytes() and not back[1234:].any()
    stored = rep.decode(rep.to_model(rep.encode(wave)))[:1234]
    error = np.abs(stored - wave)
    assert error.max() <= 2.0**-12  # half a float16 step below 1
    assert (error <= np.abs(wave) * 2.0**-11 + 2.0**-25).all()  # 11 significant bits, or subnormal
    assert rep.loss == "mse" and not rep.start_frame().any()


def test_stft_pair_matches_librosa() -> None:
    wave = tone(0.77)
    for n_fft, hop in ((512, 128), (1024, 256), (400, 160)):
        ours = stft(wave, n_fft, hop)
        theirs = librosa.stft(wave, n_fft=n_fft, hop_length=hop, window="hann", center=True).T
        assert ours.shape == theirs.shape
        assert np.abs(ours - theirs).max() < 1e-4 * np.abs(theirs).max()
        back = istft(ours, n_fft, hop, len(wave))
        assert np.abs(back - librosa.istft(theirs.T, n_fft=n_fft, hop_length=hop, length=len(wave))).max() < 1e-5
        assert np.abs(back - wave).max() < 1e-5


def test_griffin_lim_is_librosas_algorithm() -> None:
    """The same start phase (seeded as librosa seeds it) gives librosa.griffinlim's wave."""
    magnitude = np.abs(stft(tone(0.6), 512, 128))
    ours = griffin_lim(magnitude, 512, 128, 32, seed=3)
    theirs = librosa.griffinlim(
        magnitude.T, n_iter=32, hop_length=128, n_fft=512, momentum=0.99, random_state=3, length=len(ours)
    )
    assert np.abs(ours - theirs).max() < 1e-3
    with pytest.raises(TunesmithError, match="n_iter"):
        griffin_lim(magnitude, 512, 128, 0)


def test_audio_spectral_columns_values_and_round_trip() -> None:
    rep = REGISTRY["audio-spectral"].fit([])
    assert (rep.n_fft, rep.hop, rep.frame_dim, rep.loss) == (512, 128, 514, "spectral")
    wave = pad_to(tone(2.0), rep.hop)
    frames = rep.frames_of(wave)
    mags, phases = frames[:, rep.magnitude_columns], frames[:, rep.phase_columns]
    assert mags.shape == phases.shape == (len(frames), 257)
    assert (phases > -np.pi).all() and (phases <= np.pi).all() and (mags >= -1).all() and (mags <= 1).all()
    # one frame recomputed by hand: centred Hann window, rfft, divided by the window's sum, dB / 50 + 1
    k = 40
    window = np.hanning(513)[:-1]
    spectrum = np.fft.rfft(np.pad(wave, 256)[k * 128 : k * 128 + 512] * window) / window.sum()
    db = 20 * np.log10(np.maximum(np.abs(spectrum), 1e-5))
    assert np.abs(mags[k] - (db / 50 + 1)).max() < 1e-3
    strong = np.abs(spectrum) > 1e-3
    assert np.abs(np.angle(np.exp(1j * (phases[k][strong] - np.angle(spectrum[strong]))))).max() < 1e-3

    assert snr_db(wave, rep.decode(frames)) > 60  # float32, the model's phase: measured about 71 dB
    assert snr_db(wave, rep.decode(rep.to_model(rep.encode(wave)))) > 55  # float16: about 66 dB
    rebuilt = rep.decode(frames, phase="griffinlim")
    assert len(rebuilt) == len(wave) and np.abs(rebuilt).max() <= 1
    assert convergence(np.abs(stft(wave, 512, 128)), np.abs(stft(rebuilt, 512, 128))) < 0.15  # about 0.07
    assert np.array_equal(rep.start_frame(), np.r_[np.full(257, -1.0), np.zeros(257)].astype(np.float32))
    with pytest.raises(TunesmithError, match="phase"):
        rep.decode(frames, phase="zero")


def test_mel_values_and_griffin_lim_quality() -> None:
    rep = REGISTRY["mel"].fit([])
    assert (rep.n_mels, rep.n_fft, rep.hop, rep.frame_dim, rep.loss) == (80, 1024, 256, 80, "mse")
    wave = pad_to(tone(10.0), rep.hop)
    db = rep.mel_db(wave)
    # recomputed with librosa's own STFT and filterbank
    magnitude = np.abs(librosa.stft(wave, n_fft=1024, hop_length=256)) / np.hanning(1025)[:-1].sum()
    filters = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=80, norm=None)
    expected = 20 * np.log10(np.maximum(filters @ magnitude, 1e-5)).T
    assert db.shape == expected.shape and np.abs(db - expected).max() < 0.01
    assert np.allclose(rep.frames_of(wave), db / 50 + 1, atol=1e-6)
    assert np.allclose(rep.frames_db(rep.frames_of(wave)), db, atol=1e-4)
    assert rep.linear_db(wave).shape == (len(db), 513)

    rebuilt = rep.decode(rep.frames_of(wave))  # its speed is a benchmark figure (benchmarks/audio_quality.py)
    assert len(rebuilt) == len(wave) and np.abs(rebuilt).max() <= 1
    assert convergence(10 ** (db / 20), 10 ** (rep.mel_db(rebuilt) / 20)) < 0.25  # measured about 0.12
    assert np.array_equal(rep.start_frame(), np.full(80, -1.0, dtype=np.float32))


def test_mel_and_stft_options_are_checked() -> None:
    with pytest.raises(TunesmithError, match="n_mels"):
        REGISTRY["mel"].fit([], n_mels=300)
    with pytest.raises(TunesmithError, match="hop"):
        REGISTRY["audio-spectral"].fit([], n_fft=256, hop=200)
    with pytest.raises(TunesmithError, match="sample rate"):
        REGISTRY["mel"].fit([], sample_rate=96_000)


@pytest.mark.parametrize("companding", ["mulaw", "linear"])
@pytest.mark.parametrize("levels", [256, 17])
def test_mulaw_quantisation_error_is_within_its_bound(companding: str, levels: int) -> None:
    rep = REGISTRY["audio-mulaw"].fit([], levels=levels, companding=companding)
    x = np.linspace(-1, 1, 200_001).astype(np.float32)
    ids = rep.encode(x)
    assert ids[0] == rep.start_id == levels and ids[-1] == rep.end_id == levels + 1
    assert ids[1:-1].min() == 0 and ids[1:-1].max() == levels - 1
    error = np.abs(rep.decode(ids) - x)
    bound = rep.max_error(x)
    assert (error <= bound + 1e-6).all()
    assert (error / bound).max() > 0.9  # the bound is tight, not vacuous
    if companding == "linear":
        assert bound.max() == pytest.approx(1 / (levels - 1))
    else:  # fine steps near silence, coarse at full scale
        assert error[np.abs(x) < 0.01].max() < error[np.abs(x) > 0.9].max() / 10


def test_mulaw_tokens_work_as_token_data() -> None:
    rep = REGISTRY["audio-mulaw"].fit([])
    assert rep.kind == "tokens" and rep.vocab_size == 258 and rep.dtype == np.uint16
    assert rep.max_error(1.0) == pytest.approx(0.0223, abs=1e-4) and rep.max_error(0.0) < 1e-4
    wave = tone(1.0)
    ids = rep.encode(wave)
    assert ids.dtype == np.uint16 and len(ids) == len(wave) + 2
    assert snr_db(wave, rep.decode(ids)) > 35  # 8-bit mu-law: measured about 38 dB on this tone
    cut = np.concatenate([ids[:100], [rep.end_id], ids[100:]])  # a sampler stops at the first <end>
    assert len(rep.decode(cut)) == 99
    with pytest.raises(TunesmithError, match="audio, not text"):
        rep.ids("K:C", "--primer")
    with pytest.raises(TunesmithError, match="companding"):
        REGISTRY["audio-mulaw"].fit([], companding="alaw")
