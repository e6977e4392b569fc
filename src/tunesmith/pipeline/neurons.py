"""What single units of a recurrent model do: activations per character, and the units that separate
an ABC tune's header from its body (and bar lines from notes). A transformer's attention maps are in
:mod:`tunesmith.pipeline.attention`.

Seed 002 looked through 150 heat maps by eye to find one neuron that tracks header against body
(its Figure 20). Here every unit is scored instead, so the interesting ones are found, not guessed:

- **recording**: a recurrent model reads the tune one character at a time from a zero state (what
  sampling does), and after each character every layer's hidden state ``h`` (and cell state ``c`` for
  an LSTM) is kept: an array (characters, layers × hidden [× 2]). Units are named ``h0:21`` (layer 0,
  index 21, hidden state) or ``c1:5`` (layer 1, index 5, cell state); layers and indices count from 0,
  as PyTorch's ``weight_ih_l0`` does.
- **labels**: each character is *header* (the field lines up to and including ``K:``; a later ``X:``
  or ``T:`` line starts another header) or *body*; in the body, characters of bar lines (``|``, ``:|``,
  ``|:``, ``||``, ``|]``, ``[|``, ``::``) and of notes (``^=_``, a letter ``A-G a-g`` or rest ``z``,
  octave marks, a length) get their own labels. Chord symbols in quotes, decorations and inline fields
  are left out of the bar/note contrast.
- **tunes**: two by default (generated with a seed, or the first ones of ``--tune FILE``), read one after
  another, each between <start> and <end> as in the training stream. With one tune, header against body
  is also early against late, and any unit that drifts with position would separate them.
- **ranking**: a unit separates two classes as well as its ROC AUC says: the chance that its activation
  on a random character of one class exceeds that on one of the other. The score is ``|2·AUC − 1|``
  (1: perfect separation, 0: none, either sign), compared to two decimals; ties go to the unit whose two
  class means lie furthest apart in units of its spread over the whole tune (see :func:`rank_units`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.errors import TunesmithError
from tunesmith.models.rnn import cell_step

MAX_RECORD = 20000  # characters (or tokens, frames) recorded at once
MAX_TUNE_BYTES = 1_000_000
CONTRASTS = {  # name: (label that counts as "in", label that counts as "out", words for people)
    "header": ("header", "body", "header against body"),
    "bar": ("bar", "note", "bar lines against notes"),
}
_UNIT = re.compile(r"^([hc]?)(\d{1,4}):(\d{1,6})$")
_BAR = re.compile(r"\[\||:*\|+\]?:*|::")
_NOTE = re.compile(r"[_^=]*[A-Ga-gz][,']*\d*(?:/+\d*)?")
_HIDDEN_SPANS = re.compile(r'"[^"\n]*"|![^!\n]*!|\[[A-Za-z]:[^\]\n]*\]')  # chord symbols, decorations, fields
_FIELD_LINE = re.compile(r"^[A-Za-z]:")


# --- recording --------------------------------------------------------------------------------------------


@dataclass
class Activations:
    """Every recurrent unit's activation after each position: ``values[t]`` is the state after reading
    position ``t`` (the character it colours)."""

    values: np.ndarray  # (T, units) float32
    names: list[str]  # one per column: "h0:21", "c1:5"

    def column(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise TunesmithError(f"--unit {name}: this model has no such unit (it has {self.describe()})") from None

    def describe(self) -> str:
        layers = 1 + max(int(n[1:].split(":")[0]) for n in self.names)
        hidden = sum(n.startswith("h0:") for n in self.names)
        cells = any(n.startswith("c") for n in self.names)
        return f"{layers} layers of {hidden} units, 0:0 to {layers - 1}:{hidden - 1}" + (", h and c" if cells else "")


def unit_names(layers: int, hidden: int, cell_state: bool) -> list[str]:
    """Column names in recording order: every layer's h, then (for an LSTM) every layer's c."""
    kinds = ("h", "c") if cell_state else ("h",)
    return [f"{k}{layer}:{i}" for k in kinds for layer in range(layers) for i in range(hidden)]


def _rnn_of(model: nn.Module) -> tuple[nn.RNNBase, str]:
    rnn, cell = getattr(model, "rnn", None), getattr(model, "cell", None)
    if not isinstance(rnn, nn.RNNBase) or cell not in ("rnn", "lstm", "gru"):
        raise TunesmithError(f"{type(model).__name__} is not a recurrent model: it has no units to record")
    return rnn, cell


def input_vectors(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """What the first recurrent layer reads: embedded (or one-hot) token ids, or (projected) frames."""
    if inputs.dtype in (torch.int64, torch.int32):
        embed = getattr(model, "embed", None)
        return embed(inputs) if embed is not None else F.one_hot(inputs, model.vocab_size).float()
    project = getattr(model, "project", None)
    return project(inputs) if project is not None else inputs


@torch.inference_mode()
def record(model: nn.Module, inputs: torch.Tensor | np.ndarray, prefix: torch.Tensor | None = None) -> Activations:
    """Run ``model`` over ``inputs`` (token ids ``(T,)`` or frames ``(T, dim)``) one step at a time from a
    zero state, through the same fused cell kernels sampling uses, keeping every layer's h (and c).
    ``prefix`` (e.g. the <start> id) is read first and not recorded."""
    rnn, cell = _rnn_of(model)
    model = model.eval()
    inputs = torch.as_tensor(inputs)
    if inputs.shape[0] > MAX_RECORD:
        raise TunesmithError(f"{inputs.shape[0]} positions to record; at most {MAX_RECORD}")
    device = next(model.parameters()).device
    sequence = inputs if prefix is None else torch.cat([torch.as_tensor(prefix).to(inputs.dtype), inputs])
    x = input_vectors(model, sequence.to(device))
    zeros = x.new_zeros(rnn.num_layers, 1, rnn.hidden_size)
    state: Any = (zeros, zeros.clone()) if cell == "lstm" else zeros
    skip = 0 if prefix is None else len(prefix)
    rows = []
    for t in range(x.shape[0]):
        _, state = cell_step(rnn, cell, x[t : t + 1], state)
        if t >= skip:
            parts = [state[0], state[1]] if cell == "lstm" else [state]
            rows.append(torch.cat([p.reshape(-1) for p in parts]).float().cpu())
    names = unit_names(rnn.num_layers, rnn.hidden_size, cell == "lstm")
    values = torch.stack(rows).numpy() if rows else np.zeros((0, len(names)), np.float32)
    return Activations(values, names)


# --- labels -----------------------------------------------------------------------------------------------


def abc_labels(text: str) -> dict[str, np.ndarray]:
    """Boolean masks over the characters of an ABC tune: header, body, bar, note (see the module notes)."""
    n = len(text)
    masks = {name: np.zeros(n, dtype=bool) for name in ("header", "body", "bar", "note")}
    in_header, start = True, 0
    for line in text.splitlines(keepends=True):
        end = start + len(line)
        if not in_header and line.startswith(("X:", "T:")):
            in_header = True  # a second tune (or a generated restart) begins
        if in_header:
            masks["header"][start:end] = True
            if line.startswith("K:"):
                in_header = False
        else:
            masks["body"][start:end] = True
            if not _FIELD_LINE.match(line) and not line.startswith("%"):
                visible = _HIDDEN_SPANS.sub(lambda m: "\0" * len(m.group(0)), line)
                for pattern, name in ((_BAR, "bar"), (_NOTE, "note")):
                    for m in pattern.finditer(visible):
                        masks[name][start + m.start() : start + m.end()] = True
        start = end
    return masks


# --- ranking ----------------------------------------------------------------------------------------------


@dataclass
class UnitScore:
    unit: str  # "h0:21"
    column: int
    auc: float  # P(activation on an "in" position > on an "out" one)
    score: float  # |2·AUC − 1|
    gap: float  # (mean in − mean out) / the unit's standard deviation over every position
    mean_in: float
    mean_out: float

    def describe(self, contrast: str) -> str:
        inside, outside, _ = CONTRASTS.get(contrast, (contrast, "rest", ""))
        side = "higher" if self.auc >= 0.5 else "lower"
        return f"{self.unit}: separation {self.score:.3f} (AUC {self.auc:.3f}, {side} on {inside} than {outside})"


def rank_units(values: np.ndarray, inside: np.ndarray, outside: np.ndarray, names: list[str]) -> list[UnitScore]:
    """Every unit (column of ``values``) scored by how well it separates the ``inside`` positions from the
    ``outside`` ones, best first. The score is |2·AUC − 1| from the Mann–Whitney rank statistic (ties
    counted half), blind to a unit's scale and sign. Scores are compared to two decimals, and equal ones
    are ordered by ``gap``: the difference of the class means over the unit's spread across the whole text,
    so a unit that flips at bar lines beats one that mostly tracks header against body and differs at bar
    lines only slightly (both can separate perfectly)."""
    values = np.asarray(values, dtype=np.float64)
    a, b = values[np.asarray(inside, dtype=bool)], values[np.asarray(outside, dtype=bool)]
    if not len(a) or not len(b):
        raise TunesmithError(f"cannot rank units: {len(a)} positions inside and {len(b)} outside the contrast")
    ranks = _average_ranks(np.concatenate([a, b]))
    u = ranks[: len(a)].sum(axis=0) - len(a) * (len(a) + 1) / 2
    auc = u / (len(a) * len(b))
    gap = (a.mean(axis=0) - b.mean(axis=0)) / np.maximum(values.std(axis=0), 1e-12)
    score = np.abs(2 * auc - 1)
    order = np.lexsort((-np.abs(gap), -np.round(score, 2)))
    return [
        UnitScore(
            names[i],
            int(i),
            float(auc[i]),
            float(score[i]),
            float(gap[i]),
            float(a[:, i].mean()),
            float(b[:, i].mean()),
        )
        for i in order
    ]


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1…n down each column, tied values sharing their average rank (what the U statistic needs)."""
    n = x.shape[0]
    order = np.argsort(x, axis=0, kind="stable")
    ordered = np.take_along_axis(x, order, axis=0)
    ranks = np.empty_like(x, dtype=np.float64)
    for j in range(x.shape[1]):
        column = ordered[:, j]
        starts = np.flatnonzero(np.concatenate([[True], column[1:] != column[:-1]]))
        ends = np.append(starts[1:], n)
        ranks[order[:, j], j] = np.repeat((starts + ends + 1) / 2, ends - starts)
    return ranks


