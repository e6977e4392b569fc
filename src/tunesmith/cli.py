"""The ``tunesmith`` command: a few verbs a musician can remember.

Heavy libraries are imported inside each command, so ``tunesmith --help`` is instant.
Problems the user can fix print one line and exit with status 2; nothing prints a traceback
for them.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from tunesmith.errors import TunesmithError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Train neural networks on music and generate new music with them.",
)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a TunesmithError into one line on stderr and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TunesmithError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


def _printable(text: str) -> str:
    """Generated titles can hold control characters (the corpus has a few); keep columns aligned."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[_printable(str(c)) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, cells)])


def print_samples(report: Any) -> None:
    rows = [
        [
            t["file"],
            t["title"][:28] or "-",
            t["meter"] or "-",
            t["key"] or "-",
            t["length"],
            "yes" if t["ended_cleanly"] else "cut",
            "yes" if t["converts_to_midi"] else "no",
            t["abc2midi_errors"],
            f"{100 * t['validity']['bars_ok_share']:.0f}%" if t["validity"]["bars"] else "-",  # no bar to judge
            "yes" if t["valid"] else "no",
        ]
        for t in report.tunes
    ]
    headers = ["file", "title", "meter", "key", "length", "ended", "midi", "errors", "bars ok", "valid"]
    typer.echo(_table(headers, rows))
    n = len(report.tunes)
    judged = any(t["validity"]["bars"] for t in report.tunes)  # no meter or no bar line: nothing to judge
    bars = f"{100 * report.bars_ok_share:.1f}% of bars the right length" if judged else "no bar could be judged"
    typer.echo(
        f"{sum(t['converts_to_midi'] for t in report.tunes)}/{n} convert to MIDI "
        f"({100 * report.converted_share:.0f}%), {100 * report.clean_share:.0f}% with zero abc2midi errors, "
        f"{bars}, {100 * report.valid_share:.0f}% valid; "
        f"{report.chars_per_second:,.0f} chars/s"
    )
    print_rendered(report.tunes)


def print_midi_samples(report: Any) -> None:
    """The table for MIDI models: size, notes, range and polyphony per piece, and the syntax error rate."""
    tokens = report.unit == "tokens"
    rows = [
        [
            p["file"],
            p[report.unit],
            p["notes"],
            p["quarters"],
            "-" if p["pitch_range"] is None else "{}-{}".format(*p["pitch_range"]),
            p["pitch_classes"],
            p["polyphony"],
            *([p["syntax_errors"]] if tokens else []),
        ]
        for p in report.pieces
    ]
    headers = ["file", report.unit, "notes", "quarters", "pitches", "classes", "poly", *(["syntax"] if tokens else [])]
    typer.echo(_table(headers, rows))
    n = len(report.pieces)
    line = f"{sum(p['notes'] > 0 for p in report.pieces)}/{n} pieces have notes"
    if tokens:
        clean = sum(p["syntax_errors"] == 0 for p in report.pieces)
        line += f", {clean}/{n} decode with no syntax error; syntax error rate {100 * report.syntax_error_rate:.2f}%"
    typer.echo(f"{line}; {report.steps_per_second:,.0f} {report.unit}/s")
    print_rendered(report.pieces)


def print_rendered(items: list[dict[str, Any]]) -> None:
    """One line for ``--render``: files written per format and how many tunes failed (reasons in samples.json)."""
    tunes = [t for t in items if "rendered" in t]
    if not tunes:
        return
    counts: dict[str, int] = {}
    for t in tunes:
        for name in t["rendered"]:
            ext = name.rsplit(".", 1)[-1]
            counts[ext] = counts.get(ext, 0) + 1
    failed = sum(bool(t["render_errors"]) for t in tunes)
    made = ", ".join(f"{n} {ext}" for ext, n in counts.items()) or "nothing"
    typer.echo(f"rendered     {made}" + (f"; {failed} tunes not fully rendered (see samples.json)" if failed else ""))


