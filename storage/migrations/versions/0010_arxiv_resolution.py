"""papers remember what arXiv's title search answered for them, so each is asked once

Revision ID: 0010_arxiv_resolution
Revises: 0008_partial_arxiv_index
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010_arxiv_resolution"
down_revision: str | None = "0008_partial_arxiv_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "arxiv_id IS NULL AND title_en IS NOT NULL AND arxiv_resolved_at IS NULL"
COLUMNS = ("arxiv_resolution", "arxiv_resolved_at", "arxiv_resolve_retry_at", "arxiv_resolve_failures")


def upgrade() -> None:
    """Four paper columns and a partial index of the papers still to look up; every stored paper starts unasked.

    Plain ADD COLUMN on both backends (no batch copy of the table): SQLite keeps the search triggers on it.
    """
    op.add_column("paper", sa.Column("arxiv_resolution", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    op.add_column("paper", sa.Column("arxiv_resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column("paper", sa.Column("arxiv_resolve_retry_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column("paper", sa.Column("arxiv_resolve_failures", sa.Integer(), nullable=False,
                                     server_default=sa.text("0")))
    op.create_index("ix_paper_title_waiting", "paper", ["id"], postgresql_where=sa.text(WAITING),
                    sqlite_where=sa.text(WAITING))


def downgrade() -> None:
    """Undo: what arXiv answered is forgotten (the ids it gave stay on the papers)."""
    op.drop_index("ix_paper_title_waiting", table_name="paper")
    for column in reversed(COLUMNS):
        op.drop_column("paper", column)
