"""A classifier two-sample test (C2ST): can a classifier tell generated tunes from real ones?

After Lopez-Paz & Oquab, "Revisiting classifier two-sample tests", ICLR 2017: label the real tunes 0 and the others
1, train a classifier on some and count how often it names the held-out ones right. If both samples came from one
distribution no classifier beats chance: 0.5 means "cannot tell them apart", 1.0 "every tune gives itself away".

Features (:func:`tune_features`) are designed, not learned. The header is read by
:func:`tunesmith.metrics.abc_bars.read_header`, the body by a light tokenizer here that never raises. Pitches are
semitones above the tonic (a transposed tune looks alike), lengths are in whole notes (``L:1/8`` and ``L:1/16``
spellings agree), a leading ``X:`` line is dropped (generated tunes have one, corpus tunes not), and a line end
closes a bar (the Essen tunes leave the bar line out there). Five hashed blocks of counts, each ``log1p`` and scaled
to unit length, so that neither a block nor a tune's length dominates: ``e``, 1- to 3-grams of events (notes as
pitch:length, rests, bar lines as written, tuplets, broken rhythm); ``i``, 1- to 3-grams of melodic intervals,
``|+2`` where a bar line falls between the two notes; ``r``, 1- to 3-grams of lengths and bar lines, and each bar's
rhythm whole; ``b``, each bar's notes whole, and the first and the last bar's; ``h``, the header fields present. Then
:data:`GLOBALS`, each brought to about 0..1 by a fixed rule (nothing is fitted, so nothing leaks between folds) and
weighted :data:`GLOBAL_WEIGHT`: size, unreadable characters, header problems, bars whose note count or length is not
the tune's usual or ``M:``'s, short bars away from a section's edge, steps and leaps inside bars and across bar
lines, the first note in the tonic triad, the last note and the sections' last notes on the tonic, bars and pairs of
bars that come back. Order across bar lines is what tells a tune from its bars shuffled: the n-grams and leaps that
span a bar line, where the short bars fall, the cadences and the repeated pairs of bars; a bag of notes sees none of
it.

Classifier: L2 logistic regression, ``C`` = :data:`C`. Cross-validation: ``repeats`` shuffled, stratified
``folds``-fold splits of the ``2 n_each`` tunes; a text found on both sides stays in one fold (else its copy in
training, labelled the other way, pushes it wrong, and identical samples would score below 0.5). The larger side is
subsampled (seeded) to the smaller, so chance is exactly 0.5. The accuracy is the share of held-out predictions that
are right, over all repeats.

Interval: the Wilson 95% score interval for that share from ``2 n_each / DESIGN_EFFECT`` trials. One trial per tune
is Lopez-Paz & Oquab's binomial test, exact for a single train/test split; repeats only average out the luck of the
split and add no trials. Cross-validated predictions are slightly dependent: over two sets of 30 draws of 500 + 500
folk tunes, real against real, the accuracies had sd 0.017 and 0.018 (mean 0.502 and 0.498), 1.07 and 1.16 times a
binomial's, so the variance is taken as :data:`DESIGN_EFFECT` = 1.5 times the binomial one, rounded up.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from threadpoolctl import threadpool_limits

from tunesmith.abc_text import parse_key
from tunesmith.errors import TunesmithError
from tunesmith.metrics.abc_bars import read_header

C = 0.5  # inverse L2 strength of the logistic regression
GLOBAL_WEIGHT = 3.0  # a few dense numbers beside thousands of sparse counts: weighted so the penalty lets them speak
DESIGN_EFFECT = 1.5  # the held-out accuracy's variance over a binomial's, measured (module docstring)
HASH_FEATURES = 2**20
Z95 = 1.959963984540054

_LEN = r"\d{0,4}/{0,4}\d{0,4}"
_TOKEN = re.compile(
    r"(?P<inline>\[[A-Za-z]:[^\]\n]*\])|(?P<bar>\.?(?:\[\||:*\|[\]|]?:*|::+)(?:[1-9](?:[,\-][1-9])*)?)"
    r"|(?P<ending>\[[1-9](?:[,\-][1-9])*)|(?P<chord>\[(?P<inner>[^\]\[|\n]*)\](?P<clen>" + _LEN + "))"
    r"|(?P<gchord>\"[^\"\n]*\"?)|(?P<deco>![^!\n]*!|\+[^+\n]*\+)|(?P<grace>\{[^}\n]*\}?)"
    r"|(?P<tuplet>\((?P<p>[2-9])(?::(?P<q>[1-9]?))?(?::(?P<r>[1-9]?))?)"
    r"|(?P<note>(?P<acc>\^\^|\^|__|_|=)?(?P<letter>[A-Ga-g])(?P<oct>[,']{0,4})(?P<len>" + _LEN + "))"
    r"|(?P<rest>[zx](?P<rlen>" + _LEN + r"))|(?P<broken>[<>]{1,3})|(?P<skip>[\s~.HLMOPSTuv`()\-y$*\\&])"
)
_NOTE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-g])([,']{0,4})(" + _LEN + ")")
_FIELD = re.compile(r"^([A-Za-z]):(.*)$")
_COMMENT = re.compile(r"(?<!\\)%.*$")
_X = re.compile(r"\A\s*X:[^\n]*(?:\n|\Z)")  # bookkeeping: corpus tunes lose it, generated ones get a fresh one
_TONIC = re.compile(r"^\s*([A-G])([#b]?)")
_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_SHIFT = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}
GLOBALS = (
    "bars", "chars", "no_notes", "unreadable", "header_problems", "rests", "no_meter", "range", "count_off",
    "length_off", "meter_off", "short_inside", "step_in", "step_across", "leap_in", "leap_across", "ends_tonic",
    "starts_triad", "cadence_tonic", "cadence_few", "bar_repeats", "pair_repeats",
)  # fmt: skip


def _length(text: str) -> float:
    """A written length (``3/2``, ``/``, ``//``, ``2``) in units of ``L:``."""
    num, slashes, den = re.fullmatch(r"(\d*)(/*)(\d*)", text).groups()  # type: ignore[union-attr]
    return int(num or 1) / (int(den or 2 ** len(slashes)) or 1)


def _header_end(lines: list[str]) -> int:
    """The index of the first line after the header: after ``K:``, or at what cannot be a header line."""
    for i, line in enumerate(lines):
        if line.startswith("K:"):
            return i + 1
        if not (_FIELD.match(line) or line.startswith("%") or not line.strip()):
            return i
    return len(lines)


@dataclass
class _Bar:
    notes: list[tuple[int | None, float]] = field(default_factory=list)  # (pitch above the tonic or None, length)
    start: bool = False  # first of the tune or of a section
    end: bool = False  # last of the tune or of a section


@dataclass
class _Tune:
    """What the features are counted from, read without raising."""

    events: list[str] = field(default_factory=list)
    bars: list[_Bar] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)
    meter: float | None = None
    chars: int = 0
    unreadable: int = 0
    problems: int = 0


