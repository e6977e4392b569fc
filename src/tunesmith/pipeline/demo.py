"""``tunesmith demo``: good tunes first, then what training buys, on the built-in folk corpus.

1. **The shipped model** (``folk``, :mod:`tunesmith.pretrained`), where installed: one constrained tune per
   common rhythm the corpus has (reel, jig, hornpipe…), as ABC, MIDI, WAV and SVG, in seconds.
2. **Prepare** the folk corpus (reused when it is there).
3. **Train** the demo preset for a budget counted in optimiser **steps** (``--steps``), so the model it ends
   with does not depend on the machine's load: the same seed trains to the same weights. A second run finds
   the budget spent and trains nothing. ``--minutes`` bounds this part's wall-clock time for those who want
   it (the run then stops early, and resumes on the next run).
4. **Sample** the trained model the way the shipped one was sampled, and print both models' figures side by
   side: held-out bits per character on the same validation split, valid tunes and forced endings.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunesmith.config import load_preset
from tunesmith.data import PreparedData
from tunesmith.errors import TunesmithError
from tunesmith.media.abc_samples import SampleReport, write_samples
from tunesmith.pipeline.prepare import prepare
from tunesmith.pipeline.train import train
from tunesmith.sampling import SampleSettings

SHIPPED = "folk"  # the built-in model the demo starts with
RHYTHMS = ("reel", "jig", "hornpipe", "polka", "waltz", "slip jig", "march")  # the commonest dance kinds
DEMO_STEPS = 600  # about 4 minutes of abc-lstm-demo on an idle 2-core CPU
MAX_STEPS = 100_000
TEMPERATURE = 0.7  # the shipped model's recommended temperature (its card), for both models side by side
MAX_LENGTH = 1000  # characters a demo tune may take (the corpus's 99th percentile is about 760)
RENDER = ("wav", "svg")  # hear them and read them


def rhythm_primers(profile: Any) -> list[tuple[str, str]]:
    """``(rhythm, header primer)`` for each of :data:`RHYTHMS` the model's corpus writes (none: one free tune):
    its ``R:`` and its usual meter where the corpus has one (a reel in 6/8 is no reel); the model writes the rest."""
    from tunesmith.media import abc_kind

    usual = {r.name: r.meters for r in abc_kind.RHYTHMS}
    primers = []
    for rhythm in RHYTHMS:
        known = abc_kind.known_meters(profile)
        meter = next((m for m in usual.get(rhythm, ()) if m in known), "")
        try:
            primers.append((rhythm, abc_kind.kind_primer(profile, rhythm=rhythm, meter=meter)))
        except TunesmithError:
            continue  # a rhythm this corpus never names
    return primers or [("any", "")]


def tunes_by_rhythm(loaded: Any, out: Path, per_rhythm: int, temperature: float = TEMPERATURE) -> SampleReport:
    """``per_rhythm`` constrained tunes of each rhythm into ``out/<rhythm>/``, as one report for one table."""
    from tunesmith.media import abc_kind

    reports, tunes = [], []
    for rhythm, primer in rhythm_primers(loaded.corpus):
        folder = out / rhythm.replace(" ", "-")
        settings = SampleSettings(
            num=per_rhythm, temperature=temperature, primer=primer, max_length=MAX_LENGTH, seed=0, constrain=True
        )
        extra = {"model": str(loaded.source), "rhythm": rhythm}
        report = write_samples(
            loaded.model,
            loaded.representation,
            settings,
            folder,
            extra=extra,
            render=RENDER,
            profile=loaded.corpus,
            grammar_profile=abc_kind.tune_book(loaded.corpus),
        )
        reports.append(report)
        tunes += [{**t, "file": f"{folder.name}/{t['file']}"} for t in report.tunes]
    seconds = sum(r.seconds for r in reports)
    chars = sum(t["length"] for t in tunes)
    return SampleReport(out, tunes, seconds, chars / seconds if seconds else 0.0, reports[0].baseline)


def figures(label: str, held_out: float | None, steps: int | str, report: SampleReport) -> list[str]:
    """One row of the side-by-side table."""
    n = len(report.tunes)
    bars = [t["validity"]["tune_bars"] for t in report.tunes if "tune_bars" in t["validity"]]
    forced = sum(t["ending"] == "forced" for t in report.tunes)
    return [
        label,
        str(steps),
        f"{held_out:.3f}" if held_out is not None else "?",
        f"{sum(t['valid'] for t in report.tunes)}/{n}",
        f"{forced}/{n}",
        f"{statistics.median(bars):g}" if bars else "?",
    ]


def shipped_figure(path: Path) -> tuple[float | None, int | str]:
    """The shipped model's recorded held-out bits per character and training steps (from its config.json)."""
    from tunesmith.pretrained import held_out_bpc
    from tunesmith.untrusted import read_json

    info = read_json(path / "config.json", max_bytes=1024 * 1024)
    steps = (info.get("recipe") or {}).get("steps", "?") if isinstance(info, dict) else "?"
    return held_out_bpc(info), steps


