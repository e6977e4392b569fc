"""The studio's fixtures: a models folder with good and damaged models, and a studio serving it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.test_web_api import open_studio


@pytest.fixture(scope="module")
def models(trained_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the debug run, a bundle exported from it, a damaged bundle and a damaged run."""
    from tunesmith.bundle import export

    root = tmp_path_factory.mktemp("models")
    shutil.copytree(trained_run, root / "debug")
    export(trained_run, root / "bundle")
    shutil.copytree(root / "bundle", root / "broken-bundle")
    weights = root / "broken-bundle" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated in a download
    shutil.copytree(trained_run, root / "broken-run")
    for ckpt in (root / "broken-run" / "checkpoints").iterdir():
        ckpt.write_bytes(b"not a checkpoint")
    return root


@pytest.fixture(scope="module")
def client(models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with open_studio(models, tmp_path_factory.mktemp("store")) as c:
        yield c
