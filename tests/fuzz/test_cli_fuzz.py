"""Hostile values for every option of every verb: one ``error:`` line and exit 2, or a clean run; never a traceback.

The verbs and their options are read from the Typer app itself (the click command behind
``tunesmith.cli.app``), so a new verb or option is fuzzed without touching this file. Each example
starts from a cheap, known-good command line for the verb (a tiny corpus, the tests' debug run, a
sandbox folder for every output) and replaces one or two of its parameters with a hostile value of
the parameter's type: negative, zero, huge and non-numeric numbers, NaN and infinities, empty strings,
NUL bytes, very long strings, paths under /proc and /dev, FIFOs, symlink loops, files where folders
belong and the other way round, and ``key=value`` settings with hostile keys and values. Sometimes a
required parameter is left out, or a stray token is added.

Invocations run in-process through Typer's ``CliRunner`` (a fresh interpreter per example would cost
seconds of imports), inside the hang and memory guards of ``conftest.bounded``. Real work that has
no cheap bound is stopped where it would start, after every value has been checked: Lightning's
``Trainer.fit`` (train, sweep, demo), ``uvicorn.run`` (serve) and evaluate's likelihood pass; the demo
prepares only the first 60 folk tunes. Reaching such a stop counts as "the values were accepted".
"""

from __future__ import annotations

import functools
import shlex
import typing
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pytest
import typer.main
from hypothesis import event, given, note
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.fuzz.conftest import ReachedWork, bounded, fuzz_settings, path_values, sandbox, text_values
from tunesmith.cli import app

COMMAND = typer.main.get_command(app)
VERBS = sorted(COMMAND.commands)
# Examples per verb in the ci profile: fewer where an accepted value costs a real (small) run.
# serve looks host names up, and a resolver with no network answers in seconds, not milliseconds.
EXAMPLES = {"presets": 4, "serve": 10, "plot": 10, "evaluate": 12, "sweep": 10, "demo": 10, "train": 12, "sample": 16}
DEFAULT_EXAMPLES = 20
# Half the values come from these: the classic mistakes, so that each parameter meets them often.
CLASSIC = {
    "int": ["-1", "0", "9" * 30, "abc"],
    "float": ["nan", "inf", "-1", "0"],
    "path": ["\x00", "", "/proc/self/status/x", "a_file.txt/x", "a_fifo.mid"],
    "str": ["", "\x00", "x" * 100_000, "\udcff"],
}

INT_VALUES = [
    "-1",
    "0",
    "-0",
    "-2147483649",
    "2147483648",
    "4294967296",
    "9223372036854775808",
    "-9223372036854775809",
    "1" + "0" * 30,
    "9" * 5000,
    "1.5",
    "1e3",
    "abc",
    "",
    "\x00",
    " 7",
    "0x10",
    "٣",
    "nan",
    "inf",
    "+5",
    "1_000",
]
FLOAT_VALUES = [
    "nan",
    "NaN",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "1e308",
    "1e309",
    "-1e309",
    "-0.0",
    "0",
    "-1",
    "5e-324",
    "1e-300",
    "abc",
    "",
    "\x00",
    "0x1p3",
    "1,5",
    "1e99999",
    "9" * 5000,
]
SETTING_VALUES = [
    "50,100",
    "1,2,3",
    ",",
    "1:2",
    "1:2:log",
    "2:1",
    "nan:inf",
    "0:0:log",
    "-1:1:log",
    "1e9",
    "1000000000",
    "[1, 2]",
    "{a: 1}",
    "null",
    "~",
    "true",
    "'quoted'",
    "&a [*a, *a, *a]",
    "!!python/object/apply:os.system ['touch PWNED']",
    "*undefined",
]
EXTRA_TOKENS = ["--no-such-option", "stray", "--help", "-h", "=", "--out=", "--num", "\x00"]


def kind(param: Any) -> str:
    """``flag``, ``int``, ``float``, ``path`` or ``str``: from click's type where there is one, else the annotation."""
    if getattr(param, "is_flag", False):
        return "flag"
    click_name = getattr(getattr(param, "type", None), "name", None)
    if click_name:
        return {"integer": "int", "float": "float", "boolean": "flag", "path": "path"}.get(click_name, "str")
    annotation = param.type_descriptor.annotation
    for _ in range(3):  # list[Path], Path | None, list[Path] | None
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) is None or not args:
            break
        annotation = args[0]
    if annotation is bool:
        return "flag"
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "path"
    if annotation in (int, float):
        return annotation.__name__
    return "str"


def is_argument(param: Any) -> bool:
    return getattr(param, "param_type_name", "option") == "argument"


