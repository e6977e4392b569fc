"""Scores people can read: ABC or MIDI → SVG pages (verovio) and → MusicXML (music21).

verovio reads ABC itself, and MusicXML for everything else (a MIDI file goes through music21's
quantizer first: verovio does not read MIDI). Both run in a child Python process with a time limit
and an address-space cap (:mod:`tunesmith.render.limits`): verovio is C++ and a malformed tune can
abort the whole process (a generated tune did, with ``std::out_of_range``), a 10 MB tune made it
take 16 GB, and music21's time grows faster than linearly with a score's bars. A crash, a timeout
or the memory cap in the child is one clear error for that tune.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tunesmith.errors import TunesmithError
from tunesmith.render.limits import CHILD_MEMORY_BYTES, CONVERT_TIMEOUT, ENGRAVE_TIMEOUT, limit_memory

# A4-wide pages cropped to their music, no verovio footer; viewBox so a browser can scale them.
VEROVIO_OPTIONS = {"adjustPageHeight": True, "footer": "none", "svgViewBox": True}
_ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _in_child(request: dict, tool: str, name: str, timeout: float) -> dict:
    """Run ``request`` in ``python -m tunesmith.render.score`` under the time limit and memory cap;
    its JSON reply, or a TunesmithError naming ``tool`` and what went wrong."""
    cmd = [sys.executable, "-m", "tunesmith.render.score"]
    try:
        proc = subprocess.run(
            cmd,
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **_ONE_THREAD},
        )
    except subprocess.TimeoutExpired:
        raise TunesmithError(f"{name}: {tool} took longer than {timeout:g} s") from None
    if proc.returncode != 0 or not proc.stdout.strip():
        if proc.returncode < 0:
            why = f"{tool} crashed on it (signal {-proc.returncode})"
        else:
            why = f"{tool} failed ({(proc.stderr.strip().splitlines() or ['no message'])[-1][:200]})"
        raise TunesmithError(f"{name}: {why}; it is probably malformed, or needed over {CHILD_MEMORY_BYTES >> 30} GiB")
    reply = json.loads(proc.stdout)
    if reply.get("error"):
        raise TunesmithError(f"{name}: {reply['error']}")
    return reply


def engrave(data: str, kind: str, name: str, timeout: float = ENGRAVE_TIMEOUT) -> list[str]:
    """SVG pages of ``data`` (``kind`` is ``abc`` or ``musicxml``), engraved by verovio in a child process."""
    reply = _in_child({"op": "engrave", "kind": kind, "data": data}, "verovio", name, timeout)
    if not any('class="note"' in page for page in reply["pages"]):
        raise TunesmithError(f"{name} has no notes to engrave")
    return reply["pages"]


def abc_to_musicxml(abc: str, name: str, timeout: float = CONVERT_TIMEOUT) -> str:
    """MusicXML text for one ABC tune, via music21's ABC reader (in a child process)."""
    return _in_child({"op": "musicxml", "kind": "abc", "data": abc}, "music21", name, timeout)["xml"]


def midi_to_musicxml(path: Path, name: str | None = None, timeout: float = CONVERT_TIMEOUT) -> str:
    """MusicXML text for a MIDI file, quantized by music21 (to sixteenths and triplet eighths), in a child process."""
    request = {"op": "musicxml", "kind": "midi", "data": str(Path(path).resolve())}
    return _in_child(request, "music21", name or str(path), timeout)["xml"]


def _engrave_here(kind: str, data: str) -> dict:
    import verovio

    verovio.enableLog(verovio.LOG_ERROR)
    tk = verovio.toolkit()
    tk.setOptions(VEROVIO_OPTIONS)
    tk.setInputFrom(kind)
    if not tk.loadData(data) or tk.getPageCount() == 0:
        log = [ln for ln in tk.getLog().splitlines() if ln.strip()]
        detail = f" ({log[-1][:200]})" if log else ""
        return {"error": f"verovio could not read it as {kind.upper()}{detail}"}
    return {"pages": [tk.renderToSVG(p) for p in range(1, tk.getPageCount() + 1)]}


def _musicxml_here(kind: str, data: str) -> dict:
    from music21 import converter
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    try:
        score = converter.parse(data, format=kind)
    except MemoryError:
        raise
    except Exception as exc:  # music21 raises many types on malformed input
        return {"error": f"music21 could not read the {kind.upper()} ({_first_line(exc)})"}
    if not score.flatten().notes:  # type: ignore[union-attr]
        return {"error": "no notes to write as a score"}
    try:
        return {"xml": GeneralObjectExporter(score).parse().decode("utf-8")}
    except MemoryError:
        raise
    except Exception as exc:
        return {"error": f"music21 could not write MusicXML ({_first_line(exc)})"}


def _worker() -> None:
    """Child process: JSON ``{op, kind, data}`` on stdin → JSON ``{pages}``, ``{xml}`` or ``{error}`` on stdout."""
    limit_memory()
    request = json.loads(sys.stdin.read())
    try:
        if request["op"] == "engrave":
            reply = _engrave_here(request["kind"], request["data"])
        else:
            reply = _musicxml_here(request["kind"], request["data"])
    except MemoryError:
        reply = {"error": f"it needs more memory than a score may take ({CHILD_MEMORY_BYTES >> 30} GiB)"}
    print(json.dumps(reply))


def write_pages(pages: list[str], stem: Path) -> list[Path]:
    """``stem.svg`` for page 1, ``stem-p2.svg``… for the rest; stale later pages from an earlier render go."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, svg in enumerate(pages, start=1):
        path = stem.with_name(stem.name + (".svg" if number == 1 else f"-p{number}.svg"))
        path.write_text(svg, encoding="utf-8")
        paths.append(path)
    number = len(pages) + 1
    while (stale := stem.with_name(f"{stem.name}-p{number}.svg")).exists():
        stale.unlink()
        number += 1
    return paths


if __name__ == "__main__":
    _worker()
