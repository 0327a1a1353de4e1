"""The FastAPI application: the JSON API under /api, the page at /, its files under /static, the API's
documentation at /docs (Swagger UI 5 from the swagger-ui-bundle-v2 package: it works offline)."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool

from colorize import __version__
from colorize.web.api import DATABASE_RETRY_AFTER, router
from colorize.web.config import ServeConfig
from colorize.web.db import Database
from colorize.web.limits import MULTIPART_OVERHEAD, UploadLimitMiddleware
from colorize.web.owner import OwnerMiddleware
from colorize.web.ratelimit import RateLimiter
from colorize.web.services import WebServices
from colorize.web.storage import Storage

log = logging.getLogger("colorize.web")

STATIC_DIR = Path(__file__).parent / "static"
#: Where the bundled model's card may be: a source checkout, or the working directory (the Docker image puts it
#: in /app/docs).
MODEL_CARD_PLACES = (Path(__file__).resolve().parents[3] / "docs" / "model-card.md", Path("docs") / "model-card.md")
MODEL_CARD_MISSING = ("The model card (docs/model-card.md) is not installed with this server. In short: the bundled "
                      "model was trained on BSDS500 and ImageNet photos; ImageNet's terms allow research and "
                      "non-commercial use only.\n")
UPLOAD_PATHS = ("/api/results",)
#: The page runs only its own scripts and styles: a file name or comment can never become code.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
#: Swagger UI styles itself inline; everything else still comes from this server only.
DOCS_HEADERS = {**PAGE_HEADERS, "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                                           "img-src 'self' data:; object-src 'none'"}
#: JSON answers are one owner's and change with every upload: never stored by any cache.
API_CACHE_CONTROL = (b"cache-control", b"private, no-store")
#: How often the retention cleanup runs while the server is up.
CLEANUP_INTERVAL_S = 3600

DESCRIPTION = """Upload a black-and-white photo and get it back in colour; rate the result; compare two models
blind and see which one people prefer. Errors are JSON objects `{"detail": "..."}` with a message a person can
act on; 503 answers carry `Retry-After`."""


def parse_checkpoint_spec(spec: str) -> tuple[str | None, str]:
    """`NAME=PATH` names a model explicitly; a plain path keeps the name the checkpoint gives itself."""
    if "=" in spec and not Path(spec).exists():
        name, path = spec.split("=", 1)
        if name and "/" not in name:
            return name, path
    return None, spec


def load_colorizers(config: ServeConfig) -> list:
    """One Colorizer per --checkpoint, or the bundled default model when there is none. Loaded once, here."""
    from colorize.infer import Colorizer

    options = {"render_size": config.render_size, "backend": None if config.backend == "auto" else config.backend}
    if not config.checkpoint:
        return [Colorizer(**options)]
    colorizers, taken = [], set()
    for spec in config.checkpoint:
        name, path = parse_checkpoint_spec(spec)
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such checkpoint file")
        colorizer = Colorizer.from_checkpoint(path, **options)
        base = name or colorizer.name or Path(path).stem
        unique, n = base, 2
        while unique in taken:
            unique, n = f"{base}-{n}", n + 1
        colorizer.name = unique
        taken.add(unique)
        colorizers.append(colorizer)
    return colorizers


def _readable_validation_error(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


class ApiCacheControl:
    """ASGI middleware: `Cache-Control: private, no-store` on /api answers that do not set their own."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            return await self.app(scope, receive, send)

        async def send_private(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append(API_CACHE_CONTROL)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_private)


async def _cleanup_periodically(services: WebServices) -> None:
    while True:
        try:
            report = await run_in_threadpool(services.cleanup, services.config.retention_days)
            if any(report.values()):
                log.info("cleanup: %s", report)
        except Exception:  # noqa: BLE001 - a failed cleanup must not stop the server; it is retried later
            log.exception("cleanup failed")
        await asyncio.sleep(CLEANUP_INTERVAL_S)


def create_app(config: ServeConfig | None = None, colorizers: list | None = None) -> FastAPI:
    """The web app. `colorizers` (objects with `name` and `colorize(image)`) skips loading checkpoints, which is
    what tests do; otherwise the models named by `config.checkpoint` (or the bundled default) are loaded now."""
    config = config or ServeConfig()
    storage = Storage(config.storage)
    database = Database(config.database_url)
    database.create_schema()
    if colorizers is None:
        colorizers = load_colorizers(config)
    services = WebServices(config, list(colorizers), database, storage)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services.jobs.start()
        cleanup = asyncio.create_task(_cleanup_periodically(services))
        log.info("serving models %s; database %s; storage %s", ", ".join(services.colorizers),
                 database.describe(), storage.root)
        try:
            yield
        finally:
            cleanup.cancel()
            services.jobs.stop()
            database.dispose()

    app = FastAPI(title="colorize", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.services = services
    app.include_router(router)

    def busy() -> int | None:
        return services.jobs.retry_after() if services.jobs.full() else None

    limits = {"uploads": RateLimiter(config.uploads_per_minute), "ratings": RateLimiter(config.ratings_per_minute),
              "votes": RateLimiter(config.votes_per_minute)}
    # Added last = runs first: the owner and CSRF check, then the body and rate guards, then the app.
    app.add_middleware(UploadLimitMiddleware, max_body_bytes=config.max_upload_bytes + MULTIPART_OVERHEAD,
                       paths=UPLOAD_PATHS, busy=busy, body_timeout=config.body_timeout,
                       max_concurrent_uploads=config.max_concurrent_uploads, rate_limits=limits,
                       wait_estimate=services.jobs.retry_after)
    app.add_middleware(ApiCacheControl)
    app.add_middleware(OwnerMiddleware, body_timeout=config.body_timeout)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": _readable_validation_error(exc)})

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_unreachable(_request: Request, exc: Exception):
        log.error("database error: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return JSONResponse(status_code=503, content={"detail": "the database is unreachable; try again shortly"},
                            headers={"Retry-After": str(DATABASE_RETRY_AFTER)})

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, exc: Exception):
        # Logged with its traceback; the client gets JSON the page can show instead of a bare text 500.
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "something went wrong on the server; the error "
                                                                "was logged"})

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)

    @app.get("/model-card", include_in_schema=False)
    def model_card():
        card = next((place for place in MODEL_CARD_PLACES if place.is_file()), None)
        text = card.read_text(encoding="utf-8") if card else MODEL_CARD_MISSING
        return PlainTextResponse(text, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    @app.get("/docs", include_in_schema=False)
    def docs():
        return FileResponse(STATIC_DIR / "docs.html", headers=DOCS_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")
    return app
