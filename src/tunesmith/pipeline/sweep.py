"""``tunesmith sweep``: train one run per configuration of a grid, or per trial of an Optuna study, and
compare them in a table like seed 002's Table 1.

- ``--grid key=v1,v2,…`` (repeatable) names settings and their values; the values are read with the
  config's own types, and every configuration is resolved and checked before anything trains. The
  cartesian product (at most ``MAX_CONFIGS``) is trained one configuration after another, each in its own
  run folder ``OUT/runs/<slug>`` (``hidden-50_dropout-0.1``) with :func:`tunesmith.pipeline.train.train`,
  in this process (checked: a fit after other fits gives the same metrics, to the last digit, as one in a
  fresh interpreter).
- Re-running the same command resumes: a run whose ``status.json`` is newer than its last checkpoint is
  read, not retrained; one that was interrupted resumes from its checkpoint (``train`` does that).
- ``--search N`` runs an Optuna study instead: the ``--grid`` values become categorical choices and
  ``--range key=lo:hi[:log]`` adds an int or float range (the config's type decides which); TPE, seeded.
  Each trial is a run folder ``OUT/runs/trial-NNN`` and reports its best validation loss. The study lives
  in ``OUT/study.db`` (SQLite) unless ``--storage URL`` names another (``postgresql://user@host/db`` lets
  several machines share it: each runs the same command, and Optuna hands out the trials). Re-running
  resumes the study: it runs until N trials are complete. A trial killed outright is noticed by its
  missing heartbeat and retried in its own run folder; one stopped with Ctrl-C is retried at the next start.
  A configuration TPE proposes again takes the earlier trial's result instead of training twice (it still
  counts as a trial, and shows once in the table).

Outputs: ``sweep.csv`` (one row per configuration), ``sweep.md`` (best first) and ``sweep.png``.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.config import all_keys
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.train import resolve_config, train
from tunesmith.render.plots import read_history, sweep_png

MAX_CONFIGS = 256
MAX_TRIALS = 1000
MAX_VALUES = 64  # values of one --grid key
HEARTBEAT_SECONDS = 60  # a trial whose process stops beating for GRACE_SECONDS is failed and retried
GRACE_SECONDS = 180
DONE_STATES = ("finished", "stopped early", "time budget reached", "already stopped early")
CSV_FIELDS = [
    "name",
    "best_val_loss",
    "val_acc",
    "train_loss",
    "epochs",
    "seconds_per_epoch",
    "steps",
    "state",
]

Echo = Callable[[str], None]


@dataclass
class Axis:
    """One searched setting: a list of values (grid, or categorical choices), or a range (``--range``)."""

    key: str
    values: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    kind: type = float


@dataclass
class SweepResult:
    out: Path
    keys: list[str]
    rows: list[dict[str, Any]]  # best first
    trained: int  # configurations trained (or resumed) by this call
    reused: int  # configurations read from finished runs
    files: list[Path]
    seconds: float


def _check_key(key: str, option: str) -> str:
    key = key.strip()
    known = all_keys()
    if key in known:
        return key
    same = [k for k in known if k.split(".")[-1] == key.split(".")[-1]]
    hint = f"; did you mean {' or '.join(same)}?" if same else "; settings look like model.hidden or train.lr"
    raise TunesmithError(f"{option} {key}: unknown setting{hint}")


def _type_of(key: str) -> type:
    from typing import get_type_hints

    from tunesmith.config import Config

    section, name = key.split(".")
    return get_type_hints(type(getattr(Config(), section)))[name]


def parse_grid(items: list[str], option: str = "--grid") -> list[Axis]:
    """``key=v1,v2,…`` strings → axes with values as the config reads them (duplicates dropped)."""
    axes: list[Axis] = []
    for item in items:
        if "=" not in item:
            raise TunesmithError(f"{option} {item!r}: expected key=v1,v2,… e.g. model.hidden=50,100")
        key, raw = item.split("=", 1)
        key = _check_key(key, option)
        if any(a.key == key for a in axes):
            raise TunesmithError(f"{option} {key} is given twice; list all its values once")
        texts = [v.strip() for v in raw.split(",") if v.strip()]
        if not texts or len(texts) > MAX_VALUES:
            raise TunesmithError(f"{option} {key}: give 1 to {MAX_VALUES} comma-separated values")
        values: list[Any] = []
        for text in texts:
            value = _coerce(key, text, option)
            if value not in values:
                values.append(value)
        axes.append(Axis(key, values=values, kind=_type_of(key)))
    return axes


def parse_ranges(items: list[str]) -> list[Axis]:
    """``key=lo:hi[:log]`` strings → range axes for ``--search`` (int or float settings only)."""
    axes = []
    for item in items:
        key, _, raw = item.partition("=")
        key = _check_key(key, "--range")
        kind = _type_of(key)
        parts = raw.split(":")
        if kind not in (int, float) or len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
            raise TunesmithError(f"--range {item!r}: expected key=low:high or key=low:high:log for a number setting")
        low, high = (_coerce(key, p.strip(), "--range") for p in parts[:2])
        log = len(parts) == 3
        if not low < high or (log and low <= 0):
            raise TunesmithError(f"--range {item!r}: need low < high" + (", both above 0 for :log" if log else ""))
        axes.append(Axis(key, low=low, high=high, log=log, kind=kind))
    return axes


def _coerce(key: str, text: str, option: str) -> Any:
    """A value as the config reads it (``--set`` rules), so 0 and 0.0 are the same dropout. Ranges are
    checked later, with the preset, for each whole configuration."""
    from tunesmith.config import Config

    section, name = key.split(".")
    cfg = Config.from_dict({section: {name: text}}, option)
    return getattr(getattr(cfg, section), name)


def configurations(axes: list[Axis]) -> list[dict[str, Any]]:
    """The cartesian product of the axes' values, in the order given (the last key varies fastest)."""
    total = math.prod(len(a.values or []) for a in axes)
    if total > MAX_CONFIGS:
        raise TunesmithError(f"the grid has {total} configurations; at most {MAX_CONFIGS} (or use --search N)")
    return [
        dict(zip([a.key for a in axes], combo, strict=True)) for combo in itertools.product(*(a.values for a in axes))
    ]


