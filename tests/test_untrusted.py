"""The reader for JSON we did not write: every way a stranger's file can hurt is refused with one line naming it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tunesmith.errors import TunesmithError
from tunesmith.untrusted import finite, parse_json, read_bytes, read_json, regular_file_size


def refusal(path: Path, **kwargs: object) -> str:
    with pytest.raises(TunesmithError) as caught:
        read_json(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_plain_object_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"format": 1, "config": {"model": {"hidden": 16}}, "text": "[[[{{{\\"]]"}')
    assert read_json(path) == {"format": 1, "config": {"model": {"hidden": 16}}, "text": '[[[{{{"]]'}
    assert read_json(path, expect=object)["format"] == 1


def test_nesting_100000_deep_is_refused_before_the_parser_recurses(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"config": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "nests 100001 levels deep" in refusal(path)  # a scan, not a recursion: no RecursionError


def test_a_link_to_dev_zero_is_not_read(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    link = tmp_path / "config.json"
    link.symlink_to("/dev/zero")
    assert "not a regular file" in refusal(link)
    with pytest.raises(TunesmithError, match="not a regular file"):
        regular_file_size(link, max_bytes=10)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "real.json"
    os.mkfifo(fifo)
    link = tmp_path / "config.json"
    link.symlink_to(fifo)
    outcome: list[str] = []
    reader = threading.Thread(target=lambda: outcome.append(refusal(link)), daemon=True)
    reader.start()
    reader.join(10)
    assert outcome and "not a regular file" in outcome[0], "read_json blocked on a FIFO"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
def test_numbers_that_are_not_finite_are_refused(tmp_path: Path, constant: str) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"lr": ' + constant + "}")
    assert "is not valid JSON" in refusal(path)
    with pytest.raises(TunesmithError, match="request"):
        parse_json('{"lr": ' + constant + "}", "the request")


def test_binary_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    assert "not UTF-8 text" in refusal(path)
    path.write_bytes(b"\x00" * 64)  # valid UTF-8, still not text
    assert "NUL" in refusal(path)


def test_the_top_level_must_be_what_the_caller_expects(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("[1, 2, 3]")
    assert "must hold an object, not list" in refusal(path)
    assert read_json(path, expect=list) == [1, 2, 3]
    path.write_text('"just a string"')
    assert "must hold an object, not str" in refusal(path)
    path.write_text('{"a": 1}')
    assert "must hold a list, not dict" in refusal(path, expect=list)


def test_oversized_files_are_refused_before_they_are_read(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"pad": "' + "x" * 5000 + '"}')
    assert "at most 1,000 are read" in refusal(path, max_bytes=1000)
    with pytest.raises(TunesmithError, match="larger than 1,000 bytes"):
        parse_json("[" + "0," * 1000 + "0]", "the request", expect=list, max_bytes=1000)
    with pytest.raises(TunesmithError, match="at most 100 are read"):
        read_bytes(path, max_bytes=100, what="weights")
    assert regular_file_size(path, max_bytes=10_000) == path.stat().st_size


def test_missing_files_and_folders_are_named(tmp_path: Path) -> None:
    assert "is missing" in refusal(tmp_path / "absent.json")
    assert "not a regular file" in refusal(tmp_path)
    path = tmp_path / "broken.json"
    path.write_text('{"a": ')
    assert "is not valid JSON" in refusal(path)


def test_finite() -> None:
    assert finite(1) and finite(0.5) and not finite(float("nan")) and not finite(float("inf"))
    assert not finite(True) and not finite("1")


def test_prepared_datasets_read_their_json_through_the_reader(tmp_path: Path) -> None:
    """``PreparedData.open`` is one of the reader's users: a deep or linked meta.json is one line."""
    from tunesmith.data.prepared import PreparedData

    (tmp_path / "meta.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(TunesmithError, match="meta.json nests"):
        PreparedData.open(tmp_path)
    (tmp_path / "meta.json").write_text('{"format": 1}')
    (tmp_path / "representation.json").write_text('{"name": ["not", "a", "name"]}')
    with pytest.raises(TunesmithError, match="representation.json"):
        PreparedData.open(tmp_path)
    if Path("/dev/zero").exists():
        (tmp_path / "meta.json").unlink()
        (tmp_path / "meta.json").symlink_to("/dev/zero")
        with pytest.raises(TunesmithError, match="not a regular file"):
            PreparedData.open(tmp_path)
