"""``tunesmith sweep``: a 2×2 grid of debug runs, resumed; an Optuna study in SQLite; the same study in a
real PostgreSQL server shared by two "machines"."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.pipeline.test_neurons import _assert_real_picture
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.sweep import configurations, parse_grid, parse_ranges, run_grid, run_search, slug

TINY = ["train.max_epochs=1", "train.sample_every=0", "train.limit_train_batches=8", "train.limit_val_batches=3"]
GRID = ["model.hidden=16,24", "model.dropout=0,0.2"]


def _pg_bin() -> Path:
    """PostgreSQL's server programs: ``TUNESMITH_PG_BIN``, else Debian's newest /usr/lib/postgresql/N/bin."""
    if os.environ.get("TUNESMITH_PG_BIN"):
        return Path(os.environ["TUNESMITH_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int("0" + p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


def _status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_grid_values_are_read_with_the_config_types() -> None:
    axes = parse_grid(["model.hidden=50,75", "model.dropout=0,0.0,0.1", "train.optimizer=adam,rmsprop"])
    assert [a.values for a in axes] == [[50, 75], [0.0, 0.1], ["adam", "rmsprop"]]
    configs = configurations(axes)
    assert len(configs) == 8 and configs[1] == {"model.hidden": 50, "model.dropout": 0.0, "train.optimizer": "rmsprop"}
    assert slug(configs[3]) == "hidden-50_dropout-0.1_optimizer-rmsprop"
    assert slug({"model.dropout": 0.1, "train.lr": 1e-4}) == "dropout-0.1_lr-0.0001"
    with pytest.raises(TunesmithError, match="did you mean model.dropout"):
        parse_grid(["train.dropout=0,0.1"])
    with pytest.raises(TunesmithError, match="model.hidden needs a whole number, got 'big'"):
        parse_grid(["model.hidden=50,big"])
    with pytest.raises(TunesmithError, match="320 configurations; at most 256"):
        configurations(parse_grid(["model.hidden=" + ",".join(map(str, range(1, 65))), "model.layers=1,2,3,4,5"]))
    with pytest.raises(TunesmithError, match="give 1 to 64"):
        parse_grid(["model.hidden=" + ",".join(map(str, range(1, 66)))])
    assert parse_ranges(["train.lr=0.0001:0.01:log"])[0].log
    with pytest.raises(TunesmithError, match="number setting"):
        parse_ranges(["train.optimizer=a:b"])


def test_grid_sweep_trains_each_configuration_once_and_resumes(small_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    lines: list[str] = []
    result = run_grid("abc-lstm-debug", small_data, out, grid=GRID, overrides=TINY, echo=lines.append)
    names = ["hidden-16_dropout-0", "hidden-16_dropout-0.2", "hidden-24_dropout-0", "hidden-24_dropout-0.2"]
    assert sorted(p.name for p in (out / "runs").iterdir()) == names
    assert result.trained == 4 and result.reused == 0
    rows = _csv(out / "sweep.csv")
    assert sorted(r["name"] for r in rows) == names
    for row in rows:
        run = out / "runs" / row["name"]
        assert float(row["best_val_loss"]) == _status(run)["best_val_loss"]
        metrics = _csv(run / "metrics.csv")
        assert float(row["val_acc"]) == float(metrics[-1]["val_acc"])  # one validation: the best one
        assert float(row["train_loss"]) == float(metrics[-1]["train_loss"])
        assert row["steps"] == "8" and row["state"] == "finished"
        assert row["model.hidden"] in ("16", "24") and row["name"].startswith(f"hidden-{row['model.hidden']}_")
    losses = [float(r["best_val_loss"]) for r in rows]
    assert losses == sorted(losses)  # best first
    table = [line for line in (out / "sweep.md").read_text().splitlines() if line.startswith("| ")]
    assert len(table) == 5 and table[0].startswith("| rank | hidden | dropout | val loss | val acc |")
    assert table[1].startswith(f"| 1 | {rows[0]['model.hidden']} | ") and f"| {losses[0]:.4f} |" in table[1]
    _assert_real_picture(out / "sweep.png", (300, 900))

    stamps = {n: (out / "runs" / n / "checkpoints" / "last.ckpt").stat().st_mtime_ns for n in names}
    again = run_grid("abc-lstm-debug", small_data, out, grid=GRID, overrides=TINY, echo=lines.append)
    assert again.trained == 0 and again.reused == 4  # and the checkpoints below are untouched
    assert _csv(out / "sweep.csv") == rows
    assert stamps == {n: (out / "runs" / n / "checkpoints" / "last.ckpt").stat().st_mtime_ns for n in names}

    # a run killed before it could write status.json is resumed from its checkpoint, the others are read
    (out / "runs" / names[1] / "status.json").unlink()
    resumed: list[str] = []
    third = run_grid("abc-lstm-debug", small_data, out, grid=GRID, overrides=TINY, echo=resumed.append)
    assert third.trained == 1 and "  resumed from step 8" in resumed
    assert _csv(out / "sweep.csv") == rows

    # a changed recipe is not silently mixed with the old runs
    with pytest.raises(TunesmithError, match="different settings"):
        run_grid("abc-lstm-debug", small_data, out, grid=GRID, overrides=[*TINY, "train.lr=0.01"], echo=lines.append)


def test_unknown_grid_key_is_one_line_and_exit_2(small_data: Path, tmp_path: Path) -> None:
    proc = run_cli(
        "sweep", "--preset", "abc-lstm-debug", "--data", small_data, "--out", tmp_path / "s",
        "--grid", "model.hidden=50,75", "--grid", "train.dropout=0,0.1",
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --grid train.dropout: unknown setting; did you mean model.dropout?"
    ]
    assert not (tmp_path / "s").exists()


def test_a_strangers_status_json_is_read_as_untrusted(tmp_path: Path) -> None:
    """A copied or edited run folder: status.json that is not an object, or holds the wrong types, is read
    as "not finished" with no loss, never a crash in the table."""
    from tunesmith.pipeline.sweep_runs import _is_done, read_status, summary_line

    run = tmp_path / "run"
    run.mkdir()
    for text, expected in [
        ("[1, 2]", {}),
        ('{"state": "finished", "best_val_loss": "low"}', {"state": "finished"}),
        ('{"state": 3, "best_val_loss": NaN}', {}),
        ('{"state": "finished", "best_val_loss": 1.25}', {"state": "finished", "best_val_loss": 1.25}),
    ]:
        (run / "status.json").write_text(text)
        assert read_status(run) == expected, text
    (run / "status.json").write_text("[1, 2]")
    assert not _is_done(run)
    assert summary_line({"best_val_loss": None, "state": "interrupted"}) == "interrupted"


def test_sweep_refuses_a_file_and_a_bad_seed_before_training(small_data: Path, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    with pytest.raises(TunesmithError, match="is a file; give a folder for the sweep"):
        run_grid("abc-lstm-debug", small_data, afile, grid=GRID, overrides=TINY)
    with pytest.raises(TunesmithError, match="is a file; give a folder for the sweep"):
        run_search("abc-lstm-debug", small_data, afile, trials=2, grid=GRID, overrides=TINY)
    with pytest.raises(TunesmithError, match="--seed -1 is out of range"):
        run_search("abc-lstm-debug", small_data, tmp_path / "s", trials=2, grid=GRID, overrides=TINY, seed=-1)
    assert not (tmp_path / "s").exists()


def _check_study(url: str, name: str, out: Path, trials: int) -> None:
    import optuna

    study = optuna.load_study(study_name=name, storage=url)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == trials
    for t in complete:
        run = out / "runs" / t.user_attrs["run"]
        if run.exists():  # trials of the other "machine" ran elsewhere
            assert t.value == _status(run)["best_val_loss"]
            assert t.params["model.hidden"] == int(_read_hidden(run))


def _read_hidden(run: Path) -> str:
    import yaml

    return yaml.safe_load((run / "config.yaml").read_text())["model"]["hidden"]


def test_search_in_sqlite_reports_best_validation_losses_and_resumes(small_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "search"
    search = dict(trials=2, grid=["model.hidden=16,24"], ranges=["train.lr=0.001:0.01:log"], overrides=TINY)
    result = run_search("abc-lstm-debug", small_data, out, **search, echo=lambda _: None)
    assert (out / "study.db").is_file() and result.trained >= 1
    _check_study(f"sqlite:///{out / 'study.db'}", "search", out, 2)
    rows = _csv(out / "sweep.csv")
    assert rows and all(r["train.lr"] and r["trial"] for r in rows)
    again = run_search("abc-lstm-debug", small_data, out, **search, echo=lambda _: None)
    assert again.trained == 0 and _csv(out / "sweep.csv") == rows


def test_search_retries_a_trial_stopped_with_ctrl_c(
    small_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import optuna

    import tunesmith.pipeline.sweep_runs as sweep  # where one run is trained

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    out, search = tmp_path / "search", dict(trials=1, grid=["model.hidden=16,24"], overrides=TINY)
    monkeypatch.setattr(sweep, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_search("abc-lstm-debug", small_data, out, **search, echo=lambda _: None)
    monkeypatch.undo()
    run_search("abc-lstm-debug", small_data, out, **search, echo=lambda _: None)
    first, retry = optuna.load_study(study_name="search", storage=f"sqlite:///{out / 'study.db'}").trials
    assert first.state == optuna.trial.TrialState.FAIL and first.user_attrs["interrupted"]
    assert retry.state == optuna.trial.TrialState.COMPLETE and retry.user_attrs["retry_of"] == 0
    assert retry.params == first.params and retry.user_attrs["run"] == first.user_attrs["run"] == "trial-000"
    assert retry.value == _status(out / "runs" / "trial-000")["best_val_loss"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on a Unix socket in a temporary folder, stopped at teardown.

    PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` system user."""
    pg_bin = _pg_bin()
    if not (pg_bin / "initdb").is_file() or not (pg_bin / "pg_ctl").is_file():
        if os.environ.get("TUNESMITH_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is missing from {pg_bin} although TUNESMITH_REQUIRE_POSTGRES is set")
        pytest.skip("needs PostgreSQL's server programs: apt-get install postgresql")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="tunesmith-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port, data = _free_port(), folder / "data"
    subprocess.run(
        [*as_user, str(pg_bin / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-p {port} -k {folder} -c listen_addresses='' -c fsync=off"
    subprocess.run(
        [*as_user, str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-o", options, "-w", "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@/postgres?host={folder}&port={port}"
    finally:
        subprocess.run(
            [*as_user, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)


def test_search_shared_through_postgresql(postgres: str, small_data: Path, tmp_path: Path) -> None:
    """Two "machines" (two sweep folders) work on one study: the second runs only what is left."""
    search = dict(grid=["model.hidden=16,24"], ranges=["train.lr=0.001:0.01:log"], overrides=TINY, storage=postgres)
    first, second = tmp_path / "machine-a", tmp_path / "machine-b"
    run_search("abc-lstm-debug", small_data, first, trials=2, study_name="shared", **search, echo=lambda _: None)
    b = run_search("abc-lstm-debug", small_data, second, trials=3, study_name="shared", **search, echo=lambda _: None)
    assert b.trained <= 1 and len(list((second / "runs").iterdir())) == b.trained
    _check_study(postgres.replace("postgresql://", "postgresql+psycopg2://"), "shared", first, 3)
    _check_study(postgres.replace("postgresql://", "postgresql+psycopg2://"), "shared", second, 3)
    assert len(_csv(second / "sweep.csv")) == len({r["name"] for r in _csv(second / "sweep.csv")})
    assert not (first / "study.db").exists()
    search["storage"] = postgres.replace("/postgres?", "/no_such_database?")
    with pytest.raises(TunesmithError, match='cannot open the study in .*database "no_such_database" does not exist'):
        run_search("abc-lstm-debug", small_data, tmp_path / "c", trials=1, **search, echo=lambda _: None)
