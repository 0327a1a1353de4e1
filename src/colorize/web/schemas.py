"""The JSON bodies of the API (pydantic), which also document it in the OpenAPI schema at /docs."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StrictInt, field_validator

#: Every id the API hands out (uploads, results, comparisons): a uuid4 as 32 lowercase hex digits.
ID_PATTERN = r"^[0-9a-f]{32}$"
#: The database keeps naive UTC times; the API says they are UTC so browsers show local time correctly.
UtcDatetime = Annotated[datetime, AfterValidator(lambda d: d if d.tzinfo else d.replace(tzinfo=timezone.utc))]


class ErrorOut(BaseModel):
    detail: str = Field(description="what went wrong, in words a person can act on")


class SessionOut(BaseModel):
    csrf_token: str = Field(description="send as the X-CSRF-Token header with every POST and DELETE")


class ResultUrls(BaseModel):
    original: str = Field(description="the upload's pixels, orientation applied, without EXIF/GPS metadata")
    original_preview: str = Field(description="the upload as a JPEG of at most 1280 px, for display")
    image: str = Field(description="the coloured image at full resolution (PNG)")
    image_preview: str = Field(description="the coloured image as a JPEG of at most 1280 px, for display")
    download: str = Field(description="the full-resolution PNG as an attachment (Content-Disposition)")


class RatingSummary(BaseModel):
    count: int
    mean: float | None
    last_stars: int | None = Field(description="the latest rating's stars")
    last_comment: str | None


class HintOut(BaseModel):
    x: float = Field(description="pixels from the left of the photo as displayed (EXIF rotation applied)")
    y: float = Field(description="pixels from the top")
    color: str = Field(description="#rrggbb")
    radius: int = Field(description="half-side of the hint's square, in photo pixels")


class RecolorizeIn(BaseModel):
    # Any: each hint is read and checked by colorize.hints, whose messages say what is wrong with it.
    hints: list[Any] = Field(
        default_factory=list,
        description='colour hints, e.g. [{"x": 120, "y": 80, "color": "#c03020", "radius": 2}]: x, y in pixels of '
                    "the photo as displayed, color as #rrggbb, 'R,G,B' or [R, G, B], radius optional (default 2); "
                    "at most 64; an empty list asks for the automatic result",
    )


class ResultOut(BaseModel):
    id: str
    upload_id: str
    model: str
    model_hash: str = Field(description="SHA-256 of the model's weights")
    created_at: UtcDatetime
    filename: str = Field(description="the name the client gave the file (display only)")
    format: str
    width: int
    height: int
    seconds: float = Field(description="time the model took")
    guided: bool = Field(description="made with the owner's colour hints (`hints`), not automatically")
    hints: list[HintOut] = Field(description="the colour hints it was made with; empty: automatic")
    urls: ResultUrls
    share_url: str | None = Field(description="the read-only link the owner made, if any")
    rating: RatingSummary


class RatingIn(BaseModel):
    # Strict: JSON `true` is not 1 star, nor "5" five.
    stars: StrictInt = Field(ge=1, le=5, description="1 (bad) to 5 (excellent), a JSON integer")
    comment: str = Field(default="", max_length=2000)

    @field_validator("comment")
    @classmethod
    def _printable(cls, value: str) -> str:
        # Control characters (NUL above all, which PostgreSQL refuses) carry nothing a reader needs.
        return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) != "Cc")


class RatingOut(BaseModel):
    id: int
    result_id: str
    stars: int
    comment: str
    created_at: UtcDatetime
    guided: bool = Field(description="the rated result was made with colour hints")
    hints: list[HintOut] = Field(description="the rated result's colour hints; empty: automatic")


class RatingStats(BaseModel):
    count: int = 0
    mean: float | None = None
    histogram: dict[str, int] = Field(default_factory=lambda: {str(s): 0 for s in range(1, 6)},
                                      description="number of ratings per star value")


class ModelOut(BaseModel):
    name: str
    model_hash: str = Field(description="SHA-256 of the weights; ratings are counted per hash")
    served: bool = Field(description="installed on this server (otherwise known from past ratings only)")
    default: bool
    takes_hints: bool = Field(description="accepts colour hints (POST /api/results/{id}/recolorize)")
    ratings: RatingStats = Field(description="ratings of its automatic results")
    guided_ratings: RatingStats = Field(description="ratings of its results guided by colour hints (partly the "
                                                    "user's own work, so counted apart)")


class ComparisonIn(BaseModel):
    upload_id: str | None = Field(default=None, pattern=ID_PATTERN,
                                  description="the upload to compare on (32 hex digits); empty: a recent one")


class ComparisonOut(BaseModel):
    id: str
    upload_id: str
    original: str = Field(description="URL of the upload's preview")
    left: str = Field(description="URL of the left colorization")
    right: str = Field(description="URL of the right colorization")


class VoteIn(BaseModel):
    winner: Literal["left", "right", "tie"]


class VoteOut(BaseModel):
    id: int
    comparison_id: str
    winner: Literal["left", "right", "tie"]
    left_model: str = Field(description="revealed after the vote")
    right_model: str


class LeaderboardEntry(BaseModel):
    rank: int
    model: str
    score: float = Field(description="Bradley-Terry strength on the Elo scale (1000 = reference)")
    wins: int
    losses: int
    ties: int
    votes: int
    model_hash: str = Field(description="SHA-256 of the weights: the leaderboard groups by it, not by name")
    ci_low: float | None = Field(description="lower end of the score's 95 % confidence interval")
    ci_high: float | None = Field(description="upper end of the score's 95 % confidence interval")


class LeaderboardOut(BaseModel):
    """Blind comparisons pit automatic results only: a guided result says as much about its user as its model."""

    method: Literal["bradley-terry"] = "bradley-terry"
    total_votes: int
    confidence: float = 0.95
    models: list[LeaderboardEntry]


class QueueStats(BaseModel):
    waiting: int
    running: int
    capacity: int
    workers: int
    completed: int
    mean_seconds: float
    queued_cost: float = Field(description="megapixels queued or running")
    seconds_per_cost: float = Field(description="measured seconds per megapixel")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    models: list[str]
    max_upload_mb: float = Field(description="largest accepted upload")
    max_pixels: int = Field(description="largest accepted image, in pixels")
    queue: QueueStats
