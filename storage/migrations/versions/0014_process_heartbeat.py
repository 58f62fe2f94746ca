"""Running bot processes and their heartbeats, so a dead process's leases are taken over within seconds

Revision ID: 0014_process_heartbeat
Revises: 0013_authors_truncated
Create Date: 2026-12-03 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014_process_heartbeat"
down_revision: str | None = "0013_authors_truncated"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """One new table; leases already held keep running out as before."""
    op.create_table(
        "process",
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("owner"),
    )


def downgrade() -> None:
    """Undo: leases fall back to running out."""
    op.drop_table("process")
