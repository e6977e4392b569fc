"""The studio against hostile input: any JSON body, a server's paths, models folders full of broken models."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.test_web_api import model_id, open_studio, wait


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "%(id)s", "temperature": NaN}',
        b'{"model": "%(id)s", "temperature": Infinity}',
        b'{"model": "%(id)s", "top_p": -Infinity}',
        b'{"model": "%(id)s", "num": NaN}',
        b'{"model": "%(id)s", "seed": 1e999}',
        b'{"model": NaN}',
        b'{"model": "%(id)s", "extra": [NaN, {"x": Infinity}]}',
        b'{"model": "%(id)s", "primer": "\\ud800K:G"}',
        b'{"model": "%(id)s", "\\udfff": 1}',
        b"[NaN]",
        b"NaN",
        b'{"model": ' + b"[" * 4000 + b"]" * 4000 + b"}",
    ],
)
def test_any_json_is_answered_with_a_422_never_a_500(client: TestClient, body: bytes) -> None:
    """The 422 handler repeats what it was given: it must be able to, whatever that was."""
    body = body.replace(b"%(id)s", model_id(client).encode())
    reply = client.post("/api/generate", content=body, headers={"Content-Type": "application/json"})
    assert reply.status_code in (400, 422), reply.text
    if reply.status_code == 422:
        assert reply.json()["fields"]
    rid = "0" * 32
    for url, bad in ((f"/api/results/{rid}/keep", b'{"kept": NaN}'), (f"/api/results/{rid}/reroll", b'{"seed": NaN}')):
        assert client.post(url, content=bad, headers={"Content-Type": "application/json"}).status_code == 422
    assert client.post(f"/api/results/{rid}/keep", json={"kept": "yes"}).status_code == 422  # strict too
    assert client.post(f"/api/results/{rid}/keep", content=b"x" * 20_000).status_code == 413


def test_no_answer_shows_the_servers_paths(client: TestClient, models: Path) -> None:
    """Models are named relative to the folder they were found in; failed jobs say the same names."""
    roots = {str(models), str(models.resolve())}
    listing = client.get("/api/models")
    assert listing.status_code == 200 and all(m["name"].startswith(f"{models.name}/") for m in listing.json())
    replies = [listing.text, client.get("/").text, client.get("/runs").text, client.get("/api/health").text]
    for name in ("broken-bundle", "broken-run"):
        job = wait(client, client.post("/api/generate", json={"model": model_id(client, name), "num": 1}).json())
        assert job["state"] == "failed" and f"{models.name}/{name}" in job["error"], job["error"]
        replies.append(client.get(job["url"]).text)
    assert not Path(client.get("/api/health").json()["store"]).is_absolute()  # the store is named, not located
    for text in replies:
        assert not any(root in text for root in roots)


def test_one_bad_model_does_not_stop_the_studio(tmp_path: Path) -> None:
    """A config.json nested 100,000 deep, linked to /dev/zero or to a FIFO, a list, or the weights of another
    size: the studio starts, lists each with its reason, and only requests for that model fail."""
    import os

    from tests.test_bundle import edit_config, make_bundle, make_run

    root = tmp_path / "models"
    make_bundle(root / "good")
    (make_bundle(root / "deep") / "config.json").write_text('{"config": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (make_bundle(root / "listed") / "config.json").write_text("[1, 2, 3]")
    (make_bundle(root / "binary") / "config.json").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    edit_config(make_bundle(root / "wide"), hidden=8192)
    (make_run(root / "run") / "config.yaml").write_text("model: " + "[" * 50_000 + "]" * 50_000)
    endless = ["deep", "listed", "binary", "run"]
    if Path("/dev/zero").exists():
        (make_bundle(root / "zero") / "config.json").unlink()
        (root / "zero" / "config.json").symlink_to("/dev/zero")
        endless.append("zero")
    if hasattr(os, "mkfifo"):
        (make_bundle(root / "fifo") / "config.json").unlink()
        os.mkfifo(root / "fifo" / "config.json")
        endless.append("fifo")
    with open_studio(root, tmp_path / "store") as studio:
        found = {m["name"].removeprefix("models/"): m for m in studio.get("/api/models").json()}
        assert found["good"]["usable"] and found["wide"]["usable"]  # its weights are checked when it loads
        for name in endless:
            assert not found[name]["usable"] and found[name]["problem"], name
        assert "nests 100001 levels deep" in found["deep"]["problem"]
        assert "not a regular file" in found.get("zero", found["deep"]).get("problem", "")
        assert studio.get("/").status_code == studio.get("/runs").status_code == 200
        for name, why in (("deep", "nests"), ("wide", "weight 'rnn.weight_ih_l0' is (64, 8) in the file")):
            reply = studio.post("/api/generate", json={"model": found[name]["id"], "num": 1, "max_length": 20})
            job = wait(studio, reply.json())
            assert job["state"] == "failed" and why in job["error"] and "\n" not in job["error"], job["error"]
            assert str(root) not in job["error"] and f"models/{name}" in job["error"]
        good = {"model": found["good"]["id"], "num": 1, "max_length": 20, "seed": 1}
        assert wait(studio, studio.post("/api/generate", json=good).json())["state"] == "done"
        assert str(root) not in studio.get("/api/models").text