@app.command()
@friendly
def prepare(
    out: Annotated[Path, typer.Option("--out", help="Folder for the prepared dataset.")],
    corpus: Annotated[str | None, typer.Option(help="Built-in corpus: folk (ABC), bach or classical (MIDI).")] = None,
    input: Annotated[
        Path | None, typer.Option("--input", help="Your .abc, .mid or audio file or folder (recursive).")
    ] = None,
    representation: Annotated[
        str,
        typer.Option(
            help="abc-char (ABC); for MIDI: midi-notes, midi-remi, midi-tsd, pianoroll; "
            "for audio (bach, folk or --input): audio-wave, audio-mulaw, audio-spectral, mel."
        ),
    ] = "abc-char",
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
    vocab_size: Annotated[int, typer.Option(help="midi-remi/midi-tsd: learn BPE merges up to this vocabulary.")] = 0,
    sample_rate: Annotated[
        int | None, typer.Option(help="Audio: resample to this rate in Hz, 8000 to 48000 (default 16000).")
    ] = None,
) -> None:
    """Read a corpus, clean it, split it by tune and encode it as memmapped arrays."""
    from tunesmith.pipeline.prepare import prepare as run_prepare

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
    for split, c in m["counts"].items():
        unit = "frames" if "frames" in c else "tokens"
        typer.echo(f"{split:<12} {c[what]} {what}, {c[unit]:,} {unit}")
    if "frame_dim" in m:
        typer.echo(f"frames       {m['frame_dim']} values each, stored as {m['frame_width']} {m['dtype']} per frame")
    else:
        typer.echo(f"vocabulary   {m['vocab_size']} symbols ({m['dtype']})")
    if "audio_seconds" in m:
        typer.echo(
            f"audio        {m['audio_seconds'] / 60:,.1f} min at {m['sample_rate']} Hz, "
            f"{m['audio_seconds_per_second']:,.1f} audio-seconds per second"
        )
    typer.echo(f"wrote        {result.out}  (skipped list: {result.out / 'skipped.tsv'})  in {result.seconds:.1f} s")


