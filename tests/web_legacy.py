"""A database exactly as release 0.x of the web app (before migrations) created it, built by code for the
upgrade tests: the schema is the one `Base.metadata.create_all` made at commit 0beb2db, written out here in
SQLAlchemy Core so it stays fixed however db.py changes, plus a few rows of every kind."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
)

LEGACY = MetaData()

uploads = Table(
    "uploads", LEGACY,
    Column("id", String(32), primary_key=True),
    Column("created_at", DateTime, nullable=False, index=True),
    Column("client_filename", String(255), nullable=False),
    Column("format", String(16), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("num_bytes", Integer, nullable=False),
    Column("original_file", String(80), nullable=False),
    Column("preview_file", String(80), nullable=False),
)
results = Table(
    "results", LEGACY,
    Column("id", String(32), primary_key=True),
    Column("upload_id", String(32), ForeignKey("uploads.id"), nullable=False, index=True),
    Column("model", String(120), nullable=False, index=True),
    Column("source", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("image_file", String(80), nullable=False),
    Column("preview_file", String(80), nullable=False),
    Column("seconds", Double, nullable=False),
    Index("ix_results_source_created", "source", "created_at"),
)
ratings = Table(
    "ratings", LEGACY,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("result_id", String(32), ForeignKey("results.id"), nullable=False, index=True),
    Column("stars", Integer, nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint("stars BETWEEN 1 AND 5", name="ck_ratings_stars"),
)
comparisons = Table(
    "comparisons", LEGACY,
    Column("id", String(32), primary_key=True),
    Column("upload_id", String(32), ForeignKey("uploads.id"), nullable=False, index=True),
    Column("left_result_id", String(32), ForeignKey("results.id"), nullable=False),
    Column("right_result_id", String(32), ForeignKey("results.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
)
votes = Table(
    "votes", LEGACY,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("comparison_id", String(32), ForeignKey("comparisons.id"), nullable=False),
    Column("winner", String(8), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("comparison_id", name="uq_votes_comparison"),
    CheckConstraint("winner IN ('left', 'right', 'tie')", name="ck_votes_winner"),
)

UPLOAD_ID = "a" * 32
RESULT_IDS = ("b" * 32, "c" * 32)
COMPARISON_ID = "d" * 32


def build_legacy_database(url: str) -> None:
    """Create the old schema at `url` and fill it: one upload coloured by two models, two ratings, one vote."""
    engine = create_engine(url)
    when = datetime(2026, 11, 1, 12, 0, 0)
    LEGACY.create_all(engine)
    with engine.begin() as conn:
        conn.execute(uploads.insert(), [dict(
            id=UPLOAD_ID, created_at=when, client_filename="old.jpg", format="JPEG", mode="L", width=64, height=48,
            num_bytes=1234, original_file="aa/" + "a" * 32 + "-original.jpg",
            preview_file="aa/" + "a" * 32 + "-preview.jpg")])
        conn.execute(results.insert(), [
            dict(id=rid, upload_id=UPLOAD_ID, model=model, source=source, created_at=when,
                 image_file=f"{rid[:2]}/{rid}-result.png", preview_file=f"{rid[:2]}/{rid}-resultpreview.jpg",
                 seconds=0.5)
            for rid, model, source in zip(RESULT_IDS, ("old-a", "old-b"), ("upload", "comparison"))])
        conn.execute(ratings.insert(), [dict(result_id=RESULT_IDS[0], stars=4, comment="nice", created_at=when),
                                        dict(result_id=RESULT_IDS[1], stars=2, comment="", created_at=when)])
        conn.execute(comparisons.insert(), [dict(id=COMPARISON_ID, upload_id=UPLOAD_ID,
                                                 left_result_id=RESULT_IDS[0], right_result_id=RESULT_IDS[1],
                                                 created_at=when)])
        conn.execute(votes.insert(), [dict(comparison_id=COMPARISON_ID, winner="left", created_at=when)])
    engine.dispose()
