"""Audio prepare speed and memory: render the ``bach`` corpus once, then prepare it from the cache at two sizes.

- render: the first ``--minutes`` of chorales (in corpus order) rendered into a fresh, temporary audio
  cache by the rendering layer's synthesizer (FluidSynth where installed), in a child process; figure:
  audio-seconds rendered per second of wall time;
- prepare: ``tunesmith prepare --corpus bach --representation R --max-tunes N`` in a child process,
  from that cache, for a quarter of the minutes and for all of them; figures: audio-seconds prepared
  per second (prepare's own clock, and the child's whole wall time with interpreter start and
  imports), and the child's peak resident memory (``os.wait4``'s ``ru_maxrss``). Four times the audio
  at about the same peak is what shows a prepare streams instead of holding the corpus.

The MIDI conversions come from the user cache (linked into the temporary cache, and filled there by
music21 first if they are missing); the audio cache is thrown away afterwards. Prints a table and
writes JSON with the machine it ran on::

    python benchmarks/audio_prepare.py                                  # 60 minutes of chorales, mel
    python benchmarks/audio_prepare.py --minutes 2 --out /tmp/a.json    # a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tunesmith import media
from tunesmith.corpora.cache import cache_dir
from tunesmith.corpora.midi_builtin import builtin_pieces
from tunesmith.render.audio import score_seconds

AUDIO_REPRESENTATIONS = media.of("mel").representations()
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Figure, log, machine, table  # noqa: E402

MAX_MINUTES = 300.0
RENDER = """
import json, sys, time
started = time.perf_counter()
from tunesmith.corpora.abc import ReadReport
from tunesmith.media.audio_builtin import builtin_sources, read_builtin
report, stats = ReadReport(), {}
sources, _ = builtin_sources("bach", report, max_pieces=int(sys.argv[1]))
seconds = sum(p.seconds for p in read_builtin(sources, int(sys.argv[2]), report, corpus="bach", stats=stats))
print(json.dumps({"pieces": len(sources), "audio_seconds": seconds, "wall": time.perf_counter() - started, **stats}))
"""


def run_child(args: list[str], env: dict[str, str], workdir: Path) -> tuple[float, float, str]:
    """Run a child process; its wall time, its peak resident memory in MB, and its stdout."""
    out, err = workdir / "child.out", workdir / "child.err"
    started = time.perf_counter()
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(args, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not every child's so far
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args[:4])}… failed:\n{err.read_text()[-3000:]}")
    return wall, usage.ru_maxrss / 1024, out.read_text()


def pieces_for(minutes: float) -> tuple[list[float], int]:
    """Durations of the first chorales, enough for ``minutes``; and how many that is."""
    guess = min(350, math.ceil(minutes * 60 / 25) + 2)  # chorales last 30-60 s
    pieces, _, _ = builtin_pieces("bach", max_pieces=guess)
    durations = [score_seconds(p.score) for p in pieces]
    total, count = 0.0, 0
    for seconds in durations:
        total += seconds
        count += 1
        if total >= minutes * 60:
            break
    return durations[:count], count


def measure(minutes: float, representation: str, sample_rate: int) -> tuple[list[Figure], dict]:
    figures: list[Figure] = []
    details: dict = {"representation": representation, "sample_rate": sample_rate}
    _, big = pieces_for(minutes)
    _, small = pieces_for(minutes / 4)
    small = max(2, min(small, big - 1)) if big > 2 else 2
    big = max(big, small + 1)
    with tempfile.TemporaryDirectory(prefix="tunesmith-audio-bench-") as tmp:
        work = Path(tmp)
        (work / "cache").mkdir()
        (cache_dir() / "midi").mkdir(parents=True, exist_ok=True)
        (work / "cache" / "midi").symlink_to(cache_dir() / "midi", target_is_directory=True)
        env = {**os.environ, "TUNESMITH_CACHE": str(work / "cache"), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}

        log(f"rendering {big} chorales (about {minutes:g} minutes) into a fresh audio cache ...")
        wall, rss, out = run_child([sys.executable, "-c", RENDER, str(big), str(sample_rate)], env, work)
        rendered = json.loads(out.strip().splitlines()[-1])
        details["render"] = {**rendered, "process_wall": round(wall, 3), "peak_rss_mb": round(rss, 1)}
        note = (
            f"{rendered['pieces']} chorales, {rendered['audio_seconds'] / 60:.1f} min in {wall:.1f} s, "
            f"{rendered['rendered']} rendered, {rendered['synth']}"
        )
        figures.append(Figure("render.bach", round(rendered["audio_seconds"] / wall, 1), "audio-s/s", note=note))

        peaks = {}
        for label, count in (("quarter", small), ("full", big)):
            out_dir = work / f"prepared-{count}"
            args = [sys.executable, "-m", "tunesmith.cli", "prepare", "--corpus", "bach", "--out", str(out_dir)]
            args += ["--representation", representation, "--max-tunes", str(count), "--sample-rate", str(sample_rate)]
            log(f"prepare {representation} from the cache: {count} chorales ...")
            wall, rss, _ = run_child(args, env, work)
            meta = json.loads((out_dir / "meta.json").read_text())
            audio_min = meta["audio_seconds"] / 60
            peaks[label] = rss
            details[f"prepare_{label}"] = {
                "pieces": meta["pieces_kept"],
                "audio_seconds": meta["audio_seconds"],
                "prepare_seconds": meta["seconds"],
                "process_wall": round(wall, 3),
                "peak_rss_mb": round(rss, 1),
                "rendered": meta["corpus_cache"]["rendered"],
                "bytes_written": sum(p.stat().st_size for p in out_dir.glob("*.bin")),
            }
            name = f"prepare.{representation}.{audio_min:.0f}min"
            note = f"{meta['pieces_kept']} chorales, {audio_min:.1f} min; with interpreter start: {wall:.1f} s"
            figures.append(Figure(name, meta["audio_seconds_per_second"], "audio-s/s", note=note))
            note = f"{audio_min:.1f} min of audio, {details[f'prepare_{label}']['bytes_written'] / 1e6:.0f} MB written"
            figures.append(Figure(f"peak-rss.{audio_min:.0f}min", round(rss, 1), "MB", note=note))
        audio = details["prepare_full"]["audio_seconds"] / max(details["prepare_quarter"]["audio_seconds"], 1e-9)
        note = f"{audio:.1f}x the audio"
        figures.append(Figure("peak-rss.full/quarter", round(peaks["full"] / peaks["quarter"], 2), "x", note=note))
    return figures, details


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=60.0, help="audio for the full size (a quarter for the small)")
    p.add_argument("--representation", default="mel", choices=AUDIO_REPRESENTATIONS)
    p.add_argument("--sample-rate", type=int, default=16_000)
    p.add_argument("--out", type=Path, help="JSON path (default benchmarks/results/audio_prepare[-quick].json)")
    args = p.parse_args(argv)
    if not 0.5 <= args.minutes <= MAX_MINUTES:
        p.error(f"--minutes must be between 0.5 and {MAX_MINUTES:g}")
    quick = args.minutes < 60
    out = args.out or HERE / "results" / ("audio_prepare-quick.json" if quick else "audio_prepare.json")
    info = machine()
    figures, details = measure(args.minutes, args.representation, args.sample_rate)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(table(figures))
    result = {
        "mode": "quick" if quick else "full",
        "minutes": args.minutes,
        "machine": info,
        "figures": {f.name: f.to_json() for f in figures},
        "details": details,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
