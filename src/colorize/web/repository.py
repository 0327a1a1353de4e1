"""Reading and writing the rows of db.py; every function takes an open Session and commits what it writes
before returning, so a caller that answers the client afterwards only acknowledges what is on disk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from colorize.web.db import SOURCE_GUIDED, SOURCE_UPLOAD, Comparison, Rating, Result, Upload, Vote
from colorize.web.hinting import AUTOMATIC
from colorize.web.processing import StoredOriginal, StoredResult

#: What the owner's history lists: their uploads' results and the ones they guided with hints, not the extra
#: colorizations made for blind comparisons.
HISTORY_SOURCES = (SOURCE_UPLOAD, SOURCE_GUIDED)


class AlreadyVoted(Exception):
    pass


class AlreadyColorized(Exception):
    """Another request (or server process) stored this (upload, model, hints) first; `existing` is its result."""

    def __init__(self, existing: Result):
        super().__init__(existing.id)
        self.existing = existing


def add_upload(session: Session, original: StoredOriginal, result: StoredResult, client_filename: str,
               owner: str, hints: list[dict] | None = None, hints_key: str = AUTOMATIC) -> Result:
    """Store an upload with its first result (made with `hints`, the stored form of web/hinting.py, if any)."""
    upload = Upload(client_filename=client_filename, format=original.format, mode=original.mode,
                    width=original.width, height=original.height, num_bytes=original.num_bytes,
                    original_file=original.file, preview_file=original.preview_file, owner=owner)
    row = Result(upload=upload, model=result.model, model_hash=result.model_hash, source=SOURCE_UPLOAD,
                 image_file=result.file, preview_file=result.preview_file, seconds=result.seconds,
                 hints=hints, hints_key=hints_key)
    session.add_all([upload, row])
    session.commit()
    return get_result(session, row.id)


def add_result(session: Session, upload_id: str, result: StoredResult, source: str,
               hints: list[dict] | None = None, hints_key: str = AUTOMATIC) -> Result:
    """Store a colorization; AlreadyColorized when one of this upload by these weights with these hints exists."""
    row = Result(upload_id=upload_id, model=result.model, model_hash=result.model_hash, source=source,
                 image_file=result.file, preview_file=result.preview_file, seconds=result.seconds,
                 hints=hints, hints_key=hints_key)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = find_result(session, upload_id, result.model_hash, hints_key)
        if existing is None:
            raise
        raise AlreadyColorized(existing) from None
    return get_result(session, row.id)


def get_result(session: Session, result_id: str) -> Result | None:
    stmt = (select(Result).where(Result.id == result_id)
            .options(selectinload(Result.upload), selectinload(Result.ratings)))
    return session.scalars(stmt).first()


def get_upload(session: Session, upload_id: str) -> Upload | None:
    return session.get(Upload, upload_id)


def find_result(session: Session, upload_id: str, model_hash: str, hints_key: str = AUTOMATIC) -> Result | None:
    """The upload's result by these weights with these hints (by default: the automatic one), if made already."""
    stmt = (select(Result).where(Result.upload_id == upload_id, Result.model_hash == model_hash,
                                 Result.hints_key == hints_key)
            .options(selectinload(Result.upload), selectinload(Result.ratings)))
    return session.scalars(stmt).first()


def get_shared_result(session: Session, share_token: str) -> Result | None:
    stmt = (select(Result).where(Result.share_token == share_token)
            .options(selectinload(Result.upload), selectinload(Result.ratings)))
    return session.scalars(stmt).first()


def recent_results(session: Session, owner: str, limit: int, offset: int = 0) -> list[Result]:
    """The owner's latest colorizations of uploads and guided ones (not the extra ones made for blind comparisons),
    newest first."""
    stmt = (select(Result).join(Upload, Result.upload_id == Upload.id)
            .where(Result.source.in_(HISTORY_SOURCES), Upload.owner == owner)
            .order_by(Result.created_at.desc(), Result.id.desc()).limit(limit).offset(offset)
            .options(selectinload(Result.upload), selectinload(Result.ratings)))
    return list(session.scalars(stmt))


def recent_upload_ids(session: Session, owner: str, limit: int) -> list[str]:
    stmt = select(Upload.id).where(Upload.owner == owner).order_by(Upload.created_at.desc()).limit(limit)
    return list(session.scalars(stmt))


def count_results(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Result).where(Result.source == SOURCE_UPLOAD)) or 0


def add_rating(session: Session, result: Result, stars: int, comment: str, owner: str) -> Rating:
    rating = Rating(result_id=result.id, stars=stars, comment=comment, model_hash=result.model_hash, owner=owner)
    rating.result = result  # loaded now, so the answer can say whether the rated result was guided
    session.add(rating)
    session.commit()
    return rating


def ratings_for(session: Session, result_id: str) -> list[Rating]:
    stmt = (select(Rating).where(Rating.result_id == result_id).order_by(Rating.id)
            .options(selectinload(Rating.result)))
    return list(session.scalars(stmt))


