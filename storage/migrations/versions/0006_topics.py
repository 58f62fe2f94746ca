"""destinations: forum topics with settings of their own, and keyword filters per destination

A *destination* is where a digest goes: (chat id, thread id), thread 0 being the chat itself (a private chat, a
group, a forum's General topic) and any other thread a forum topic's message_thread_id. Rather than a separate
topic table beside ``chat``, the destination is the key of the tables that were keyed by the chat:

- ``chat`` gets ``thread_id`` in its primary key: a topic row holds the same settings, due time and active flag
  as a chat row, so claiming due destinations, /settings, /time and the rest are one code path for both;
- ``pending_digest`` is keyed by destination, so each topic's digest is claimed, leased and finished on its own
  (crash safety and exactly-once per destination, as before per chat);
- ``delivery`` is unique per (chat, thread, paper): a paper posted into topic A may still go to topic B;
- ``chat_keyword`` holds each destination's keywords (an ``exclude`` flag marks ``-word``).

Favourites stay per chat. Existing rows become thread 0 (the server default), so every chat keeps its settings,
history and pending digest; nothing is dropped. A group migrating to a supergroup renumbers all its destinations.

Revision ID: 0006_topics
Revises: 0005_sources
Create Date: 2026-11-22 07:40:00
"""

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_topics"
down_revision: str | None = "0005_sources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _thread_column() -> sa.Column:  # type: ignore[type-arg]
    """thread_id, 0 for rows written before topics existed."""
    return sa.Column("thread_id", sa.BigInteger(), nullable=False, server_default=sa.text("0"))


@contextmanager
def _new_primary_key() -> Iterator[None]:
    """SQLAlchemy warns that the rebuilt table's primary key differs from the reflected one: that is the point."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Table '_alembic_tmp_.*primary_key")
        yield


def _rekey(table: str, old_primary_key: str, columns: list[str]) -> None:
    """Add thread_id and make it part of the table's primary key (SQLite rebuilds the table, keeping its rows)."""
    if op.get_bind().dialect.name == "sqlite":
        with _new_primary_key(), op.batch_alter_table(table, recreate="always") as batch_op:
            batch_op.add_column(_thread_column())
            batch_op.create_primary_key(f"pk_{table}", columns)
        return
    op.drop_constraint(old_primary_key, table, type_="primary")
    op.add_column(table, _thread_column())
    op.create_primary_key(old_primary_key, table, columns)


def _unkey(table: str, old_primary_key: str, columns: list[str]) -> None:
    """Undo _rekey; refuses (by the primary key) if topics hold rows of their own."""
    if op.get_bind().dialect.name == "sqlite":
        with _new_primary_key(), op.batch_alter_table(table, recreate="always") as batch_op:
            batch_op.create_primary_key(f"pk_{table}", columns)
            batch_op.drop_column("thread_id")
        return
    op.drop_constraint(old_primary_key, table, type_="primary")
    op.drop_column(table, "thread_id")
    op.create_primary_key(old_primary_key, table, columns)


def upgrade() -> None:
    """Destinations (chat, thread) key chats, pending digests and deliveries; keywords per destination."""
    _rekey("chat", "chat_pkey", ["id", "thread_id"])
    _rekey("pending_digest", "pending_digest_pkey", ["chat_id", "thread_id"])
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.add_column(_thread_column())
        batch_op.drop_constraint("uq_delivery_chat_paper", type_="unique")
        batch_op.create_unique_constraint("uq_delivery_destination_paper", ["chat_id", "thread_id", "paper_id"])
    op.create_table(
        "chat_keyword",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("thread_id", sa.BigInteger(), autoincrement=False, nullable=False, server_default=sa.text("0")),
        sa.Column("keyword", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("exclude", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "thread_id", "keyword"),
    )


def downgrade() -> None:
    """Undo: back to one destination per chat (topic rows must be removed first) and no keywords."""
    op.drop_table("chat_keyword")
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.drop_constraint("uq_delivery_destination_paper", type_="unique")
        batch_op.create_unique_constraint("uq_delivery_chat_paper", ["chat_id", "paper_id"])
        batch_op.drop_column("thread_id")
    _unkey("pending_digest", "pending_digest_pkey", ["chat_id"])
    _unkey("chat", "chat_pkey", ["id"])