@app.command()
@friendly
def train(
    preset: Annotated[str, typer.Option(help="Preset name (see 'tunesmith presets') or a YAML file.")],
    data: Annotated[Path, typer.Option(help="Prepared dataset folder.")],
    run: Annotated[Path, typer.Option(help="Run folder; re-running the same command resumes it.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a setting: key=value.")] = None,
    max_minutes: Annotated[float | None, typer.Option(help="Wall-clock budget for the run.")] = None,
    accelerator: Annotated[str, typer.Option(help="Lightning accelerator: auto, cpu, gpu…")] = "auto",
    devices: Annotated[str, typer.Option(help="Devices per node: auto or a number.")] = "auto",
    num_nodes: Annotated[int, typer.Option(help="Machines taking part.")] = 1,
    strategy: Annotated[str, typer.Option(help="Lightning strategy: auto, ddp…")] = "auto",
    precision: Annotated[
        str | None, typer.Option(help="32-true, bf16-mixed (autocast; for GPUs), 16-mixed… (train.precision).")
    ] = None,
    compile_: Annotated[
        bool, typer.Option("--compile", help="Run the model through torch.compile (train.compile).")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar (else one line per epoch).")] = True,
) -> None:
    """Train a model on a prepared dataset; checkpoints, metrics and samples go to the run folder."""
    from tunesmith.pipeline.train import is_rank_zero
    from tunesmith.pipeline.train import train as run_train
    from tunesmith.training.trainer import Hardware

    if not 1 <= num_nodes <= 4096:
        raise TunesmithError(f"--num-nodes {num_nodes} must be between 1 and 4096")
    if not (devices == "auto" or devices.isdigit() and 1 <= int(devices) <= 1024 or devices == "-1"):
        raise TunesmithError(f"--devices {devices!r} must be auto, -1 or a number from 1 to 1024")
    hardware = Hardware(accelerator, devices, num_nodes, strategy)
    overrides = [*(set_ or []), *([f"train.precision={precision}"] if precision else [])]
    overrides += ["train.compile=true"] if compile_ else []
    result = run_train(
        preset, data, run, overrides=overrides, max_minutes=max_minutes, hardware=hardware, progress=progress
    )
    if not is_rank_zero():
        return
    if result.resumed_from_step is not None:
        typer.echo(f"resumed from step {result.resumed_from_step}")
    import json

    rep = json.loads((result.run / "representation.json").read_text()).get("name")
    unit = {"abc-char": "char", "pianoroll": "bit"}.get(rep, "token")
    best = f"{result.best_val_loss:.4f} nats/{unit}" if result.best_val_loss is not None else "n/a"
    if rep in ("audio-wave", "audio-spectral", "mel") and result.best_val_loss is not None:  # a regression loss
        what = "magnitude MSE + phase loss" if rep == "audio-spectral" else "mean squared error per value"
        best = f"{result.best_val_loss:.4f} ({what})"
    typer.echo(f"{result.state} after {result.epochs:.2f} epochs (step {result.global_step}); best val loss {best}")
    typer.echo(f"run folder   {result.run}  (metrics.csv, checkpoints/, samples/, tensorboard/)")


@app.command()
@friendly
def sample(
    model: Annotated[Path, typer.Argument(help="A run folder or a bundle folder.")],
    num: Annotated[int, typer.Option(help="Number of tunes (1 to 1000).")] = 10,
    temperature: Annotated[float, typer.Option(help="Above 0; lower is safer, higher is wilder.")] = 1.0,
    top_k: Annotated[int, typer.Option(help="Sample among the K likeliest symbols (0 = all).")] = 0,
    top_p: Annotated[float, typer.Option(help="Sample within this much probability mass (1 = all).")] = 1.0,
    primer: Annotated[str, typer.Option(help=r"Start every tune with this ABC, e.g. 'M:6/8\nK:G\n'.")] = "",
    max_length: Annotated[int, typer.Option(help="Cut tunes at this many characters (at most 20000).")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same tunes.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Tunes generated together (1 to 1024).")] = 64,
    checkpoint: Annotated[str, typer.Option(help="For runs: best or last.")] = "best",
    out: Annotated[Path, typer.Option(help="Folder for NNN.abc, NNN.mid and samples.json.")] = Path("samples"),
    render: Annotated[str, typer.Option(help="Also write each tune as e.g. wav,svg (see 'tunesmith render').")] = "",
    constrain: Annotated[
        bool, typer.Option(help="Allow only valid ABC with whole bars, ending before --max-length (abc-char models).")
    ] = False,
    primer_midi: Annotated[Path | None, typer.Option(help="MIDI models: continue the start of this .mid file.")] = None,
    primer_bars: Annotated[int, typer.Option(help="Bars of --primer-midi to continue from (1 to 64).")] = 2,
    prime_audio: Annotated[
        Path | None, typer.Option(help="Audio models: continue this audio file (up to 30 s; default: val data).")
    ] = None,
    seconds: Annotated[float, typer.Option(help="Audio models: seconds of audio to continue (at most 60).")] = 4.0,
) -> None:
    """Generate tunes and write them as ABC and MIDI (or, for MIDI models, MIDI, WAV and piano-roll PNG;
    for audio models, continuations of a prompt as WAV and spectrogram PNG)."""
    from tunesmith.bundle import load
    from tunesmith.pipeline.sample import write_samples
    from tunesmith.pipeline.sample_audio import prime_for_model, write_audio_samples
    from tunesmith.pipeline.sample_midi import is_midi, primer_from_midi, write_midi_samples
    from tunesmith.render.files import parse_formats
    from tunesmith.representations import is_audio
    from tunesmith.sampling import SampleSettings, unescape

    formats = parse_formats(render) if render.strip() else ()

    settings = SampleSettings(
        num=num,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        primer=unescape(primer),
        max_length=max_length,
        seed=seed,
        batch_size=batch_size,
        constrain=constrain,
    )
    settings.check(vocab_size=10**9)  # range checks before the model is loaded; vocabulary checks follow
    loaded = load(model, checkpoint)
    if is_audio(loaded.representation):
        if primer_midi or formats:
            raise TunesmithError(
                f"--primer-midi and --render are for symbolic models; {model} continues audio (WAV + PNG)"
            )
        prime = prime_for_model(model, loaded.representation, prime_audio)
        extra = {"model": str(model), "model_kind": loaded.kind}
        audio_report = write_audio_samples(
            loaded.model, loaded.representation, loaded.config, settings, out, prime=prime, seconds=seconds, extra=extra
        )
        typer.echo(_table(*audio_report.table()))
        typer.echo(audio_report.summary())
        typer.echo(f"wrote        {out}/  (NNN.wav, NNN.png; samples.json has each continuation's measures)")
        return
    if prime_audio:
        raise TunesmithError(f"--prime-audio is for audio models; {model} writes {loaded.representation.name}")
    if is_midi(loaded.representation):
        primer_ids, quarters = (
            primer_from_midi(loaded.representation, primer_midi, primer_bars) if primer_midi else (None, None)
        )
        midi_report = write_midi_samples(
            loaded.model,
            loaded.representation,
            settings,
            out,
            extra={"model": str(model), "model_kind": loaded.kind, "primer_midi": str(primer_midi or "")},
            render=formats or ("wav",),
            primer=primer_ids,
            primer_quarters=quarters,
            onset_weight=loaded.config.train.onset_weight,
        )
        print_midi_samples(midi_report)
        typer.echo(f"wrote        {out}/  (NNN.mid, NNN.png, NNN.wav; samples.json has each piece's details)")
        return
    if primer_midi:
        raise TunesmithError(f"--primer-midi is for MIDI models; {model} writes {loaded.representation.name}")
    report = write_samples(
        loaded.model,
        loaded.representation,
        settings,
        out,
        extra={"model": str(model), "model_kind": loaded.kind},
        render=formats,
    )
    print_samples(report)
    typer.echo(f"wrote        {out}/  (samples.json has abc2midi's messages per tune)")


@app.command()
@friendly
def export(
    run: Annotated[Path, typer.Argument(help="A run folder.")],
    out: Annotated[Path, typer.Option(help="Bundle folder to write.")],
    checkpoint: Annotated[str, typer.Option(help="best or last.")] = "best",
) -> None:
    """Write a shareable bundle: model.safetensors + config, representation and versions as JSON."""
    from tunesmith.bundle import export as run_export

    path = run_export(run, out, checkpoint)
    typer.echo(f"wrote bundle {path}  (" + ", ".join(sorted(p.name for p in path.iterdir())) + ")")


@app.command()
@friendly
def render(
    path: Annotated[Path, typer.Argument(help="An .abc (tunebook) or .mid file, or a folder of them.")],
    to: Annotated[str, typer.Option("--to", help="Formats: wav, flac, ogg, svg, musicxml, mid.")] = "wav,svg",
    out: Annotated[Path | None, typer.Option(help="Output folder (default: beside each file).")] = None,
    soundfont: Annotated[Path | None, typer.Option(help="General MIDI .sf2/.sf3 for FluidSynth.")] = None,
    program: Annotated[str | None, typer.Option(help="Instrument: fiddle, violin, flute, piano… or 0-127.")] = None,
    tempo: Annotated[float | None, typer.Option(help="Quarter notes per minute (default: the tune's Q:).")] = None,
    sample_rate: Annotated[int, typer.Option(help="Audio sample rate in Hz (8000 to 96000).")] = 44100,
    synth: Annotated[str, typer.Option(help="auto, fluidsynth or builtin.")] = "auto",
) -> None:
    """Make tunes audible and readable: audio through FluidSynth, scores through verovio and music21."""
    from tunesmith.render.audio import AudioOptions, program_number
    from tunesmith.render.files import parse_formats, render_path

    formats = parse_formats(to)
    options = AudioOptions(soundfont, program_number(program), tempo, sample_rate, synth).check()
    report = render_path(path, formats, out, options)
    if not report.outputs and report.failures:
        first = report.failures[0].reason
        more = len(report.failures) - 1
        raise TunesmithError(first + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""))
    rows = [[o.paths[0], o.format, o.detail] for o in report.outputs]
    typer.echo(_table(["wrote", "format", "detail"], rows))
    if report.failures:
        typer.echo("")
        typer.echo(_table(["failed", "format", "problem"], [[f.source, f.format, f.reason] for f in report.failures]))
    files = sum(len(o.paths) for o in report.outputs)
    typer.echo(f"{files} file{'s' * (files != 1)} in {report.seconds:.1f} s")
    if report.failures:
        raise TunesmithError(f"{len(report.failures)} renders failed (listed above); the rest were written")


@app.command()
@friendly
def demo(
    minutes: Annotated[float, typer.Option(help="Training budget in minutes.")] = 5.0,
    out: Annotated[Path, typer.Option(help="Where data, the run and the tunes go.")] = Path("demo-output"),
    num: Annotated[int, typer.Option(help="Tunes to sample.")] = 5,
    preset: Annotated[str, typer.Option(help="Preset to train.")] = "abc-lstm-demo",
) -> None:
    """Prepare the built-in folk corpus, train briefly, sample tunes and write ABC, MIDI, WAV and SVG."""
    from tunesmith.pipeline.demo import run_demo

    run_demo(minutes=minutes, out=out, num=num, preset=preset, echo=typer.echo, show=print_samples)


@app.command()
@friendly
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    models: Annotated[
        list[Path] | None, typer.Option("--models", help="A folder of runs and bundles; repeat for more.")
    ] = None,
    store: Annotated[Path | None, typer.Option(help="Folder for results (~/.cache/tunesmith/studio).")] = None,
    queue: Annotated[int, typer.Option("--queue", help="Generation requests that may wait at once.")] = 8,
) -> None:
    """Open the studio: a web page to generate, hear, see and download tunes (models from --models, runs/,
    bundles/ and demo-output/)."""
    from tunesmith.web.server import serve as run_serve

    run_serve(host, port, models or [], store, queue_size=queue, echo=typer.echo)


@app.command()
def presets() -> None:
    """List the built-in presets."""
    from tunesmith.config import load_preset, preset_names

    for name in preset_names():
        typer.echo(f"{name:<24} {' '.join(load_preset(name).description.split())[:100]}")


def _register_commands() -> None:
    from tunesmith.commands import register_all

    register_all(app)


_register_commands()  # evaluate, plot, sweep, reconstruct…: one file each under tunesmith/commands/


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
