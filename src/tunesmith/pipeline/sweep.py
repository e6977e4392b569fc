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

The two engines live in :mod:`~tunesmith.pipeline.sweep_grid` and :mod:`~tunesmith.pipeline.sweep_optuna`;
what they share (settings, one run, the table) in :mod:`~tunesmith.pipeline.sweep_runs`. This module names
the public entry points in one place, for the ``sweep`` verb.
"""

from tunesmith.pipeline.sweep_grid import MAX_CONFIGS, configurations, run_grid
from tunesmith.pipeline.sweep_optuna import MAX_TRIALS, open_study, run_search
from tunesmith.pipeline.sweep_runs import (
    Axis,
    SweepResult,
    parse_grid,
    parse_ranges,
    slug,
    summarize,
    table,
    write_csv,
    write_markdown,
)

__all__ = [
    "MAX_CONFIGS",
    "MAX_TRIALS",
    "Axis",
    "SweepResult",
    "configurations",
    "open_study",
    "parse_grid",
    "parse_ranges",
    "run_grid",
    "run_search",
    "slug",
    "summarize",
    "table",
    "write_csv",
    "write_markdown",
]
