"""The studio's routes for one tune after it is made: the menus a model offers, an edited tune rendered again,
and a PDF of its score to print.

Rendering runs abc2midi, verovio and FluidSynth in child processes with their own time limits; at most
:data:`RENDERS_AT_ONCE` edits render together, and another gets 503, so a page held down on Render cannot
starve the machine.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse

from tunesmith.errors import TunesmithError
from tunesmith.media import STUDIO_STEM
from tunesmith.render.audio import GM_PROGRAMS
from tunesmith.web import door, schemas
from tunesmith.web.catalog import ID_PATTERN
from tunesmith.web.store import RESULT_ID, ResultStore

RENDERS_AT_ONCE = 2


def _instruments() -> list[str]:
    """One name per General MIDI program, in the order of the table (piano first, then by family)."""
    seen: dict[int, str] = {}
    for name, program in GM_PROGRAMS.items():
        seen.setdefault(program, name)
    return list(seen.values())


INSTRUMENTS = _instruments()


def synth_name() -> str:
    """What will sound the tunes, for the page: FluidSynth with its SoundFont, or the built-in synthesizer."""
    from tunesmith.render.audio import AudioOptions, choose_synth

    synth = choose_synth(AudioOptions(), warn=False)
    return f"FluidSynth, {synth.soundfont.name}" if synth.soundfont else "the built-in synthesizer (no FluidSynth)"


def kinds(loaded: Any) -> dict[str, Any]:
    """The menus for one model: its corpus's meters, keys and rhythms, commonest first (none for MIDI or audio)."""
    from tunesmith import media
    from tunesmith.media.abc_kind import known_keys, known_meters, known_rhythms

    if media.of(loaded.representation).name != "abc":
        return {"abc": False, "meters": [], "keys": [], "rhythms": []}
    corpus = loaded.corpus
    return {"abc": True, "meters": known_meters(corpus), "keys": known_keys(corpus), "rhythms": known_rhythms(corpus)}


def add_routes(app: FastAPI, catalog: Any, store: ResultStore) -> None:
    """Add the menus, render and PDF routes to the studio ``app``."""
    rendering = threading.BoundedSemaphore(RENDERS_AT_ONCE)

    @app.get("/api/models/{model_id}/kinds", response_model=schemas.KindsInfo, tags=["models"])
    def model_kinds(model_id: Annotated[str, PathParam(pattern=ID_PATTERN)]) -> dict[str, Any]:
        """The meters, keys and rhythms of the model's training tunes, for the compose menus."""
        if catalog.get(model_id) is None:
            raise HTTPException(404, detail="no such model; reload the list of models")
        try:
            return kinds(catalog.load(model_id))
        except TunesmithError as exc:
            raise HTTPException(409, detail=str(exc)) from None

    @app.post(
        "/api/results/{result_id}/render",
        response_model=schemas.Result,
        tags=["results"],
        responses={404: {"description": "No such result"}, 409: {"description": "Not an ABC tune"}, 503: {}},
    )
    def render_edit(
        result_id: Annotated[str, PathParam(pattern=RESULT_ID)], body: schemas.RenderRequest
    ) -> dict[str, Any] | JSONResponse:
        """Check, engrave and sound a tune's ABC as a person edited it; the result keeps its id. Wrong bars come
        back in ``wrong_bars``, in words, and are marked on the score."""
        from tunesmith.media.abc_studio import edited_piece

        record = store.get(result_id)
        if record is None:
            raise HTTPException(404, detail="no such result")
        if record.get("text") is None:
            raise HTTPException(409, detail="only an ABC tune can be edited")
        if "K:" not in body.text:
            fields = {"text": "The tune needs a K: line (the key) before its music"}
            return JSONResponse({"detail": fields["text"], "fields": fields}, status_code=422)
        request = {"tempo": body.tempo, "instrument": body.instrument}
        try:
            audio = door.playback(request)
        except door.FieldProblem as problem:
            return JSONResponse({"detail": str(problem), "fields": {problem.field: str(problem)}}, status_code=422)
        if not rendering.acquire(blocking=False):
            return JSONResponse({"detail": "the studio is rendering other tunes: try again"}, status_code=503)
        try:
            piece = edited_piece(body.text, store.folder / result_id, _profile(catalog, record), audio)
        finally:
            rendering.release()
        return store.replace(result_id, piece) or {}

    @app.get("/api/results/{result_id}/pdf", tags=["results"], response_class=FileResponse)
    def score_pdf(result_id: Annotated[str, PathParam(pattern=RESULT_ID)]) -> FileResponse:
        """The tune's score as an A4 PDF to print (made on first asking, again after an edit)."""
        from tunesmith.render.pdf import score_pdf as write_pdf

        record = store.get(result_id)
        if record is None:
            raise HTTPException(404, detail="no such result")
        pages = [store.folder / result_id / f["name"] for f in record["files"] if f["kind"] == "score"]
        pages = [p for p in pages if p.is_file()]
        if not pages:
            raise HTTPException(404, detail="this tune has no score to print")
        out = store.folder / result_id / f"{STUDIO_STEM}.pdf"
        if not out.is_file() or out.stat().st_mtime < max(p.stat().st_mtime for p in pages):
            try:
                write_pdf([p.read_text(encoding="utf-8") for p in pages], out, record["title"])
            except TunesmithError as exc:
                raise HTTPException(409, detail=str(exc)) from None
        return FileResponse(out, media_type="application/pdf", filename=_file_name(record["title"]) + ".pdf")


def _profile(catalog: Any, record: dict[str, Any]) -> Any:
    """The corpus profile of the model that wrote a result (None, the generic floor, if it is gone)."""
    try:
        return catalog.load(record["model"]["id"]).corpus
    except (TunesmithError, KeyError, TypeError):
        return None


def _file_name(title: str) -> str:
    """A download name from a tune's title: letters, digits and dashes only."""
    name = "".join(c if c.isalnum() else "-" for c in title.lower())
    return "-".join(part for part in name.split("-") if part)[:60] or "tune"
