"""The FastAPI application: the JSON API under /api, the page at /, its files under /static."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from colorize import __version__
from colorize.web.api import router
from colorize.web.config import ServeConfig
from colorize.web.db import Database
from colorize.web.limits import MULTIPART_OVERHEAD, UploadLimitMiddleware
from colorize.web.services import WebServices
from colorize.web.storage import Storage

log = logging.getLogger("colorize.web")

STATIC_DIR = Path(__file__).parent / "static"
UPLOAD_PATHS = ("/api/results",)
#: The page runs only its own scripts and styles: a file name or comment can never become code.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}

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


def create_app(config: ServeConfig | None = None, colorizers: list | None = None) -> FastAPI:
    """The web app. `colorizers` (objects with `name` and `colorize(image)`) skips loading checkpoints, which is
    what tests do; otherwise the models named by `config.checkpoint` (or the bundled default) are loaded now."""
    config = config or ServeConfig()
    if colorizers is None:
        colorizers = load_colorizers(config)
    storage = Storage(config.storage)
    database = Database(config.database_url)
    database.create_schema()
    services = WebServices(config, list(colorizers), database, storage)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services.jobs.start()
        log.info("serving models %s; database %s; storage %s", ", ".join(services.colorizers),
                 database.describe(), storage.root)
        try:
            yield
        finally:
            services.jobs.stop()
            database.dispose()

    app = FastAPI(title="colorize", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.services = services
    app.include_router(router)

    def busy() -> int | None:
        return services.jobs.retry_after() if services.jobs.full() else None

    app.add_middleware(UploadLimitMiddleware, max_body_bytes=config.max_upload_bytes + MULTIPART_OVERHEAD,
                       paths=UPLOAD_PATHS, busy=busy)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": _readable_validation_error(exc)})

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, exc: Exception):
        # Logged with its traceback; the client gets JSON the page can show instead of a bare text 500.
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "something went wrong on the server; the error "
                                                                "was logged"})

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
