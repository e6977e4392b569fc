"""Scores people can read: ABC or MIDI → SVG pages (verovio) and → MusicXML (music21).

verovio reads ABC itself, and MusicXML for everything else (a MIDI file goes through music21's
quantizer first: verovio does not read MIDI). verovio is C++ and a malformed tune can abort the
whole process (a generated tune did, with ``std::out_of_range``), so it engraves in a child
Python process with a time limit; a crash there is one clear error for that tune.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tunesmith.errors import TunesmithError

ENGRAVE_TIMEOUT = 60.0
# A4-wide pages cropped to their music, no verovio footer; viewBox so a browser can scale them.
VEROVIO_OPTIONS = {"adjustPageHeight": True, "footer": "none", "svgViewBox": True}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def engrave(data: str, kind: str, name: str, timeout: float = ENGRAVE_TIMEOUT) -> list[str]:
    """SVG pages of ``data`` (``kind`` is ``abc`` or ``musicxml``), engraved by verovio in a child process."""
    cmd = [sys.executable, "-m", "tunesmith.render.score"]
    try:
        proc = subprocess.run(
            cmd, input=json.dumps({"kind": kind, "data": data}), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise TunesmithError(f"{name}: verovio took longer than {timeout:g} s to engrave it") from None
    if proc.returncode != 0 or not proc.stdout.strip():
        if proc.returncode < 0:
            why = f"verovio crashed on it (signal {-proc.returncode})"
        else:
            why = f"verovio failed ({(proc.stderr.strip().splitlines() or ['no message'])[-1][:200]})"
        raise TunesmithError(f"{name}: {why}; the {kind.upper()} is probably malformed")
    reply = json.loads(proc.stdout)
    if reply.get("error"):
        raise TunesmithError(f"{name}: {reply['error']}")
    if not any('class="note"' in page for page in reply["pages"]):
        raise TunesmithError(f"{name} has no notes to engrave")
    return reply["pages"]


def _worker() -> None:
    """Child process: JSON ``{kind, data}`` on stdin → JSON ``{pages}`` or ``{error}`` on stdout."""
    import verovio

    request = json.loads(sys.stdin.read())
    verovio.enableLog(verovio.LOG_ERROR)
    tk = verovio.toolkit()
    tk.setOptions(VEROVIO_OPTIONS)
    tk.setInputFrom(request["kind"])
    if not tk.loadData(request["data"]) or tk.getPageCount() == 0:
        log = [ln for ln in tk.getLog().splitlines() if ln.strip()]
        detail = f" ({log[-1][:200]})" if log else ""
        print(json.dumps({"error": f"verovio could not read it as {request['kind'].upper()}{detail}"}))
        return
    pages = [tk.renderToSVG(p) for p in range(1, tk.getPageCount() + 1)]
    print(json.dumps({"pages": pages}))


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


def abc_to_musicxml(abc: str, name: str) -> str:
    """MusicXML text for one ABC tune, via music21's ABC reader."""
    from music21 import converter

    try:
        score = converter.parse(abc, format="abc")
    except Exception as exc:  # music21 raises many types on malformed ABC
        raise TunesmithError(f"{name}: music21 could not read the ABC ({_first_line(exc)})") from None
    return _to_musicxml(score, name)


def midi_to_musicxml(path: Path, name: str | None = None) -> str:
    """MusicXML text for a MIDI file, quantized by music21 (to sixteenths and triplet eighths)."""
    from music21 import converter

    name = name or str(path)
    try:
        score = converter.parse(str(path), format="midi")
    except Exception as exc:
        raise TunesmithError(f"{name}: music21 could not read the MIDI ({_first_line(exc)})") from None
    return _to_musicxml(score, name)


def _to_musicxml(score: object, name: str) -> str:
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    if not score.flatten().notes:  # type: ignore[attr-defined]
        raise TunesmithError(f"{name} has no notes to write as a score")
    try:
        return GeneralObjectExporter(score).parse().decode("utf-8")
    except Exception as exc:
        raise TunesmithError(f"{name}: music21 could not write MusicXML ({_first_line(exc)})") from None


if __name__ == "__main__":
    _worker()
