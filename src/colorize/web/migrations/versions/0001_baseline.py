"""Baseline: the schema of the release before migrations (uploads, results, ratings, comparisons, votes)."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("client_filename", sa.String(255), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("num_bytes", sa.Integer, nullable=False),
        sa.Column("original_file", sa.String(80), nullable=False),
        sa.Column("preview_file", sa.String(80), nullable=False),
    )
    op.create_index("ix_uploads_created_at", "uploads", ["created_at"])
    op.create_table(
        "results",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("upload_id", sa.String(32), sa.ForeignKey("uploads.id"), nullable=False),
        sa.Column("model", sa.String(120), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("image_file", sa.String(80), nullable=False),
        sa.Column("preview_file", sa.String(80), nullable=False),
        sa.Column("seconds", sa.Double, nullable=False),
    )
    op.create_index("ix_results_upload_id", "results", ["upload_id"])
    op.create_index("ix_results_model", "results", ["model"])
    op.create_index("ix_results_source_created", "results", ["source", "created_at"])
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("result_id", sa.String(32), sa.ForeignKey("results.id"), nullable=False),
        sa.Column("stars", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ck_ratings_stars"),
    )
    op.create_index("ix_ratings_result_id", "ratings", ["result_id"])
    op.create_table(
        "comparisons",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("upload_id", sa.String(32), sa.ForeignKey("uploads.id"), nullable=False),
        sa.Column("left_result_id", sa.String(32), sa.ForeignKey("results.id"), nullable=False),
        sa.Column("right_result_id", sa.String(32), sa.ForeignKey("results.id"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_comparisons_upload_id", "comparisons", ["upload_id"])
    op.create_table(
        "votes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("comparison_id", sa.String(32), sa.ForeignKey("comparisons.id"), nullable=False),
        sa.Column("winner", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("comparison_id", name="uq_votes_comparison"),
        sa.CheckConstraint("winner IN ('left', 'right', 'tie')", name="ck_votes_winner"),
    )


def downgrade() -> None:
    for table in ("votes", "comparisons", "ratings", "results", "uploads"):
        op.drop_table(table)
