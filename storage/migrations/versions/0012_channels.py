"""Telegram channels: their standing, and the administrators who manage them from a private chat

Revision ID: 0012_channels
Revises: 0010_arxiv_resolution
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012_channels"
down_revision: str | None = "0010_arxiv_resolution"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Two new tables; a channel's settings live in its chat row like any destination's, so no data moves."""
    op.create_table(
        "channel",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("lost", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "channel_manager",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "user_id"),
    )
    op.create_index("ix_channel_manager_user_id", "channel_manager", ["user_id"])


def downgrade() -> None:
    """Undo: channels' chat rows stay, as chats of kind "channel" that nobody manages."""
    op.drop_index("ix_channel_manager_user_id", table_name="channel_manager")
    op.drop_table("channel_manager")
    op.drop_table("channel")
