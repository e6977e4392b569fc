"""The studio's JSON API through FastAPI's test client: generating, checking input, ids, the queue, the store."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tunesmith.web.app import create_app, for_people
from tunesmith.web.store import ResultStore

PRIMER = "M:6/8\nL:1/8\nK:G\n"
VALID = {"num": 2, "constrain": True, "primer": PRIMER, "max_length": 120, "seed": 1}  # debug model: valid by grammar


def open_studio(models: Path, store: Path, **kwargs: Any) -> TestClient:
    return TestClient(create_app([models], store, include_defaults=False, **kwargs))


def wait(client: TestClient, job: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """Follow a job by long polling until it is over."""
    deadline = time.monotonic() + timeout
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"job still {job['state']} after {timeout} s"
        reply = client.get(job["url"], params={"since": job["version"], "wait": 10})
        assert reply.status_code == 200
        job = reply.json()
    return job


def model_id(client: TestClient, name: str = "debug") -> str:
    return next(m["id"] for m in client.get("/api/models").json() if m["name"].endswith(name))


def generate(client: TestClient, **body: Any) -> dict[str, Any]:
    reply = client.post("/api/generate", json={"model": model_id(client), **body})
    assert reply.status_code == 202, reply.text
    return wait(client, reply.json())


def test_models_are_listed_under_opaque_ids(client: TestClient, models: Path) -> None:
    found = {m["name"]: m for m in client.get("/api/models").json()}
    assert set(found) == {f"{models.name}/{n}" for n in ("debug", "bundle", "broken-bundle", "broken-run")}
    for m in found.values():
        assert re.fullmatch(r"[0-9a-f]{12}", m["id"]) and "/" not in m["id"]
    debug = found[f"{models.name}/debug"]
    assert (debug["kind"], debug["preset"], debug["representation"]) == ("run", "abc-lstm-debug", "abc-char")
    assert found[f"{models.name}/bundle"]["kind"] == "bundle"


def test_two_tunes_arrive_with_score_audio_and_downloads(client: TestClient) -> None:
    job = generate(client, **VALID)
    assert job["state"] == "done" and job["done"] == job["total"] == 2 and job["seed"] == 1
    for number, result in enumerate(job["results"], start=1):
        checks = {c["label"]: c["ok"] for c in result["checks"]}
        assert result["number"] == number and checks["header"] and checks["converts"] and checks["bars"]  # the grammar
        # valid means more than well formed: music like the corpus's, ended by the model (a debug model's tunes aren't)
        assert result["valid"] == all(checks.values()) and "like its corpus" in checks
        assert result["settings"]["seed"] == 1 and result["settings"]["primer"] == PRIMER
        kinds = {f["kind"]: f for f in result["files"]}
        assert set(kinds) == {"abc", "midi", "audio", "score"}
        abc = client.get(kinds["abc"]["url"])
        assert abc.text == result["text"] and abc.text.startswith(f"X:{number}\n" + PRIMER)
        assert client.get(kinds["midi"]["url"]).content[:4] == b"MThd"
        wav = client.get(kinds["audio"]["url"], params={"download": 1})
        assert wav.content[:4] == b"RIFF" and wav.content[8:12] == b"WAVE"
        assert wav.headers["content-type"] == "audio/wav" and "attachment" in wav.headers["content-disposition"]
        svg = client.get(kinds["score"]["url"])
        assert svg.headers["content-type"].startswith("image/svg+xml") and 'class="note"' in svg.text
        assert client.get(f"/api/results/{result['id']}").json() == result
        assert checks["valid ABC"] == result["valid"]


def test_the_same_seed_gives_the_same_tunes(client: TestClient) -> None:
    body = {**VALID, "num": 1, "max_length": 60}
    first, again = generate(client, **body), generate(client, **body)
    other = generate(client, **{**body, "seed": 2})
    assert first["results"][0]["text"] == again["results"][0]["text"] != other["results"][0]["text"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", 0),
        ("temperature", -1),
        ("temperature", 101),
        ("temperature", "hot"),
        ("num", 0),
        ("num", 17),
        ("num", 1.5),
        ("top_k", -1),
        ("top_k", 1001),
        ("top_p", 0),
        ("top_p", 1.5),
        ("max_length", 10),
        ("max_length", 5001),
        ("seed", -1),
        ("primer", "K:G\n" * 600),
        ("constrain", "sometimes"),
        ("max_length", "1000"),  # strict: a string is not a number, however it reads
        ("temperature", True),
        ("num", "2"),
        ("seed", 5.0),
        ("constrain", 1),
        ("primer", "K:G\n\x00"),  # control characters: NUL, escape, bell
        ("primer", "\x1b[31mK:G\n"),
        ("primer", "K:G\x07\n"),
    ],
)
def test_out_of_range_values_get_a_422_naming_the_field(client: TestClient, field: str, value: Any) -> None:
    reply = client.post("/api/generate", json={"model": model_id(client), field: value})
    assert reply.status_code == 422
    message = reply.json()["fields"][field]
    assert f"you gave {value!r:.40}" in message
    assert {"temperature": "above 0", "num": "1 to 16", "top_k": "0 (off)", "primer": "2000"}.get(field, "") in message


def test_other_bad_requests_are_refused_with_reasons(client: TestClient) -> None:
    mid = model_id(client)
    short = client.post("/api/generate", json={"model": mid, "primer": PRIMER, "max_length": 16})
    assert short.status_code == 422 and "shorter than the length limit" in short.json()["fields"]["primer"]
    assert "model" in client.post("/api/generate", json={}).json()["fields"]
    unknown = client.post("/api/generate", json={"model": mid, "batch_size": 4})
    assert unknown.status_code == 422 and "batch_size" in unknown.json()["fields"]
    nan = client.post("/api/generate", content=b'{"model": "%s", "temperature": NaN}' % mid.encode())
    assert nan.status_code == 422 and nan.json()["fields"]  # not a number JSON allows
    assert client.post("/api/generate", content=b"[1, 2]").status_code == 422


def test_request_bodies_are_bounded(client: TestClient) -> None:
    big = b'{"model": "%s", "primer": "%s"}' % (model_id(client).encode(), b"a" * 20_000)
    assert client.post("/api/generate", content=big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is only known by reading
        yield b'{"primer": "'
        for _ in range(40):
            yield b"a" * 1000
        yield b'"}'

    reply = client.post("/api/generate", content=chunks(), headers={"Content-Type": "application/json"})
    assert reply.status_code == 413


def test_model_ids_cannot_name_a_path(client: TestClient) -> None:
    for bad in ("../../etc/passwd", "/etc", "debug", "0123456789AB", "0123456789abc"):
        assert client.post("/api/generate", json={"model": bad}).status_code == 422, bad
    reply = client.post("/api/generate", json={"model": "0" * 12})
    assert reply.status_code == 404 and "no model" in reply.json()["detail"]


def test_result_and_file_ids_cannot_escape_the_store(client: TestClient) -> None:
    result = generate(client, **{**VALID, "num": 1, "max_length": 120})["results"][0]
    rid = result["id"]
    store: ResultStore = client.app.state.store
    secret = store.root / "secret.txt"
    secret.write_text("do not serve me")
    attempts = [
        "/api/results/..%2Fsecret.txt",
        "/api/results/..%2F..%2F..%2Fetc%2Fpasswd",
        f"/api/results/{rid}/files/..%2F..%2Fsecret.txt",
        f"/api/results/{rid}/files/%2E%2E%2F%2E%2E%2Fsecret.txt",
        f"/api/results/{rid}/files/result.json",  # in the folder, but not a file the result lists
        f"/api/results/{rid}/files/tune.abc%00.txt",
        f"/api/results/{rid.upper()}",
        "/api/jobs/..%2F..%2Fsecret.txt",
        f"/api/results/{rid}/..%2F..%2Fsecret.txt/files/tune.abc",
    ]
    for url in attempts:
        reply = client.get(url)
        assert reply.status_code in (404, 422), url
        assert "do not serve me" not in reply.text and "/etc" not in reply.text
    assert store.file(rid, "../secret.txt") is None and store.file("../" + rid, "tune.abc") is None
    assert store.get("../results/" + rid) is None
    assert client.get(f"/api/results/{rid}/files/tune.abc").status_code == 200


@pytest.mark.parametrize(("name", "why"), [("broken-bundle", "corrupt or truncated"), ("broken-run", "ckpt")])
def test_a_model_that_fails_to_load_fails_its_job_not_the_server(client: TestClient, name: str, why: str) -> None:
    reply = client.post("/api/generate", json={"model": model_id(client, name), "num": 1})
    job = wait(client, reply.json())
    assert job["state"] == "failed" and why in job["error"] and job["results"] == []
    assert client.get("/api/health").json()["ok"] is True
    assert generate(client, num=1, max_length=30)["state"] == "done"  # the worker lives on


def test_mistakes_are_refused_at_the_door_beside_their_field(client: TestClient) -> None:
    """Checked against the model before any job starts: 422, one sentence per field, in a musician's words."""
    mid = model_id(client)

    def refused(**body: Any) -> dict[str, str]:
        reply = client.post("/api/generate", json={"model": mid, "num": 1, "max_length": 60, **body})
        assert reply.status_code == 422, reply.text
        return reply.json()["fields"]

    assert refused(top_k=500)["top_k"].startswith("Top-k 500 is out of range: choose 0 (off) to ")
    assert refused(primer="K:G\n\u263a")["primer"] == (
        "Line 2, character 1: '\u263a' is a character this model never saw in its tunes"
    )
    assert refused(primer="X:1\nK:G\n", constrain=True)["primer"].startswith("Line 1, character 1: leave out the X:")
    assert "it allows" in refused(primer="K:G\n|]|]", constrain=True)["primer"]
    assert refused(meter="7/8")["meter"].startswith("'7/8' is not a meter of this model's corpus (did you mean 9/8")
    assert "clear the primer" in refused(meter="6/8", primer=PRIMER)["primer"]
    assert refused(instrument="kazoo")["instrument"] == "'kazoo' is not an instrument the studio knows"
    assert "40 to 300" in refused(tempo=20)["tempo"]
    assert for_people("--max-length 9 is out of range") == ("max-length 9 is out of range", "max_length")
    assert for_people("model.safetensors is corrupt") == ("model.safetensors is corrupt", None)


