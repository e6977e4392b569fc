"""``tunesmith demo``: the whole path on the built-in folk corpus in a few minutes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunesmith.data import PreparedData
from tunesmith.errors import TunesmithError
from tunesmith.media.abc_samples import write_samples
from tunesmith.pipeline.prepare import prepare
from tunesmith.pipeline.train import train
from tunesmith.sampling import SampleSettings


def run_demo(
    *, minutes: float, out: Path, num: int, preset: str, echo: Callable[[str], None], show: Callable[[Any], None]
) -> None:
    if not 0 < minutes <= 24 * 60:
        raise TunesmithError(f"--minutes {minutes} must be above 0 and at most 1440")
    data_dir, run_dir = out / "data", out / "run"
    try:
        ready = PreparedData.open(data_dir).meta.get("source") == "builtin:folk"
    except TunesmithError:
        ready = False
    if ready:
        echo(f"1/3 prepare: reusing {data_dir}")
    else:
        result = prepare(data_dir, corpus="folk")
        m = result.meta
        echo(
            f"1/3 prepare: {m['tunes_kept']} of {m['tunes_read']} folk tunes kept "
            f"({m['counts']['train']['tokens']:,} training characters) in {result.seconds:.1f} s"
        )
    echo(
        f"2/3 train: preset {preset} for at most {minutes:g} minutes on this machine (Ctrl-C is safe: re-run to resume)"
    )
    trained = train(preset, data_dir, run_dir, max_minutes=minutes, progress=sys.stdout.isatty())
    best = f"{trained.best_val_loss:.3f}" if trained.best_val_loss is not None else "n/a"
    echo(
        f"    {trained.state} after {trained.epochs:.2f} epochs (step {trained.global_step}); "
        f"best val loss {best} nats/char"
    )
    echo(f"3/3 sample: {num} tunes at temperature 1.0")
    from tunesmith.bundle import load

    loaded = load(run_dir)
    report = write_samples(
        loaded.model,
        loaded.representation,
        SampleSettings(num=num, seed=0),
        out,
        extra={"model": str(run_dir)},
        render=("wav", "svg"),  # hear them and read them
    )
    show(report)
    echo("")
    echo(f"tunes        {out}/*.abc, *.mid, *.wav and *.svg  (details in {out}/samples.json)")
    echo(f"run          {run_dir}  (metrics.csv, checkpoints/, samples/ every few epochs)")
    echo(f"more tunes   tunesmith sample {run_dir} --num 10 --temperature 0.8 --out samples/")
    echo(f"studio       tunesmith serve --models {out}   (then open http://127.0.0.1:8000/)")
    echo(f"how good     tunesmith evaluate {run_dir} --num 200 --out report/   (and: tunesmith plot {run_dir})")
    if report.valid_share < 1:
        echo(f"valid tunes  add --constrain: all valid ABC with whole bars ({100 * report.valid_share:.0f}% are now)")
