"""Reading and writing the rows of db.py; every function takes an open Session and commits what it writes
before returning, so a caller that answers the client afterwards only acknowledges what is on disk."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from colorize.web.db import SOURCE_UPLOAD, Comparison, Rating, Result, Upload, Vote
from colorize.web.processing import StoredOriginal, StoredResult


class AlreadyVoted(Exception):
    pass


def add_upload(session: Session, original: StoredOriginal, result: StoredResult, client_filename: str) -> Result:
    upload = Upload(client_filename=client_filename, format=original.format, mode=original.mode,
                    width=original.width, height=original.height, num_bytes=original.num_bytes,
                    original_file=original.file, preview_file=original.preview_file)
    row = Result(upload=upload, model=result.model, source=SOURCE_UPLOAD, image_file=result.file,
                 preview_file=result.preview_file, seconds=result.seconds)
    session.add_all([upload, row])
    session.commit()
    return get_result(session, row.id)


def add_result(session: Session, upload_id: str, result: StoredResult, source: str) -> Result:
    row = Result(upload_id=upload_id, model=result.model, source=source, image_file=result.file,
                 preview_file=result.preview_file, seconds=result.seconds)
    session.add(row)
    session.commit()
    return row


def get_result(session: Session, result_id: str) -> Result | None:
    stmt = (select(Result).where(Result.id == result_id)
            .options(selectinload(Result.upload), selectinload(Result.ratings)))
    return session.scalars(stmt).first()


def get_upload(session: Session, upload_id: str) -> Upload | None:
    return session.get(Upload, upload_id)


def find_result(session: Session, upload_id: str, model: str) -> Result | None:
    stmt = select(Result).where(Result.upload_id == upload_id, Result.model == model).order_by(Result.created_at)
    return session.scalars(stmt).first()


def recent_results(session: Session, limit: int, offset: int = 0) -> list[Result]:
    """The latest colorizations of uploads (not the extra ones made for blind comparisons), newest first."""
    stmt = (select(Result).where(Result.source == SOURCE_UPLOAD)
            .order_by(Result.created_at.desc(), Result.id.desc()).limit(limit).offset(offset)
            .options(selectinload(Result.upload), selectinload(Result.ratings)))
    return list(session.scalars(stmt))


def recent_upload_ids(session: Session, limit: int) -> list[str]:
    stmt = select(Upload.id).order_by(Upload.created_at.desc()).limit(limit)
    return list(session.scalars(stmt))


def count_results(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Result).where(Result.source == SOURCE_UPLOAD)) or 0


def add_rating(session: Session, result_id: str, stars: int, comment: str) -> Rating:
    rating = Rating(result_id=result_id, stars=stars, comment=comment)
    session.add(rating)
    session.commit()
    return rating


def ratings_for(session: Session, result_id: str) -> list[Rating]:
    return list(session.scalars(select(Rating).where(Rating.result_id == result_id).order_by(Rating.id)))


def model_rating_stats(session: Session) -> dict[str, dict]:
    """Per model: number of ratings, mean stars and how many of each star value."""
    stmt = (select(Result.model, Rating.stars, func.count())
            .join(Rating, Rating.result_id == Result.id).group_by(Result.model, Rating.stars))
    stats: dict[str, dict] = {}
    for model, stars, count in session.execute(stmt):
        entry = stats.setdefault(model, {"count": 0, "mean": None, "histogram": {str(s): 0 for s in range(1, 6)}})
        entry["histogram"][str(stars)] = count
        entry["count"] += count
    for entry in stats.values():
        total = sum(int(s) * n for s, n in entry["histogram"].items())
        entry["mean"] = round(total / entry["count"], 3) if entry["count"] else None
    return stats


def add_comparison(session: Session, upload_id: str, left_result_id: str, right_result_id: str) -> Comparison:
    comparison = Comparison(upload_id=upload_id, left_result_id=left_result_id, right_result_id=right_result_id)
    session.add(comparison)
    session.commit()
    return get_comparison(session, comparison.id)


def get_comparison(session: Session, comparison_id: str) -> Comparison | None:
    stmt = (select(Comparison).where(Comparison.id == comparison_id)
            .options(selectinload(Comparison.left), selectinload(Comparison.right), selectinload(Comparison.vote)))
    return session.scalars(stmt).first()


def add_vote(session: Session, comparison_id: str, winner: str) -> Vote:
    vote = Vote(comparison_id=comparison_id, winner=winner)
    session.add(vote)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise AlreadyVoted(comparison_id) from exc
    return vote


def vote_outcomes(session: Session) -> list[tuple[str, str, str]]:
    """Every vote as (left model, right model, winner side), oldest first."""
    left, right = aliased(Result), aliased(Result)
    stmt = (select(left.model, right.model, Vote.winner)
            .join(Comparison, Vote.comparison_id == Comparison.id)
            .join(left, Comparison.left_result_id == left.id)
            .join(right, Comparison.right_result_id == right.id)
            .order_by(Vote.id))
    return [tuple(row) for row in session.execute(stmt)]


def export_ratings(session: Session) -> list[dict]:
    stmt = (select(Rating, Result, Upload).join(Result, Rating.result_id == Result.id)
            .join(Upload, Result.upload_id == Upload.id).order_by(Rating.id))
    return [
        {"rating_id": rating.id, "created_at": rating.created_at.isoformat(), "result_id": result.id,
         "upload_id": upload.id, "model": result.model, "stars": rating.stars, "comment": rating.comment,
         "image_width": upload.width, "image_height": upload.height, "upload_format": upload.format,
         "upload_mode": upload.mode}
        for rating, result, upload in session.execute(stmt)
    ]


def export_votes(session: Session) -> list[dict]:
    left, right = aliased(Result), aliased(Result)
    stmt = (select(Vote, Comparison, left, right)
            .join(Comparison, Vote.comparison_id == Comparison.id)
            .join(left, Comparison.left_result_id == left.id)
            .join(right, Comparison.right_result_id == right.id)
            .order_by(Vote.id))
    rows = []
    for vote, comparison, left_row, right_row in session.execute(stmt):
        winner_model = {"left": left_row.model, "right": right_row.model}.get(vote.winner, "")
        rows.append({"vote_id": vote.id, "created_at": vote.created_at.isoformat(),
                     "comparison_id": comparison.id, "upload_id": comparison.upload_id,
                     "left_model": left_row.model, "right_model": right_row.model, "winner": vote.winner,
                     "winner_model": winner_model})
    return rows
