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
    max_pixels: int = field(
        default=40_000_000, metadata={"help": "largest accepted image in pixels (decompression-bomb guard)"}
    )
    queue_size: int = field(
        default=32, metadata={"help": "colorization jobs allowed to wait; beyond that clients get 503 + Retry-After"}
    )
    workers: int = field(
        default=2, metadata={"help": "inference worker threads, each running one image at a time with cores/workers "
                                     "torch threads (decoding and encoding overlap with the model this way)"}
    )
    render_size: int = field(
        default=256, metadata={"help": "side length the model sees; colour is upsampled to the full image"}
    )
    backend: Literal["auto", "torch", "onnx"] = field(
        default="auto", metadata={"help": "inference engine; auto: onnx for .onnx checkpoints, torch otherwise"}
    )
    recent_limit: int = field(default=200, metadata={"help": "most results the history endpoint returns at once"})

    def __post_init__(self) -> None:
        if self.max_upload_mb <= 0:
            raise ValueError(f"max_upload_mb must be positive, got {self.max_upload_mb}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be positive, got {self.max_pixels}")
        if self.queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {self.queue_size}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be between 1 and 65535, got {self.port}")
        self.checkpoint = tuple(self.checkpoint)

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
        raw = environ.get(env_name(f.name))
        if raw is None:
            continue
        tp = hints[f.name]
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
