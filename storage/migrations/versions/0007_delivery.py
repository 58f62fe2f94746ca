"""seen marks: where each destination's pick can start past the papers it has been sent

Revision ID: 0007_delivery
Revises: 0006_topics
Create Date: 2026-11-22 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007_delivery"
down_revision: str | None = "0006_topics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A new table and an index: chats start without a mark and get one from their next pick."""
    op.create_table("seen_mark",
                    sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
                    sa.Column("thread_id", sa.BigInteger(), autoincrement=False, nullable=False,
                              server_default=sa.text("0")),
                    sa.Column("categories", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
                    sa.Column("top_date", sa.Date(), nullable=False),
                    sa.Column("top_digest_id", sa.Integer(), nullable=False),
                    sa.Column("below_date", sa.Date(), nullable=False),
                    sa.Column("below_digest_id", sa.Integer(), nullable=False),
                    sa.Column("through_digest_id", sa.Integer(), nullable=False),
                    sa.Column("made_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint("chat_id", "thread_id"))
    # A pick past a mark reads the papers arXiv answered for since the mark was made (it may give a category).
    op.create_index("ix_paper_arxiv_checked_at", "paper", ["arxiv_checked_at"])


def downgrade() -> None:
    """Undo: the marks are only a shortcut, picking works the same without them."""
    op.drop_index("ix_paper_arxiv_checked_at", table_name="paper")
    op.drop_table("seen_mark")