def _short(keys: list[str]) -> dict[str, str]:
    """``model.hidden`` → ``hidden`` unless two keys share that name."""
    names = [k.split(".")[-1] for k in keys]
    return {k: (n if names.count(n) == 1 else k.replace(".", "-")) for k, n in zip(keys, names, strict=True)}


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def slug(params: dict[str, Any]) -> str:
    """A short, readable, filesystem-safe run folder name: ``hidden-50_dropout-0.1``."""
    short = _short(list(params))
    parts = [f"{short[k]}-{re.sub(r'[^A-Za-z0-9.+-]', '', _text(v)) or 'x'}" for k, v in params.items()]
    name = "_".join(parts)
    if len(name) > 100:
        import hashlib

        name = name[:88] + "_" + hashlib.sha1(name.encode()).hexdigest()[:10]
    return name


def _overrides(params: dict[str, Any]) -> list[str]:
    return [f"{k}={v!r}" if isinstance(v, float) else f"{k}={_text(v)}" for k, v in params.items()]


def _is_done(run: Path) -> bool:
    """True when the run ended (``status.json``) after its last checkpoint was written: nothing to resume."""
    status, last = run / "status.json", run / "checkpoints" / "last.ckpt"
    if not status.is_file():
        return False
    try:
        state = json.loads(status.read_text()).get("state")
    except (OSError, json.JSONDecodeError):
        return False
    return state in DONE_STATES and (not last.exists() or status.stat().st_mtime >= last.stat().st_mtime)


def _check_same_recipe(run: Path, preset: str, overrides: list[str], max_minutes: float | None) -> None:
    """A finished run is only reused for the same recipe (budget settings aside), as ``train`` would insist."""
    from tunesmith.pipeline.train import _merge_with_saved

    _merge_with_saved(run, resolve_config(preset, overrides, max_minutes))


