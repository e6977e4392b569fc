"""Hostile requests to every studio endpoint: 4xx for bad input, never a 500, and the studio keeps answering.

The endpoints, their path and query parameters and their JSON bodies are read from the app's own
OpenAPI schema, so a new field or endpoint is fuzzed without touching this file. Four kinds of input:

- a definitely invalid value (out of range, wrong type, NaN and Infinity as raw JSON text, a number
  too big for a double, a string that breaks the field's pattern or length) in one field of an
  otherwise valid request must get a 4xx;
- any JSON value at all in one field must never get a 5xx; when it is accepted, the job it starts must
  not end in an internal error;
- raw bodies (random bytes, invalid UTF-8, deep nesting, duplicate keys, the wrong content type, a
  body over the size limit) must never get a 5xx;
- a result record planted or damaged on disk (the store is a folder anyone can write to) must never
  turn a read of the results, its files, keep or reroll into a 5xx.

After every example ``/api/health`` must still answer 200. One debug model and one kept result are
made once per module; accepted jobs ask for one short tune.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, note
from hypothesis import strategies as st

from tests.fuzz.conftest import bounded, fuzz_settings, json_values, text_values

BASE_BODIES = {
    "/api/generate": lambda model: {"model": model, "num": 1, "max_length": 16, "seed": 1},
    "/api/results/{result_id}/keep": lambda model: {"kept": True},
    "/api/results/{result_id}/reroll": lambda model: {"seed": 1},
}
NOT_A_SERVER_ERROR = "answered {status} (a server error) to {what}: {text}"


class Studio(dict):
    """The module's studio: a dict with a short repr, so a failing example does not print the whole schema."""

    def __repr__(self) -> str:
        return "studio"


@pytest.fixture(scope="module")
def studio(trained_run: Path, fuzz_bundle: Path, fuzz_root: Path) -> Iterator[dict[str, Any]]:
    from tunesmith.web.app import create_app

    models = fuzz_root / "studio-models"
    if not models.exists():
        shutil.copytree(trained_run, models / "debug")
        shutil.copytree(fuzz_bundle, models / "bundle")
    store = fuzz_root / "studio-store"
    with TestClient(create_app([models], store, include_defaults=False, queue_size=4)) as client:
        model = next(m["id"] for m in client.get("/api/models").json() if m["name"].endswith("debug"))
        reply = client.post("/api/generate", json=BASE_BODIES["/api/generate"](model))
        assert reply.status_code == 202, reply.text
        job = wait_for(client, reply.json())
        assert job["state"] == "done", job
        result = job["results"][0]
        assert client.post(f"/api/results/{result['id']}/keep", json={"kept": True}).status_code == 200
        yield Studio(
            {
                "client": client,
                "model": model,
                "job": job["id"],
                "result": result["id"],
                "file": result["files"][0]["name"],
                "record": store / "results" / result["id"] / "result.json",
                "schema": client.app.openapi(),
            }
        )


def wait_for(client: TestClient, job: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"job still {job['state']} after {timeout} s: {job}"
        reply = client.get(job["url"], params={"since": job["version"], "wait": 5})
        assert reply.status_code == 200, reply.text
        job = reply.json()
    return job


def operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every API operation: method, path, its parameters and the JSON body's field schemas."""
    ops = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            body = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]] if "$ref" in ref else None
            ops.append({"method": method.upper(), "path": path, "params": op.get("parameters", []), "body": body})
    return ops


