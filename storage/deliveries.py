"""Queries about deliveries: which papers each chat has been sent, and counts for /stats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, select

from storage.models import GENERAL_THREAD, Delivery, DeliveryKind

_DIALECT_INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}
# SQLAlchemy reads an INSERT's rowcount only when asked to (preserve_rowcount): it is the number of rows that went in.
_RECORD = {name: dialect_insert(Delivery).on_conflict_do_nothing(index_elements=["chat_id", "thread_id", "paper_id"])
           .execution_options(preserve_rowcount=True)
           for name, dialect_insert in _DIALECT_INSERTS.items()}


def insert_ignoring_duplicates(*, session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows in one statement, skipping any that would break a unique key; how many went in."""
    if not rows:
        return 0
    dialect_insert = _DIALECT_INSERTS[session.get_bind().dialect.name]
    statement = dialect_insert(model).values(list(rows)).on_conflict_do_nothing()
    # SQLAlchemy reads an INSERT's rowcount only when asked to: it is the number of rows that went in.
    return session.exec(statement.execution_options(preserve_rowcount=True)).rowcount


def record_deliveries(*, session: Session, chat_id: int, paper_ids: Sequence[int], kind: str,
                      message_id: int | None, now: datetime, thread_id: int = GENERAL_THREAD) -> int:
    """Remember what a chat (or forum topic) was sent so it never gets it again; pairs already recorded are skipped."""
    kind = DeliveryKind(kind).value
    rows = [{"chat_id": chat_id, "thread_id": thread_id, "paper_id": paper_id, "kind": kind, "message_id": message_id,
             "sent_at": now}
            for paper_id in dict.fromkeys(paper_ids)]
    if not rows:
        return 0
    # One prebuilt statement run for every row: compiling a fresh multi-row INSERT per message cost more.
    connection = session.connection()
    return connection.execute(_RECORD[connection.dialect.name], rows).rowcount


def delivered_paper_ids(*, session: Session, chat_id: int, thread_id: int = GENERAL_THREAD) -> set[int]:
    """Every paper this chat (or forum topic) has been sent."""
    return set(session.exec(select(Delivery.paper_id).where(Delivery.chat_id == chat_id,
                                                            Delivery.thread_id == thread_id)).all())


def count_deliveries_since(*, session: Session, since: datetime) -> int:
    """How many cards went out since a moment, for /stats."""
    return session.exec(select(func.count()).select_from(Delivery).where(Delivery.sent_at >= since)).one()


def count_chats_served_since(*, session: Session, since: datetime) -> int:
    """How many chats received anything since a moment, for /stats."""
    return session.exec(select(func.count(func.distinct(Delivery.chat_id))).where(Delivery.sent_at >= since)).one()
