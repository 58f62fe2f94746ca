"""What one delivery reads about its destination before picking its papers, in one statement.

Every digest of a broadcast needs the destination's settings, its keyword filters, whether the chat starred or
imported anything (no favourites: no ✅ to look up; nothing kept: no taste to read) and, for a scheduled digest,
its plan under this worker's lease. Read one by one, that was four round trips per digest whose building and
reading cost more than the database spent answering them; here it is the destination's row joined to its keywords
(one row per keyword, or a single row without), the rest as uncorrelated subqueries the database evaluates once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, select
from sqlmodel import Session

from storage.keywords import KEYWORD_ORDER, KeywordSpec
from storage.models import GENERAL_THREAD, Chat, ChatKeyword, Favourite, LibraryEntry
from storage.pending import LEASED_PLAN, leased_plan


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """What sending a digest needs to know about a destination."""

    chat_id: int
    active: bool
    categories: tuple[str, ...]
    language: str
    ui_language: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Destination:
    """A destination as one delivery sees it."""

    settings: DeliverySettings
    keywords: list[KeywordSpec]
    favourites: bool  # the chat starred at least one paper
    keeps: bool  # favourites or imported papers: what a taste rests on
    planned: list[int] | None  # the leased pending digest's papers; None while unplanned, or without a lease


def delivery_destination(*, session: Session, chat_id: int, now: datetime, thread_id: int = GENERAL_THREAD,
                         lease_owner: str | None = None) -> Destination | None:
    """The destination's settings, keywords and keeps (None if it never subscribed).

    With ``lease_owner`` the delivery is of a pending digest that worker leased: LeaseLost (checked first, as
    storage.pending.leased_plan does) once the lease ran out, else the digest's plan comes along.
    """
    params = {"chat": chat_id, "thread": thread_id, "owner": lease_owner, "now": now}
    rows = session.connection().execute(_DESTINATION, params).all()
    if lease_owner is not None and not (rows and rows[0].leased):
        # The lease ran out (LeaseLost), or the destination's row is gone and only leased_plan can tell.
        leased_plan(session=session, chat_id=chat_id, owner=lease_owner, now=now, thread_id=thread_id)
    if not rows:
        return None
    first = rows[0]
    settings = DeliverySettings(first.id, first.active, tuple(code for code in first.categories.split(",") if code),
                                first.language, first.ui_language, first.timezone)
    keywords = [KeywordSpec(row.keyword, row.exclude) for row in rows if row.keyword is not None]
    return Destination(settings, keywords, first.favourites, first.favourites or first.imported,
                       first.planned if lease_owner is not None else None)


_CHAT = bindparam("chat")
_DESTINATION = (
    select(Chat.id, Chat.active, Chat.categories, Chat.language, Chat.ui_language, Chat.timezone,
           ChatKeyword.keyword, ChatKeyword.exclude,
           exists().where(Favourite.chat_id == _CHAT).label("favourites"),
           exists().where(LibraryEntry.chat_id == _CHAT).label("imported"),
           exists(LEASED_PLAN).label("leased"), LEASED_PLAN.scalar_subquery().label("planned"))
    .select_from(Chat)
    .outerjoin(ChatKeyword, (ChatKeyword.chat_id == Chat.id) & (ChatKeyword.thread_id == Chat.thread_id))
    .where(Chat.id == _CHAT, Chat.thread_id == bindparam("thread"))
    .order_by(*KEYWORD_ORDER)
)
