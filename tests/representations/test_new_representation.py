"""A new representation costs one file: one registered only inside this test, from a throwaway module,
goes through prepare → train → sample → export → sample from the bundle with nothing else changed."""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tunesmith.errors import TunesmithError
from tunesmith.representations import REGISTRY

NAME = "abc-bytes"

# The whole of the new representation: ABC text as UTF-8 bytes. Not a subclass of AbcChar: it says what it
# is (tokens of the ABC medium) and implements the interface, and the registry and the medium do the rest.
MODULE = '''
"""``abc-bytes``: ABC text as its UTF-8 bytes; ids 0 and 1 are the markers, byte b is id b + 2."""

from __future__ import annotations

from typing import Any

import numpy as np

from tunesmith.representations.base import TokenRepresentation, register


@register
class AbcBytes(TokenRepresentation):
    name = "abc-bytes"
    medium = "abc"
    unit = "token"
    start_id = 0
    end_id = 1

    @classmethod
    def fit(cls, items: list[str]) -> AbcBytes:
        return cls()  # a fixed vocabulary: every byte

    @property
    def vocab_size(self) -> int:
        return 2 + 256

    def encode(self, item: str) -> np.ndarray:
        body = np.frombuffer(item.encode("utf-8"), dtype=np.uint8).astype(self.dtype) + 2
        return np.concatenate([[self.start_id], body, [self.end_id]]).astype(self.dtype)

    def decode(self, array: np.ndarray) -> str:
        ids = np.asarray(array, dtype=np.int64)
        if ids.size and ids[0] == self.start_id:
            ids = ids[1:]
        ends = np.flatnonzero(ids == self.end_id)
        if ends.size:
            ids = ids[: ends[0]]
        return bytes((ids[ids >= 2] - 2).astype(np.uint8).tolist()).decode("utf-8", errors="replace")

    def state(self) -> dict[str, Any]:
        return {"bytes": "utf-8"}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AbcBytes:
        if state.get("bytes") != "utf-8":
            raise ValueError("bytes must be utf-8")
        return cls()
'''

BODIES = [  # (title, meter, notes): short tunes, a few titles with characters of more than one byte
    ("Reel", "4/4", "GABc dedB|dedB AGFE|DEFG ABcd|e2d2 B2A2|]"),
    ("Jig", "6/8", "GAB c2d|e3 d3|BAG AGE|G3 G3|]"),
    ("Ä Polka", "2/4", "AF DF|AF d2|ed cB|A2 A2|]"),
    ("Hornpipe", "4/4", "(3ABc dB GBdB|cAFA G2 G2|]"),
    ("Slide", "12/8", "A2B c2d e2f g3|f2e d2c B3 A3|]"),
    ("Air", "3/4", "E2 G2 A2|B4 A2|G2 E2 D2|E6|]"),
    ("Ström", "2/4", "ed ef|ge dB|AB GE|E2 E2|]"),
    ("Waltz", "3/4", "D2 F2 A2|d4 c2|B2 A2 F2|D6|]"),
]
TUNES = [
    f"X:{n}\nT:{title} in {key}\nM:{meter}\nL:1/8\nK:{key}\n{notes}\n"
    for n, ((title, meter, notes), key) in enumerate(itertools.product(BODIES, ("G", "D", "Am", "Em", "C")), 1)
]  # 40 tunes


@pytest.fixture
def new_representation(tmp_path: Path) -> Iterator[ModuleType]:
    """Write the module into tmp_path and import it from there (its @register adds it); take it out after."""
    assert NAME not in REGISTRY
    path = tmp_path / "abc_bytes.py"
    path.write_text(MODULE)
    spec = importlib.util.spec_from_file_location("throwaway_abc_bytes", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        assert REGISTRY[NAME] is module.AbcBytes
        yield module
    finally:
        REGISTRY.pop(NAME, None)
        sys.modules.pop(spec.name, None)


def test_a_representation_in_one_new_file_goes_from_prepare_to_a_bundle(
    new_representation: ModuleType, tmp_path: Path
) -> None:
    from tunesmith import media
    from tunesmith.bundle import export, load
    from tunesmith.media import SampleRequest
    from tunesmith.pipeline.prepare import known_representations, prepare
    from tunesmith.pipeline.sample import sample
    from tunesmith.pipeline.train import train
    from tunesmith.sampling import SampleSettings

    assert NAME in known_representations() and NAME in media.of(NAME).representations()
    assert media.of(NAME).name == "abc"

    book = tmp_path / "book.abc"
    book.write_text("\n".join(TUNES), encoding="utf-8")
    data = prepare(tmp_path / "data", input_path=book, representation=NAME, val_fraction=0.25).out
    meta = json.loads((data / "meta.json").read_text())
    assert meta["representation"] == NAME and meta["tunes_kept"] == len(TUNES) and meta["vocab_size"] == 258
    assert meta["dtype"] == "uint16"  # 258 ids do not fit a byte

    run = tmp_path / "run"
    budget = ["train.max_epochs=1", "train.limit_train_batches=3", "train.limit_val_batches=1"]
    budget += ["train.sample_count=1", "train.sample_max_length=40"]
    result = train("abc-lstm-debug", data, run, overrides=[f"data.representation={NAME}", *budget], progress=False)
    assert result.state == "finished" and result.global_step == 3
    assert json.loads((run / "representation.json").read_text())["name"] == NAME
    assert (run / "samples" / "epoch_001" / "samples.json").is_file()  # the medium's in-training samples

    settings = SampleSettings(num=3, max_length=60, seed=11)
    from_run = sample(run, settings, tmp_path / "from-run", SampleRequest())
    bundle = export(run, tmp_path / "bundle")
    saved = json.loads((bundle / "representation.json").read_text())
    assert saved == {"name": NAME, "kind": "tokens", "bytes": "utf-8"}
    assert type(load(bundle).representation) is new_representation.AbcBytes
    from_bundle = sample(bundle, settings, tmp_path / "from-bundle", SampleRequest())

    headers, rows = from_run.table()
    assert len(rows) == 3 and all(len(row) == len(headers) for row in rows)
    texts = {}
    for report, kind in ((from_run, "run"), (from_bundle, "bundle")):
        record = json.loads((report.out / "samples.json").read_text())
        assert record["model_kind"] == kind and len(record["tunes"]) == 3
        files = [item["file"] for item in report.items]
        assert files == ["001.abc", "002.abc", "003.abc"]
        texts[kind] = [(report.out / f).read_text(encoding="utf-8") for f in files]
        assert all(t.startswith(f"X:{i + 1}\n") and len(t) > 4 for i, t in enumerate(texts[kind]))
    assert texts["run"] == texts["bundle"]  # the same seed gives the same tunes from the run and its bundle
    with pytest.raises(TunesmithError, match="--constrain"):  # the ABC grammar walks characters: a clear refusal
        sample(bundle, SampleSettings(num=1, max_length=60, constrain=True), tmp_path / "constrained", SampleRequest())
