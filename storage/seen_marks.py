"""Seen marks: per destination, a run of its pick order it has been sent entirely (see models.SeenMark).

A chat (or forum topic) that has read its way deep into the store would otherwise have its pick walk past every
paper it was sent, probing deliveries one by one: that cost grew with the papers seen (9–25 ms for the heaviest 1%
at 100,000 papers). With a mark, the pick reads the papers ranked above the run (newer digests), those ranked
below it, and those a late digest or an arXiv answer touched inside it since the mark was made; the rest of the
run is never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, literal, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from storage.models import Digest, SeenMark

GroupKey = tuple[date, int]  # a digest group in the pick order: (rank_date, rank_digest_id)
NO_GROUP: GroupKey = (date.min, 0)  # ranks below every paper: a run down to it has no paper left below
# Digests registered (and arXiv answers recorded) longer ago than this are taken as committed and visible to
# every reader: both commit within seconds. Papers they touched later than that are read again, whatever the mark
# says.
INGEST_COMMIT_MARGIN = timedelta(minutes=10)
# A chat that keeps up with its mark has it extended to newer digests at most this often: checking costs two
# queries, and a day's digests above the mark cost the pick only a few probes.
MARK_REFRESH_INTERVAL = timedelta(hours=1)

_MARK = SeenMark.__table__  # type: ignore[attr-defined]
_COLUMNS = ("categories", "top_date", "top_digest_id", "below_date", "below_digest_id", "through_digest_id",
            "made_at")
MARK_COLUMNS = tuple(_MARK.c[name] for name in _COLUMNS)
_READ = select(*MARK_COLUMNS).where(_MARK.c.chat_id == bindparam("chat"), _MARK.c.thread_id == bindparam("thread"))
# The destination's mark as exactly one row (NULLs when it has none), for a statement that reads more with it.
MARK_OF_DESTINATION = select(literal(1)).subquery("destination").outerjoin(
    _MARK, and_(_MARK.c.chat_id == bindparam("chat_id"), _MARK.c.thread_id == bindparam("thread_id")))
_SETTLED_DIGEST = (select(Digest.id).where(Digest.ingested_at < bindparam("settled_before"))
                   .order_by(Digest.id.desc()).limit(1))
_SAVE = {}
for _name, _insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert)):
    _statement = _insert(SeenMark)
    _SAVE[_name] = _statement.on_conflict_do_update(index_elements=["chat_id", "thread_id"],
                                                    set_={name: _statement.excluded[name] for name in _COLUMNS})


@dataclass(frozen=True, slots=True)
class Mark:
    """A chat's seen mark as the pick uses it: groups in (below, top] were sent, bar later digests' papers."""

    categories: frozenset[str]
    top: GroupKey
    below: GroupKey
    through_digest_id: int
    made_at: datetime

    def covers(self, categories: Sequence[str]) -> bool:
        """Whether the claim holds for a pick in these categories (fewer categories keep it true)."""
        return self.categories.issuperset(categories)


def read_seen_mark(*, session: Session, chat_id: int, thread_id: int) -> Mark | None:
    """The destination's mark, if a pick of it ever skipped papers it had been sent."""
    return mark_of(session.connection().execute(_READ, {"chat": chat_id, "thread": thread_id}).first())


def mark_of(row: Any) -> Mark | None:
    """The mark in a row holding MARK_COLUMNS (NULL when the destination has none)."""
    if row is None or row.made_at is None:
        return None
    return Mark(frozenset(row.categories.split(",")), (row.top_date, row.top_digest_id),
                (row.below_date, row.below_digest_id), row.through_digest_id, row.made_at)


def settled_digest_id(*, session: Session, now: datetime) -> int:
    """The newest digest whose papers every reader sees by now (0 if none)."""
    settled_before = now - INGEST_COMMIT_MARGIN
    return session.connection().execute(_SETTLED_DIGEST, {"settled_before": settled_before}).scalar() or 0


def save_seen_mark(*, session: Session, chat_id: int, thread_id: int, mark: Mark) -> None:
    """Record (or replace) the destination's mark."""
    session.connection().execute(_SAVE[session.get_bind().dialect.name], {
        "chat_id": chat_id, "thread_id": thread_id, "categories": ",".join(sorted(mark.categories)),
        "top_date": mark.top[0], "top_digest_id": mark.top[1], "below_date": mark.below[0],
        "below_digest_id": mark.below[1], "through_digest_id": mark.through_digest_id, "made_at": mark.made_at})