def _read(abc: str) -> _Tune:
    abc = _X.sub("", abc.lstrip())
    head, lines = read_header("X:1\n" + abc), abc.split("\n")
    tune = _Tune(meter=None if head.meter is None else round(float(head.meter), 6), problems=len(head.problems))
    key, unit, tonic, carried, tuplet, bar = dict(head.key), float(head.unit), 0, {}, (1.0, 0), _Bar(start=True)
    for match in filter(None, map(_FIELD.match, lines[: _header_end(lines)])):
        tune.fields.add(match.group(1))
        found = _TONIC.match(match.group(2)) if match.group(1) == "K" else None
        if found:
            tonic = (_STEPS[found.group(1)] + {"#": 1, "b": -1, "": 0}[found.group(2)]) % 12

    def close(token: str) -> None:
        nonlocal bar
        section = any(c in token for c in ":]|[") and token not in ("|", "", ".|")
        if bar.notes:
            bar.end = section
            tune.bars.append(bar)
            bar = _Bar(start=section)
        elif section:
            bar.start = True
            if tune.bars:
                tune.bars[-1].end = True
        carried.clear()

    def timed(pitch: int | None, length: float) -> None:
        nonlocal tuplet
        length *= unit * (tuplet[0] if tuplet[1] else 1)
        tuplet = (tuplet[0], max(0, tuplet[1] - 1))
        bar.notes.append((pitch, length))
        tune.events.append(f"{'z' if pitch is None else pitch}:{length:g}")

    def pitch(acc: str | None, letter: str, octave: str) -> int:
        base = 60 + _STEPS[letter.upper()] + 12 * (letter.islower() + octave.count("'") - octave.count(","))
        if acc:
            carried[letter.upper(), base] = _SHIFT[acc]
        return base + carried.get((letter.upper(), base), key.get(letter.upper(), 0)) - tonic

    for text in head.body:
        match = _FIELD.match(text)
        if match and match.group(1) in "KL":
            text = f"[{match.group(1)}:{match.group(2)}]"  # a field line in the body: read it as an inline one
        elif match or text.startswith("%"):
            continue
        text = _COMMENT.sub("", text)
        tune.chars += len(text)
        tune.unreadable += len(text)
        for m in _TOKEN.finditer(text):
            tune.unreadable -= len(m.group(0))
            kind, value = m.lastgroup, m.group(0)
            if kind == "inline" and value[1] in "KL":
                try:
                    if value[1] == "K":
                        key = parse_key(value[3:-1])
                    elif 0 < Fraction(value[3:-1].strip()) <= 4:
                        unit = float(Fraction(value[3:-1].strip()))
                except (ValueError, ZeroDivisionError):
                    tune.unreadable += 1
            elif kind == "bar":
                tune.events.append(value.lstrip("."))
                close(value)
            elif kind == "note":
                timed(pitch(m.group("acc"), m.group("letter"), m.group("oct")), _length(m.group("len")))
            elif kind == "chord" and _NOTE.match(m.group("inner").strip()):
                acc, letter, octave, written = _NOTE.match(m.group("inner").strip()).groups()  # type: ignore[union-attr]
                timed(pitch(acc, letter, octave), _length(written) * _length(m.group("clen")))
            elif kind == "rest":
                timed(None, _length(m.group("rlen")))
            elif kind == "tuplet":
                p = int(m.group("p"))
                tuplet = (int(m.group("q") or {2: 3, 4: 3, 8: 3}.get(p, 2)) / p, int(m.group("r") or p))
                tune.events.append(f"({p}")
            elif kind == "broken":
                tune.events.append(value)
        if not text.rstrip().endswith("\\"):
            close("")  # a line end closes a bar that has music
    close("|]")
    return tune


