"""Pending scheduled digests: leased by one worker at a time, planned once, removed when fully sent.

A lease that runs out (the worker crashed or hung) lets another worker, or the restarted one, take the digest
over; what was already recorded as delivered is not sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, or_, update
from sqlmodel import Session, select

from storage.models import GENERAL_THREAD, PendingDigest


def lease_pending_digests(*, session: Session, now: datetime, owner: str, lease_seconds: float,
                          limit: int) -> list[PendingDigest]:
    """Take up to `limit` digests nobody holds (or whose holder's lease ran out), oldest due first."""
    free = or_(PendingDigest.lease_until.is_(None), PendingDigest.lease_until < now)
    candidates = session.exec(
        select(PendingDigest).where(PendingDigest.due_at <= now, free)
        .order_by(PendingDigest.due_at, PendingDigest.chat_id, PendingDigest.thread_id).limit(limit)
    ).all()
    until = now + timedelta(seconds=lease_seconds)
    leased = []
    for pending in candidates:
        held = PendingDigest.lease_until.is_(None) if pending.lease_until is None else (
            PendingDigest.lease_until == pending.lease_until)
        # Conditional on the lease we saw: of two workers racing for one digest, exactly one gets rowcount 1.
        result = session.exec(
            update(PendingDigest).where(_of(pending.chat_id, pending.thread_id), held)
            .values(lease_owner=owner, lease_until=until, attempts=PendingDigest.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            session.refresh(pending)
            leased.append(pending)
    return leased


def _of(chat_id: int, thread_id: int) -> ColumnElement[bool]:
    """The pending digest of one destination."""
    return and_(PendingDigest.chat_id == chat_id, PendingDigest.thread_id == thread_id)


def holds_lease(*, session: Session, chat_id: int, owner: str, now: datetime,
                thread_id: int = GENERAL_THREAD) -> bool:
    """Whether this worker still holds the digest's lease: checked before sending, never after it ran out."""
    pending = session.get(PendingDigest, (chat_id, thread_id))
    return pending is not None and pending.lease_owner == owner and pending.lease_until is not None and (
        pending.lease_until > now)


def plan_pending_digest(*, session: Session, chat_id: int, owner: str, paper_ids: Sequence[int],
                        thread_id: int = GENERAL_THREAD) -> bool:
    """Fix which papers this digest holds, so a resumed delivery sends the same ones; False if not ours."""
    result = session.exec(
        update(PendingDigest).where(_of(chat_id, thread_id), PendingDigest.lease_owner == owner)
        .values(paper_ids=list(paper_ids)).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def finish_pending_digest(*, session: Session, chat_id: int, owner: str, thread_id: int = GENERAL_THREAD) -> bool:
    """The digest went out (or there was nothing to send): forget it; False if another worker holds it now."""
    result = session.exec(
        delete(PendingDigest).where(_of(chat_id, thread_id), PendingDigest.lease_owner == owner)
    )
    return result.rowcount == 1


def release_pending_digest(*, session: Session, chat_id: int, owner: str, thread_id: int = GENERAL_THREAD) -> None:
    """Telegram kept failing: give the digest back so the next tick tries again."""
    session.exec(
        update(PendingDigest).where(_of(chat_id, thread_id), PendingDigest.lease_owner == owner)
        .values(lease_owner=None, lease_until=None).execution_options(synchronize_session=False)
    )