def model_rating_stats(session: Session, guided: bool = False) -> dict[str, dict]:
    """Per model weights hash: number of ratings, mean stars and how many of each star value; of its automatic
    results, or with `guided` of the ones guided by hints (a rating of those is partly the user's own work)."""
    kind = Result.hints_key != AUTOMATIC if guided else Result.hints_key == AUTOMATIC
    stmt = (select(Rating.model_hash, Rating.stars, func.count()).join(Result, Rating.result_id == Result.id)
            .where(kind).group_by(Rating.model_hash, Rating.stars))
    stats: dict[str, dict] = {}
    for model, stars, count in session.execute(stmt):
        entry = stats.setdefault(model, {"count": 0, "mean": None, "histogram": {str(s): 0 for s in range(1, 6)}})
        entry["histogram"][str(stars)] = count
        entry["count"] += count
    for entry in stats.values():
        total = sum(int(s) * n for s, n in entry["histogram"].items())
        entry["mean"] = round(total / entry["count"], 3) if entry["count"] else None
    return stats


def add_comparison(session: Session, upload_id: str, left_result_id: str, right_result_id: str, owner: str,
                   left_file: str, right_file: str) -> Comparison:
    comparison = Comparison(upload_id=upload_id, left_result_id=left_result_id, right_result_id=right_result_id,
                            owner=owner, left_file=left_file, right_file=right_file)
    session.add(comparison)
    session.commit()
    return get_comparison(session, comparison.id)


def get_comparison(session: Session, comparison_id: str) -> Comparison | None:
    stmt = (select(Comparison).where(Comparison.id == comparison_id)
            .options(selectinload(Comparison.upload), selectinload(Comparison.left), selectinload(Comparison.right),
                     selectinload(Comparison.vote)))
    return session.scalars(stmt).first()


def add_vote(session: Session, comparison: Comparison, winner: str, owner: str) -> Vote:
    vote = Vote(comparison_id=comparison.id, winner=winner, owner=owner, left_model_hash=comparison.left.model_hash,
                right_model_hash=comparison.right.model_hash)
    session.add(vote)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise AlreadyVoted(comparison.id) from exc
    return vote


def vote_outcomes(session: Session) -> list[tuple[str, str, str]]:
    """Every vote as (left model hash, right model hash, winner side), oldest first."""
    stmt = select(Vote.left_model_hash, Vote.right_model_hash, Vote.winner).order_by(Vote.id)
    return [tuple(row) for row in session.execute(stmt)]


def model_names(session: Session) -> dict[str, str]:
    """The name each model weights hash was last served under."""
    stmt = select(Result.model_hash, Result.model).order_by(Result.created_at)
    return {model_hash: name for model_hash, name in session.execute(stmt)}


def delete_uploads(session: Session, upload_ids: list[str]) -> list[str]:
    """Delete uploads with everything made from them (results, ratings, pairs, votes); returns their file names,
    for the caller to remove once the rows are gone."""
    if not upload_ids:
        return []
    results = list(session.scalars(select(Result).where(Result.upload_id.in_(upload_ids))))
    uploads = list(session.scalars(select(Upload).where(Upload.id.in_(upload_ids))))
    comparisons = list(session.scalars(select(Comparison).where(Comparison.upload_id.in_(upload_ids))))
    files = [f for u in uploads for f in (u.original_file, u.preview_file)]
    files += [f for r in results for f in (r.image_file, r.preview_file)]
    files += [f for c in comparisons for f in (c.left_file, c.right_file) if f]
    comparison_ids = [c.id for c in comparisons]
    result_ids = [r.id for r in results]
    if comparison_ids:
        session.execute(delete(Vote).where(Vote.comparison_id.in_(comparison_ids)))
        session.execute(delete(Comparison).where(Comparison.id.in_(comparison_ids)))
    if result_ids:
        session.execute(delete(Rating).where(Rating.result_id.in_(result_ids)))
        session.execute(delete(Result).where(Result.id.in_(result_ids)))
    session.execute(delete(Upload).where(Upload.id.in_(upload_ids)))
    session.commit()
    return files


def uploads_before(session: Session, cutoff: datetime, limit: int = 500) -> list[str]:
    stmt = select(Upload.id).where(Upload.created_at < cutoff).order_by(Upload.created_at).limit(limit)
    return list(session.scalars(stmt))


def referenced_files(session: Session) -> set[str]:
    """Every file name a row points to."""
    names: set[str] = set()
    for stmt in (select(Upload.original_file, Upload.preview_file), select(Result.image_file, Result.preview_file),
                 select(Comparison.left_file, Comparison.right_file)
                 .where(or_(Comparison.left_file.is_not(None), Comparison.right_file.is_not(None)))):
        for row in session.execute(stmt):
            names.update(name for name in row if name)
    return names


def export_ratings(session: Session) -> list[dict]:
    stmt = (select(Rating, Result, Upload).join(Result, Rating.result_id == Result.id)
            .join(Upload, Result.upload_id == Upload.id).order_by(Rating.id))
    return [
        {"rating_id": rating.id, "created_at": rating.created_at.isoformat(), "result_id": result.id,
         "upload_id": upload.id, "model": result.model, "model_hash": rating.model_hash, "stars": rating.stars,
         "comment": rating.comment, "guided": result.guided, "hints": result.hints or [],
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
                     "left_model": left_row.model, "right_model": right_row.model,
                     "left_model_hash": vote.left_model_hash, "right_model_hash": vote.right_model_hash,
                     "winner": vote.winner,
                     "winner_model": winner_model})
    return rows
