"""Write every rating and every blind-comparison vote to CSV or JSON files, for analysis elsewhere."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy.engine import make_url

from colorize.web import repository
from colorize.web.config import ExportConfig
from colorize.web.db import Database
from colorize.web.ranking import leaderboard

#: `guided`: the rated result was made with the user's colour hints (`hints`, a JSON list; empty: automatic).
RATING_FIELDS = ("rating_id", "created_at", "result_id", "upload_id", "model", "model_hash", "stars", "comment",
                 "guided", "hints", "image_width", "image_height", "upload_format", "upload_mode")
#: Votes are on automatic results only: blind comparisons never use a guided result.
VOTE_FIELDS = ("vote_id", "created_at", "comparison_id", "upload_id", "left_model", "right_model", "left_model_hash",
               "right_model_hash", "winner", "winner_model")


def _check_exists(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():
            raise FileNotFoundError(f"{parsed.database}: no database there (give --db or --storage)")


#: A CSV cell starting with one of these runs as a formula in spreadsheet programs.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value):
    """Visitor text (comments) as inert spreadsheet text: a leading apostrophe before a formula character; a list
    (the hints) as JSON text."""
    if isinstance(value, list):
        value = json.dumps(value, separators=(",", ":"))
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _write(path: Path, rows: list[dict], fields: tuple[str, ...], fmt: str) -> None:
    if fmt == "json":
        path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows({key: _csv_safe(value) for key, value in row.items()} for row in rows)


def export_evaluations(config: ExportConfig) -> dict:
    """Write ratings.<fmt> and votes.<fmt> into `config.out`; returns the paths, counts and the leaderboard."""
    if config.format not in ("csv", "json"):
        raise ValueError(f"unknown export format {config.format!r} (csv or json)")
    url = config.database_url
    _check_exists(url)
    database = Database(url)
    try:
        database.create_schema()  # an empty database exports empty files rather than failing
        with database.session() as session:
            ratings = repository.export_ratings(session)
            votes = repository.export_votes(session)
            outcomes = repository.vote_outcomes(session)
            names = repository.model_names(session)
    finally:
        database.dispose()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    ratings_path = out / f"ratings.{config.format}"
    votes_path = out / f"votes.{config.format}"
    _write(ratings_path, ratings, RATING_FIELDS, config.format)
    _write(votes_path, votes, VOTE_FIELDS, config.format)
    models = sorted({r["model_hash"] for r in ratings})
    return {"ratings_path": ratings_path, "votes_path": votes_path, "ratings": len(ratings), "votes": len(votes),
            "leaderboard": leaderboard(models, outcomes, names=names)}
