"""pending digests: the database-held claim on each scheduled digest

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:28:42.699511
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """pending digests: the database-held claim on each scheduled digest"""
    op.create_table('pending_digest',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('paper_ids', sa.JSON(), nullable=True),
    sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('lease_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('chat_id')
    )
    with op.batch_alter_table('pending_digest', schema=None) as batch_op:
        batch_op.create_index('ix_pending_digest_lease', ['lease_until', 'due_at'], unique=False)



def downgrade() -> None:
    """Undo: pending digests: the database-held claim on each scheduled digest"""
    with op.batch_alter_table('pending_digest', schema=None) as batch_op:
        batch_op.drop_index('ix_pending_digest_lease')

    op.drop_table('pending_digest')
