"""pick index in the pick order, category included

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 06:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """One index in the exact pick order replaces two that let SQLite sort every paper of a category."""
    with op.batch_alter_table("paper", schema=None) as batch_op:
        batch_op.drop_index("ix_paper_category_pick")
        batch_op.drop_index("ix_paper_pick")
    op.create_index("ix_paper_pick", "paper", [sa.text("rank_date DESC"), sa.text("rank_digest_id DESC"),
                                               sa.text("highlight DESC"), "minor", "id", "category"])


def downgrade() -> None:
    """Undo: the two earlier pick indexes."""
    op.drop_index("ix_paper_pick", table_name="paper")
    with op.batch_alter_table("paper", schema=None) as batch_op:
        batch_op.create_index("ix_paper_pick", ["rank_date", "rank_digest_id", "highlight", "minor", "id"])
        batch_op.create_index("ix_paper_category_pick",
                              ["category", "rank_date", "rank_digest_id", "highlight", "minor", "id"])
