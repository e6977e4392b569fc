"""MIDI corpus speed: files per second for the ``bach`` corpus (uncached and cached) and a user folder.

- uncached: ``builtin_pieces("bach")`` into a fresh temporary cache, music21 parsing and writing
  MIDI in one worker process per CPU (``--workers``);
- cached: the same call again in this process, and once more in a fresh interpreter, as a second
  ``prepare`` would run it (that one pays for importing music21 and symusic);
- user folder: the cached chorale MIDI files copied into a temporary folder and read with
  ``find_midi_files`` + ``read_midi_files`` (best of three).

Nothing is written to the real user cache. Prints a table and writes JSON with the machine it ran on
(cores, load average)::

    python benchmarks/midi_prepare.py            # all 350 chorale files
    python benchmarks/midi_prepare.py --quick    # the first 40
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tunesmith.corpora.midi import find_midi_files, read_midi_files
from tunesmith.corpora.midi_builtin import builtin_pieces

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Figure, log, machine, table  # noqa: E402

FRESH = """
import json, sys, time
started = time.perf_counter()
from tunesmith.corpora.midi_builtin import builtin_pieces
pieces, report, stats = builtin_pieces("bach", max_pieces=int(sys.argv[1]), workers=int(sys.argv[2]))
print(json.dumps({"files": report.files, "pieces": len(pieces), "wall": time.perf_counter() - started, **stats}))
"""


def rate(files: int, seconds: float) -> float:
    return round(files / seconds, 1) if seconds > 0 else 0.0


def measure(max_pieces: int, workers: int) -> tuple[list[Figure], dict]:
    figures: list[Figure] = []
    details: dict = {}
    with tempfile.TemporaryDirectory(prefix="tunesmith-midi-bench-") as tmp:
        os.environ["TUNESMITH_CACHE"] = str(Path(tmp) / "cache")
        log("bach, uncached: converting with music21 ...")
        started = time.perf_counter()
        pieces, report, stats = builtin_pieces("bach", max_pieces=max_pieces, workers=workers)
        wall = time.perf_counter() - started
        details["uncached"] = {**stats, "wall": round(wall, 3), "files": report.files, "pieces": len(pieces)}
        details["skipped"] = dict(report.skipped)
        note = (
            f"{report.files} files, {wall:.1f} s, {stats['converted']} converted, {workers or os.cpu_count()} workers"
        )
        figures.append(Figure("bach.uncached", rate(report.files, wall), "files/s", note=note))

        started = time.perf_counter()
        pieces, report, stats = builtin_pieces("bach", max_pieces=max_pieces, workers=workers)
        wall = time.perf_counter() - started
        details["cached_in_process"] = {**stats, "wall": round(wall, 3), "files": report.files}
        note = f"{report.files} files, {wall:.2f} s, {stats['cached']} cached"
        figures.append(Figure("bach.cached", rate(report.files, wall), "files/s", note=note))

        log("bach, cached, in a fresh interpreter ...")
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", FRESH, str(max_pieces), str(workers)], capture_output=True, text=True, env=env
        )
        if out.returncode:
            raise SystemExit(out.stderr)
        fresh = json.loads(out.stdout.strip().splitlines()[-1])
        fresh["process_wall"] = round(time.perf_counter() - started, 3)
        details["cached_fresh_process"] = fresh
        note = f"{fresh['files']} files, {fresh['process_wall']:.2f} s with interpreter start and imports"
        figures.append(
            Figure("bach.cached.fresh-process", rate(fresh["files"], fresh["process_wall"]), "files/s", note=note)
        )

        folder = Path(tmp) / "user"
        for n, path in enumerate(sorted(Path(stats["cache_dir"]).glob("*.mid"))):
            target = folder / f"set{n % 4}" / f"chorale{n:03d}.mid"  # nested, as a user's folders are
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        walls = []
        for _ in range(3):
            started = time.perf_counter()
            pieces, report = read_midi_files(find_midi_files(folder), base=folder)
            walls.append(time.perf_counter() - started)
        details["user_folder"] = {"files": report.files, "pieces": len(pieces), "walls": [round(w, 4) for w in walls]}
        note = f"{report.files} files, best of 3: {min(walls) * 1000:.0f} ms"
        figures.append(Figure("user-folder.read", rate(report.files, min(walls)), "files/s", note=note))
        os.environ.pop("TUNESMITH_CACHE")
    return figures, details


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="the first 40 chorale files only")
    p.add_argument("--workers", type=int, default=0, help="conversion processes (0 = one per CPU)")
    p.add_argument("--out", type=Path, help="JSON path (default benchmarks/results/midi_prepare[-quick].json)")
    args = p.parse_args(argv)
    out = args.out or HERE / "results" / ("midi_prepare-quick.json" if args.quick else "midi_prepare.json")
    info = machine()
    figures, details = measure(40 if args.quick else 0, args.workers)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(table(figures))
    result = {
        "mode": "quick" if args.quick else "full",
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
