"""The JSON API under /api. Image work goes through the bounded job queue; database work runs in FastAPI's thread
pool (plain `def` endpoints, or `run_in_threadpool`), so the event loop only ever waits."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from colorize.images import ImageError
from colorize.web.db import SOURCE_COMPARISON, Result
from colorize.web.jobs import QueueFull
from colorize.web.processing import process_stored, process_upload
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
    ResultOut,
    VoteIn,
    VoteOut,
)
from colorize.web.services import NotFound, WebServices, download_filename

router = APIRouter(prefix="/api")

ResultId = Annotated[str, Path(pattern=ID_PATTERN, description="a result id (32 hex digits)")]
ComparisonId = Annotated[str, Path(pattern=ID_PATTERN, description="a comparison id (32 hex digits)")]
#: Image files never change once written, so browsers may keep them; nosniff: an upload is only ever an image.
IMAGE_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}


def _errors(*codes: int) -> dict:
    return {code: {"model": ErrorOut} for code in codes}


def services(request: Request) -> WebServices:
    return request.app.state.services


def result_out(row: Result) -> dict:
    base = f"/api/results/{row.id}"
    ratings = row.ratings
    return {
        "id": row.id, "upload_id": row.upload_id, "model": row.model, "created_at": row.created_at,
        "filename": row.upload.client_filename, "format": row.upload.format, "width": row.upload.width,
        "height": row.upload.height, "seconds": round(row.seconds, 3),
        "urls": {"original": f"{base}/original", "original_preview": f"{base}/original/preview",
                 "image": f"{base}/image", "image_preview": f"{base}/image/preview", "download": f"{base}/download"},
        "rating": {
            "count": len(ratings),
            "mean": round(sum(r.stars for r in ratings) / len(ratings), 3) if ratings else None,
            "last_stars": ratings[-1].stars if ratings else None,
            "last_comment": ratings[-1].comment if ratings else None,
        },
    }


def _busy(exc: QueueFull) -> HTTPException:
    return HTTPException(503, detail=str(exc), headers={"Retry-After": str(exc.retry_after)})


# -------------------------------------------------------------------------------------------------------------
@router.get("/health", response_model=HealthOut, tags=["service"], summary="Is the server up?")
def health(request: Request):
    svc = services(request)
    database = svc.database_status()
    return {"status": "ok" if database == "ok" else "degraded", "database": database,
            "models": list(svc.colorizers), "max_upload_mb": svc.config.max_upload_mb,
            "max_pixels": svc.config.max_pixels, "queue": svc.jobs.stats()}


@router.get("/models", response_model=list[ModelOut], tags=["ratings"],
            summary="Installed models with their rating statistics")
def list_models(request: Request):
    return services(request).model_stats()


# -------------------------------------------------------------------------------------------------------------
@router.post("/results", response_model=ResultOut, status_code=201, tags=["results"],
             summary="Upload a photo and colorize it",
             description="Multipart form with `file` (JPEG, PNG, WebP, BMP, TIFF or GIF; the type is sniffed from "
                         "the bytes) and optionally `model`. Answers when the coloured image is ready.",
             responses=_errors(400, 404, 413, 422, 503))
async def create_result(
    request: Request,
    file: Annotated[UploadFile, File(description="the photo")],
    model: Annotated[str | None, Form(description="model name (see /api/models); empty: the default")] = None,
):
    svc = services(request)
    try:
        colorizer = svc.colorizer(model or None)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    limit = svc.config.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, detail=f"the upload is too large; the limit is {svc.config.max_upload_mb:g} MB")
    if not data:
        raise HTTPException(400, detail="the file is empty (0 bytes)")
    try:
        original, stored = await svc.jobs.run(process_upload, data, colorizer, svc.storage, svc.config.max_pixels)
    except QueueFull as exc:
        raise _busy(exc) from exc
    except ImageError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    row = await run_in_threadpool(svc.record_upload, original, stored, file.filename or "")
    return result_out(row)


@router.get("/results", response_model=list[ResultOut], tags=["results"], summary="Recent results, newest first")
def list_results(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 20,
                 offset: Annotated[int, Query(ge=0)] = 0):
    return [result_out(row) for row in services(request).recent(limit, offset)]


def _result(request: Request, result_id: str) -> Result:
    try:
        return services(request).result(result_id)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from exc


@router.get("/results/{result_id}", response_model=ResultOut, tags=["results"], responses=_errors(404))
def get_result(request: Request, result_id: ResultId):
    return result_out(_result(request, result_id))


def _file(request: Request, name: str, **kwargs) -> FileResponse:
    storage = services(request).storage
    path = storage.path(name)
    if not path.is_file():
        raise HTTPException(404, detail="the image file is missing from the server's storage")
    return FileResponse(path, media_type=storage.content_type(name), headers=IMAGE_HEADERS, **kwargs)


_IMAGE = {"content": {"image/*": {}}, "description": "the image"}


@router.get("/results/{result_id}/original", tags=["images"], response_class=FileResponse,
            responses={200: _IMAGE, **_errors(404)}, summary="The uploaded file, byte for byte")
def get_original(request: Request, result_id: ResultId):
    return _file(request, _result(request, result_id).upload.original_file)


@router.get("/results/{result_id}/original/preview", tags=["images"], response_class=FileResponse,
            responses={200: _IMAGE, **_errors(404)}, summary="The upload as a display-sized JPEG")
def get_original_preview(request: Request, result_id: ResultId):
    return _file(request, _result(request, result_id).upload.preview_file)


@router.get("/results/{result_id}/image", tags=["images"], response_class=FileResponse,
            responses={200: _IMAGE, **_errors(404)}, summary="The coloured image at full resolution (PNG)")
def get_image(request: Request, result_id: ResultId):
    return _file(request, _result(request, result_id).image_file)


@router.get("/results/{result_id}/image/preview", tags=["images"], response_class=FileResponse,
            responses={200: _IMAGE, **_errors(404)}, summary="The coloured image as a display-sized JPEG")
def get_image_preview(request: Request, result_id: ResultId):
    return _file(request, _result(request, result_id).preview_file)


@router.get("/results/{result_id}/download", tags=["images"], response_class=FileResponse,
            responses={200: _IMAGE, **_errors(404)},
            summary="Download the coloured image at full resolution (Content-Disposition: attachment)")
def download(request: Request, result_id: ResultId):
    row = _result(request, result_id)
    return _file(request, row.image_file, filename=download_filename(row.upload.client_filename, row.id),
                 content_disposition_type="attachment")


# -------------------------------------------------------------------------------------------------------------
@router.post("/results/{result_id}/ratings", response_model=RatingOut, status_code=201, tags=["ratings"],
             summary="Rate a result (1-5 stars, optional comment)", responses=_errors(404, 422))
def rate(request: Request, result_id: ResultId, body: RatingIn):
    try:
        return services(request).add_rating(result_id, body.stars, body.comment)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from exc


@router.get("/results/{result_id}/ratings", response_model=list[RatingOut], tags=["ratings"],
            summary="Every rating of a result, oldest first", responses=_errors(404))
def list_ratings(request: Request, result_id: ResultId):
    try:
        return services(request).ratings(result_id)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from exc


# -------------------------------------------------------------------------------------------------------------
@router.post("/comparisons", response_model=ComparisonOut, status_code=201, tags=["comparisons"],
             summary="A blind pair: one upload coloured by two different models, in random order",
             responses=_errors(404, 409, 422, 503))
async def create_comparison(request: Request, body: ComparisonIn | None = None):
    svc = services(request)
    try:
        upload_id, original_file, sides = await run_in_threadpool(
            svc.pick_comparison, body.upload_id if body else None)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    result_ids = []
    for model, existing in sides:
        if existing is None:
            try:
                stored = await svc.jobs.run(process_stored, original_file, svc.colorizers[model], svc.storage,
                                            svc.config.max_pixels)
            except QueueFull as exc:
                raise _busy(exc) from exc
            except (ImageError, OSError) as exc:  # limits lowered since the upload, or its file is gone
                raise HTTPException(409, detail=f"this upload cannot be colorized again: {exc}") from exc
            existing = await run_in_threadpool(svc.add_result, upload_id, stored, SOURCE_COMPARISON)
        result_ids.append(existing.id)
    comparison = await run_in_threadpool(svc.add_comparison, upload_id, result_ids[0], result_ids[1])
    base = f"/api/comparisons/{comparison.id}"
    return {"id": comparison.id, "upload_id": upload_id, "left": f"{base}/left", "right": f"{base}/right",
            "original": f"{base}/original"}


@router.get("/comparisons/{comparison_id}/{side}", tags=["comparisons"], response_class=FileResponse,
            responses={200: _IMAGE, **_errors(404)},
            summary="One side of a blind pair, or the gray original (display-sized JPEG)")
def comparison_image(request: Request, comparison_id: ComparisonId, side: Literal["left", "right", "original"]):
    svc = services(request)
    try:
        comparison = svc.comparison(comparison_id)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    if side == "original":
        return _file(request, svc.upload_preview(comparison.upload_id))
    row = comparison.left if side == "left" else comparison.right
    return _file(request, row.preview_file)


@router.post("/comparisons/{comparison_id}/vote", response_model=VoteOut, status_code=201, tags=["comparisons"],
             summary="Say which side is better (or a tie); the models are revealed in the answer",
             responses=_errors(404, 409, 422))
def vote(request: Request, comparison_id: ComparisonId, body: VoteIn):
    try:
        row, comparison = services(request).vote(comparison_id, body.winner)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    except AlreadyVoted as exc:
        raise HTTPException(409, detail="this pair already has a vote") from exc
    return {"id": row.id, "comparison_id": comparison_id, "winner": row.winner,
            "left_model": comparison.left.model, "right_model": comparison.right.model}


@router.get("/leaderboard", response_model=LeaderboardOut, tags=["comparisons"],
            summary="Models ranked by Bradley-Terry strength from the blind votes, with vote counts")
def get_leaderboard(request: Request):
    return services(request).leaderboard()
