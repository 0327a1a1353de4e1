"""The JSON API under /api. Image work goes through the bounded job queue; database work runs in FastAPI's thread
pool (plain `def` endpoints, or `run_in_threadpool`), so the event loop only ever waits.

Everything about a photo (its result, images, ratings, pairs, votes) is visible to its owner only (owner.py),
or to anyone holding the share link the owner asked for; anything else is a 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from colorize.images import ImageError
from colorize.web.db import Result
from colorize.web.hinting import HintError, read_hints_text, with_hints
from colorize.web.jobs import QueueFull
from colorize.web.limits import client_key
from colorize.web.processing import megapixels, process_upload
from colorize.web.repository import AlreadyVoted
from colorize.web.schemas import (
    ID_PATTERN,
    ComparisonIn,
    ComparisonOut,
    ErrorOut,
    HealthOut,
    LeaderboardOut,
    ModelOut,
    RatingIn,
    RatingOut,
    RecolorizeIn,
    ResultOut,
    SessionOut,
    VoteIn,
    VoteOut,
)
from colorize.web.services import NotFound, NotServed, WebServices, content_disposition, download_filename
from colorize.web.views import rating_out, result_out

router = APIRouter(prefix="/api")

ResultId = Annotated[str, Path(pattern=ID_PATTERN, description="a result id (32 hex digits)")]
ComparisonId = Annotated[str, Path(pattern=ID_PATTERN, description="a comparison id (32 hex digits)")]
ShareToken = Annotated[str, Path(pattern=ID_PATTERN, description="a share token (32 hex digits)")]
#: Images are one owner's: browsers may keep them, shared caches (proxies, CDNs) must not; nosniff: an image only.
IMAGE_HEADERS = {"Cache-Control": "private, max-age=3600", "Vary": "Cookie", "X-Content-Type-Options": "nosniff"}
#: Far above any real history page, far below what breaks a database's 64-bit OFFSET.
MAX_OFFSET = 10**9
#: Answer for a database that cannot be reached: the client may try again soon.
DATABASE_RETRY_AFTER = 5


def _errors(*codes: int) -> dict:
    return {code: {"model": ErrorOut} for code in codes}


def services(request: Request) -> WebServices:
    return request.app.state.services


def owner(request: Request) -> str:
    return request.state.owner


def _busy(exc: QueueFull) -> HTTPException:
    return HTTPException(503, detail=str(exc), headers={"Retry-After": str(exc.retry_after)})


def _not_found(exc: NotFound) -> HTTPException:
    return HTTPException(404, detail=str(exc))


async def _require_database(svc: WebServices) -> None:
    """503 before any work when the database cannot be reached, rather than a 500 after a colorization."""
    if await run_in_threadpool(svc.database_status) != "ok":
        raise HTTPException(503, detail="the database is unreachable; try again shortly",
                            headers={"Retry-After": str(DATABASE_RETRY_AFTER)})


# -------------------------------------------------------------------------------------------------------------
@router.get("/health", response_model=HealthOut, tags=["service"], summary="Is the server up?",
            responses=_errors(503))
def health(request: Request, response: Response):
    svc = services(request)
    database = svc.database_status()
    if database != "ok":
        response.status_code = 503
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return {"status": "ok" if database == "ok" else "degraded", "database": database,
            "models": list(svc.colorizers), "max_upload_mb": svc.config.max_upload_mb,
            "max_pixels": svc.config.max_pixels, "queue": svc.jobs.stats()}


@router.get("/session", response_model=SessionOut, tags=["service"],
            summary="This browser's CSRF token: send it as X-CSRF-Token with every POST and DELETE")
def session(request: Request):
    return {"csrf_token": request.state.csrf_token}


@router.get("/models", response_model=list[ModelOut], tags=["ratings"],
            summary="Installed models with their rating statistics (by weights hash)")
def list_models(request: Request):
    return services(request).model_stats()


# -------------------------------------------------------------------------------------------------------------
@router.post("/results", response_model=ResultOut, status_code=201, tags=["results"],
             summary="Upload a photo and colorize it",
             description="Multipart form with `file` (JPEG, PNG, WebP, BMP, TIFF or GIF; the type is sniffed from "
                         "the bytes), optionally `model`, and optionally `hints`: colour hints as JSON text "
                         '(`[{"x": 120, "y": 80, "color": "#c03020", "radius": 2}]`, pixels of the photo as '
                         "displayed). Answers when the coloured image is ready. The stored original keeps the "
                         "pixels only (orientation applied; no EXIF, GPS or maker notes).",
             responses=_errors(400, 403, 404, 408, 413, 422, 429, 503))
async def create_result(
    request: Request,
    file: Annotated[UploadFile, File(description="the photo")],
    model: Annotated[str | None, Form(description="model name (see /api/models); empty: the default")] = None,
    hints: Annotated[str | None, Form(description="colour hints as a JSON list; empty: automatic")] = None,
):
    svc = services(request)
    try:
        colorizer = svc.colorizer(model or None)
    except NotFound as exc:
        raise _not_found(exc) from exc
    try:
        guide = tuple(read_hints_text(hints, colorizer.name, colorizer.colorizer))
    except HintError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    limit = svc.config.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, detail=f"the upload is too large; the limit is {svc.config.max_upload_mb:g} MB")
    if not data:
        raise HTTPException(400, detail="the file is empty (0 bytes)")
    await _require_database(svc)
    try:
        original, stored = await svc.jobs.run(process_upload, data, with_hints(colorizer, guide), svc.storage,
                                              svc.config.max_pixels, cost=megapixels(data))
    except QueueFull as exc:
        raise _busy(exc) from exc
    except (ImageError, HintError) as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    row = await run_in_threadpool(svc.record_upload, original, stored, file.filename or "", owner(request), guide)
    return result_out(row)


@router.post("/results/{result_id}/recolorize", response_model=ResultOut, tags=["results"],
             summary="Colour the photo of this result again with colour hints (by the model that made it)",
             description="The body lists the hints (none: the automatic result). The same hints give back the "
                         "result made before (200); new ones make a new guided result (201). Too many hints, one "
                         "outside the photo, a bad colour, or a model that takes no hints: 422, nothing stored.",
             responses={201: {"model": ResultOut, "description": "a new guided result"},
                        **_errors(403, 404, 409, 422, 429, 503)})
async def recolorize(request: Request, response: Response, result_id: ResultId, body: RecolorizeIn):
    svc = services(request)
    await _require_database(svc)
    try:
        plan = await run_in_threadpool(svc.prepare_recolorization, result_id, owner(request), body.hints)
    except NotFound as exc:
        raise _not_found(exc) from exc
    except NotServed as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    except HintError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    if plan.existing is not None:
        return result_out(plan.existing)
    wait = svc.recolorize_limit.acquire(client_key(request.scope))  # only new work counts
    if wait is not None:
        raise HTTPException(429, detail=f"too many new colorizations from this address; try again in {wait} s",
                            headers={"Retry-After": str(wait)})
    try:
        row = await svc.ensure_result(plan.upload_id, plan.original_file, plan.model, plan.hints)
    except QueueFull as exc:
        raise _busy(exc) from exc
    except (ImageError, OSError) as exc:  # limits lowered since the upload, or its file is gone
        raise HTTPException(409, detail=f"this upload cannot be colorized again: {exc}") from exc
    response.status_code = 201
    return result_out(row)


@router.get("/results", response_model=list[ResultOut], tags=["results"],
            summary="This browser's results, newest first", responses=_errors(422))
def list_results(request: Request, limit: Annotated[int, Query(ge=1)] = 20,
                 offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0):
    svc = services(request)
    if limit > svc.config.recent_limit:
        raise HTTPException(422, detail=f"limit: at most {svc.config.recent_limit} results per page")
    return [result_out(row) for row in svc.recent(owner(request), limit, offset)]


def _result(request: Request, result_id: str) -> Result:
    try:
        return services(request).result(result_id, owner(request))
    except NotFound as exc:
        raise _not_found(exc) from exc


@router.get("/results/{result_id}", response_model=ResultOut, tags=["results"], responses=_errors(404))
def get_result(request: Request, result_id: ResultId):
    return result_out(_result(request, result_id))


@router.delete("/results/{result_id}", status_code=204, tags=["results"], responses=_errors(403, 404),
               summary="Delete the photo: its upload, every colorization, rating, pair and vote, and their files")
def delete_result(request: Request, result_id: ResultId):
    try:
        services(request).delete_result(result_id, owner(request))
    except NotFound as exc:
        raise _not_found(exc) from exc
    return Response(status_code=204)


@router.post("/results/{result_id}/share", response_model=ResultOut, tags=["results"], responses=_errors(403, 404),
             summary="Make a read-only link to this result (`share_url`) that works for anyone who has it")
def share_result(request: Request, result_id: ResultId):
    try:
        return result_out(services(request).share(result_id, owner(request)))
    except NotFound as exc:
        raise _not_found(exc) from exc


@router.get("/shared/{token}", response_model=ResultOut, tags=["results"], responses=_errors(404),
            summary="A result shared by its owner")
def get_shared(request: Request, token: ShareToken):
    return result_out(_shared(request, token), base=f"/api/shared/{token}")


def _shared(request: Request, token: str) -> Result:
    try:
        return services(request).shared_result(token)
    except NotFound as exc:
        raise _not_found(exc) from exc


def _file(request: Request, name: str, headers: dict | None = None) -> FileResponse:
    storage = services(request).storage
    path = storage.path(name)
    if not path.is_file():
        raise HTTPException(404, detail="the image file is missing from the server's storage")
    return FileResponse(path, media_type=storage.content_type(name), headers={**IMAGE_HEADERS, **(headers or {})})


ImageKind = Literal["original", "original/preview", "image", "image/preview", "download"]


def _image(request: Request, row: Result, kind: str) -> FileResponse:
    if kind == "download":
        filename = download_filename(row.upload.client_filename, row.id)
        return _file(request, row.image_file, {"Content-Disposition": content_disposition(filename)})
    name = {"original": row.upload.original_file, "original/preview": row.upload.preview_file,
            "image": row.image_file, "image/preview": row.preview_file}[kind]
    return _file(request, name)


_IMAGE = {"content": {"image/*": {}}, "description": "the image"}
_IMAGE_DOC = ("original: the upload without its metadata; original/preview: it as a JPEG of at most 1280 px; "
              "image: the coloured image (PNG); image/preview: as a JPEG; download: the PNG as an attachment")


def _image_routes(kind: str) -> None:
    @router.get(f"/results/{{result_id}}/{kind}", tags=["images"], response_class=FileResponse,
                responses={200: _IMAGE, **_errors(404)}, summary=f"Image: {kind}", description=_IMAGE_DOC,
                name=f"result_{kind.replace('/', '_')}")
    def owned_image(request: Request, result_id: ResultId):
        return _image(request, _result(request, result_id), kind)

    @router.get(f"/shared/{{token}}/{kind}", tags=["images"], response_class=FileResponse,
                responses={200: _IMAGE, **_errors(404)}, summary=f"Shared image: {kind}", description=_IMAGE_DOC,
                name=f"shared_{kind.replace('/', '_')}")
    def shared_image(request: Request, token: ShareToken):
        return _image(request, _shared(request, token), kind)


for _kind in ("original", "original/preview", "image", "image/preview", "download"):
    _image_routes(_kind)


# -------------------------------------------------------------------------------------------------------------
@router.post("/results/{result_id}/ratings", response_model=RatingOut, status_code=201, tags=["ratings"],
             summary="Rate your result (1-5 stars, optional comment)", responses=_errors(403, 404, 422, 429))
def rate(request: Request, result_id: ResultId, body: RatingIn):
    try:
        return rating_out(services(request).add_rating(result_id, owner(request), body.stars, body.comment))
    except NotFound as exc:
        raise _not_found(exc) from exc


@router.get("/results/{result_id}/ratings", response_model=list[RatingOut], tags=["ratings"],
            summary="Every rating of your result, oldest first", responses=_errors(404))
def list_ratings(request: Request, result_id: ResultId):
    try:
        return [rating_out(r) for r in services(request).ratings(result_id, owner(request))]
    except NotFound as exc:
        raise _not_found(exc) from exc


# -------------------------------------------------------------------------------------------------------------
@router.post("/comparisons", response_model=ComparisonOut, status_code=201, tags=["comparisons"],
             summary="A blind pair: one of your uploads coloured by two different models, in random order",
             responses=_errors(403, 404, 409, 422, 429, 503))
async def create_comparison(request: Request, body: ComparisonIn | None = None):
    svc = services(request)
    await _require_database(svc)
    try:
        upload_id, original_file, sides = await run_in_threadpool(
            svc.pick_comparison, body.upload_id if body else None, owner(request))
    except NotFound as exc:
        raise _not_found(exc) from exc
    except ValueError as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    rows = []
    for model, existing in sides:
        if existing is None:
            try:
                existing = await svc.ensure_result(upload_id, original_file, model)
            except QueueFull as exc:
                raise _busy(exc) from exc
            except (ImageError, OSError) as exc:  # limits lowered since the upload, or its file is gone
                raise HTTPException(409, detail=f"this upload cannot be colorized again: {exc}") from exc
        rows.append(existing)
    try:
        files = await svc.jobs.run(svc.pair_images, rows[0], rows[1], cost=0.1)
    except QueueFull as exc:
        raise _busy(exc) from exc
    comparison = await run_in_threadpool(svc.add_comparison, upload_id, rows[0], rows[1], owner(request), files)
    base = f"/api/comparisons/{comparison.id}"
    return {"id": comparison.id, "upload_id": upload_id, "left": f"{base}/left", "right": f"{base}/right",
            "original": f"{base}/original"}


@router.get("/comparisons/{comparison_id}/{side}", tags=["comparisons"], response_class=FileResponse,
            responses={200: _IMAGE, **_errors(404)},
            summary="One side of your blind pair, or the gray original (display-sized JPEG)")
def comparison_image(request: Request, comparison_id: ComparisonId, side: Literal["left", "right", "original"]):
    svc = services(request)
    try:
        comparison = svc.comparison(comparison_id, owner(request))
    except NotFound as exc:
        raise _not_found(exc) from exc
    if side == "original":
        return _file(request, comparison.upload.preview_file)
    name = comparison.left_file if side == "left" else comparison.right_file
    if not name:  # a pair from before pair images were re-encoded: never serve the labelled preview instead
        raise HTTPException(404, detail="this pair was made by an older version; start a new one")
    return _file(request, name)


@router.post("/comparisons/{comparison_id}/vote", response_model=VoteOut, status_code=201, tags=["comparisons"],
             summary="Say which side of your pair is better (or a tie), once; the models are revealed in the answer",
             responses=_errors(403, 404, 409, 422, 429))
def vote(request: Request, comparison_id: ComparisonId, body: VoteIn):
    try:
        row, comparison = services(request).vote(comparison_id, body.winner, owner(request))
    except NotFound as exc:
        raise _not_found(exc) from exc
    except AlreadyVoted as exc:
        raise HTTPException(409, detail="this pair already has a vote") from exc
    return {"id": row.id, "comparison_id": comparison_id, "winner": row.winner,
            "left_model": comparison.left.model, "right_model": comparison.right.model}


@router.get("/leaderboard", response_model=LeaderboardOut, tags=["comparisons"],
            summary="Models (by weights hash) ranked by Bradley-Terry strength from the blind votes, with vote "
                    "counts and 95 % confidence intervals")
def get_leaderboard(request: Request):
    return services(request).leaderboard()