def rank_abc(acts: Activations, text: str) -> dict[str, list[UnitScore]]:
    """Rankings for every contrast the text holds both sides of (a tune with no bar line has no bar ranking)."""
    labels = abc_labels(text)
    out = {}
    for name, (inside, outside, _) in CONTRASTS.items():
        if labels[inside].any() and labels[outside].any():
            out[name] = rank_units(acts.values, labels[inside], labels[outside], acts.names)
    return out


def parse_unit(spec: str) -> str | None:
    """``auto`` → None; ``L:I`` → ``hL:I``; ``hL:I`` and ``cL:I`` as they are."""
    spec = spec.strip()
    if spec == "auto":
        return None
    match = _UNIT.match(spec)
    if not match:
        raise TunesmithError(f"--unit {spec!r}: expected auto, L:I (layer, index: 0:21), or h0:21 / c0:21")
    return f"{match.group(1) or 'h'}{int(match.group(2))}:{int(match.group(3))}"


# --- the figures for a run --------------------------------------------------------------------------------


@dataclass
class Figure:
    what: str
    path: Path
    detail: str


MAX_TUNES = 8


def read_tunes(path: Path | str, count: int) -> list[str]:
    """The first ``count`` tunes of an ABC file, cleaned as the corpus was (no ``X:`` line, no comments)."""
    from tunesmith.abc_text import clean_tune, split_tunebook

    path = Path(path)
    if not path.is_file():
        raise TunesmithError(f"--tune {path} does not exist")
    if path.stat().st_size > MAX_TUNE_BYTES:
        raise TunesmithError(f"--tune {path} is over {MAX_TUNE_BYTES // 1_000_000} MB; give a few tunes")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TunesmithError(f"cannot read --tune {path}: {exc}") from None
    raw = split_tunebook(text) or [f"X:1\n{text}"]
    tunes = [t for t in (clean_tune(r, frozenset(), False)[1] for r in raw[:count]) if t.strip()]
    if not tunes:
        raise TunesmithError(f"--tune {path} holds no tune")
    return tunes


