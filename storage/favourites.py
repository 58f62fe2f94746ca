"""Queries about favourites: the papers a chat starred."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func
from sqlmodel import Session, select

from storage.deliveries import insert_ignoring_duplicates
from storage.models import Favourite, Paper


def toggle_favourite(*, session: Session, chat_id: int, paper_id: int, now: datetime) -> bool:
    """Star or unstar a paper for a chat; True when it is saved afterwards."""
    if session.get(Paper, paper_id) is None:
        raise LookupError(f"paper {paper_id} does not exist")
    if remove_favourite(session=session, chat_id=chat_id, paper_id=paper_id):
        return False
    # A double tap may race this insert; the loser finds the star already there, which is what both wanted.
    insert_ignoring_duplicates(session=session, model=Favourite,
                               rows=[{"chat_id": chat_id, "paper_id": paper_id, "created_at": now}])
    return True


def save_favourite(*, session: Session, chat_id: int, paper_id: int, now: datetime) -> bool:
    """Star a paper, never unstar it (a tap in a channel cannot show a star's state); True if newly saved."""
    if session.get(Paper, paper_id) is None:
        raise LookupError(f"paper {paper_id} does not exist")
    return insert_ignoring_duplicates(session=session, model=Favourite,
                                      rows=[{"chat_id": chat_id, "paper_id": paper_id, "created_at": now}]) == 1


def favourite_ids(*, session: Session, chat_id: int, paper_ids: Sequence[int]) -> set[int]:
    """Which of these papers the chat has starred, to label the buttons under its cards."""
    if not paper_ids:
        return set()
    # A range on the (chat, paper) key instead of an IN list: one cached statement for every digest (its papers
    # are usually neighbours), and at most the chat's own stars come back.
    params = {"chat_id": chat_id, "lowest": min(paper_ids), "highest": max(paper_ids)}
    return set(session.connection().execute(_STARRED_BETWEEN, params).scalars()) & set(paper_ids)


_STARRED_BETWEEN = select(Favourite.paper_id).where(
    Favourite.chat_id == bindparam("chat_id"), Favourite.paper_id.between(bindparam("lowest"), bindparam("highest")))


def list_favourites(*, session: Session, chat_id: int, offset: int, limit: int) -> tuple[list[Paper], int]:
    """One page of the chat's starred papers, newest star first, and how many it has in all."""
    total = session.exec(select(func.count()).select_from(Favourite).where(Favourite.chat_id == chat_id)).one()
    papers = session.exec(
        select(Paper)
        .join(Favourite, Favourite.paper_id == Paper.id)
        .where(Favourite.chat_id == chat_id)
        .order_by(Favourite.created_at.desc(), Paper.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(papers), total


def remove_favourite(*, session: Session, chat_id: int, paper_id: int) -> bool:
    """Unstar a paper; False when it was not starred."""
    result = session.exec(delete(Favourite).where(Favourite.chat_id == chat_id, Favourite.paper_id == paper_id)
                          .execution_options(synchronize_session=False))
    return result.rowcount == 1


def count_favourites(*, session: Session) -> int:
    """How many stars all chats hold, for /stats."""
    return session.exec(select(func.count()).select_from(Favourite)).one()


def favourite_papers(*, session: Session, chat_id: int) -> list[Paper]:
    """Every paper the chat starred, newest star first, for /export."""
    return list(session.exec(
        select(Paper)
        .join(Favourite, Favourite.paper_id == Paper.id)
        .where(Favourite.chat_id == chat_id)
        .order_by(Favourite.created_at.desc(), Paper.id.desc())
    ).all())