def _grams(seq: Sequence[str], prefix: str) -> Counter:
    return Counter(f"{prefix}{' '.join(seq[i : i + n])}" for n in (1, 2, 3) for i in range(len(seq) - n + 1))


def _block(counts: Counter) -> dict[str, float]:
    """``log1p`` counts scaled to unit length."""
    values = {k: math.log1p(v) for k, v in counts.items()}
    norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
    return {k: v / norm for k, v in values.items()}


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _usual(values: Sequence) -> float:
    """The most common value (the first of those tied), 0 for none."""
    return Counter(values).most_common(1)[0][0] if values else 0


def _describe(tune: _Tune) -> tuple[dict[str, float], list[float]]:
    """One tune's hashed-block counts and its :data:`GLOBALS`."""
    bars = tune.bars
    pitched = [(p, i) for i, b in enumerate(bars) for p, _ in b.notes if p is not None]
    inside = [b - a for (a, i), (b, j) in zip(pitched, pitched[1:], strict=False) if i == j]
    across = [b - a for (a, i), (b, j) in zip(pitched, pitched[1:], strict=False) if i != j]
    intervals = [f"{'|' * (i != j)}{b - a:+d}" for (a, i), (b, j) in zip(pitched, pitched[1:], strict=False)]
    rhythm = [w for b in bars for w in [f"{'z' * (p is None)}{d:g}" for p, d in b.notes] + ["|"]]
    words = [" ".join(f"{p}:{d:g}" for p, d in b.notes) for b in bars]
    counts = {
        **_block(_grams(tune.events, "e")),
        **_block(_grams(intervals, "i")),
        **_block(_grams(rhythm, "r") + Counter("R" + " ".join(f"{d:g}" for _, d in b.notes) for b in bars)),
        **_block(Counter(["b" + w for w in words] + (["B^" + words[0], "B$" + words[-1]] if words else []))),
        **_block(Counter("h" + f for f in tune.fields)),
    }
    sizes, lengths = [len(b.notes) for b in bars], [round(sum(d for _, d in b.notes), 6) for b in bars]
    usual_size, usual_length, pitches = _usual(sizes), _usual(lengths), [p for p, _ in pitched]
    cadences = [b for b in bars if b.end]
    lasts = [next((p for p, _ in reversed(b.notes) if p is not None), None) for b in cadences]
    pairs = list(zip(words, words[1:], strict=False))
    seen_words, seen_pairs, notes = Counter(words), Counter(pairs), sum(sizes)
    short = [n < usual_length and not (b.start or b.end) for n, b in zip(lengths, bars, strict=True)]
    # fmt: off
    values = {  # size and readability; bar lengths; melodic steps and leaps; cadences; what comes back
        "bars": math.log1p(len(bars)) / 5, "chars": math.log1p(tune.chars) / 8, "no_notes": float(not pitches),
        "unreadable": tune.unreadable / max(1, tune.chars), "header_problems": min(tune.problems, 5) / 5,
        "rests": 1 - len(pitches) / notes if notes else 0.0, "no_meter": float(tune.meter is None),
        "range": min(2.0, (max(pitches) - min(pitches)) / 24) if pitches else 0.0,
        "count_off": _share([s != usual_size for s in sizes]), "short_inside": _share(short),
        "length_off": _share([n != usual_length for n in lengths]),
        "meter_off": _share([n != tune.meter for n in lengths]) if tune.meter is not None else 0.0,
        "step_in": _share([abs(i) <= 2 for i in inside]), "step_across": _share([abs(i) <= 2 for i in across]),
        "leap_in": _share([abs(i) > 7 for i in inside]), "leap_across": _share([abs(i) > 7 for i in across]),
        "ends_tonic": float(bool(pitches) and pitches[-1] % 12 == 0),
        "starts_triad": float(bool(pitches) and pitches[0] % 12 in (0, 3, 4, 7)),
        "cadence_tonic": _share([p is not None and p % 12 == 0 for p in lasts]),
        "cadence_few": _share([len(b.notes) < usual_size for b in cadences]),
        "bar_repeats": _share([seen_words[w] > 1 for w in words]),
        "pair_repeats": _share([seen_pairs[pair] > 1 for pair in pairs]),
    }
    # fmt: on
    return counts, [values[name] for name in GLOBALS]


