"""``tunesmith prepare``: read a corpus (built-in or the user's files), clean, split and encode it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tunesmith.cli.common import path_option
from tunesmith.errors import TunesmithError

MAX_SEED = 2**63 - 1  # the split's generator takes any non-negative seed; this is what a seed means elsewhere


def prepare(
    out: Annotated[Path, typer.Option("--out", help="Folder for the prepared dataset.", parser=path_option)],
    corpus: Annotated[str | None, typer.Option(help="Built-in corpus: folk (ABC), bach or classical (MIDI).")] = None,
    input: Annotated[
        Path | None,
        typer.Option("--input", help="Your .abc, .mid or audio file or folder (recursive).", parser=path_option),
    ] = None,
    representation: Annotated[
        str | None,
        typer.Option(
            help="A registered representation of ABC, MIDI or audio (bach, folk or --input); "
            "an unknown name lists them all, by medium. Default: abc-char, or the --vocab-from model's.",
            show_default=False,
        ),
    ] = None,
    vocab_from: Annotated[
        Path | None,
        typer.Option(
            "--vocab-from",
            help="ABC: encode with this run's or bundle's vocabulary instead of fitting one (to evaluate or "
            "fine-tune that model on this corpus); tunes with symbols it lacks are skipped and counted.",
            parser=path_option,
        ),
    ] = None,
    drop_fields: Annotated[str, typer.Option(help="Header fields to remove, e.g. T,N,Z.")] = "",
    keep_comments: Annotated[bool, typer.Option(help="Keep % comment lines.")] = False,
    val_fraction: Annotated[float, typer.Option(help="Share of tunes held out for validation.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the train/validation split.")] = 0,
    max_chars: Annotated[int, typer.Option(help="Skip tunes longer than this many characters.")] = 5000,
    max_tunes: Annotated[int, typer.Option(help="Keep only the first N tunes or pieces (0 = all).")] = 0,
    transpose: Annotated[int, typer.Option(help="MIDI: add the training pieces in every key within ±N semitones.")] = 0,
    tempo_stretch: Annotated[
        str, typer.Option(help="MIDI: add training copies at these tempo factors, e.g. 0.9,1.1.")
    ] = "",
    normalize_key: Annotated[
        bool, typer.Option(help="MIDI: transpose every piece to C major / A minor first.")
    ] = False,
    vocab_size: Annotated[
        int, typer.Option(help="MIDI token representations built on MidiTok: learn BPE merges up to this vocabulary.")
    ] = 0,
    sample_rate: Annotated[
        int | None, typer.Option(help="Audio: resample to this rate in Hz, 8000 to 48000 (default 16000).")
    ] = None,
    only_valid: Annotated[
        bool, typer.Option(help="ABC: keep only the tunes that pass the validity check (they play as written).")
    ] = False,
) -> None:
    """Read a corpus, clean it, split it by tune and encode it as memmapped arrays."""
    from tunesmith.pipeline.prepare import prepare as run_prepare

    if not 0 <= seed <= MAX_SEED:
        raise TunesmithError(f"--seed {seed} is out of range: choose 0 to {MAX_SEED}")
    fields = [f for f in drop_fields.split(",") if f.strip()]
    midi: dict[str, Any] = {}
    if transpose:
        midi["transpose"] = transpose
    if tempo_stretch.strip():
        try:
            midi["tempo_factors"] = tuple(float(f) for f in tempo_stretch.split(",") if f.strip())
        except ValueError:
            raise TunesmithError(f"--tempo-stretch {tempo_stretch!r}: expected numbers like 0.9,1.1") from None
    if normalize_key:
        midi["normalize_key"] = True
    if vocab_size:
        midi["vocab_size"] = vocab_size
    result = run_prepare(
        out,
        corpus=corpus,
        input_path=input,
        representation=representation,
        drop_fields=fields,
        keep_comments=keep_comments,
        val_fraction=val_fraction,
        seed=seed,
        max_chars=max_chars,
        max_tunes=max_tunes,
        midi=midi,
        sample_rate=sample_rate,
        only_valid=only_valid,
        vocab_from=vocab_from,
    )
    m = result.meta
    what = "pieces" if "pieces_read" in m else "tunes"
    typer.echo(f"source       {m['source']} ({m['files']} files)")
    typer.echo(f"{what + ' read':<12} {m[what + '_read']}")
    typer.echo(f"{what + ' kept':<12} {m[what + '_kept']}")
    skipped = sum(m["skipped"].values())
    typer.echo(f"skipped      {skipped}")
    for reason, count in m["skipped"].items():
        if count:  # every reason, with its zero count too, is in meta.json
            typer.echo(f"  {count:>6}  {reason}")
    if m.get("vocab_from", {}).get("missing_symbols"):
        costs = list(m["vocab_from"]["missing_symbols"].items())
        shown = ", ".join(f"{symbol!r} ({n})" for symbol, n in costs[:8]) + (", …" if len(costs) > 8 else "")
        typer.echo(f"  missing symbols (tunes each cost): {shown}")
    for split, c in m["counts"].items():
        unit = "frames" if "frames" in c else "tokens"
        typer.echo(f"{split:<12} {c[what]} {what}, {c[unit]:,} {unit}")
    if "frame_dim" in m:
        typer.echo(f"frames       {m['frame_dim']} values each, stored as {m['frame_width']} {m['dtype']} per frame")
    else:
        origin = f", the model's in {m['vocab_from']['model']}" if "vocab_from" in m else ""
        typer.echo(f"vocabulary   {m['vocab_size']} symbols ({m['dtype']}){origin}")
    if "audio_seconds" in m:
        typer.echo(
            f"audio        {m['audio_seconds'] / 60:,.1f} min at {m['sample_rate']} Hz, "
            f"{m['audio_seconds_per_second']:,.1f} audio-seconds per second"
        )
    if "baseline" in m:
        print_baseline(m["baseline"])
    typer.echo(f"wrote        {result.out}  (skipped list: {result.out / 'skipped.tsv'})  in {result.seconds:.1f} s")


def print_baseline(baseline: dict[str, Any]) -> None:
    """The share of the corpus's own tunes that pass the validity check, by split and by reason."""
    from tunesmith.metrics.validity import REASONS

    shares = ", ".join(
        f"{name} {100 * baseline[name]['valid_share']:.0f}%" for name in ("train", "val") if name in baseline
    )
    typer.echo(f"valid        {100 * baseline['all']['valid_share']:.1f}% of the corpus's tunes ({shares})")
    for reason, share in baseline["all"]["by_reason"].items():
        shown = f"{100 * share:>5.1f}%" if share >= 0.001 else " <0.1%"
        typer.echo(f"  {shown}  {REASONS.get(reason, reason)}")
    if baseline.get("only_valid"):
        kept = baseline["kept"]
        typer.echo(f"only valid   kept {kept['train']} training and {kept['val']} validation tunes")