def summarize(run: Path) -> dict[str, Any]:
    """A run's row: best validation loss (status.json), the accuracy at that validation, the last epoch's
    training loss, epochs, seconds per epoch (train + validation + samples), steps and how it ended."""
    history = read_history(run)
    try:
        status = json.loads((run / "status.json").read_text())
    except (OSError, json.JSONDecodeError):
        status = {}
    best = history.best()
    train_loss = history.columns.get("train_loss")
    return {
        "best_val_loss": status.get("best_val_loss", best.get("val_loss")),
        "val_acc": _rounded(best.get("val_acc", best.get("val_f1"))),
        "train_loss": float(train_loss[-1]) if train_loss is not None else None,
        "epochs": round(history.epochs, 3),
        "seconds_per_epoch": round(history.seconds_per_epoch, 2),
        "steps": int(history.steps[-1]),
        "state": status.get("state", "interrupted"),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 5)  # as metrics.csv writes it


def _train_one(
    run: Path, preset: str, data: Path, overrides: list[str], max_minutes: float | None, echo: Echo
) -> tuple[dict[str, Any], bool]:
    """Train (or resume, or read) one run; returns its row and whether it trained now."""
    if _is_done(run):
        _check_same_recipe(run, preset, overrides, max_minutes)
        return summarize(run), False
    result = train(preset, data, run, overrides=overrides, max_minutes=max_minutes, progress=False)
    if result.resumed_from_step is not None:
        echo(f"  resumed from step {result.resumed_from_step}")
    return summarize(run), True


def run_grid(
    preset: str,
    data: Path | str,
    out: Path | str,
    *,
    grid: list[str],
    overrides: list[str] | None = None,
    max_minutes: float | None = None,
    echo: Echo = print,
) -> SweepResult:
    """Train every configuration of the grid (resuming), then write sweep.csv, sweep.md and sweep.png."""
    started = time.perf_counter()
    out, data, base = Path(out), Path(data), list(overrides or [])
    axes = parse_grid(grid)
    if not axes:
        raise TunesmithError("give at least one --grid key=v1,v2,… (or --search N with --grid/--range choices)")
    configs = configurations(axes)
    for params in configs:  # every configuration is checked before the first one trains
        resolve_config(preset, base + _overrides(params), max_minutes)
    keys = [a.key for a in axes]
    rows, trained = [], 0
    for i, params in enumerate(configs, 1):
        name = slug(params)
        echo(f"[{i}/{len(configs)}] {name}")
        row, now = _train_one(out / "runs" / name, preset, data, base + _overrides(params), max_minutes, echo)
        trained += now
        rows.append({"name": name, **params, **row})
        echo(f"  {'trained' if now else 'read (finished earlier)'}: {_line(row)}")
    return _finish(out, preset, keys, rows, trained, len(rows) - trained, started)


def _line(row: dict[str, Any]) -> str:
    loss = row.get("best_val_loss")
    return f"best val loss {loss:.4f}, {row['epochs']} epochs, {row['state']}" if loss is not None else row["state"]


def _finish(
    out: Path, preset: str, keys: list[str], rows: list[dict[str, Any]], trained: int, reused: int, started: float
) -> SweepResult:
    rows = sorted(rows, key=lambda r: (r.get("best_val_loss") is None, r.get("best_val_loss") or 0.0))
    out.mkdir(parents=True, exist_ok=True)
    files = [write_csv(out / "sweep.csv", keys, rows), write_markdown(out / "sweep.md", preset, keys, rows)]
    runs = {row["name"]: out / "runs" / row["name"] for row in rows}
    histories = {name: read_history(run) for name, run in runs.items() if (run / "metrics.csv").is_file()}
    files.append(sweep_png(rows, histories, out / "sweep.png", title=f"{preset}: {len(rows)} configurations"))
    return SweepResult(out, keys, rows, trained, reused, files, time.perf_counter() - started)


def write_csv(path: Path, keys: list[str], rows: list[dict[str, Any]]) -> Path:
    fields = ["name", *keys, *CSV_FIELDS[1:], *(["trial"] if any("trial" in r for r in rows) else [])]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in fields})
    return path