def main_type(field: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The field's non-null schema, and whether null is allowed."""
    options = field.get("anyOf", [field])
    typed = [o for o in options if o.get("type") != "null"]
    return (typed[0] if typed else {}), len(typed) != len(options)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def bad_json(field: dict[str, Any]) -> list[str]:
    """Raw JSON text (NaN and 1e400 included, which no JSON library writes) that the field must refuse."""
    main, nullable = main_type(field)
    kind = main.get("type")
    bad = ['{"a": 1}', "[1, 2]", "[" * 40 + "]" * 40, '{"$ref": "#"}', *([] if nullable else ["null"])]
    if kind in ("integer", "number"):
        bad += ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", '"abc"', '""', '"\\u0000"', '"1e400"']
        if "minimum" in main:
            bad += [_num(main["minimum"] - 1), "-" + "9" * 400]
        if "exclusiveMinimum" in main:
            bad += [_num(main["exclusiveMinimum"]), _num(main["exclusiveMinimum"] - 1)]
        if "maximum" in main:
            bad += [_num(main["maximum"] + 1), "1" + "0" * 30, "9" * 400]
        if "exclusiveMaximum" in main:
            bad += [_num(main["exclusiveMaximum"])]
        if kind == "integer":
            bad += ["1.5", "0.5", '"1.5"']
    elif kind == "string":
        bad += ["5", "1.5", "true", "NaN"]
        if "maxLength" in main:
            bad.append(json.dumps("a" * (main["maxLength"] + 1)))
        if "pattern" in main:
            tries = ["", "../../etc/passwd", "\x00", "Z" * 12, "A" * 13, " 0", "0" * 64, "\udcff", "🎻", "0\n"]
            bad += [json.dumps(t) for t in tries if not re.search(main["pattern"], t)]
    elif kind == "boolean":
        bad += ["2", "-1", "0.5", '"maybe"', '""', '"\\u0000"', "1e400", '"truee"', "NaN"]
    return bad


def bad_query(param: dict[str, Any]) -> list[str]:
    """Raw query or path strings the parameter must refuse."""
    main, _ = main_type(param["schema"])
    kind = main.get("type")
    if kind in ("integer", "number"):
        bad = ["abc", "", "\x00", "1e400", "-1e400", "9" * 5000, "0x10", "nan", "--1"]
        if "minimum" in main:
            bad.append(_num(main["minimum"] - 1))
        if "maximum" in main:
            bad += [_num(main["maximum"] + 1), "inf", "1e309"]
        if kind == "integer":
            bad += ["1.5", "1e3"]
        return bad
    if kind == "boolean":
        return ["maybe", "2", "-1", "\x00", "truee", "🎻", "x" * 5000]
    bad = ["\x00", "..", "../../etc/passwd", "%2e%2e", "x" * 5000, "\udcff", "a/b", " ", "🎻"]
    if "maxLength" in main:
        bad.append("a" * (main["maxLength"] + 1))
    if "pattern" in main:
        bad = [b for b in bad if not re.search(main["pattern"], b)]
    return bad


def quoted(value: str) -> str:
    """URL-encoded as its UTF-8 bytes, lone surrogates too (they arrive as invalid UTF-8, as from a real client)."""
    return urllib.parse.quote(value.encode("utf-8", "surrogatepass"), safe="").replace(".", "%2E")


def url_for(op: dict[str, Any], studio: dict[str, Any], path_values: dict[str, str] | None = None) -> str:
    values = {"job_id": studio["job"], "result_id": studio["result"], "name": studio["file"], **(path_values or {})}
    url = op["path"]
    for p in op["params"]:
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", quoted(values.get(p["name"], "x")))
    return url


def send(client: TestClient, op: dict[str, Any], url: str, body: bytes | None, **kw: Any) -> Any:
    headers = {"content-type": "application/json", **kw.pop("headers", {})}
    if op["method"] == "GET":
        return client.get(url, **kw)
    return client.request(op["method"], url, content=body, headers=headers, **kw)


def body_text(base: dict[str, Any], field: str, raw: str | None) -> bytes:
    """``base`` as JSON with ``field`` set to the raw JSON text ``raw`` (or left out when None)."""
    parts = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in base.items() if k != field]
    if raw is not None:
        parts.append(f"{json.dumps(field)}: {raw}")
    return ("{" + ", ".join(parts) + "}").encode("utf-8", "surrogatepass")


def still_answers(client: TestClient) -> None:
    health = client.get("/api/health")
    assert health.status_code == 200, f"the studio stopped answering: {health.status_code} {health.text[:300]}"