@functools.cache
def setting_keys() -> list[str]:
    """Every dotted setting of a preset, and keys that are wrong in every way a key can be."""
    from tunesmith.config import load_preset

    def flat(d: dict[str, Any], prefix: str = "") -> list[str]:
        keys: list[str] = []
        for k, v in d.items():
            keys += flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
        return keys

    bad = ["", "model", "model.", ".hidden", "model.hidden.x", "__class__", "model.__dict__", "x\x00y"]
    return [*flat(load_preset("abc-lstm-debug").to_dict()), *bad, "train." + "x" * 500, "data.seq_len "]


def values_for(param: Any, box: Path) -> st.SearchStrategy[list[str]]:
    """Hostile tokens for one parameter: the option name(s) and value(s), or a positional value."""
    k = kind(param)
    if k == "flag":
        forms = [[param.opts[0]], [param.opts[0], param.opts[0]]]
        forms += [[s] for s in param.secondary_opts] + [[param.opts[0], s] for s in param.secondary_opts]
        return st.sampled_from(forms)
    if k == "int":
        one = st.one_of(st.sampled_from(INT_VALUES), st.integers().map(str))
    elif k == "float":
        one = st.one_of(st.sampled_from(FLOAT_VALUES), st.floats().map(repr))
    elif k == "path":
        one = st.one_of(st.sampled_from(path_values(box)), text_values)
    elif "=" in (getattr(param, "help", None) or ""):  # --set key=value, --grid key=a,b, --range key=lo:hi
        pair = st.builds(
            lambda key, value: f"{key}={value}",
            st.sampled_from(setting_keys()),
            st.one_of(st.sampled_from(SETTING_VALUES + INT_VALUES + FLOAT_VALUES), text_values),
        )
        one = st.one_of(pair, text_values)
    else:
        one = st.one_of(text_values, st.sampled_from(path_values(box)))
    one = st.one_of(st.sampled_from(CLASSIC.get(k, CLASSIC["str"])), one)
    if is_argument(param):
        return one.map(lambda v: [v])
    count = st.integers(1, 3) if getattr(param, "multiple", False) else st.just(1)
    opt = param.opts[0]
    return count.flatmap(lambda n: st.lists(one, min_size=n, max_size=n)).map(
        lambda vs: [t for v in vs for t in (opt, v)]
    )


@pytest.fixture(scope="module")
def cli_context(fuzz_run: Path, small_data: Path, good_abc: Path, fuzz_root: Path) -> dict[str, Path]:
    import soundfile

    wav = fuzz_root / "tone.wav"
    if not wav.exists():
        t = np.arange(16_000) / 16_000
        soundfile.write(wav, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16_000)
    tune = good_abc / "a_book1.abc"
    return {"run": fuzz_run, "data": small_data, "abc": good_abc, "tune": tune, "wav": wav, "root": fuzz_root}


def base_values(verb: str, ctx: dict[str, Path], box: Path) -> dict[str, list[str]]:
    """A cheap command line that works (or fails fast for a known reason), by parameter name: the values only."""
    (box / "models").mkdir()
    run, data = str(ctx["run"]), str(ctx["data"])
    table: dict[str, dict[str, Any]] = {
        "prepare": {"input": ctx["abc"], "out": box / "prepared"},
        "train": {"preset": "abc-lstm-debug", "data": data, "run": box / "run"},
        "sample": {"model": run, "num": 1, "max_length": 24, "batch_size": 1, "out": box / "samples"},
        "export": {"run": run, "out": box / "bundle"},
        "render": {"path": ctx["tune"], "to": "mid", "out": box / "rendered"},
        "demo": {"out": box / "demo", "minutes": 0.05, "num": 1, "preset": "abc-lstm-debug"},
        "serve": {"port": 18765, "store": box / "store", "models": box / "models"},
        "evaluate": {
            "model": run,
            "num": 2,
            "temperature": 1.0,
            "max_length": 24,
            "batch_size": 2,
            "max_batches": 1,
            "out": box / "report",
        },
        "plot": {"run": run, "num": 1, "tunes": 1, "max_length": 24},
        "reconstruct": {"model": run, "audio": ctx["wav"], "out": box / "reconstruction"},
        "sweep": {"preset": "abc-lstm-debug", "data": data, "out": box / "sweep"},
    }
    return {name: [str(value)] for name, value in table.get(verb, {}).items()}


def command_line(verb: str, command: Any, values: dict[str, list[str]], extra: list[str]) -> list[str]:
    """``verb OPTIONS [--] ARGUMENTS`` from per-parameter tokens (options already carry their names)."""
    options: list[str] = []
    positionals: list[str] = []
    for param in command.params:
        tokens = values.get(param.name)
        if tokens is None:
            continue
        if is_argument(param):
            positionals += tokens
        else:
            options += tokens
    separator = ["--"] if any(p.startswith("-") for p in positionals) else []
    return [verb, *options, *extra, *separator, *positionals]