def abc_tunes_for(
    model: nn.Module, rep: Any, tune: Path | None, seed: int, max_length: int, count: int = 2
) -> list[str]:
    """The tunes to look at: the first ``count`` of the given file, or ``count`` generated with ``seed``."""
    if not 1 <= count <= MAX_TUNES:
        raise TunesmithError(f"--tunes {count} must be between 1 and {MAX_TUNES}")
    if tune is not None:
        tunes = read_tunes(tune, count)
        for text in tunes:
            rep.ids(text, f"--tune {tune}")  # every character must be in the model's vocabulary
    else:
        from tunesmith.sampling import SampleSettings, generate

        made = generate(model, rep, SampleSettings(num=count, max_length=max_length, seed=seed))
        tunes = [rep.decode(m.tokens) for m in made]
    # each tune on its own lines, so the next one's T: starts a line (a cut-off tune gets its newline)
    tunes = [t if t.endswith("\n") else t + "\n" for t in tunes if t]
    if sum(map(len, tunes)) > MAX_RECORD:
        raise TunesmithError(f"the tunes hold {sum(map(len, tunes))} characters; at most {MAX_RECORD}")
    return tunes


def record_tunes(model: nn.Module, rep: Any, tunes: list[str]) -> tuple[str, Activations]:
    """Read the tunes one after another, each between <start> and <end> as in the training stream, and keep
    the activations at their characters: (the tunes' text, one row per character)."""
    pieces = [np.concatenate([[rep.start_id], rep.ids(t), [rep.end_id]]) for t in tunes]
    ids = torch.as_tensor(np.concatenate(pieces), dtype=torch.long)
    acts = record(model, ids)
    keep = (ids != rep.start_id) & (ids != rep.end_id)
    return "".join(tunes), Activations(acts.values[keep.numpy()], acts.names)


