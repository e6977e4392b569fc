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

from tunesmith.metrics.abc_shape import SHAPE_FEATURES

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
    "A small model (a few million weights) trained for a fixed budget: good enough to play with and to fine-tune "
    "(`train --init folk` on data prepared with `--vocab-from folk`), not a state-of-the-art folk model.",
]

# What the built-in model is held to (issue 19), each figure beside the same one for real held-out tunes.
TARGET_BPC = 1.10
TARGET_VALID_OF_REAL = 0.80  # free sampling: valid share at least this share of the real tunes'
TARGET_FORCED = 0.01  # constrained: forced endings at most
TARGET_BARS = 0.20  # constrained: median bars per tune within this of the real tunes' median
TARGET_OA = 0.85  # every shape overlap with the training draw at least
TARGET_TOLD_APART = 0.75  # a classifier tells its tunes from real ones no better than
TARGET_COPIES = 0.02  # near copies of a training tune at most


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


def _pct(x: float | None) -> str:
    return "?" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None) -> str:
    return "?" if x is None else f"{x:.2f}"


def _met(ok: bool | None) -> str:
    return "?" if ok is None else ("**met**" if ok else "**missed**")


def _figure_rows(r: dict[str, Any]) -> list[list[str]]:
    """(figure, target, the model, real held-out tunes, met) for one temperature's row of the benchmark."""
    real_valid, bars, real_bars = r["valid_real"], r["bars_median_constrained"], r["bars_median_real"]
    oas, real_oas = r["shape_oas"], r["real_shape_oas"]
    low = min(oas, key=oas.get) if oas else None
    label = SHAPE_FEATURES[low][0] if low in SHAPE_FEATURES else low
    told, (lo, hi) = r["told_apart"], r["told_apart_interval"]
    bars_ok = None if bars is None or not real_bars else abs(bars - real_bars) <= TARGET_BARS * real_bars
    bpc = r["bits_per_char"]
    return [
        [
            "held-out bits per character",
            f"≤ {TARGET_BPC:.2f}",
            f"{bpc:.3f}" if bpc is not None else "?",
            "",
            _met(bpc <= TARGET_BPC if bpc is not None else None),
        ],
        [
            "valid, sampling freely",
            f"≥ {TARGET_VALID_OF_REAL:.0%} of real ({_pct(TARGET_VALID_OF_REAL * real_valid)})",
            _pct(r["valid_free"]),
            _pct(real_valid),
            _met(r["valid_free"] >= TARGET_VALID_OF_REAL * real_valid),
        ],
        [
            "valid, `--constrain`",
            "100%",
            _pct(r["valid_constrained"]),
            _pct(real_valid),
            _met(r["valid_constrained"] >= 1.0),
        ],
        [
            "forced endings, `--constrain`",
            f"≤ {TARGET_FORCED:.0%}",
            _pct(r["forced_constrained"]),
            "",
            _met(r["forced_constrained"] <= TARGET_FORCED),
        ],
        [
            "median bars per tune, `--constrain`",
            f"within {TARGET_BARS:.0%} of real",
            "?" if bars is None else f"{bars:g}",
            "?" if real_bars is None else f"{real_bars:g}",
            _met(bars_ok),
        ],
        [
            f"lowest shape overlap with the training draw ({label})",
            f"every one ≥ {TARGET_OA:.2f}",
            f"{oas[low]:.2f}" if low else "?",
            f"{real_oas[low]:.2f}" if low in real_oas else "?",
            _met(oas[low] >= TARGET_OA if low else None),
        ],
        [
            "told apart from real tunes (classifier accuracy, 95% interval)",
            f"≤ {TARGET_TOLD_APART:.2f}",
            "?" if told is None else f"{told:.2f} [{lo:.2f}, {hi:.2f}]",
            "0.50 by definition",
            _met(told <= TARGET_TOLD_APART if told is not None else None),
        ],
        [
            "near copies of a training tune",
            f"≤ {TARGET_COPIES:.0%}",
            _pct(r["near_copies"]),
            _pct(r.get("real_near_copies")),
            _met(r["near_copies"] <= TARGET_COPIES if r["near_copies"] is not None else None),
        ],
    ]


def _table(rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])]
    return out + ["| " + " | ".join(row) + " |" for row in rows[1:]]


def recommended(rows: list[dict[str, Any]]) -> float:
    """The temperature whose row meets the most targets; ties go to the one a classifier tells apart least."""
    met = lambda r: sum(row[-1] == _met(True) for row in _figure_rows(r))  # noqa: E731
    return max(rows, key=lambda r: (met(r), -(r["told_apart"] or 1.0)))["temperature"]


def card_figures(rows: list[dict[str, Any]], settings: dict[str, Any], command: str) -> str:
    """The Figures section from ``benchmarks/measures.py`` rows (one per temperature), each against its target."""
    lines = [
        f"From `{command}` ({settings['num']} tunes per arm, seed {settings['seed']}, at most "
        f"{settings['max_length']:,} characters a tune), on the held-out split of the recipe's data. Free samples "
        "are judged like the real held-out tunes; the shape overlaps, the classifier and the near copies are of "
        "the free samples.",
    ]
    if len(rows) > 1:
        lines += ["", f"**Recommended temperature: {recommended(rows):g}**, the one that meets the most targets."]
    for r in rows:
        lines += ["", f"### Temperature {r['temperature']:g}", ""]
        lines += _table([["figure", "target", "this model", "real held-out tunes", ""], *_figure_rows(r)])
        lines += ["", "Every shape overlap with the training draw:", ""]
        lines += _table(
            [
                ["feature of a tune's shape", "this model", "real held-out tunes"],
                *(
                    [SHAPE_FEATURES[f][0], f"{oa:.2f}", _num(r["real_shape_oas"].get(f))]
                    for f, oa in r["shape_oas"].items()
                ),
            ]
        )
    return "\n".join(lines)


def fill_figures(card: Path, body: str) -> None:
    """Replace the card's Figures section (up to the next ``## `` heading) with ``body``."""
    text = card.read_text()
    start = text.find("\n## Figures\n")
    if start < 0:
        raise ValueError(f"{card} has no '## Figures' section")
    start += len("\n## Figures\n")
    end = text.find("\n## ", start)
    card.write_text(text[:start] + "\n" + body + "\n" + (text[end:] if end >= 0 else ""))
