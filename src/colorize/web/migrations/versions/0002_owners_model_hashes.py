"""Private by default and model identity: owners, weights hashes, share links, re-encoded pair images.

Rows from before this revision get no owner (so nobody sees them: they were public, and nobody can prove they
uploaded them) and a model hash of "name:<model>", which keeps their votes and ratings together under the old
name without merging them with a new model of the same name.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OWNER = 64
HASH = 128


def upgrade() -> None:
    op.add_column("uploads", sa.Column("owner", sa.String(OWNER), nullable=True))
    op.create_index("ix_uploads_owner", "uploads", ["owner"])

    op.add_column("results", sa.Column("model_hash", sa.String(HASH), nullable=False, server_default=""))
    op.add_column("results", sa.Column("share_token", sa.String(64), nullable=True))
    op.execute("UPDATE results SET model_hash = 'name:' || model")
    # Before this revision a comparison could colour an upload twice with one model; keep the first of each.
    op.execute("""UPDATE results SET model_hash = model_hash || ':' || id WHERE EXISTS (
                    SELECT 1 FROM results AS earlier WHERE earlier.upload_id = results.upload_id
                    AND earlier.model = results.model AND earlier.id < results.id)""")
    op.create_index("uq_results_upload_model", "results", ["upload_id", "model_hash"], unique=True)
    op.create_index("uq_results_share_token", "results", ["share_token"], unique=True)

    op.add_column("ratings", sa.Column("model_hash", sa.String(HASH), nullable=False, server_default=""))
    op.add_column("ratings", sa.Column("owner", sa.String(OWNER), nullable=True))
    op.execute("UPDATE ratings SET model_hash = (SELECT results.model_hash FROM results "
               "WHERE results.id = ratings.result_id)")

    op.add_column("comparisons", sa.Column("owner", sa.String(OWNER), nullable=True))
    op.add_column("comparisons", sa.Column("left_file", sa.String(80), nullable=True))
    op.add_column("comparisons", sa.Column("right_file", sa.String(80), nullable=True))
    op.create_index("ix_comparisons_owner", "comparisons", ["owner"])

    op.add_column("votes", sa.Column("left_model_hash", sa.String(HASH), nullable=False, server_default=""))
    op.add_column("votes", sa.Column("right_model_hash", sa.String(HASH), nullable=False, server_default=""))
    op.add_column("votes", sa.Column("owner", sa.String(OWNER), nullable=True))
    for side in ("left", "right"):
        op.execute(f"UPDATE votes SET {side}_model_hash = (SELECT results.model_hash FROM results "
                   f"JOIN comparisons ON comparisons.{side}_result_id = results.id "
                   f"WHERE comparisons.id = votes.comparison_id)")


def downgrade() -> None:
    for table, column in [("votes", "owner"), ("votes", "right_model_hash"), ("votes", "left_model_hash"),
                          ("comparisons", "right_file"), ("comparisons", "left_file"), ("comparisons", "owner"),
                          ("ratings", "owner"), ("ratings", "model_hash"), ("results", "share_token"),
                          ("results", "model_hash"), ("uploads", "owner")]:
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
