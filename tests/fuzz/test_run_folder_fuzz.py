"""Damaged run folders (config.yaml, checkpoints, JSON beside them) for ``bundle.load``, the CLI and the studio.

The damage helpers and checks are shared with ``test_bundle_fuzz``; a pickle payload planted in a
checkpoint must never run (its marker file must never appear).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from hypothesis import given, note
from hypothesis import strategies as st

from tests.fuzz.conftest import bounded, fuzz_settings, sandbox
from tests.fuzz.test_bundle_fuzz import (
    HOSTILE_NUMBERS,
    YAML_TEXTS,
    Payload,
    check_catalog,
    check_loaded,
    make_special,
    plain,
    replace,
    special_file,
)
from tests.fuzz.test_files_fuzz import read_or_refuse
from tests.fuzz.test_json_fuzz import json_documents


@st.composite
def run_damage(draw: Any) -> list[tuple]:
    choices = []
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(["yaml", "yaml-value", "rep", "checkpoint", "checkpoint", "special"]))
        if kind == "yaml":
            choices.append(("yaml", draw(st.one_of(st.sampled_from(YAML_TEXTS), st.text(max_size=200)))))
        elif kind == "yaml-value":
            section = draw(st.sampled_from(["model", "data", "train"]))
            key = draw(st.sampled_from(["hidden", "layers", "seq_len", "batch_size", "name", "lr", "embed_dim", "x"]))
            value = draw(st.sampled_from([*(str(v) for v in HOSTILE_NUMBERS), ".nan", "-.inf", "'x'", "[1, 2]"]))
            choices.append(("yaml-value", section, key, value))
        elif kind == "rep":
            choices.append(("rep", draw(json_documents(big=False))))
        elif kind == "checkpoint":
            how = draw(
                st.sampled_from(
                    ["random", "truncate", "pickle", "zip-pickle", "nan", "shape", "not-tensors", "no-state", "list"]
                )
            )
            choices.append(("checkpoint", how, draw(st.binary(max_size=200)), draw(st.integers(0, 10**6))))
        else:
            name = draw(st.sampled_from(["config.yaml", "representation.json", "checkpoints/best.ckpt"]))
            choices.append(("special", name, draw(special_file())))
    return choices


def damage_run(folder: Path, choices: list[tuple], marker: Path) -> None:
    import yaml

    from tunesmith.training.checkpoint_io import add_checksum

    best = folder / "checkpoints" / "best.ckpt"
    for choice in choices:
        kind = choice[0]
        if kind == "yaml":
            replace(folder / "config.yaml", choice[1].replace("PWNED", str(marker)).encode("utf-8", "surrogatepass"))
        elif kind == "yaml-value":
            if not plain(folder / "config.yaml"):
                continue
            try:
                config = yaml.safe_load((folder / "config.yaml").read_text())
                text = yaml.safe_dump(config)
            except (OSError, yaml.YAMLError, ValueError):
                continue
            _, section, key, value = choice
            text += f"\n{section}:\n  {key}: {value}\n" if section not in (config or {}) else ""
            if isinstance(config, dict) and isinstance(config.get(section), dict):
                config[section][key] = "@@RAW@@"
                text = yaml.safe_dump(config).replace("'@@RAW@@'", value)
            (folder / "config.yaml").write_text(text)
        elif kind == "rep":
            replace(folder / "representation.json", choice[1])
        elif kind == "special":
            make_special(folder / choice[1], choice[2])
        elif kind == "checkpoint" and plain(best):
            how, junk, at = choice[1:]
            if how == "random":
                best.write_bytes(junk)
            elif how == "truncate":
                data = best.read_bytes()
                best.write_bytes(data[: at % len(data)])
            elif how == "pickle":  # a plain pickle, the pre-zip torch format
                import pickle

                best.write_bytes(pickle.dumps({"state_dict": Payload(marker)}))
            else:
                try:
                    ckpt = torch.load(best, weights_only=True)
                except Exception:  # noqa: BLE001 - damaged already by an earlier choice: nothing to build on
                    continue
                state = ckpt.get("state_dict") if isinstance(ckpt, dict) else None
                if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
                    continue
                if how == "zip-pickle":
                    ckpt["state_dict"]["payload"] = Payload(marker)
                elif how == "nan":
                    for k, v in ckpt["state_dict"].items():
                        ckpt["state_dict"][k] = torch.full_like(v, float("nan"))
                elif how == "shape":
                    k = sorted(ckpt["state_dict"])[at % len(ckpt["state_dict"])]
                    ckpt["state_dict"][k] = torch.zeros(3, 3)
                elif how == "not-tensors":
                    ckpt["state_dict"] = {k: 1.0 for k in ckpt["state_dict"]}
                elif how == "no-state":
                    ckpt.pop("state_dict")
                else:
                    ckpt = [1, 2, 3]
                if isinstance(ckpt, dict):
                    ckpt.pop("tunesmith_checksum", None)
                    if how != "zip-pickle":
                        add_checksum(ckpt)  # a careful attacker writes a matching digest
                torch.save(ckpt, best)


@fuzz_settings(16)
@given(choices=run_damage())
def test_damaged_run_folders_load_or_are_refused(choices: list[tuple], fuzz_run: Path, fuzz_root: Path) -> None:
    from tunesmith.bundle import load

    note(repr(choices)[:2000])
    with sandbox(fuzz_root / "runs") as box:
        folder = box / "run"
        shutil.copytree(fuzz_run, folder, ignore=shutil.ignore_patterns("plots", "samples", "tensorboard"))
        (folder / "checkpoints" / "last.ckpt").unlink()
        marker = box / "PWNED"
        with bounded("damaging a run"):
            damage_run(folder, choices, marker)
        loaded = read_or_refuse("load a damaged run", load, folder)
        assert not marker.exists(), "loading a run unpickled a stranger's object"
        check_loaded(loaded, folder, box)
        check_catalog(box)
        assert not marker.exists(), "the studio's catalog unpickled a stranger's object"