def tune_features(texts: Sequence[str]) -> sparse.csr_matrix:
    """One row per tune: the hashed blocks (``HASH_FEATURES`` columns), then the :data:`GLOBALS` in that order
    times :data:`GLOBAL_WEIGHT`. Never raises on a text: empty, header-only or binary-like ones get rows too."""
    if not texts:
        return sparse.csr_matrix((0, HASH_FEATURES + len(GLOBALS)))
    described = [_describe(_read(str(t).replace("\r\n", "\n"))) for t in texts]
    hashed = FeatureHasher(n_features=HASH_FEATURES, input_type="dict").transform(c for c, _ in described)
    dense = GLOBAL_WEIGHT * np.array([g for _, g in described], dtype=float).reshape(len(described), len(GLOBALS))
    return sparse.hstack([hashed, sparse.csr_matrix(dense)], format="csr")


def shuffle_bars(abc: str, rng: np.random.Generator) -> str:
    """The same header and the same bars in a random order: the bar lines, line ends, body fields and comments
    stay where they are; the stretches of music between bar lines that hold a note or rest are dealt out again."""
    lines = abc.replace("\r\n", "\n").split("\n")
    slots: list[tuple[int, int, int]] = []  # (line, start, end) of music between bar lines
    for index in range(_header_end(lines), len(lines)):
        line = _COMMENT.sub("", lines[index])
        if not lines[index].strip():
            break  # a blank line ends the tune
        if _FIELD.match(line) or not line:
            continue
        cuts = [0] + [x for m in _TOKEN.finditer(line) if m.lastgroup == "bar" for x in m.span()] + [len(line)]
        for a, b in zip(cuts[::2], cuts[1::2], strict=False):
            if any(m.lastgroup in ("note", "rest", "chord") for m in _TOKEN.finditer(line[a:b])):
                piece = line[a:b]
                slots.append((index, a + len(piece) - len(piece.lstrip()), a + len(piece.rstrip())))
    pieces = [lines[i][a:b] for i, a, b in slots]
    for (i, a, b), k in reversed(list(zip(slots, rng.permutation(len(pieces)), strict=True))):  # right to left
        lines[i] = lines[i][:a] + pieces[k] + lines[i][b:]
    return "\n".join(lines)


