"""``tunesmith sample MODEL``: generate pieces from a run or bundle, in whatever medium the model writes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import path_option, print_pieces


def sample(
    model: Annotated[Path, typer.Argument(help="A run folder or a bundle folder.")],
    num: Annotated[int, typer.Option(help="Number of tunes (1 to 1000).")] = 10,
    temperature: Annotated[float, typer.Option(help="Above 0; lower is safer, higher is wilder.")] = 1.0,
    top_k: Annotated[int, typer.Option(help="Sample among the K likeliest symbols (0 = all).")] = 0,
    top_p: Annotated[float, typer.Option(help="Sample within this much probability mass (1 = all).")] = 1.0,
    primer: Annotated[
        str, typer.Option(help=r"Start every tune with this ABC, e.g. 'M:6/8\nK:G\n' (not with --key etc.).")
    ] = "",
    meter: Annotated[
        str, typer.Option(help="ABC models: the meter, e.g. 6/8 or C| (one the model's corpus uses; C for 4/4 too).")
    ] = "",
    key: Annotated[
        str,
        typer.Option(
            help="ABC models: the key, e.g. G, Em, 'D dorian' or Amix (one the corpus uses). It ends the header, "
            "so without --meter the rhythm's usual meter is written (jig 6/8, reel C|…) where the corpus has it, "
            "else the corpus's commonest, and L: its commonest unit."
        ),
    ] = "",
    rhythm: Annotated[
        str,
        typer.Option(
            help="ABC models: the R: field, e.g. jig, reel, hornpipe, polka, waltz, 'slip jig', march (one the "
            "corpus's R: lines use; an unknown one lists them)."
        ),
    ] = "",
    max_length: Annotated[int, typer.Option(help="Cut tunes at this many characters (at most 20000).")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same tunes.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Tunes generated together (1 to 1024).")] = 64,
    checkpoint: Annotated[str, typer.Option(help="For runs: best or last.")] = "best",
    out: Annotated[
        Path,
        typer.Option(
            help="Folder for NNN.abc, NNN.mid and samples.json: new, empty, or this model's earlier samples.",
            parser=path_option,
        ),
    ] = Path("samples"),
    overwrite: Annotated[
        bool,
        typer.Option(help="Replace the pieces (NNN.*, samples.json) another model left in --out; other files stay."),
    ] = False,
    render: Annotated[str, typer.Option(help="Also write each tune as e.g. wav,svg (see 'tunesmith render').")] = "",
    constrain: Annotated[
        bool, typer.Option(help="Allow only valid ABC with whole bars, ending before --max-length (ABC models).")
    ] = False,
    primer_midi: Annotated[
        Path | None, typer.Option(help="MIDI models: continue the start of this .mid file.", parser=path_option)
    ] = None,
    primer_bars: Annotated[int, typer.Option(help="Bars of --primer-midi to continue from (1 to 64).")] = 2,
    prime_audio: Annotated[
        Path | None,
        typer.Option(
            help="Audio models: continue this audio file (up to 30 s; default: val data).", parser=path_option
        ),
    ] = None,
    seconds: Annotated[float, typer.Option(help="Audio models: seconds of audio to continue (at most 60).")] = 4.0,
) -> None:
    """Generate tunes and write them as ABC and MIDI (or, for MIDI models, MIDI, WAV and piano-roll PNG;
    for audio models, continuations of a prompt as WAV and spectrogram PNG).

    Ask an ABC model for a kind of tune: --rhythm jig --key G begins every header with R:, M:, L:, K:.
    """
    from tunesmith.media import SampleRequest
    from tunesmith.pipeline.sample import sample as run_sample
    from tunesmith.render.files import parse_formats
    from tunesmith.sampling import SampleSettings, unescape

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
    request = SampleRequest(
        render=parse_formats(render) if render.strip() else (),
        primer_midi=primer_midi,
        primer_bars=primer_bars,
        prime_audio=prime_audio,
        seconds=seconds,
        meter=meter,
        key=key,
        rhythm=rhythm,
    )
    report = run_sample(model, settings, out, request, checkpoint, overwrite=overwrite)
    print_pieces(report)
    typer.echo(report.wrote)
