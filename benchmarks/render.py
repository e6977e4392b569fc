"""Rendering speed: seconds of audio per second of wall time, FluidSynth and the built-in synthesizer.

Takes tunes spread evenly over the built-in folk corpus, converts them to MIDI once with
abc2midi (not timed), then times ``render_audio`` (load, program/tempo, synthesis, trimming,
normalisation, writing the WAV) for each synthesizer, and verovio's SVG engraving per tune.
Prints a table and writes JSON with the machine it ran on::

    python benchmarks/render.py            # 20 tunes at 44.1 kHz
    python benchmarks/render.py --quick    # 5 tunes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import tunesmith
from tunesmith.corpora import builtin
from tunesmith.corpora.abc import read_tunes
from tunesmith.render.audio import AudioOptions, choose_synth, render_audio
from tunesmith.render.midi import abc_to_midi
from tunesmith.render.score import engrave

HERE = Path(__file__).resolve().parent
TARGET_FLUIDSYNTH = 50.0  # times real time


def pick_tunes(n: int) -> list[str]:
    """``n`` tunes spread evenly over the folk corpus that abc2midi converts, each with an ``X:`` line."""
    tunes, _ = read_tunes(builtin("folk").files())
    step = max(1, len(tunes) // (n * 2))
    picked = []
    for tune in tunes[::step]:
        text = f"X:{len(picked) + 1}\n{tune.text}"
        if abc_to_midi(text).converted:
            picked.append(text)
        if len(picked) == n:
            break
    return picked


def time_audio(midis: list[Path], out: Path, options: AudioOptions) -> dict[str, Any]:
    audio_seconds, wall, label = 0.0, 0.0, ""
    for midi in midis:
        started = time.perf_counter()
        result = render_audio(midi, out / f"{midi.stem}.wav", options)
        wall += time.perf_counter() - started
        audio_seconds += result.seconds
        label = result.synth
    return {
        "synth": label,
        "tunes": len(midis),
        "audio_seconds": round(audio_seconds, 2),
        "wall_seconds": round(wall, 3),
        "x_real_time": round(audio_seconds / wall, 1),
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    info = Path("/proc/cpuinfo")
    models = [ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines() if ln.startswith("model name")]
    cpu = models[0] if models else cpu
    synth = choose_synth(AudioOptions())
    version = ""
    if synth.exe:
        version = subprocess.run([synth.exe, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return {
        "cpu_model": cpu,
        "logical_cores": os.cpu_count(),
        "python": platform.python_version(),
        "tunesmith": tunesmith.__version__ if hasattr(tunesmith, "__version__") else "",
        "fluidsynth": version,
        "soundfont": str(synth.soundfont or ""),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 tunes instead of 20")
    parser.add_argument("--tunes", type=int, default=None, help="number of tunes (default 20, or 5 with --quick)")
    parser.add_argument("--sample-rate", type=int, default=44100)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "render.json")
    args = parser.parse_args()
    n = args.tunes or (5 if args.quick else 20)
    where = machine()  # before the work, so the load average is the one the figures ran under
    print(f"picking {n} folk tunes…", file=sys.stderr)
    tunes = pick_tunes(n)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tunesmith-bench-render-") as tmp:
        work = Path(tmp)
        midis = []
        for i, text in enumerate(tunes, start=1):
            abc_to_midi(text, work / f"{i:03d}.mid")
            midis.append(work / f"{i:03d}.mid")
        engines = ["builtin"]
        if choose_synth(AudioOptions()).name == "fluidsynth":
            engines.insert(0, "fluidsynth")
        else:
            print("fluidsynth or a SoundFont is missing: timing the built-in synthesizer only", file=sys.stderr)
        for engine in engines:
            print(f"rendering with {engine}…", file=sys.stderr)
            options = AudioOptions(sample_rate=args.sample_rate, synth=engine)
            render_audio(midis[0], work / "warmup.wav", options)  # page in the SoundFont and numpy
            figures[f"audio.{engine}"] = time_audio(midis, work, options)
        figures["audio.fluidsynth"] = figures.get("audio.fluidsynth", {"synth": "not installed"})
        fs = figures["audio.fluidsynth"].get("x_real_time")
        figures["audio.fluidsynth"].update(
            target=TARGET_FLUIDSYNTH, target_met=None if fs is None else fs >= TARGET_FLUIDSYNTH
        )
        print("engraving SVG…", file=sys.stderr)
        started = time.perf_counter()
        pages = sum(len(engrave(text, "abc", f"tune {i}")) for i, text in enumerate(tunes, start=1))
        wall = time.perf_counter() - started
        figures["svg.verovio"] = {
            "tunes": len(tunes),
            "pages": pages,
            "wall_seconds": round(wall, 3),
            "seconds_per_tune": round(wall / len(tunes), 3),
        }

    rows = [
        (key, f.get("synth", "verovio"), f.get("audio_seconds", "-"), f.get("wall_seconds", "-"), f.get("x_real_time"))
        for key, f in figures.items()
    ]
    print(f"{'figure':<18} {'engine':<28} {'audio s':>8} {'wall s':>8} {'× real time':>12}")
    for key, engine, audio_s, wall_s, speed in rows:
        shown = "-" if speed is None else f"{speed:,.1f}"
        print(f"{key:<18} {engine:<28} {audio_s!s:>8} {wall_s!s:>8} {shown:>12}")
    svg = figures["svg.verovio"]
    print(f"verovio: {svg['pages']} SVG pages for {svg['tunes']} tunes, {svg['seconds_per_tune']:.2f} s per tune")
    met = figures["audio.fluidsynth"]["target_met"]
    verdict = "met" if met else "NOT met" if met is False else "n/a (no FluidSynth)"
    print(f"target: FluidSynth ≥ {TARGET_FLUIDSYNTH:g}× real time: {verdict}")
    mode = "quick" if args.quick else "full"
    result = {"mode": mode, "sample_rate": args.sample_rate, "machine": where, "figures": figures}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