def check_cli(result: Any, argv: list[str], box: Path) -> None:
    """The contract of issue 16 for one invocation."""
    shown = " ".join(shlex.quote(a) if a.isprintable() else f"$'{repr(a)[1:-1]}'" for a in argv)
    shown = f"tunesmith {shown[:800]}{' …' if len(shown) > 800 else ''}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(*result.exc_info))[-4000:]
        raise AssertionError(f"{shown}\nraised {type(result.exception).__name__} (a traceback):\n{trace}")
    stderr, stdout = result.stderr, result.stdout
    assert "Traceback" not in stderr and "Traceback" not in stdout, f"{shown}\nprinted a traceback:\n{stderr[-3000:]}"
    assert result.exit_code in (0, 2), f"{shown}\nexit {result.exit_code}; stderr:\n{stderr[-2000:]}"
    if result.exit_code == 2:
        lines = stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), f"{shown}\nstderr is not one error line:\n{stderr!r}"
    assert "out of memory" not in stderr, f"{shown}\na hostile value was not refused before allocating: {stderr}"
    assert not (box / "PWNED").exists(), f"{shown}\nran code from a YAML tag"


@pytest.fixture(scope="module")
def stops() -> Any:
    """Stop training, serving and evaluate's likelihood pass where they would start; the demo prepares 60 tunes."""
    import lightning.pytorch as pl
    import uvicorn

    import tunesmith.pipeline.demo
    import tunesmith.pipeline.evaluate

    def stop(what: str) -> Any:
        def raiser(*args: Any, **kwargs: Any) -> None:
            raise ReachedWork(what)

        return raiser

    mp = pytest.MonkeyPatch()
    mp.setattr(pl.Trainer, "fit", stop("training"))
    mp.setattr(uvicorn, "run", stop("serving"))
    if hasattr(tunesmith.pipeline.evaluate, "likelihood"):
        mp.setattr(tunesmith.pipeline.evaluate, "likelihood", stop("evaluation"))
    if hasattr(tunesmith.pipeline.demo, "prepare"):
        mp.setattr(tunesmith.pipeline.demo, "prepare", functools.partial(tunesmith.pipeline.demo.prepare, max_tunes=60))
    yield
    mp.undo()


def invoke(argv: list[str]) -> Any:
    """Run ``tunesmith ARGV`` in this process; None when a stop was reached (the values were all accepted)."""
    try:
        return CliRunner().invoke(app, argv)
    except ReachedWork:
        return None


def given_data(test: Any) -> Any:
    return given(data=st.data())(test)


@pytest.mark.parametrize("verb", VERBS)
def test_hostile_option_values_give_one_error_line(verb: str, cli_context: dict[str, Path], stops: Any) -> None:
    command = COMMAND.commands[verb]
    params = list(command.params)

    @fuzz_settings(EXAMPLES.get(verb, DEFAULT_EXAMPLES))
    @given_data
    def example(data: st.DataObject) -> None:
        with sandbox(cli_context["root"] / "cli") as box:
            values = base_values(verb, cli_context, box)
            values = {
                name: tokens if is_argument(p) else [p.opts[0], *tokens]
                for p in params
                for name, tokens in [(p.name, values.get(p.name))]
                if tokens is not None
            }
            if params:
                pick = st.lists(st.sampled_from(params), min_size=1, max_size=2, unique_by=lambda p: p.name)
                chosen = data.draw(pick, label="fuzzed")
                for param in chosen:
                    values[param.name] = data.draw(values_for(param, box), label=param.name)
                required = [p.name for p in params if p.required and p.name in values]
                if required and data.draw(st.sampled_from([False] * 11 + [True]), label="drop a required one?"):
                    values.pop(data.draw(st.sampled_from(required), label="dropped"))
            extra = data.draw(st.sampled_from([[]] * 11 + [[t] for t in EXTRA_TOKENS]), label="extra")
            argv = command_line(verb, command, values, extra)
            note(f"argv: {argv!r}"[:2000])
            with bounded(f"tunesmith {verb}"):
                result = invoke(argv)
            event("accepted: reached the work" if result is None else f"exit {result.exit_code}")
            if result is not None:
                check_cli(result, argv, box)

    example()


@fuzz_settings(20)
@given_data
def test_hostile_command_lines_give_one_error_line(data: st.DataObject, fuzz_root: Path) -> None:
    """Whole command lines of stray tokens: no verb, unknown verbs, options before the verb, bare values."""
    tokens = st.one_of(st.sampled_from([*VERBS, "--help", "--version", "-x", "--", "help", "Train"]), text_values)
    argv = data.draw(st.lists(tokens, max_size=4))
    if argv[:1] and argv[0] in VERBS:
        argv = ["--no-such-option", *argv]  # a verb first would start it with its defaults (demo: minutes of work)
    with sandbox(fuzz_root / "argv") as box, bounded("tunesmith with stray tokens"):
        result = invoke(argv)
        if result is not None:
            check_cli(result, argv, box)
