"""digest sources fetched on a schedule; papers remember when arXiv was asked about them

Revision ID: 0005_sources
Revises: 0003
Create Date: 2026-11-22 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005_sources'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A source table, and two nullable paper columns: existing papers are simply not yet checked on arXiv."""
    op.create_table('source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('etag', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('last_modified', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('next_check_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_checked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('failing_since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('failure_reported', sa.Boolean(), nullable=False),
    sa.Column('added_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('url')
    )
    op.create_index('ix_source_due', 'source', ['next_check_at'], unique=False)
    with op.batch_alter_table('paper', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arxiv_checked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('arxiv_retry_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    waiting = sa.text('arxiv_id IS NOT NULL AND arxiv_checked_at IS NULL')
    op.create_index('ix_paper_arxiv_waiting', 'paper', ['id'], unique=False, postgresql_where=waiting,
                    sqlite_where=waiting)


def downgrade() -> None:
    """Undo: drop the source table and the two paper columns."""
    op.drop_index('ix_paper_arxiv_waiting', table_name='paper')
    with op.batch_alter_table('paper', schema=None) as batch_op:
        batch_op.drop_column('arxiv_retry_at')
        batch_op.drop_column('arxiv_checked_at')
    op.drop_index('ix_source_due', table_name='source')
    op.drop_table('source')
