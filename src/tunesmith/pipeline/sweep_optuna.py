"""The Optuna engine of ``tunesmith sweep --search N``: a seeded TPE study over the ``--grid`` choices and
``--range key=lo:hi[:log]`` ranges (the config's type decides int or float).

Each trial is a run folder ``OUT/runs/trial-NNN`` and reports its best validation loss. The study lives in
``OUT/study.db`` (SQLite) unless ``--storage URL`` names another (``postgresql://user@host/db`` lets several
machines share it: each runs the same command, and Optuna hands out the trials). Re-running resumes the
study until N trials are complete. A trial killed outright is noticed by its missing heartbeat and retried
in its own run folder; one stopped with Ctrl-C is retried at the next start. A configuration TPE proposes
again takes the earlier trial's result instead of training twice (it counts as a trial, shows once).
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.pipeline.sweep_runs import (
    CSV_FIELDS,
    Axis,
    Echo,
    SweepResult,
    as_overrides,
    check_out,
    finish,
    parse_grid,
    parse_ranges,
    slug,
    summary_line,
    train_one,
)
from tunesmith.pipeline.train import resolve_config

MAX_TRIALS = 1000
MAX_SEED = 2**63 - 1  # the TPE sampler's seed is derived from it (a digest), so any such number works
HEARTBEAT_SECONDS = 60  # a trial whose process stops beating for GRACE_SECONDS is failed and retried
GRACE_SECONDS = 180


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
    if not 0 <= seed <= MAX_SEED:
        raise TunesmithError(f"--seed {seed} is out of range: choose 0 to {MAX_SEED}")
    check_out(out)
    axes = parse_grid(grid or []) + parse_ranges(ranges or [])
    keys = [a.key for a in axes]
    if len(set(keys)) != len(keys):
        raise TunesmithError("a setting is given both as --grid and --range; choose one")
    if not axes:
        raise TunesmithError("--search needs something to search: --grid key=v1,v2,… or --range key=lo:hi")
    for corner in _corners(axes):  # every value checked before the first trial trains
        resolve_config(preset, base + as_overrides(corner), max_minutes)
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
            row, now = train_one(out / "runs" / run_name, preset, data, base + as_overrides(params), max_minutes, echo)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            raise
        counts["trained"] += now
        for key, value in row.items():
            trial.set_user_attr(key, value)
        echo(f"  {summary_line(row)}")
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
    return finish(out, preset, keys, rows, counts["trained"], len(rows) - counts["trained"], started)


def _corners(axes: list[Axis]) -> list[dict[str, Any]]:
    """Every grid value and both ends of every range, each with the other axes at their first value."""
    first = {a.key: a.values[0] if a.values is not None else a.kind(a.low) for a in axes}
    out = []
    for a in axes:
        for value in a.values if a.values is not None else [a.kind(a.low), a.kind(a.high)]:
            out.append({**first, a.key: value})
    return out
