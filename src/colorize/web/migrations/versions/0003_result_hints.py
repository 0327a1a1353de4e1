"""Guided results: a result records the colour hints it was made with, and is unique per (upload, model weights,
hints) instead of per (upload, model weights).

Every existing result is automatic: no hints (NULL) and the empty hints key, so the old unique pairs stay unique.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("results", sa.Column("hints", sa.JSON, nullable=True))
    op.add_column("results", sa.Column("hints_key", sa.String(64), nullable=False, server_default=""))
    op.drop_index("uq_results_upload_model", table_name="results")
    op.create_index("uq_results_upload_model_hints", "results", ["upload_id", "model_hash", "hints_key"], unique=True)


def downgrade() -> None:
    # The old schema has room for one result per (upload, model): guided results and their ratings go (their image
    # files become orphans, which the server's cleanup removes).
    guided = "SELECT id FROM results WHERE hints_key <> ''"
    op.execute(f"DELETE FROM ratings WHERE result_id IN ({guided})")
    op.execute(f"DELETE FROM results WHERE id IN ({guided})")
    op.drop_index("uq_results_upload_model_hints", table_name="results")
    op.create_index("uq_results_upload_model", "results", ["upload_id", "model_hash"], unique=True)
    for column in ("hints_key", "hints"):
        # Plain DROP COLUMN (SQLite 3.35+): a batch copy of `results` would trip the foreign keys pointing at it.
        op.execute(f"ALTER TABLE results DROP COLUMN {column}")
