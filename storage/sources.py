"""Digest sources: the URLs admins registered, when each is due, and how its last check ended.

Checks are claimed in the database (a conditional update on the source's next check time), so two bot
processes never fetch the same source in the same round.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.models import Source, SourceStatus

ERROR_LIMIT = 1000  # the stored error is for people; its head says what went wrong


def list_sources(*, session: Session) -> list[Source]:
    """Every registered source, oldest first (its id is the number admins remove it by)."""
    return list(session.exec(select(Source).order_by(Source.id)).all())


def count_sources(*, session: Session) -> int:
    """How many sources are registered."""
    return session.exec(select(func.count()).select_from(Source)).one()


def source_by_url(*, session: Session, url: str) -> Source | None:
    """The source registered under exactly this URL."""
    return session.exec(select(Source).where(Source.url == url)).first()


def add_source(*, session: Session, url: str, added_by: int | None) -> tuple[Source, bool]:
    """Register a URL (due at once); returns the source and whether it is new (a known URL stays as it was)."""
    existing = source_by_url(session=session, url=url)
    if existing is not None:
        return existing, False
    source = Source(url=url, added_by=added_by)
    try:
        with session.begin_nested():
            session.add(source)
            session.flush()
    except IntegrityError:  # another process registered it between our read and our insert
        return source_by_url(session=session, url=url), False
    return source, True


def merge_configured_sources(*, session: Session, urls: Iterable[str]) -> list[Source]:
    """Add the DIGEST_SOURCES URLs the table lacks; sources added by admins are never removed here."""
    return [source for source, created in (add_source(session=session, url=url, added_by=None) for url in urls)
            if created]


def remove_source(*, session: Session, source_id: int) -> Source | None:
    """Forget a source; None when no source has this number."""
    source = session.get(Source, source_id)
    if source is not None:
        session.delete(source)
        session.flush()
    return source


def claim_due_sources(*, session: Session, now: datetime, interval: timedelta, limit: int) -> list[Source]:
    """Take the sources due for a check and move their next check one interval ahead.

    The update is conditional on the next check time we read: of two processes racing for one source,
    exactly one gets it, and a process that dies mid-fetch only delays that source by one interval.
    """
    due = session.exec(
        select(Source).where(or_(Source.next_check_at.is_(None), Source.next_check_at <= now))
        .order_by(Source.next_check_at, Source.id).limit(limit)
    ).all()
    claimed = []
    for source in due:
        seen = (Source.next_check_at.is_(None) if source.next_check_at is None
                else Source.next_check_at == source.next_check_at)
        result = session.exec(
            update(Source).where(Source.id == source.id, seen).values(next_check_at=now + interval)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            session.refresh(source)
            claimed.append(source)
    return claimed


def record_source_success(*, session: Session, source_id: int, now: datetime, status: SourceStatus,
                          etag: str | None, last_modified: str | None) -> bool:
    """The check worked: keep the new validators; True when admins had been told it failed (say it recovered)."""
    source = session.get(Source, source_id)
    if source is None:  # removed while it was being fetched
        return False
    recovered = source.failure_reported
    source.last_status, source.last_error, source.last_checked_at = status.value, None, now
    source.failing_since, source.failure_reported = None, False
    if etag is not None or last_modified is not None:
        source.etag, source.last_modified = etag, last_modified
    session.add(source)
    return recovered


def record_source_failure(*, session: Session, source_id: int, now: datetime, error: str) -> bool:
    """The check failed; True exactly once per run of failures, for the process that should tell the admins."""
    source = session.get(Source, source_id)
    if source is None:
        return False
    source.last_status, source.last_error, source.last_checked_at = SourceStatus.FAILED.value, error[:ERROR_LIMIT], now
    source.failing_since = source.failing_since or now
    session.add(source)
    session.flush()
    first_report = session.exec(
        update(Source).where(Source.id == source_id, Source.failure_reported.is_(False))
        .values(failure_reported=True).execution_options(synchronize_session=False)
    )
    return first_report.rowcount == 1
