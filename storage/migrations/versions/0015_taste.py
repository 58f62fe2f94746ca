"""A chat's taste: paper vectors, imported library entries, and whether a destination ranks by taste

Revision ID: 0015_taste
Revises: 0014_process_heartbeat
Create Date: 2026-12-03 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.vectors import backfill_paper_vectors

revision: str = "0015_taste"
down_revision: str | None = "0014_process_heartbeat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Three new tables; the papers already stored get their vectors here, once (about 0.3 ms a paper)."""
    op.create_table(
        "paper_vector",
        sa.Column("paper_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("features", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["paper.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id"),
    )
    op.create_table(
        "library_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("arxiv_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("paper_id", sa.Integer(), nullable=True),
        sa.Column("features", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["paper.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_library_entry_chat_id", "library_entry", ["chat_id"])
    op.create_table(
        "chat_taste",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("thread_id", sa.BigInteger(), autoincrement=False, nullable=False, server_default=sa.text("0")),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "thread_id"),
    )
    backfill_paper_vectors(op.get_bind())


def downgrade() -> None:
    """Undo: favourites stay; imported libraries and taste choices are dropped."""
    op.drop_table("chat_taste")
    op.drop_index("ix_library_entry_chat_id", table_name="library_entry")
    op.drop_table("library_entry")
    op.drop_table("paper_vector")