def table(keys: list[str], rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Headers and cells of the comparison table (best first), shared by sweep.md and the console."""
    short = _short(keys)
    headers = ["rank", *(short[k] for k in keys), "val loss", "val acc", "train loss", "epochs", "s/epoch", "state"]
    cells = []
    for rank, r in enumerate(rows, 1):
        loss, acc, train_loss = r.get("best_val_loss"), r.get("val_acc"), r.get("train_loss")
        cells.append(
            [
                str(rank),
                *(_text(r.get(k)) for k in keys),
                f"{loss:.4f}" if loss is not None else "-",
                f"{100 * acc:.1f}%" if acc is not None else "-",
                f"{train_loss:.4f}" if train_loss is not None else "-",
                f"{r['epochs']:.2f}" if r.get("epochs") is not None else "-",
                _seconds(r.get("seconds_per_epoch")),
                str(r.get("state", "-")),
            ]
        )
    return headers, cells


def _seconds(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def write_markdown(path: Path, preset: str, keys: list[str], rows: list[dict[str, Any]]) -> Path:
    headers, cells = table(keys, rows)
    lines = [
        f"# Sweep of {preset}: {len(rows)} configurations, best first",
        "",
        "Validation loss is the best one the run reached (nats per symbol); accuracy is the validation",
        "accuracy (F1 for piano rolls) at that validation; time per epoch covers training, validation and",
        "in-training samples.",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if h not in ("state",) else "---" for h in headers) + "|",
        *("| " + " | ".join(c) + " |" for c in cells),
        "",
    ]
    path.write_text("\n".join(lines))
    return path


# --- Optuna -----------------------------------------------------------------------------------------------


def _storage_url(out: Path, storage: str | None) -> str:
    if storage is None:
        return f"sqlite:///{(out / 'study.db').resolve()}"
    schemes = ("sqlite:///", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://")
    if len(storage) > 2000 or not storage.startswith(schemes):
        raise TunesmithError(f"--storage {_safe(storage)}: expected sqlite:///FILE or postgresql://user@host/db")
    if storage.startswith("postgresql://"):  # SQLAlchemy 2.1 reads this as psycopg 3; use the driver installed
        import importlib.util

        if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
            storage = "postgresql+psycopg2://" + storage.removeprefix("postgresql://")
    return storage


def _safe(url: str) -> str:
    """A storage URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)[:200]


def open_study(url: str, name: str, seed: int, shared: bool) -> Any:
    """Create or load the study, with heartbeats so a killed trial is retried."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our own lines say what each trial did
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        storage = RDBStorage(
            url,
            heartbeat_interval=HEARTBEAT_SECONDS,
            grace_period=GRACE_SECONDS,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
        )
        existing = len(optuna.load_study(study_name=name, storage=storage).trials) if _has_study(storage, name) else 0
        # Seeded, shifted by the trials already there so a resumed study does not re-propose its first
        # configurations; machines sharing a study also mix in their own identity, or they would agree.
        salt = f"{seed}:{existing}" + (f":{_host_salt()}" if shared else "")
        sampler = optuna.samplers.TPESampler(seed=int.from_bytes(_digest(salt)[:4], "little"))
        return optuna.create_study(
            study_name=name, storage=storage, sampler=sampler, direction="minimize", load_if_exists=True
        )
    except ImportError as exc:
        raise TunesmithError(
            f"--storage {_safe(url)} needs a database driver: {exc} (pip install psycopg2-binary)"
        ) from None
    except Exception as exc:  # SQLAlchemy's OperationalError and friends: a server that is down, a bad URL
        if isinstance(exc, TunesmithError):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TunesmithError(f"cannot open the study in {_safe(url)}: {first}") from None


def _has_study(storage: Any, name: str) -> bool:
    return any(s.study_name == name for s in storage.get_all_studies())


def _digest(text: str) -> bytes:
    import hashlib

    return hashlib.sha256(text.encode()).digest()


def _host_salt() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"


def _requeue_interrupted(study: Any) -> None:
    """Trials stopped with Ctrl-C were marked failed: queue them again, with their run folder, once."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    for t in trials:
        if t.state == optuna.trial.TrialState.FAIL and t.user_attrs.get("interrupted") and t.number not in retried:
            study.enqueue_trial(t.params, user_attrs={"run": t.user_attrs["run"], "retry_of": t.number})


