"""The database: what was uploaded, what each model made of it, and what people thought (SQLAlchemy 2.0).

Image bytes live on disk (see storage.py); rows only hold the generated file names. SQLite files are opened in
WAL mode with synchronous=FULL, so a rating acknowledged to a client (after its commit) survives a kill -9 of the
server and a power cut; any other SQLAlchemy URL (PostgreSQL) works unchanged.

Privacy: every upload, comparison, rating and vote records its `owner`, the SHA-256 of the browser's owner token
(owner.py), never the token itself, so a copy of the database cannot be used to act as anyone. Model identity: a
result records `model_hash`, the SHA-256 of the model's weights (identity.py), so replacing a model under the same
name starts a new entry on the leaderboard. The schema is created and upgraded by Alembic (migrate.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

#: Where a colorization came from: the upload itself, a blind comparison asking for a second model, or the owner's
#: colour hints (a guided result).
SOURCE_UPLOAD = "upload"
SOURCE_COMPARISON = "comparison"
SOURCE_GUIDED = "guided"
WINNERS = ("left", "right", "tie")


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Upload(Base):
    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: The client's file name, shown to people only; never part of a path.
    client_filename: Mapped[str] = mapped_column(String(255), default="")
    format: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    width: Mapped[int]
    height: Mapped[int]
    num_bytes: Mapped[int]
    original_file: Mapped[str] = mapped_column(String(80))
    preview_file: Mapped[str] = mapped_column(String(80))
    #: SHA-256 of the uploader's owner token; None for rows from before owners existed (visible to nobody).
    owner: Mapped[str | None] = mapped_column(String(64), index=True, default=None)

    results: Mapped[list[Result]] = relationship(back_populates="upload")


class Result(Base):
    """One colorization of an upload by one model, automatic or guided by the owner's colour hints."""

    __tablename__ = "results"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id"), index=True)
    model: Mapped[str] = mapped_column(String(120), index=True)
    #: SHA-256 of the weights ("name:<model>" for results from before hashes were recorded).
    model_hash: Mapped[str] = mapped_column(String(128), default="")
    source: Mapped[str] = mapped_column(String(16), default=SOURCE_UPLOAD)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    image_file: Mapped[str] = mapped_column(String(80))
    preview_file: Mapped[str] = mapped_column(String(80))
    seconds: Mapped[float] = mapped_column(default=0.0)
    #: Capability for a read-only share link (`/api/shared/<token>`); None until the owner shares the result.
    share_token: Mapped[str | None] = mapped_column(String(64), default=None)
    #: The colour hints it was made with ([{"x", "y", "color", "radius"}], web/hinting.py); None: automatic.
    hints: Mapped[list | None] = mapped_column(JSON, default=None)
    #: SHA-256 of the canonical hints, "" for an automatic result: part of what makes a result unique.
    hints_key: Mapped[str] = mapped_column(String(64), default="")

    upload: Mapped[Upload] = relationship(back_populates="results")
    ratings: Mapped[list[Rating]] = relationship(back_populates="result", order_by="Rating.id")

    @property
    def guided(self) -> bool:
        return bool(self.hints_key)

    __table_args__ = (
        Index("ix_results_source_created", "source", "created_at"),
        # One colorization per (upload, model weights, hints), however many requests or server processes ask at once.
        Index("uq_results_upload_model_hints", "upload_id", "model_hash", "hints_key", unique=True),
        Index("uq_results_share_token", "share_token", unique=True),
    )


class Rating(Base):
    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    result_id: Mapped[str] = mapped_column(ForeignKey("results.id"), index=True)
    stars: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    model_hash: Mapped[str] = mapped_column(String(128), default="")
    owner: Mapped[str | None] = mapped_column(String(64), default=None)

    result: Mapped[Result] = relationship(back_populates="ratings")

    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="ck_ratings_stars"),)


class Comparison(Base):
    """A blind pair: two colorizations of one upload by two models, in a random left/right order."""

    __tablename__ = "comparisons"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id"), index=True)
    left_result_id: Mapped[str] = mapped_column(ForeignKey("results.id"))
    right_result_id: Mapped[str] = mapped_column(ForeignKey("results.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    owner: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    #: The two sides re-encoded for this pair, so no side is byte-identical to an image labelled with its model.
    left_file: Mapped[str | None] = mapped_column(String(80), default=None)
    right_file: Mapped[str | None] = mapped_column(String(80), default=None)

    upload: Mapped[Upload] = relationship()
    left: Mapped[Result] = relationship(foreign_keys=[left_result_id])
    right: Mapped[Result] = relationship(foreign_keys=[right_result_id])
    vote: Mapped[Vote | None] = relationship(back_populates="comparison")


class Vote(Base):
    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    #: One vote per pair: a second one is refused (the unique constraint holds even under concurrent requests).
    comparison_id: Mapped[str] = mapped_column(ForeignKey("comparisons.id"))
    winner: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_model_hash: Mapped[str] = mapped_column(String(128), default="")
    right_model_hash: Mapped[str] = mapped_column(String(128), default="")
    owner: Mapped[str | None] = mapped_column(String(64), default=None)

    comparison: Mapped[Comparison] = relationship(back_populates="vote")

    __table_args__ = (
        UniqueConstraint("comparison_id", name="uq_votes_comparison"),
        CheckConstraint("winner IN ('left', 'right', 'tie')", name="ck_votes_winner"),
    )


def _configure_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: every commit is fsynced before the client hears "created", so power loss cannot drop it either.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their folder created and WAL mode."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        in_memory = database in (None, "", ":memory:") or "mode=memory" in str(url)
        if not in_memory and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        if in_memory:
            # An in-memory database exists per connection: every thread must share the one that has the schema.
            engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False, "timeout": 30})
        else:
            engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """The engine, a session factory and the schema (created when missing)."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        """Create the schema, or upgrade an older one in place (Alembic)."""
        from colorize.web.migrate import upgrade_schema

        upgrade_schema(self.engine)

    def session(self) -> Session:
        return self.sessions()

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar() == 1

    def journal_mode(self) -> str | None:
        """SQLite's journal mode ("wal"), None for other databases."""
        if self.engine.dialect.name != "sqlite":
            return None
        with self.engine.connect() as conn:
            return str(conn.execute(text("PRAGMA journal_mode")).scalar()).lower()

    def dispose(self) -> None:
        self.engine.dispose()

    def describe(self) -> str:
        """The URL with any password hidden, for logs."""
        return make_url(self.url).render_as_string(hide_password=True)
