"""The studio's FastAPI app: the compose and runs pages and the JSON API behind them.

Routes stay thin: they check input (pydantic), look things up by opaque id, and hand generation
to the job queue, so the event loop only ever waits on a queue or a file.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tunesmith import __version__
from tunesmith.errors import TunesmithError
from tunesmith.web import door, schemas, tunes
from tunesmith.web.apidocs import operations
from tunesmith.web.catalog import ModelCatalog
from tunesmith.web.door import for_people
from tunesmith.web.generate import Studio, compose, settings_for
from tunesmith.web.jobs import Job, JobQueue, QueueFull
from tunesmith.web.runs import run_view
from tunesmith.web.store import RESULT_ID, ResultStore, default_store

HERE = Path(__file__).resolve().parent
JOB_ID = RESULT_ID
MAX_WAIT_S = 30.0


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, whether or not they say their length up front."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        messages: list[Message] = []
        size = int(declared) if declared.isdigit() else self.limit + 1
        while size <= self.limit:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size = max(size, sum(len(m.get("body", b"")) for m in messages))
            if not message.get("more_body"):
                break
        if size > self.limit:
            reply = JSONResponse({"detail": f"the request is larger than {self.limit} bytes"}, status_code=413)
            return await reply(scope, receive, send)

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def create_app(
    model_dirs: list[Path] | None = None,
    store_dir: Path | None = None,
    *,
    include_defaults: bool = True,
    queue_size: int = 8,
    workers: int = 1,
    cache_size: int = 2,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """The studio app. ``model_dirs`` are searched for runs and bundles (plus ``runs/``, ``bundles/`` and
    ``demo-output/`` unless ``include_defaults`` is off); results go to ``store_dir``."""
    catalog = ModelCatalog(model_dirs or [], include_defaults=include_defaults, cache_size=cache_size)
    store = ResultStore(store_dir or default_store())

    def work(job: Job) -> None:
        request = job.request
        entry = catalog.get(request["model"])
        job.update(stage="loading the model")
        try:
            loaded = catalog.load(request["model"])
            about = {
                "job": job.id,
                "model": {"id": request["model"], "name": entry.name if entry else request["model"]},
                "settings": {**{k: v for k, v in request.items() if k != "model"}, "seed": job.seed},
            }
            settings = settings_for(request, job.seed)
            studio = Studio(
                store.new_folder,
                lambda stage: job.update(stage=stage),
                lambda piece: job.add(store.save(piece, about)),
                audio=door.playback(request),
                tune_book=door.kind_asked(request),
            )
            compose(loaded, replace(settings, primer=door.header_primer(loaded, request, settings)), studio)
        except door.FieldProblem as problem:
            job.update(error_field=problem.field)
            raise
        except TunesmithError as exc:
            message, name = for_people(str(exc))
            job.update(error_field=name)
            raise TunesmithError(message) from None

    jobs = JobQueue(work, size=queue_size, workers=workers, tidy=catalog.redact)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(jobs.close)

    app = FastAPI(
        title="tunesmith studio",
        version=__version__,
        description="Generate, hear, see and download music from your own trained models.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI comes from a CDN; /docs below draws the same schema with no internet
        redoc_url=None,
    )
    app.state.catalog, app.state.store, app.state.jobs = catalog, store, jobs
    app.add_middleware(BodyLimit, limit=schemas.MAX_BODY_BYTES)
    if allowed_hosts:  # a page on another site cannot reach the studio through a rebound DNS name
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        """422 for any input at all: NaN, Infinity, lone surrogates and huge values are made safe to repeat."""
        errors = schemas.safe_errors(list(exc.errors()))
        return JSONResponse({"detail": errors, "fields": schemas.field_messages(errors)}, status_code=422)

    def status(job: Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "state": job.state,
            "stage": job.stage,
            "total": job.total,
            "done": len(job.results),
            "seed": job.seed,
            "position": jobs.ahead_of(job) if job.state == "queued" else None,
            "error": job.error,
            "field": job.error_field,
            "version": job.version,
            "results": list(job.results),
            "url": f"/api/jobs/{job.id}",
        }

    def submit(request: dict[str, Any]) -> JSONResponse:
        if catalog.get(request["model"]) is None:
            raise HTTPException(404, detail=f"no model with id {request['model']}; reload the list of models")
        seed = request["seed"] if request.get("seed") is not None else secrets.randbelow(schemas.MAX_SEED)
        try:  # checked against the model at the door; a model that will not load fails its own job, as before
            loaded = catalog.load(request["model"])
        except TunesmithError:
            loaded = None
        if loaded is not None:
            try:
                door.check_request(loaded, request, settings_for(request, seed))
            except door.FieldProblem as problem:
                return JSONResponse({"detail": str(problem), "fields": {problem.field: str(problem)}}, status_code=422)
        try:
            job = jobs.submit(Job(request=request, total=request["num"], seed=seed))
        except QueueFull as full:
            return JSONResponse(
                {"detail": str(full), "retry_after": full.retry_after},
                status_code=503,
                headers={"Retry-After": str(full.retry_after)},
            )
        return JSONResponse(status(job), status_code=202, headers={"Location": f"/api/jobs/{job.id}"})

    # ---- pages -------------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def compose_page(request: Request) -> HTMLResponse:
        context = {
            "models": catalog.entries(),
            "folders": catalog.shown_folders(),
            "limits": {
                "num": schemas.MAX_TUNES,
                "max_length": schemas.MAX_LENGTH,
                "primer": schemas.MAX_PRIMER,
                "top_k": schemas.MAX_TOP_K,
                "seed": schemas.MAX_SEED,
            },
            "page": "compose",
            "instruments": tunes.INSTRUMENTS,
            "tempo": schemas.TEMPO_RANGE,
            "synth": tunes.synth_name(),
        }
        return templates.TemplateResponse(request, "compose.html", context)

    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs_page(request: Request) -> HTMLResponse:
        runs = [run_view(e) for e in catalog.entries() if e.kind == "run"]
        return templates.TemplateResponse(
            request, "runs.html", {"runs": runs, "folders": catalog.shown_folders(), "page": "runs"}
        )

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_page(request: Request) -> HTMLResponse:
        schema = app.openapi()
        context = {"operations": operations(schema), "version": schema.get("openapi", ""), "page": "api"}
        return templates.TemplateResponse(request, "api.html", context)

    # ---- API ---------------------------------------------------------------------------------------

    @app.get("/api/health", tags=["studio"])
    def health() -> dict[str, Any]:
        """The studio is up: jobs waiting and the store folder (by name: a page never shows the server's paths)."""
        return {"ok": True, "waiting": jobs.waiting(), "queue_size": jobs.size, "store": store.root.name}

    @app.get("/api/models", response_model=list[schemas.ModelInfo], tags=["models"])
    def list_models() -> list[dict[str, Any]]:
        """Runs and bundles found in the studio's folders. Use an ``id`` from here to generate."""
        return [e.to_json() for e in catalog.entries()]

    @app.post(
        "/api/generate",
        status_code=202,
        response_model=schemas.JobStatus,
        tags=["generate"],
        responses={
            404: {"description": "No model with that id"},
            413: {"description": "Request body too large"},
            503: {"description": "The queue is full; see Retry-After"},
        },
    )
    def generate(body: schemas.GenerateRequest) -> JSONResponse:
        """Queue a generation job. Poll ``/api/jobs/{id}``: results appear there one by one as they are ready."""
        return submit(body.model_dump())

    @app.get("/api/jobs/{job_id}", response_model=schemas.JobStatus, tags=["generate"])
    async def job_status(
        job_id: Annotated[str, PathParam(pattern=JOB_ID)],
        since: Annotated[int, Query(ge=-1, description="Wait for a version after this one.")] = -1,
        wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S, description="Seconds to wait for a change.")] = 0,
    ) -> dict[str, Any]:
        """A job's state and the results finished so far. With ``since`` and ``wait`` this answers as soon as
        something changes (long polling), so a page hears about each tune without asking over and over."""
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, detail="no such job (finished jobs are forgotten after a while)")
        deadline = time.monotonic() + wait
        while job.version <= since and not job.over and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return status(job)

    @app.get("/api/results", response_model=list[schemas.Result], tags=["results"])
    def list_results(
        kept: Annotated[bool, Query(description="Only kept results (the only list there is).")] = True,
    ) -> list[dict[str, Any]]:
        """The kept results, newest first."""
        return store.kept()

    @app.get("/api/results/{result_id}", response_model=schemas.Result, tags=["results"])
    def get_result(result_id: Annotated[str, PathParam(pattern=RESULT_ID)]) -> dict[str, Any]:
        """One result: facts, checks, the ABC text and links to its files."""
        record = store.get(result_id)
        if record is None:
            raise HTTPException(404, detail="no such result")
        return record

    @app.get("/api/results/{result_id}/files/{name}", tags=["results"], response_class=FileResponse)
    def get_file(
        result_id: Annotated[str, PathParam(pattern=RESULT_ID)],
        name: Annotated[str, PathParam(max_length=80)],
        download: bool = False,
    ) -> FileResponse:
        """A file of a result (ABC, MIDI, WAV, SVG…); only files the result lists are served."""
        found = store.file(result_id, name)
        if found is None:
            raise HTTPException(404, detail="no such file")
        path, media_type = found
        if not download:
            return FileResponse(path, media_type=media_type)
        return FileResponse(path, media_type=media_type, filename=f"tunesmith-{result_id[:8]}-{name}")

    @app.post("/api/results/{result_id}/keep", response_model=schemas.Result, tags=["results"])
    def keep(
        result_id: Annotated[str, PathParam(pattern=RESULT_ID)],
        body: Annotated[schemas.KeepRequest, Body()] = schemas.KeepRequest(),
    ) -> dict[str, Any]:
        """Keep a result (it survives a restart of the studio), or with ``{"kept": false}`` let it go."""
        record = store.set_kept(result_id, body.kept)
        if record is None:
            raise HTTPException(404, detail="no such result")
        return record

    @app.post(
        "/api/results/{result_id}/reroll",
        status_code=202,
        response_model=schemas.JobStatus,
        tags=["results"],
        responses={
            404: {"description": "No such result or model"},
            409: {"description": "The result's settings can no longer be used"},
            503: {"description": "The queue is full"},
        },
    )
    def reroll(
        result_id: Annotated[str, PathParam(pattern=RESULT_ID)],
        body: Annotated[schemas.RerollRequest, Body()] = schemas.RerollRequest(),
    ) -> JSONResponse:
        """One new tune with the same model and settings as this result, and a new seed."""
        record = store.get(result_id)
        if record is None:
            raise HTTPException(404, detail="no such result")
        try:
            settings = {k: v for k, v in record["settings"].items() if k not in ("seed", "num")}
            request = schemas.GenerateRequest(**settings, model=record["model"]["id"], num=1, seed=body.seed)
        except (ValidationError, KeyError, TypeError, AttributeError):
            raise HTTPException(409, detail="this result's settings can no longer be used; compose anew") from None
        return submit(request.model_dump())

    tunes.add_routes(app, catalog, store)
    return app
