"""Hostile bundles and run folders: ``tunesmith.bundle.load`` gives a model or a TunesmithError, nothing else.

Each example starts from a valid bundle (or run folder) made from the tests' debug run and damages it
in one to three ways: a setting of ``config.json`` or ``config.yaml`` set to a hostile value (huge
hidden sizes, NaN, wrong types, nested documents), a whole file replaced by a hostile JSON or YAML
document (alias bombs, Python tags), the vocabulary of ``representation.json`` changed, the
safetensors file truncated, its header rewritten (wrong shapes, dtypes and offsets, a length that
claims exabytes) or its tensors replaced (wrong shapes, NaN weights), a checkpoint replaced by
random bytes, a truncated copy or a pickle that would run code, and any file turned into a folder or
a link to /dev/zero, /proc/self/mem, a FIFO or itself.

Loading must be bounded in time and memory, must never unpickle (a marker file written by the
pickle's payload must not appear), and a model that does load must sample through the CLI under the
usual contract (one ``error:`` line or success). The studio's catalog must list the damaged model
without raising.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import shutil
import struct
from pathlib import Path
from typing import Any

import torch
from hypothesis import given, note
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.fuzz.conftest import bounded, fuzz_settings, json_values, sandbox
from tests.fuzz.test_cli_fuzz import check_cli
from tests.fuzz.test_files_fuzz import REFUSED, read_or_refuse
from tests.fuzz.test_json_fuzz import json_documents
from tunesmith.errors import TunesmithError

HOSTILE_NUMBERS = [0, -1, 1, 10**6, 10**9, 2**31, 2**63, 10**30, 0.5, 1e308, -1e308, True, None, "32", [], {}]
RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "9" * 5000]
YAML_TEXTS = [
    "",
    "~",
    "[]",
    "a: &a [*a, *a]",
    "a: &a ['x','x','x','x','x','x','x','x','x']\n"
    + "".join(f"{b}: &{b} [{','.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefg", "bcdefgh", strict=True)),  # laughs
    "!!python/object/apply:builtins.open ['PWNED', 'w']",
    "model: !!python/object/apply:builtins.open ['PWNED', 'w']",
    "preset: !!binary aGVsbG8=",
    "[" * 3000,
    "a:\n" + "  " * 3000 + "b: 1",
    "\t- tab",
    "model: {hidden: 1000000000, layers: 1000}",
    "data: {seq_len: -1}",
    "model: {name: '\\x00'}",
    "%YAML 9.9\n---\na: 1",
    "a: 1\n---\nb: 2",
    "model: {hidden: .nan}",
    "model: {hidden: .inf}",
    "train: {lr: 1e400}",
]


class Payload:
    """Unpickling this writes a marker file: the proof that a loader unpickled a stranger's object."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (builtins.open, (self.marker, "w"))


def flat_keys(value: Any, prefix: tuple = ()) -> list[tuple]:
    keys = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            keys += flat_keys(v, (*prefix, k))
    return keys


def set_at(document: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        document = document[key]
    document[path[-1]] = value


def drop_at(document: Any, path: tuple) -> None:
    for key in path[:-1]:
        document = document[key]
    document.pop(path[-1], None)


def json_text(document: Any, raw: tuple[tuple, str] | None = None) -> bytes:
    """``document`` as JSON, with one value written as raw text (NaN, 1e400) when ``raw`` is given."""
    if raw is None:
        return json.dumps(document).encode("utf-8", "surrogatepass")
    path, text = raw
    set_at(document, path, "@@RAW@@")
    return json.dumps(document).replace('"@@RAW@@"', text).encode("utf-8", "surrogatepass")


def safetensors_header(data: bytes) -> tuple[dict[str, Any], bytes]:
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length]), data[8 + length :]


