"""Pending scheduled digests: leased by one worker at a time, planned once, removed when fully sent.

A lease that runs out (the worker crashed or hung) lets another worker, or the restarted one, take the digest
over; what was already recorded as delivered is not sent again. A digest is owed to a destination: a chat, or
one of its forum topics.

These run for every destination of every broadcast, so the statements are built once and run as Core
statements: building them per call, and ORM bookkeeping, cost more than the database work.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, or_, select, tuple_, update
from sqlmodel import Session

from storage.models import GENERAL_THREAD, PendingDigest

_PENDING = PendingDigest.__table__  # type: ignore[attr-defined]
_FREE = or_(_PENDING.c.lease_until.is_(None), _PENDING.c.lease_until < bindparam("now"))
# Bound names differ from column names: an UPDATE reserves those for its SET clause.
_OURS = ((_PENDING.c.chat_id == bindparam("chat")) & (_PENDING.c.thread_id == bindparam("thread"))
         & (_PENDING.c.lease_owner == bindparam("owner")))
# Conditional on the lease still being free when the row is written: of two workers racing for one digest,
# exactly one takes it (PostgreSQL re-checks the condition on the row it waited for; SQLite has one writer).
_LEASE = (
    update(_PENDING)
    .where(tuple_(_PENDING.c.chat_id, _PENDING.c.thread_id).in_(
        select(_PENDING.c.chat_id, _PENDING.c.thread_id).where(_PENDING.c.due_at <= bindparam("now"), _FREE)
        .order_by(_PENDING.c.due_at, _PENDING.c.chat_id, _PENDING.c.thread_id).limit(bindparam("limit"))),
        _FREE)
    .values(lease_owner=bindparam("new_owner"), lease_until=bindparam("until"), attempts=_PENDING.c.attempts + 1)
    .returning(*_PENDING.c)
)
# The leased rows as PendingDigest objects, loaded by the ORM: building each one through PendingDigest(...) cost
# more than the lease. populate_existing: a row this session saw before is read afresh, with its new lease.
_LEASED = select(PendingDigest).from_statement(_LEASE).execution_options(populate_existing=True)
# Also read inside storage.destinations's statement, which checks the lease along with the rest of a delivery's reads.
LEASED_PLAN = select(_PENDING.c.paper_ids).where(_OURS, _PENDING.c.lease_until > bindparam("now"))
_PLAN = update(_PENDING).where(_OURS).values(paper_ids=bindparam("planned"))
_FINISH = delete(_PENDING).where(_OURS)
_RELEASE = update(_PENDING).where(_OURS).values(lease_owner=None, lease_until=None)
_RELEASE_ALL_OURS = (update(_PENDING).where(_PENDING.c.lease_owner == bindparam("owner"))
                     .values(lease_owner=None, lease_until=None))


def lease_pending_digests(*, session: Session, now: datetime, owner: str, lease_seconds: float,
                          limit: int) -> list[PendingDigest]:
    """Take up to `limit` digests nobody holds (or whose holder's lease ran out), oldest due first."""
    until = now + timedelta(seconds=lease_seconds)
    params = {"now": now, "limit": limit, "new_owner": owner, "until": until}
    leased = list(session.exec(_LEASED, params=params).scalars())  # type: ignore[call-overload]
    return sorted(leased, key=lambda pending: (pending.due_at, pending.chat_id, pending.thread_id))


class LeaseLost(Exception):
    """The digest's lease ran out and another worker may hold it now."""


def leased_plan(*, session: Session, chat_id: int, owner: str, now: datetime,
                thread_id: int = GENERAL_THREAD) -> list[int] | None:
    """The papers this worker's leased digest holds (None while unplanned); LeaseLost once the lease ran out.

    Checked before sending, never after the lease ran out.
    """
    params = {"chat": chat_id, "thread": thread_id, "owner": owner, "now": now}
    row = session.connection().execute(LEASED_PLAN, params).first()
    if row is None:
        raise LeaseLost(f"pending digest of chat {chat_id} thread {thread_id} is no longer leased by {owner}")
    return row.paper_ids


def holds_lease(*, session: Session, chat_id: int, owner: str, now: datetime, thread_id: int = GENERAL_THREAD) -> bool:
    """Whether this worker still holds the digest's lease."""
    try:
        leased_plan(session=session, chat_id=chat_id, owner=owner, now=now, thread_id=thread_id)
    except LeaseLost:
        return False
    return True


def plan_pending_digest(*, session: Session, chat_id: int, owner: str, paper_ids: Sequence[int],
                        thread_id: int = GENERAL_THREAD) -> bool:
    """Fix which papers this digest holds, so a resumed delivery sends the same ones; False if not ours."""
    params = {"chat": chat_id, "thread": thread_id, "owner": owner, "planned": list(paper_ids)}
    return session.connection().execute(_PLAN, params).rowcount == 1


def finish_pending_digest(*, session: Session, chat_id: int, owner: str, thread_id: int = GENERAL_THREAD) -> bool:
    """The digest went out (or there was nothing to send): forget it; False if another worker holds it now."""
    params = {"chat": chat_id, "thread": thread_id, "owner": owner}
    return session.connection().execute(_FINISH, params).rowcount == 1


def release_pending_digest(*, session: Session, chat_id: int, owner: str, thread_id: int = GENERAL_THREAD) -> None:
    """Telegram kept failing: give the digest back so the next tick tries again."""
    session.connection().execute(_RELEASE, {"chat": chat_id, "thread": thread_id, "owner": owner})


def release_leases_of(*, session: Session, owner: str) -> int:
    """Hand back every lease this worker holds, when none of its digests is being sent (a tick cut short by the
    database going away leaves some); how many."""
    return session.connection().execute(_RELEASE_ALL_OURS, {"owner": owner}).rowcount