def assert_not_server_error(reply: Any, what: str) -> None:
    shown = NOT_A_SERVER_ERROR.format(status=reply.status_code, what=what, text=reply.text[:500])
    assert reply.status_code < 500, shown
    if reply.status_code == 422:
        reply.json()  # the refusal itself must be JSON a page can read


def body_fields(studio: dict[str, Any]) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    return [
        (op, name, field)
        for op in operations(studio["schema"])
        if op["body"]
        for name, field in op["body"].get("properties", {}).items()
    ]


@fuzz_settings(60)
@given(data=st.data())
def test_bad_values_in_every_field_get_a_4xx(data: st.DataObject, studio: dict[str, Any]) -> None:
    client = studio["client"]
    op, name, field = data.draw(st.sampled_from(body_fields(studio)), label="field")
    raw = data.draw(st.sampled_from(bad_json(field)), label="value")
    base = BASE_BODIES.get(op["path"], lambda model: {})(studio["model"])
    body = body_text(base, name, raw)
    note(f"{op['method']} {op['path']} {body[:300]!r}")
    with bounded(f"{op['method']} {op['path']}"):
        reply = send(client, op, url_for(op, studio), body)
        assert 400 <= reply.status_code < 500, (
            f"{op['method']} {op['path']} with {name}={raw[:80]} answered {reply.status_code}: {reply.text[:500]}"
        )
        assert_not_server_error(reply, f"{name}={raw[:80]}")
        still_answers(client)


@fuzz_settings(40)
@given(data=st.data())
def test_bad_path_and_query_values_get_a_4xx(data: st.DataObject, studio: dict[str, Any]) -> None:
    client = studio["client"]
    params = [(op, p) for op in operations(studio["schema"]) for p in op["params"]]
    op, param = data.draw(st.sampled_from(params), label="parameter")
    raw = data.draw(st.sampled_from(bad_query(param)), label="value")
    base = BASE_BODIES.get(op["path"], lambda model: {})(studio["model"])
    body = json.dumps(base).encode()
    note(f"{op['method']} {op['path']} {param['name']}={raw[:200]!r}")
    with bounded(f"{op['method']} {op['path']}"):
        if param["in"] == "path":
            reply = send(client, op, url_for(op, studio, {param["name"]: raw}), body)
        else:
            reply = send(client, op, f"{url_for(op, studio)}?{quoted(param['name'])}={quoted(raw)}", body)
        assert 400 <= reply.status_code < 500, (
            f"{op['method']} {op['path']} with {param['name']}={raw[:80]!r} answered {reply.status_code}: "
            f"{reply.text[:500]}"
        )
        still_answers(client)


@fuzz_settings(40)
@given(data=st.data())
def test_any_json_in_any_field_never_breaks_the_studio(data: st.DataObject, studio: dict[str, Any]) -> None:
    client = studio["client"]
    op, name, _ = data.draw(st.sampled_from(body_fields(studio)), label="field")
    extra = data.draw(st.sampled_from([None, None, None, "batch_size", "__proto__", "", "model\x00"]), label="extra")
    value = data.draw(json_values, label="value")
    base = BASE_BODIES.get(op["path"], lambda model: {})(studio["model"])
    document = {**base, name: value, **({extra: 1} if extra is not None else {})}
    body = json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")
    note(f"{op['method']} {op['path']} {body[:300]!r}")
    with bounded(f"{op['method']} {op['path']}"):
        reply = send(client, op, url_for(op, studio), body)
        assert_not_server_error(reply, f"{name}={value!r:.80}")
        if reply.status_code == 202:  # accepted: the job must end as a job, not as a bug
            job = wait_for(client, reply.json())
            assert not (job.get("error") or "").startswith("internal error"), f"{document!r:.300} -> {job['error']}"
        still_answers(client)


RAW_BODIES = [
    b"",
    b"null",
    b"[]",
    b"[1, 2]",
    b'"a string"',
    b"NaN",
    b"1e400",
    b"{",
    b"}",
    b'{"a": 1,}',
    b"\xef\xbb\xbf{}",  # a byte-order mark
    b"\xff\xfe\x00{",  # invalid UTF-8
    b'{"kept": true, "kept": false, "seed": 1, "seed": 2}',
    b"[" * 16_000,
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b'{"model": "' + b"\\ud800" * 1000 + b'"}',
    b'{"primer": "' + b"a" * 20_000 + b'"}',  # over the size limit
    b'{"seed": ' + b"9" * 4000 + b"}",
    b'{"num": 1e400, "temperature": -Infinity}',
    b"\x00" * 100,
]