def test_bundles_generate_like_runs(client: TestClient) -> None:
    reply = client.post("/api/generate", json={"model": model_id(client, "/bundle"), **VALID, "num": 1})
    bundle = wait(client, reply.json())
    run = generate(client, **{**VALID, "num": 1})
    assert bundle["state"] == "done" and bundle["results"][0]["text"] == run["results"][0]["text"]


def test_reroll_draws_one_new_tune_with_the_same_settings(client: TestClient) -> None:
    original = generate(client, **{**VALID, "num": 2, "max_length": 120})["results"][1]
    reply = client.post(f"/api/results/{original['id']}/reroll", json={})
    assert reply.status_code == 202
    job = wait(client, reply.json())
    fresh = job["results"][0]
    assert job["total"] == 1 and fresh["id"] != original["id"] and fresh["model"] == original["model"]
    same = {k: v for k, v in original["settings"].items() if k not in ("seed", "num")}
    assert {k: v for k, v in fresh["settings"].items() if k not in ("seed", "num")} == same
    assert fresh["settings"]["num"] == 1 and fresh["settings"]["seed"] == job["seed"]
    seeded = wait(client, client.post(f"/api/results/{original['id']}/reroll", json={"seed": 7}).json())
    assert seeded["seed"] == 7
    assert client.post(f"/api/results/{'0' * 32}/reroll", json={}).status_code == 404


