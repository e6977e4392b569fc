"""The model card of a built-in model: what it was made from, how, on what machine, and what it is worth.

:func:`card_facts` gathers everything as data (it goes into the bundle's ``config.json`` too, under
``recipe``); :func:`write_card` writes it as ``MODEL_CARD.md``. Every number comes from the files the
recipe wrote; the figures only a long benchmark measures are left as a marked placeholder with the command
that fills them, never guessed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

ARTICLED = {"lstm": "An LSTM", "rnn": "An RNN", "gru": "A GRU"}
MEASURES = "make bench-measures MEASURES_ARGS='--model folk=folk --data {data}'"

LIMITS = [
    "It knows one kind of music: the tunes of its training corpus, mostly Irish, Scottish and English dance "
    "tunes from 19th-century collections and German folk songs (the Essen collection), written in ABC. It "
    "writes single melodies, with the occasional chord symbol the corpus has; no harmony, no lyrics, no "
    "other styles.",
    "It writes ABC one character at a time and can get it wrong: bars that do not add up, repeats that do "
    "not close, tunes cut off at the length limit. `--constrain` holds sampling to valid ABC; the validity "
    "figures belong in the Figures section beside the same share for real tunes.",
    "It can repeat phrases, or whole stretches, of tunes it was trained on; check the near-copy share before "
    "calling a tune new.",
    "Titles and other header fields are made up or copied from the corpus; they say nothing true about the tune.",
    "It cannot be told what to write beyond a primer of ABC (a key, a metre, a first bar), and it only knows "
    "the characters of its corpus: a primer with any other character is refused.",
    "A small model trained for a fixed, short budget on a CPU: good enough to play with and to fine-tune "
    "(`train --init folk` on data prepared with `--vocab-from folk`), not a state-of-the-art folk model.",
]


def _read(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def card_facts(
    name: str,
    recipe: Any,
    run: Path,
    data: Path,
    bundle: Path,
    held: dict[str, Any],
    sessions: list[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    """Everything the card says, from the recipe, the prepared data, the run and the exported bundle.
    ``name`` is the model's and its corpus's (``folk``)."""
    from tunesmith.bundle import recipe as bundle_recipe
    from tunesmith.corpora import BUILTIN

    meta, status, info = _read(data / "meta.json"), _read(run / "status.json"), _read(bundle / "config.json")
    config, shapes = bundle_recipe(bundle)
    representation = config.data.representation
    prepare = f"tunesmith prepare --corpus {name} --out DIR"
    prepare += f" --representation {representation}" if representation != "abc-char" else ""
    prepare += f" --max-tunes {recipe.max_tunes}" if recipe.max_tunes else ""
    return {
        "name": name,
        "data": {
            "corpus": name,
            "description": BUILTIN[name].description,
            "representation": representation,
            "vocab_size": meta.get("vocab_size"),
            "tunes_read": meta.get("tunes_read"),
            "tunes_kept": meta.get("tunes_kept"),
            "counts": meta.get("counts"),
            "split": meta.get("split"),
            "max_tunes": recipe.max_tunes,
            "prepare": prepare,
        },
        "recipe": {
            "preset": recipe.preset,
            "description": " ".join(config.description.split()),
            "seed": recipe.seed,
            "steps": recipe.steps,
            "overrides": recipe.overrides(),
            "command": recipe.command(),
            "checkpoint": "last (the weights after exactly the step budget)",
            "epochs": status.get("epochs"),
            "model": config.to_dict()["model"],
            "data": config.to_dict()["data"],
            "train": config.to_dict()["train"],
        },
        "sessions": sessions,
        "train_seconds": round(sum(float(s.get("seconds") or 0.0) for s in sessions), 1),
        "recipe_seconds": round(seconds, 1),
        "parameters": sum(math.prod(s) for s in shapes.values()),
        "weights_bytes": (bundle / "model.safetensors").stat().st_size,
        "dtype": info.get("dtype", "float32"),
        "held_out": held,
        "measures": MEASURES.format(data=data),
    }


def _machine(m: dict[str, Any]) -> str:
    gpu = m.get("gpu") or "no GPU"
    return (
        f"{m.get('cpu', '?')}, {m.get('logical_cores', '?')} logical cores, torch threads: "
        f"{m.get('torch_threads', '?')}, {gpu}, torch {m.get('torch', '?')}"
    )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.2f} h"


def write_card(path: Path, facts: dict[str, Any]) -> None:
    """``MODEL_CARD.md`` from :func:`card_facts`."""
    d, r, h = facts["data"], facts["recipe"], facts["held_out"]
    counts = d.get("counts") or {}
    train, val = counts.get("train", {}), counts.get("val", {})
    split = d.get("split") or {}
    m = r["model"]
    lines = [
        f"# {facts['name']}: tunesmith's built-in folk model",
        "",
        f"{ARTICLED.get(m['name'], 'A ' + m['name'])} of {m['layers']} layers × {m['hidden']} units that writes "
        "folk tunes in ABC, "
        f"{facts['parameters']:,} parameters. Use it by name, offline:",
        "",
        "```sh",
        f"tunesmith sample {facts['name']} --num 5",
        f"{d['prepare'].replace('DIR', 'data/folk')}   # the held-out split its figures are measured on",
        f"tunesmith evaluate {facts['name']} --data data/folk",
        f"tunesmith prepare --vocab-from {facts['name']} --input MY_TUNES --out data/mine",
        f"tunesmith train --preset {r['preset']} --data data/mine --run runs/mine --init {facts['name']}",
        "```",
        "",
        "## Data and split",
        "",
        f"- Corpus: the built-in `{d['corpus']}` corpus, {d['description']}.",
        f"- Read {d.get('tunes_read')} tunes, kept {d.get('tunes_kept')} (duplicates, tunes without a key and "
        "tunes over 5,000 characters are dropped)"
        + (f"; only the first {d['max_tunes']}" if d["max_tunes"] else "")
        + ".",
        f"- Split by tune with seed {split.get('seed')}: {train.get('tunes')} tunes ({train.get('tokens'):,} "
        f"symbols) to train on, {val.get('tunes')} ({val.get('tokens'):,} symbols) held out "
        f"({split.get('val_fraction', 0) * 100:g}%).",
        f"- Representation `{d['representation']}`, {d.get('vocab_size')} symbols. `{d['prepare']}` rebuilds "
        "exactly this data and split.",
        "",
        "## Recipe",
        "",
        f"- Preset `{r['preset']}`: {r['description']}",
        f"- Seed {r['seed']}, a budget of {r['steps']:,} optimiser steps ({r.get('epochs')} epochs), the last "
        "checkpoint exported (the weights after exactly that budget), stored as float16.",
        f"- Settings on top of the preset: {', '.join(f'`{o}`' for o in r['overrides'])}.",
        f"- Command: `{r['command']}` (`make pretrained` runs it with the defaults); running it again resumes "
        "the run from its last checkpoint.",
        "",
        "## Hardware and time",
        "",
    ]
    for s in facts["sessions"]:
        lines.append(
            f"- {s.get('started')}: steps {s.get('from_step')} to {s.get('to_step')} in "
            f"{_minutes(float(s.get('seconds') or 0))} on {_machine(s.get('machine') or {})}."
        )
    lines += [
        f"- Training wall time {_minutes(facts['train_seconds'])} in all; the last run of the recipe (preparing, "
        f"training, exporting, measuring) took {_minutes(facts['recipe_seconds'])}.",
        "",
        "## Size",
        "",
        f"- {facts['parameters']:,} parameters; `model.safetensors` is {facts['weights_bytes']:,} bytes "
        f"({facts['dtype']}); loading unpickles nothing and gives a float32 model.",
        "",
        "## Held-out figure",
        "",
        f"- **{h['bpc']:.4f} bits per character** over the whole validation split ({h['chars']:,} characters, "
        f"{h['tokens']:,} symbols), measured with the 16-bit weights as shipped; loss {h['loss']:.4f} nats per "
        f"symbol, next-symbol accuracy {h['acc']:.4f}.",
        "",
        "## Figures",
        "",
        "<!-- placeholder: filled by the benchmark, never by hand -->",
        "Not measured yet. The measures that cannot be gamed (valid ABC sampling freely and with `--constrain`, "
        "beside the share for real held-out tunes; forced endings; the shape overlap with the training tunes; "
        "how well a classifier tells its tunes from real ones; near copies) come from:",
        "",
        "```sh",
        facts["measures"],
        "```",
        "",
        "## Limits",
        "",
        *(f"- {line}" for line in LIMITS),
        "",
    ]
    path.write_text("\n".join(lines))