@fuzz_settings(40)
@given(data=st.data())
def test_hostile_raw_bodies_never_break_the_studio(data: st.DataObject, studio: dict[str, Any]) -> None:
    client = studio["client"]
    posts = [op for op in operations(studio["schema"]) if op["method"] != "GET"]
    op = data.draw(st.sampled_from(posts), label="endpoint")
    body = data.draw(st.one_of(st.sampled_from(RAW_BODIES), st.binary(max_size=200)), label="body")
    content_type = data.draw(
        st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", "", "json"]),
        label="content-type",
    )
    chunked = data.draw(st.booleans(), label="without a length")
    note(f"{op['method']} {op['path']} {content_type!r} {body[:200]!r}")
    with bounded(f"{op['method']} {op['path']}"):
        content: Any = iter([body[: len(body) // 2], body[len(body) // 2 :]]) if chunked else body
        headers = {"content-type": content_type}
        reply = client.request(op["method"], url_for(op, studio), content=content, headers=headers)
        assert_not_server_error(reply, f"body {body[:80]!r}")
        if reply.status_code == 202:
            wait_for(client, reply.json())
        still_answers(client)


@fuzz_settings(40)
@given(data=st.data())
def test_planted_result_records_never_break_the_studio(data: st.DataObject, studio: dict[str, Any]) -> None:
    """The store is a folder on disk: a damaged or planted ``result.json`` costs that result, not the page."""
    client, path = studio["client"], studio["record"]
    original = path.read_bytes()
    record = json.loads(original)
    how = data.draw(st.sampled_from(["field", "drop", "document", "bytes"]), label="damage")
    if how == "field":
        key = data.draw(st.sampled_from(sorted(record)), label="key")
        record[key] = data.draw(json_values, label="value")
        planted = json.dumps(record).encode()
    elif how == "drop":
        key = data.draw(st.sampled_from(sorted(record)), label="key")
        record.pop(key)
        planted = json.dumps(record).encode()
    elif how == "document":
        planted = json.dumps(data.draw(json_values, label="document")).encode()
    else:
        planted = data.draw(st.one_of(st.binary(max_size=300), st.sampled_from([b"{" * 5000, b"NaN"])), label="bytes")
    note(f"result.json = {planted[:300]!r}")
    rid = studio["result"]
    try:
        path.write_bytes(planted)
        with bounded("the studio reading a planted result"):
            for method, url, body in [
                ("GET", "/api/results", None),
                ("GET", f"/api/results/{rid}", None),
                ("GET", f"/api/results/{rid}/files/{urllib.parse.quote(studio['file'])}", None),
                ("POST", f"/api/results/{rid}/keep", {"kept": True}),
                ("POST", f"/api/results/{rid}/reroll", {"seed": 3}),
                ("GET", "/runs", None),
            ]:
                reply = client.request(method, url, json=body)
                assert_not_server_error(reply, f"{method} {url} with a planted record")
                if reply.status_code == 202:
                    job = wait_for(client, reply.json())
                    assert not (job.get("error") or "").startswith("internal error"), job["error"]
            still_answers(client)
    finally:
        path.write_bytes(original)


@fuzz_settings(20)
@given(name=st.one_of(text_values, st.sampled_from(["../result.json", "..", "result.json", ".", "a" * 81])))
def test_file_names_never_escape_the_store(name: str, studio: dict[str, Any]) -> None:
    client = studio["client"]
    url = f"/api/results/{studio['result']}/files/{quoted(name[:5000])}"
    with bounded("GET a result file"):
        reply = client.get(url)
        assert_not_server_error(reply, f"file name {name!r:.80}")
        assert reply.status_code in (404, 422), f"{name!r:.80} answered {reply.status_code}: {reply.text[:200]}"