def run_demo(
    *,
    out: Path,
    num: int,
    preset: str,
    echo: Callable[[str], None],
    show: Callable[[Any], None],
    show_table: Callable[[list[str], list[list[str]]], None],
    steps: int = DEMO_STEPS,
    minutes: float | None = None,
) -> None:
    """The demo. ``num``: tunes per rhythm; ``minutes`` (optional) bounds the training part's wall-clock time."""
    from tunesmith.bundle import load
    from tunesmith.pretrained import builtin_models

    if minutes is not None and not 0 < minutes <= 24 * 60:
        raise TunesmithError(f"--minutes {minutes} must be above 0 and at most 1440")
    if not 1 <= steps <= MAX_STEPS:
        raise TunesmithError(f"--steps {steps} must be between 1 and {MAX_STEPS:,}")
    if not 1 <= num <= 10:
        raise TunesmithError(f"--num {num} (tunes per rhythm) must be between 1 and 10")
    load_preset(preset)  # a misspelt preset is refused before a minute goes on preparing the corpus
    rows, shipped_out = [], out / SHIPPED

    shipped = builtin_models().get(SHIPPED)
    if shipped is None:
        echo(f"1/4 shipped model: not installed (make pretrained builds '{SHIPPED}'); going on to training")
    else:
        echo(f"1/4 shipped model '{SHIPPED}': one tune per rhythm, constrained, into {shipped_out}/")
        loaded = load(shipped)
        report = tunes_by_rhythm(loaded, shipped_out, num)
        show(report)
        bpc, trained_steps = shipped_figure(shipped)
        rows.append(figures(f"shipped '{SHIPPED}'", bpc, trained_steps, report))

    data_dir, run_dir = out / "data", out / "run"
    try:
        ready = PreparedData.open(data_dir).meta.get("source") == "builtin:folk"
    except TunesmithError:
        ready = False
    if ready:
        echo(f"2/4 prepare: reusing {data_dir}")
    else:
        result = prepare(data_dir, corpus="folk")
        m = result.meta
        echo(
            f"2/4 prepare: {m['tunes_kept']} of {m['tunes_read']} folk tunes kept "
            f"({m['counts']['train']['tokens']:,} training characters) in {result.seconds:.1f} s"
        )
    bound = f", at most {minutes:g} minutes" if minutes is not None else ""
    echo(f"3/4 train: preset {preset} for {steps} steps{bound} (Ctrl-C is safe: re-run to resume)")
    trained = train(
        preset,
        data_dir,
        run_dir,
        overrides=[f"train.max_steps={steps}"],
        max_minutes=minutes,  # from here: the training part's wall-clock time
        progress=sys.stdout.isatty(),
        echo=echo,
    )
    best = f"{trained.best_val_loss:.3f}" if trained.best_val_loss is not None else "n/a"
    echo(
        f"    {trained.state} after {trained.epochs:.2f} epochs (step {trained.global_step}); "
        f"best val loss {best} nats/char"
    )
    echo(f"4/4 sample: the trained model, the same way, into {out / 'trained'}/")
    loaded = load(run_dir)
    report = tunes_by_rhythm(loaded, out / "trained", num)
    show(report)
    held = trained.best_val_loss / 0.6931471805599453 if trained.best_val_loss is not None else None
    rows.append(figures("your demo run", held, trained.global_step, report))

    echo("")
    echo("what training buys (held-out: bits per character on the folk validation split; lower is better)")
    show_table(["model", "steps", "held-out", "valid", "forced endings", "median bars"], rows)
    echo("")
    echo(f"tunes        {shipped_out}/ and {out}/trained/  (*.abc, *.mid, *.wav, *.svg; details in samples.json)")
    echo(f"run          {run_dir}  (metrics.csv, checkpoints/)")
    model = SHIPPED if shipped else run_dir
    ask = f"--rhythm jig --key G --constrain --temperature {TEMPERATURE:g}"
    echo(f"more tunes   tunesmith sample {model} {ask} --num 5")
    echo(f"studio       tunesmith serve --models {out}   (then open http://127.0.0.1:8000/)")
    echo(f"how good     tunesmith evaluate {run_dir} --num 200 --out report/   (and: tunesmith plot {run_dir})")
