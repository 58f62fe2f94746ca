"""arXiv-checked index only over the papers arXiv answered for

Revision ID: 0008_partial_arxiv_index
Revises: 0004_search
Create Date: 2026-11-22 08:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_partial_arxiv_index"
down_revision: str | None = "0004_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKED = "arxiv_checked_at IS NOT NULL"


def upgrade() -> None:
    """A partial index serves the same range test, and a new (unchecked) paper no longer writes an entry."""
    op.drop_index("ix_paper_arxiv_checked_at", table_name="paper")
    op.create_index("ix_paper_arxiv_checked_at", "paper", ["arxiv_checked_at"],
                    postgresql_where=sa.text(CHECKED), sqlite_where=sa.text(CHECKED))


def downgrade() -> None:
    """Undo: the full index of 0007_delivery."""
    op.drop_index("ix_paper_arxiv_checked_at", table_name="paper")
    op.create_index("ix_paper_arxiv_checked_at", "paper", ["arxiv_checked_at"])