def test_kept_results_survive_a_restart_and_loose_ones_do_not(models: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    with open_studio(models, store) as first:
        kept, loose = generate(first, **{**VALID, "num": 2, "max_length": 120})["results"]
        reply = first.post(f"/api/results/{kept['id']}/keep", json={"kept": True})
        assert reply.status_code == 200 and reply.json()["kept"] is True
        assert [r["id"] for r in first.get("/api/results", params={"kept": True}).json()] == [kept["id"]]
    with open_studio(models, store) as second:
        assert [r["id"] for r in second.get("/api/results").json()] == [kept["id"]]
        assert second.get(f"/api/results/{loose['id']}").status_code == 404
        wav = next(f for f in kept["files"] if f["kind"] == "audio")
        assert second.get(wav["url"]).content[:4] == b"RIFF"
        assert second.post(f"/api/results/{kept['id']}/keep", json={"kept": False}).json()["kept"] is False
        assert second.get("/api/results").json() == []
    with open_studio(models, store) as third:
        assert third.get(f"/api/results/{kept['id']}").status_code == 404  # let go, so cleared on start


def test_a_full_queue_answers_503_with_retry_after_and_stays_responsive(models: Path, tmp_path: Path) -> None:
    with open_studio(models, tmp_path / "store", queue_size=1) as busy:
        gate = threading.Event()
        jobs = busy.app.state.jobs
        real = jobs.work
        jobs.work = lambda job: (gate.wait(30), real(job))  # hold the worker until the queue has filled
        mid = model_id(busy)
        running = busy.post("/api/generate", json={"model": mid, "num": 1, "max_length": 20}).json()
        deadline = time.monotonic() + 10
        while busy.get(running["url"]).json()["state"] != "running":  # the worker took it: the queue is empty
            assert time.monotonic() < deadline
            time.sleep(0.02)
        queued = busy.post("/api/generate", json={"model": mid, "num": 1, "max_length": 20})
        assert queued.status_code == 202 and queued.json()["state"] == "queued"
        full = busy.post("/api/generate", json={"model": mid, "num": 1, "max_length": 20})
        assert full.status_code == 503 and int(full.headers["Retry-After"]) >= 1
        assert "busy" in full.json()["detail"]
        # pages answer while the worker is held: were they waiting on it, these calls would never return
        assert busy.get("/api/models").status_code == 200 and busy.get("/").status_code == 200
        gate.set()
        assert wait(busy, running)["state"] == wait(busy, queued.json())["state"] == "done"
        assert busy.post("/api/generate", json={"model": mid, "num": 1, "max_length": 20}).status_code == 202


def test_pages_use_only_their_own_assets(client: TestClient, models: Path) -> None:
    page = client.get("/")
    assert page.status_code == 200 and f'value="{model_id(client)}"' in page.text
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert links and all(link.startswith("/") and not link.startswith("//") for link in links), links
    for link in links:
        assert client.get(link).status_code == 200, link
    assert "http" not in client.get("/static/studio.js").text and "@import" not in client.get("/static/studio.css").text
    api = client.get("/docs")
    assert api.status_code == 200 and "/api/generate" in api.text and "cdn" not in api.text.lower()
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/models", "/api/generate", "/api/results/{result_id}", "/api/jobs/{job_id}"} <= set(paths)


def test_runs_page_draws_curves_table_and_samples(client: TestClient, models: Path) -> None:
    page = client.get("/runs").text
    rows = (models / "debug" / "metrics.csv").read_text().strip().splitlines()[1:]
    section = page[page.index(f"<h2>{models.name}/debug</h2>") :].split("</section>")[0]
    assert section.count('<svg class="curve"') == 2 and section.count("<polyline") == 4  # train and val, twice
    assert section.count("<tr><td>") == len(rows) and f"<td>{rows[-1].split(',')[1]}</td>" in section
    assert "Latest samples (epoch" in section and "<pre>X:1" in section
    assert f"<h2>{models.name}/bundle</h2>" not in page  # bundles have no training history


def test_serve_refuses_a_taken_port_and_missing_folders(tmp_path: Path) -> None:
    import socket

    from tunesmith.errors import TunesmithError
    from tunesmith.web.server import check_port, is_loopback, serve

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(TunesmithError, match="choose another --port"):
            check_port("127.0.0.1", sock.getsockname()[1])
    with pytest.raises(TunesmithError, match="is not a folder"):
        serve("127.0.0.1", 8000, [tmp_path / "nowhere"], tmp_path, queue_size=4)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")


def test_tunesmith_serve_starts_the_studio_on_loopback(models: Path, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys
    import urllib.request

    from tunesmith.pretrained import builtin_models
    from tunesmith.web.server import free_port

    found = 4 + len(builtin_models())  # the four test models and the built-in ones, always listed first
    port = free_port()
    cmd = [sys.executable, "-m", "tunesmith.cli", "serve", "--port", str(port), "--models", str(models)]
    out = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True, "cwd": tmp_path}  # no runs/ there
    proc = subprocess.Popen([*cmd, "--store", str(tmp_path / "store")], **out)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].startswith(f"models       {found} found: {', '.join([*builtin_models(), ''])}"), lines
        assert lines[2].startswith(f"studio       http://127.0.0.1:{port}/"), lines
        deadline = time.monotonic() + 30
        while True:  # uvicorn binds just after the line is printed
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models", timeout=5) as reply:
                    assert len(json.load(reply)) == found
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_audio_models_are_refused_with_the_command_that_serves_them(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from tunesmith.errors import TunesmithError
    from tunesmith.representations import get
    from tunesmith.sampling import SampleSettings
    from tunesmith.web import door
    from tunesmith.web.generate import Studio, compose

    loaded = SimpleNamespace(representation=get("audio-wave").fit([]), model=None)
    with pytest.raises(TunesmithError, match="--prime-audio"):
        compose(loaded, SampleSettings(num=1), Studio(lambda: tmp_path, lambda stage: None, lambda piece: None))
    with pytest.raises(door.FieldProblem, match="--prime-audio") as refused:  # and at the door, by field
        door.check_request(loaded, {"primer": "", "constrain": False}, SampleSettings(num=1))
    assert refused.value.field == "model"
