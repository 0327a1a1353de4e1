"""The JSON the API answers with for rows of the database: a result (with its image URLs, rating summary and
colour hints) and a rating (saying whether the rated result was guided by hints)."""

from __future__ import annotations

from colorize.web.db import Rating, Result


def result_out(row: Result, base: str | None = None) -> dict:
    base = base or f"/api/results/{row.id}"
    ratings = row.ratings
    return {
        "id": row.id, "upload_id": row.upload_id, "model": row.model, "model_hash": row.model_hash,
        "created_at": row.created_at, "filename": row.upload.client_filename, "format": row.upload.format,
        "width": row.upload.width, "height": row.upload.height, "seconds": round(row.seconds, 3),
        "guided": row.guided, "hints": row.hints or [],
        "urls": {"original": f"{base}/original", "original_preview": f"{base}/original/preview",
                 "image": f"{base}/image", "image_preview": f"{base}/image/preview", "download": f"{base}/download"},
        "share_url": f"/#shared={row.share_token}" if row.share_token else None,
        "rating": {
            "count": len(ratings),
            "mean": round(sum(r.stars for r in ratings) / len(ratings), 3) if ratings else None,
            "last_stars": ratings[-1].stars if ratings else None,
            "last_comment": ratings[-1].comment if ratings else None,
        },
    }


def rating_out(rating: Rating) -> dict:
    return {"id": rating.id, "result_id": rating.result_id, "stars": rating.stars, "comment": rating.comment,
            "created_at": rating.created_at, "guided": rating.result.guided, "hints": rating.result.hints or []}
