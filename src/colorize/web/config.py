"""Settings of the web app, from command-line flags or `COLORIZE_*` environment variables (flags win).

Every field of `ServeConfig` / `ExportConfig` can be set by the environment variable `COLORIZE_<FIELD>` (upper
case), e.g. `COLORIZE_DB=postgresql+psycopg://...` or `COLORIZE_MAX_UPLOAD_MB=50`; `COLORIZE_CHECKPOINT` takes
several checkpoints separated by commas. Nothing is secret and nothing is required: with no settings at all the
app stores everything under ./colorize-data with an embedded SQLite database and serves the bundled model.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping

from colorize.inference_options import InferenceOptions

ENV_PREFIX = "COLORIZE_"
SQLITE_FILE_NAME = "colorize.db"


@dataclass
class ServeConfig:
    """`colorize serve`: the web app (FastAPI + uvicorn)."""

    host: str = field(default="127.0.0.1", metadata={"help": "address to listen on (0.0.0.0 for every interface)"})
    port: int = field(default=8000, metadata={"help": "TCP port to listen on"})
    db: str = field(
        default="",
        metadata={"help": "SQLAlchemy database URL, e.g. postgresql+psycopg://user@host/colorize; "
                          "empty: an SQLite file colorize.db inside --storage"},
    )
    storage: str = field(default="colorize-data", metadata={"help": "directory for uploaded and coloured images"})
    checkpoint: tuple[str, ...] = field(
        default=(),
        metadata={"help": "model checkpoint(s) to serve (.safetensors or training .pt); repeat the option for "
                          "several models, which enables the blind comparison; none: the bundled default model"},
    )
    max_upload_mb: float = field(default=20.0, metadata={"help": "largest accepted upload, in megabytes"})
    queue_size: int = field(
        default=32, metadata={"help": "colorization jobs allowed to wait; beyond that clients get 503 + Retry-After"}
    )
    workers: int = field(
        default=2, metadata={"help": "inference worker threads, each running one image at a time with cores/workers "
                                     "torch threads (decoding and encoding overlap with the model this way)"}
    )
    # The inference options (render size, backend, max pixels, ...) as `colorize image` has them; the checkpoints
    # are the list above.
    inference: InferenceOptions = field(default_factory=InferenceOptions, metadata={"skip": ("checkpoint",)})
    recent_limit: int = field(default=200, metadata={"help": "most results the history endpoint returns at once"})
    retention_days: float = field(
        default=0.0, metadata={"help": "delete uploads (and everything made from them) after this many days; "
                                       "0 keeps them. The cleanup also removes files orphaned by interrupted uploads"}
    )
    uploads_per_minute: float = field(
        default=12.0, metadata={"help": "per client address: colorizations (uploads and new pairs) a minute; "
                                        "beyond that 429 + Retry-After; 0 turns the limit off"}
    )
    ratings_per_minute: float = field(default=30.0, metadata={"help": "per client address: ratings a minute; 0: off"})
    votes_per_minute: float = field(default=30.0, metadata={"help": "per client address: arena votes a minute; 0: off"})
    max_concurrent_uploads: int = field(
        default=16, metadata={"help": "uploads being received or colorized at once; beyond that 503 + Retry-After"}
    )
    body_timeout: float = field(
        default=30.0, metadata={"help": "seconds a request body may stall before the server answers 408 and closes"}
    )
    processes: int = field(
        default=1, metadata={"help": "server processes (uvicorn workers) on one socket; more than 1 needs a --db "
                                     "server such as PostgreSQL. --queue-size, --max-concurrent-uploads and the "
                                     "rate limits are split between them; each has its own --workers threads"}
    )

    def __post_init__(self) -> None:
        if self.max_upload_mb <= 0:
            raise ValueError(f"max_upload_mb must be positive, got {self.max_upload_mb}")
        for name in ("queue_size", "workers", "processes", "max_concurrent_uploads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.body_timeout > 0:
            raise ValueError(f"body_timeout must be positive, got {self.body_timeout}")
        for name in ("retention_days", "uploads_per_minute", "ratings_per_minute", "votes_per_minute"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0 turns it off), got {getattr(self, name)}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be between 1 and 65535, got {self.port}")
        self.checkpoint = tuple(self.checkpoint)

    @property
    def render_size(self) -> int:
        return self.inference.render_size

    @property
    def backend(self) -> str:
        return self.inference.backend

    @property
    def max_pixels(self) -> int:
        return self.inference.max_pixels

    @max_pixels.setter
    def max_pixels(self, value: int) -> None:
        self.inference = dataclasses.replace(self.inference, max_pixels=value)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def database_url(self) -> str:
        return resolve_database_url(self.db, self.storage)


@dataclass
class ExportConfig:
    """`colorize export-ratings`: write every rating and comparison vote to files for analysis."""

    out: str = field(default="colorize-export", metadata={"help": "directory to write the files into"})
    format: Literal["csv", "json"] = field(
        default="csv", metadata={"help": "csv: ratings.csv + votes.csv; json: ratings.json + votes.json"}
    )
    db: str = field(default="", metadata={"help": "SQLAlchemy database URL (as for `colorize serve`)"})
    storage: str = field(
        default="colorize-data", metadata={"help": "storage directory whose colorize.db to read when --db is empty"}
    )

    @property
    def database_url(self) -> str:
        return resolve_database_url(self.db, self.storage)


def resolve_database_url(db: str, storage: str | Path) -> str:
    """The configured URL, or the embedded SQLite file inside the storage directory."""
    if db:
        return db
    return f"sqlite:///{(Path(storage) / SQLITE_FILE_NAME).resolve()}"


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def env_overrides(config_cls: type, environ: Mapping[str, str] | None = None) -> dict:
    """Field values given by `COLORIZE_*` environment variables, converted to the field's type."""
    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(config_cls)
    values: dict = {}
    for f in dataclasses.fields(config_cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):  # embedded options: COLORIZE_<ITS FIELD>, e.g. COLORIZE_RENDER_SIZE
            skip = f.metadata.get("skip", ())
            values.update({k: v for k, v in env_overrides(tp, environ).items() if k not in skip})
            continue
        raw = environ.get(env_name(f.name))
        if raw is None:
            continue
        try:
            if typing.get_origin(tp) is tuple:
                values[f.name] = tuple(part.strip() for part in raw.split(",") if part.strip())
            elif tp in (int, float):
                values[f.name] = tp(raw)
            elif tp is bool:
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            else:
                values[f.name] = raw
        except ValueError as exc:
            raise ValueError(f"environment variable {env_name(f.name)}={raw!r}: {exc}") from exc
    return values