def with_header(header: dict[str, Any], rest: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + rest


@st.composite
def special_file(draw: Any) -> str:
    return draw(st.sampled_from(["/dev/zero", "/proc/self/mem", "/proc/self/status", "fifo", "loop", "folder", "gone"]))


def make_special(path: Path, how: str) -> None:
    """Turn ``path`` into a link to a special file, a FIFO, a loop of links, a folder, or nothing."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    if how == "fifo":
        os.mkfifo(path)
    elif how == "loop":
        path.symlink_to(path)
    elif how == "folder":
        path.mkdir()
    elif how != "gone":
        path.symlink_to(how)


@st.composite
def bundle_damage(draw: Any, config: dict[str, Any], rep: dict[str, Any], tensors: list[str]) -> list[tuple]:
    """One to three ways to damage a bundle, as plain data (shown by Hypothesis when an example fails)."""
    config_keys = flat_keys(config)
    choices = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["config", "config", "config-raw", "drop", "rep", "file", "weights", "tensor", "special", "special"]
            )
        )
        if kind == "config":
            value = draw(st.one_of(st.sampled_from(HOSTILE_NUMBERS), json_values), label="value")
            choices.append(("config", draw(st.sampled_from(config_keys)), value))
        elif kind == "config-raw":
            choices.append(("config-raw", draw(st.sampled_from(config_keys)), draw(st.sampled_from(RAW_NUMBERS))))
        elif kind == "drop":
            choices.append(("drop", draw(st.sampled_from(config_keys))))
        elif kind == "rep":
            key = draw(st.sampled_from(sorted(rep)))
            value = draw(
                st.one_of(
                    json_values,
                    st.sampled_from([["a", "a"], [1, 2], ["ab", "c"], [""], ["x"] * 100_000, "abc-char", None]),
                )
            )
            choices.append(("rep", key, value))
        elif kind == "file":
            name = draw(st.sampled_from(["config.json", "representation.json", "versions.json"]))
            choices.append(("file", name, draw(json_documents(big=False))))
        elif kind == "weights":
            how = draw(st.sampled_from(["truncate", "flip", "length", "shape", "dtype", "offsets", "metadata"]))
            choices.append(("weights", how, draw(st.integers(0, 10_000)), draw(st.sampled_from(tensors))))
        elif kind == "tensor":
            how = draw(st.sampled_from(["nan", "inf", "huge", "shape", "drop", "extra", "dtype", "scalar"]))
            choices.append(("tensor", how, draw(st.sampled_from(tensors))))
        else:
            name = draw(st.sampled_from(["config.json", "representation.json", "model.safetensors"]))
            choices.append(("special", name, draw(special_file())))
    return choices


def plain(path: Path) -> bool:
    """A small regular file, not a link: safe for the test itself to read while it damages a folder."""
    return path.is_file() and not path.is_symlink() and path.stat().st_size < 4 << 20


def replace(path: Path, data: bytes) -> None:
    """``data`` as a new regular file at ``path``: never written through a link (to /proc/self/mem) or into a FIFO."""
    make_special(path, "gone")
    path.write_bytes(data)


def damage_bundle(folder: Path, choices: list[tuple]) -> None:
    from safetensors.torch import load_file, save_file

    for choice in choices:
        kind = choice[0]
        config_path, rep_path = folder / "config.json", folder / "representation.json"
        weights = folder / "model.safetensors"
        config = rep = None  # damaged already (a link to /dev/zero, say): later damage goes to what is readable
        with contextlib.suppress(OSError, ValueError):
            if plain(config_path) and plain(rep_path):
                config = json.loads(config_path.read_text())
                rep = json.loads(rep_path.read_text())
        if kind in ("config", "config-raw", "drop") and isinstance(config, dict):
            try:
                if kind == "config":
                    set_at(config, choice[1], choice[2])
                    config_path.write_bytes(json_text(config))
                elif kind == "config-raw":
                    config_path.write_bytes(json_text(config, (choice[1], choice[2])))
                else:
                    drop_at(config, choice[1])
                    config_path.write_bytes(json_text(config))
            except (KeyError, TypeError):
                pass  # the path is gone after an earlier change
        elif kind == "rep" and isinstance(rep, dict):
            rep[choice[1]] = choice[2]
            rep_path.write_bytes(json_text(rep))
        elif kind == "file":
            replace(folder / choice[1], choice[2])
        elif kind == "special":
            make_special(folder / choice[1], choice[2])
        elif kind == "weights" and plain(weights):
            data = weights.read_bytes()
            how, at, name = choice[1:]
            try:
                header, rest = safetensors_header(data)
            except (ValueError, struct.error):
                continue
            if how == "truncate":
                data = data[: at % max(1, len(data))]
            elif how == "flip":
                data = data[: at % len(data)] + bytes([data[at % len(data)] ^ 0xFF]) + data[at % len(data) + 1 :]
            elif how == "length":
                data = struct.pack("<Q", [2**63, 2**64 - 1, len(data), 0, 7][at % 5]) + data[8:]
            elif name in header:
                entry = header[name]
                if how == "shape":
                    entry["shape"] = [[10**12], [], [0], [-1], [2**62, 2**62], [*entry["shape"], 1]][at % 6]
                elif how == "dtype":
                    entry["dtype"] = ["F64", "XX", "I8", "BOOL", "", "F8_E4M3"][at % 6]
                elif how == "offsets":
                    entry["data_offsets"] = [[0, 2**62], [10, 5], [0, 0], [-1, 4], [0, len(rest) + 1]][at % 5]
                else:
                    header["__metadata__"] = [{"a": 1}, "x", {"format": "pickle"}, None][at % 4]
                data = with_header(header, rest)
            weights.write_bytes(data)
        elif kind == "tensor" and plain(weights):
            try:
                state = load_file(weights)
            except Exception:  # noqa: BLE001 - damaged already; this damage has nothing to act on
                continue
            how, name = choice[1:]
            if name in state:
                t = state[name]
                if how == "nan":
                    state[name] = torch.full_like(t, float("nan"))
                elif how == "inf":
                    state[name] = torch.full_like(t, float("inf"))
                elif how == "huge":
                    state[name] = torch.full_like(t, 3e38)
                elif how == "shape":
                    state[name] = torch.zeros(*[d + 1 for d in t.shape]) if t.dim() else torch.zeros(2)
                elif how == "drop":
                    state.pop(name)
                elif how == "extra":
                    state["extra.weight"] = torch.zeros(3)
                elif how == "dtype":
                    state[name] = t.to(torch.float64)
                else:
                    state[name] = torch.tensor(1.0)
            save_file(state, weights)


def check_loaded(loaded: Any, path: Path, box: Path) -> None:
    """A model that loads must also sample through the CLI: one error line or tunes, never a traceback."""
    from tunesmith.cli import app

    if loaded is REFUSED:
        return
    argv = ["sample", str(path), "--num", "1", "--max-length", "24", "--batch-size", "1", "--out", str(box / "s")]
    with bounded("sample from a damaged model"):
        result = CliRunner().invoke(app, argv)
    check_cli(result, argv, box)


def check_catalog(box: Path) -> None:
    """The studio's catalog lists the damaged model (as unusable, if need be) and refuses to load it cleanly."""
    from tunesmith.web.catalog import ModelCatalog

    with bounded("the studio's catalog"):
        catalog = ModelCatalog([box], include_defaults=False)
        for entry in catalog.entries():
            with contextlib.suppress(TunesmithError):
                catalog.load(entry.id)


def bundle_parts(fuzz_bundle: Path) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    from safetensors import safe_open

    with safe_open(fuzz_bundle / "model.safetensors", framework="pt") as f:
        tensors = sorted(f.keys())
    config = json.loads((fuzz_bundle / "config.json").read_text())
    rep = json.loads((fuzz_bundle / "representation.json").read_text())
    return config, rep, tensors


@fuzz_settings(30)
@given(data=st.data())
def test_damaged_bundles_load_or_are_refused(data: st.DataObject, fuzz_bundle: Path, fuzz_root: Path) -> None:
    from tunesmith.bundle import load

    config, rep, tensors = bundle_parts(fuzz_bundle)
    choices = data.draw(bundle_damage(config, rep, tensors), label="damage")
    note(repr(choices)[:2000])
    with sandbox(fuzz_root / "bundles") as box:
        folder = box / "bundle"
        shutil.copytree(fuzz_bundle, folder)
        with bounded("damaging a bundle"):
            damage_bundle(folder, choices)
        loaded = read_or_refuse("load a damaged bundle", load, folder)
        check_loaded(loaded, folder, box)
        check_catalog(box)