def abc_neuron_figures(
    model: nn.Module, rep: Any, tunes: list[str], out: Path, unit: str | None
) -> tuple[list[Figure], dict[str, list[UnitScore]]]:
    """Heat maps of the tunes coloured by units of a recurrent ABC model, and the rankings behind them.

    With ``unit`` None, the top unit of each contrast is drawn (``neuron_header.png``, ``neuron_bar.png``);
    otherwise that unit (``neuron_h0-21.png``). ``neurons.csv`` lists every unit's scores. Two tunes or
    more keep a unit that merely drifts with position from passing for a header unit. Tunes with no body
    (nothing after a ``K:`` line) give no ranking and, with ``unit`` None, no figure."""
    from tunesmith.render.heatmaps import text_heatmap_png

    text, acts = record_tunes(model, rep, tunes)
    rankings = rank_abc(acts, text)
    _write_ranking_csv(out / "neurons.csv", acts, rankings)
    figures = []
    if unit is None:
        for contrast, ranking in rankings.items():
            top = ranking[0]
            title = (
                f"unit {top.unit} (layer {_layer(top.unit)}, index {_index(top.unit)}): the best of {len(ranking)} at\n"
                f"{CONTRASTS[contrast][2]}, separation {top.score:.3f} (AUC {top.auc:.3f})"
            )
            path = text_heatmap_png(text, acts.values[:, top.column], out / f"neuron_{contrast}.png", title=title)
            figures.append(Figure("neuron heat map", path, top.describe(contrast)))
    else:
        column = acts.column(unit)
        parts = [f"{c} {_score_of(r, unit):.3f}" for c, r in rankings.items()]
        title = f"unit {unit} (layer {_layer(unit)}, index {_index(unit)})\nseparation " + ", ".join(parts)
        path = text_heatmap_png(text, acts.values[:, column], out / f"neuron_{unit.replace(':', '-')}.png", title=title)
        figures.append(Figure("neuron heat map", path, f"{unit}: " + ", ".join(parts)))
    return figures, rankings


def _layer(unit: str) -> int:
    return int(unit[1:].split(":")[0])


def _index(unit: str) -> int:
    return int(unit.split(":")[1])


def _score_of(ranking: list[UnitScore], unit: str) -> float:
    return next(s.score for s in ranking if s.unit == unit)


def _write_ranking_csv(path: Path, acts: Activations, rankings: dict[str, list[UnitScore]]) -> None:
    import csv

    by_unit: dict[str, dict[str, Any]] = {n: {"unit": n} for n in acts.names}
    for contrast, ranking in rankings.items():
        for rank, s in enumerate(ranking, 1):
            by_unit[s.unit].update(
                {f"{contrast}_rank": rank, f"{contrast}_score": f"{s.score:.4f}", f"{contrast}_auc": f"{s.auc:.4f}"}
            )
    fields = ["unit"] + [f"{c}_{k}" for c in rankings for k in ("rank", "score", "auc")]
    rows = sorted(by_unit.values(), key=lambda r: min((r.get(f"{c}_rank", 10**9) for c in rankings), default=0))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerows(rows)


def raster_figure(
    model: nn.Module, inputs: torch.Tensor, out: Path, unit: str | None, axis: str, prefix: torch.Tensor | None = None
) -> Figure:
    """Heat map over positions for a recurrent model without text (MIDI tokens, frames): the 16 hidden units
    that vary most, or the chosen one."""
    from tunesmith.render.heatmaps import activation_raster_png

    acts = record(model, inputs, prefix=prefix)
    if unit is None:  # hidden states: bounded, and what the next layer reads (cell states mostly drift)
        hidden = np.array([n.startswith("h") for n in acts.names])
        spread = np.where(hidden, acts.values.std(axis=0), -1.0)
        columns = list(np.argsort(-spread)[:16])
        title = f"the 16 most variable of {int(hidden.sum())} hidden units over {len(acts.values)} {axis}s"
        name = "activations.png"
    else:
        columns, title, name = (
            [acts.column(unit)],
            f"unit {unit} over {len(acts.values)} {axis}s",
            f"neuron_{unit.replace(':', '-')}.png",
        )
    path = activation_raster_png(
        acts.values[:, columns], [acts.names[c] for c in columns], out / name, title=title, axis=axis
    )
    return Figure("activation heat map", path, title)
