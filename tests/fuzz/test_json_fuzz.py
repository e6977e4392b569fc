"""Hostile JSON documents for ``tunesmith.untrusted``, the one reader of JSON we did not write.

Deep, huge, NaN and 1e400, duplicate keys, invalid UTF-8 and special files: what the reader returns must
be of the expected type, finite and no deeper than its limit; anything else is a TunesmithError.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from hypothesis import given, note
from hypothesis import strategies as st

from tests.fuzz.conftest import fuzz_settings, json_values, sandbox
from tests.fuzz.test_files_fuzz import REFUSED, read_or_refuse

# --- JSON --------------------------------------------------------------------------------------------

JSON_TEXTS = [
    "",
    "null",
    "[]",
    "{}",
    "NaN",
    '{"a": NaN}',
    '{"a": [Infinity]}',
    '{"a": -Infinity}',
    '{"a": 1e400}',
    '{"a": -1e400}',
    '{"a": [1e309, 2]}',
    '{"a": ' + "9" * 5000 + "}",
    '{"a": 1, "a": 2}',
    "\ufeff{}",
    '{"a": "\\ud800"}',
    '{"a": "\x00"}',
    '{"a": "\\u0000"}',
    '{"a": 1,}',
    "{" * 33,
    '{"a":' * 33 + "1" + "}" * 33,
    "[" * 32 + "]" * 32,
    "[" * 33 + "]" * 33,
    "[" * 100_000 + "]" * 100_000,
    '["\\\\"' + "[" * 40 + "]" * 40 + "]",  # an escaped backslash before the quote that ends a string
    '["\\"' + "[" * 40 + '"]',  # an escaped quote: the brackets are inside the string
    '{"a": "' + "x" * 100_000 + '"}',
    "[" + "0," * 100_000 + "0]",
]
SCANNER_ALPHABET = '[]{}",:\\0123456789e-+. tnaulrsfINy\n'


@st.composite
def json_documents(draw: Any, big: bool = True) -> bytes:
    kinds = ["value", "value", "text", "text", "scanner", "scanner", "bytes", "bytes", *(["big"] if big else [])]
    kind = draw(st.sampled_from(kinds))
    if kind == "value":
        return json.dumps(draw(json_values), ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if kind == "text":
        return draw(st.sampled_from(JSON_TEXTS)).encode("utf-8", "surrogatepass")
    if kind == "scanner":  # text near JSON's grammar, to trip the depth scanner against the parser
        return draw(st.text(alphabet=SCANNER_ALPHABET, max_size=200)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    size = draw(st.sampled_from([16 * 1024 * 1024 + 1, 4_000_004]))  # over the byte limit, or the item limit
    return b"[" + b"0," * (size // 2) + b"0]"


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def finite_everywhere(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_everywhere(v) for v in value.values())
    if isinstance(value, list):
        return all(finite_everywhere(v) for v in value)
    return True


def check_json(value: Any, expect: type, max_depth: int) -> None:
    if value is REFUSED:
        return
    assert isinstance(value, expect), type(value)
    assert finite_everywhere(value), f"NaN or Infinity came through: {str(value)[:200]}"
    assert depth(value) <= max_depth, f"nested {depth(value)} deep, over the limit of {max_depth}"


@fuzz_settings(60)
@given(document=json_documents(), expect=st.sampled_from([dict, list]))
def test_json_documents_are_read_or_refused(document: bytes, expect: type, fuzz_root: Path) -> None:
    from tunesmith.untrusted import MAX_JSON_DEPTH, parse_json, read_json

    note(f"{len(document)} bytes: {document[:300]!r}")
    with sandbox(fuzz_root / "json") as box:
        path = box / "doc.json"
        path.write_bytes(document)
        check_json(read_or_refuse("read_json", read_json, path, expect=expect), expect, MAX_JSON_DEPTH)
        if len(document) > 1 << 20:
            return  # a document of megabytes is read once: scanning it three times is all the CI budget
        check_json(
            read_or_refuse("parse_json", parse_json, document, "doc.json", expect=expect), expect, MAX_JSON_DEPTH
        )
        check_json(read_or_refuse("read_json(max_depth=2)", read_json, path, expect=expect, max_depth=2), expect, 2)


def test_special_files_are_refused_as_json(fuzz_root: Path) -> None:
    """A FIFO, /dev/zero behind a link, a folder, a loop of links, a missing file: refused at once."""
    from tunesmith.untrusted import read_json

    with sandbox(fuzz_root / "json-special") as box:
        os.mkfifo(box / "fifo.json")
        (box / "zero.json").symlink_to("/dev/zero")
        (box / "folder.json").mkdir()
        (box / "loop.json").symlink_to(box / "loop.json")
        for name in ("fifo.json", "zero.json", "folder.json", "loop.json", "missing.json"):
            assert read_or_refuse(f"read_json {name}", read_json, box / name) is REFUSED, name
        for special in ("/proc/self/mem", "/proc/self/status", "/dev/null"):
            assert read_or_refuse(f"read_json {special}", read_json, special) is REFUSED, special