@dataclass
class TwoSample:
    accuracy: float  # cross-validated accuracy, 0.5 = cannot tell the two apart
    low: float  # Wilson 95% interval from 2 * n_each / DESIGN_EFFECT trials (module docstring)
    high: float
    n_each: int  # tunes per side actually used
    folds: int
    repeats: int

    def to_json(self) -> dict:
        return {**asdict(self), "interval": f"Wilson 95%, 2 n_each / {DESIGN_EFFECT} trials", "classifier": "logistic"}


def _wilson(p: float, tunes: int) -> tuple[float, float]:
    n = tunes / DESIGN_EFFECT
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _accuracy(x: sparse.csr_matrix, y: np.ndarray, groups: np.ndarray, folds: int, states: np.ndarray) -> float:
    """The share of held-out predictions that are right, over grouped stratified k-fold splits, one per state."""
    x = x[:, x.getnnz(axis=0) > 1]  # a column only one tune uses carries nothing from training to held-out tunes
    correct, splits = 0, [StratifiedGroupKFold(folds, shuffle=True, random_state=int(state)) for state in states]
    with threadpool_limits(1, user_api="blas"):  # small vectors: BLAS threads only wait on a busy machine (6x slower)
        for train, test in (pair for split in splits for pair in split.split(x, y, groups)):
            if len(set(y[train])) < 2:  # one side only in training (big groups): it can only guess that side
                correct += int((y[test] == y[train][0]).sum())
                continue
            model = LogisticRegression(C=C, solver="newton-cg").fit(x[train], y[train])
            correct += int((model.predict(x[test]) == y[test]).sum())
    return correct / (len(y) * len(splits))


def two_sample_test(
    real: Sequence[str],
    other: Sequence[str],
    *,
    seed: int = 0,
    folds: int = 5,
    repeats: int = 3,
    features: Callable[[Sequence[str]], sparse.spmatrix] = tune_features,
) -> TwoSample:
    """How well a cross-validated classifier tells ``other`` from ``real`` (module docstring). A TunesmithError for
    fewer than 2 tunes a side, never for what the texts hold. ``features`` is for experiments (a bag of notes…)."""
    n = min(len(real), len(other))
    if n < 2 or folds < 2 or repeats < 1:
        raise TunesmithError(
            f"a two-sample test needs 2+ tunes a side, 2+ folds, 1+ repeat; got {n}, {folds}, {repeats}"
        )
    rng = np.random.default_rng(seed)
    texts = [real[i] for i in np.sort(rng.permutation(len(real))[:n])]
    texts += [other[i] for i in np.sort(rng.permutation(len(other))[:n])]
    keys = [_X.sub("", str(t)).strip() for t in texts]
    both, first = set(keys[:n]) & set(keys[n:]), {k: i for i, k in reversed(list(enumerate(keys)))}
    groups = np.array([first[k] if k in both else i for i, k in enumerate(keys)])  # a text on both sides: one fold
    folds = min(folds, n, len(set(groups)))
    if folds < 2:  # every tune, on both sides, is one and the same text
        return TwoSample(0.5, *_wilson(0.5, 2 * n), n, 0, repeats)
    x = sparse.csr_matrix(features(texts))
    accuracy = _accuracy(x, np.repeat([0, 1], n), groups, folds, rng.integers(2**31, size=repeats))
    return TwoSample(accuracy, *_wilson(accuracy, 2 * n), n, folds, repeats)
