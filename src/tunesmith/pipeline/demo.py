"""``tunesmith demo``: the whole path on the built-in folk corpus in a few minutes.

``--minutes`` bounds the whole command (prepare, train, sample and render), measured from when it
started: training gets what is left once :data:`SAMPLE_SECONDS` (and a little per tune) are kept back
for sampling and rendering, and stops on that deadline as ``train --max-minutes`` does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunesmith.config import load_preset
from tunesmith.data import PreparedData
from tunesmith.errors import TunesmithError
from tunesmith.media.abc_samples import write_samples
from tunesmith.pipeline.prepare import prepare
from tunesmith.pipeline.train import train
from tunesmith.sampling import SampleSettings
from tunesmith.training.deadline import Deadline

SAMPLE_SECONDS = 15.0  # kept back from training for step 3 (load, sample, render) and the exit, plus per tune:
SECONDS_PER_TUNE = 4.0


def sampling_reserve(num: int) -> float:
    """Seconds kept for sampling and rendering ``num`` tunes after training."""
    return SAMPLE_SECONDS + SECONDS_PER_TUNE * num


def run_demo(
    *,
    minutes: float,
    out: Path,
    num: int,
    preset: str,
    echo: Callable[[str], None],
    show: Callable[[Any], None],
    started: float | None = None,
) -> None:
    """The demo, all of it within ``minutes`` of ``started`` (``time.monotonic()``; now by default)."""
    if not 0 < minutes <= 24 * 60:
        raise TunesmithError(f"--minutes {minutes} must be above 0 and at most 1440")
    if not 1 <= num <= 100:
        raise TunesmithError(f"--num {num} must be between 1 and 100")
    load_preset(preset)  # a misspelt preset is refused before a minute goes on preparing the corpus
    deadline = Deadline.after(minutes, started)
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
    reserve = sampling_reserve(num)
    left = deadline.remaining() - reserve
    echo(
        f"2/3 train: preset {preset} for {max(left, 0) / 60:.1f} of the demo's {minutes:g} minutes on this machine "
        "(Ctrl-C is safe: re-run to resume)"
    )
    trained = train(
        preset,
        data_dir,
        run_dir,
        max_minutes=minutes,
        progress=sys.stdout.isatty(),
        started=deadline.start,
        deadline=deadline.minus(reserve),
        echo=echo,
    )
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
        profile=loaded.corpus,
    )
    show(report)
    echo("")
    echo(f"tunes        {out}/*.abc, *.mid, *.wav and *.svg  (details in {out}/samples.json)")
    echo(f"run          {run_dir}  (metrics.csv, checkpoints/, samples/ every few epochs)")
    echo(f"more tunes   tunesmith sample {run_dir} --num 10 --temperature 0.8 --out samples/")
    echo(f"studio       tunesmith serve --models {out}   (then open http://127.0.0.1:8000/)")
    echo(f"how good     tunesmith evaluate {run_dir} --num 200 --out report/   (and: tunesmith plot {run_dir})")
    if report.valid_share < 1:
        echo(
            f"valid tunes  {100 * report.valid_share:.0f}% now; --constrain makes every bar whole and abc2midi clean "
            "(valid also needs the corpus's length, header, meter and key, and an ending the model wrote)"
        )