def run_search(
    preset: str,
    data: Path | str,
    out: Path | str,
    *,
    trials: int,
    grid: list[str] | None = None,
    ranges: list[str] | None = None,
    overrides: list[str] | None = None,
    max_minutes: float | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    seed: int = 0,
    echo: Echo = print,
) -> SweepResult:
    """An Optuna study of ``trials`` trials over the ``--grid`` choices and ``--range`` ranges; resumes."""
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    started = time.perf_counter()
    out, data, base = Path(out), Path(data), list(overrides or [])
    if not 1 <= trials <= MAX_TRIALS:
        raise TunesmithError(f"--search {trials} must be between 1 and {MAX_TRIALS}")
    axes = parse_grid(grid or []) + parse_ranges(ranges or [])
    keys = [a.key for a in axes]
    if len(set(keys)) != len(keys):
        raise TunesmithError("a setting is given both as --grid and --range; choose one")
    if not axes:
        raise TunesmithError("--search needs something to search: --grid key=v1,v2,… or --range key=lo:hi")
    for corner in _corners(axes):  # every value checked before the first trial trains
        resolve_config(preset, base + _overrides(corner), max_minutes)
    out.mkdir(parents=True, exist_ok=True)
    url = _storage_url(out, storage)
    name = study_name or out.resolve().name
    if not re.fullmatch(r"[A-Za-z0-9_.+-]{1,100}", name):
        raise TunesmithError(f"--study {name!r}: use 1 to 100 letters, digits and _.+-")
    study = open_study(url, name, seed, shared=storage is not None and not storage.startswith("sqlite"))
    _requeue_interrupted(study)
    done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    echo(f"study {name} in {_safe(url)}: {done} of {trials} trials complete")
    counts = {"trained": 0}

    def objective(trial: optuna.Trial) -> float:
        params = {}
        for a in axes:
            if a.values is not None:
                params[a.key] = trial.suggest_categorical(a.key, a.values)
            elif a.kind is int:
                params[a.key] = trial.suggest_int(a.key, int(a.low), int(a.high), log=a.log)
            else:
                params[a.key] = trial.suggest_float(a.key, a.low, a.high, log=a.log)
        twin = next(
            (t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.params == params), None
        )
        if twin is not None and "run" not in trial.user_attrs:  # TPE proposed it again: reuse, do not retrain
            echo(f"[trial {trial.number}] same configuration as trial {twin.number}: {twin.value:.4f}")
            for key in ("run", *CSV_FIELDS[2:]):
                trial.set_user_attr(key, twin.user_attrs.get(key))
            return float(twin.value)
        run_name = trial.user_attrs.get("run") or f"trial-{trial.number:03d}"
        trial.set_user_attr("run", run_name)
        echo(f"[trial {trial.number}] {run_name}: {slug(params)}")
        try:
            row, now = _train_one(out / "runs" / run_name, preset, data, base + _overrides(params), max_minutes, echo)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            raise
        counts["trained"] += now
        for key, value in row.items():
            trial.set_user_attr(key, value)
        echo(f"  {_line(row)}")
        loss = row.get("best_val_loss")
        return float(loss) if loss is not None else float("nan")  # nan: Optuna records the trial as failed

    remaining = trials - done
    if remaining > 0:
        try:
            study.optimize(
                objective,
                n_trials=remaining,
                callbacks=[MaxTrialsCallback(trials, states=(TrialState.COMPLETE, TrialState.RUNNING))],
                catch=(),
            )
        except ValueError as exc:  # e.g. other choices than the study was started with
            raise TunesmithError(f"study {name}: {str(exc).splitlines()[0]}") from None
    rows, seen = [], set()
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.user_attrs.get("run") in seen:  # a configuration proposed twice is one row
            continue
        seen.add(t.user_attrs.get("run"))
        row = {"name": t.user_attrs.get("run", f"trial-{t.number:03d}"), "trial": t.number, **t.params}
        row.update({k: t.user_attrs.get(k) for k in CSV_FIELDS[2:]})
        row["best_val_loss"] = t.value
        rows.append(row)
    return _finish(out, preset, keys, rows, counts["trained"], len(rows) - counts["trained"], started)


def _corners(axes: list[Axis]) -> list[dict[str, Any]]:
    """Every grid value and both ends of every range, each with the other axes at their first value."""
    first = {a.key: a.values[0] if a.values is not None else a.kind(a.low) for a in axes}
    out = []
    for a in axes:
        for value in a.values if a.values is not None else [a.kind(a.low), a.kind(a.high)]:
            out.append({**first, a.key: value})
    return out
