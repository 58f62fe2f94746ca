"""Papers without an arXiv id, looked up on arXiv by title: which to ask next, and what an answer changes.

Each paper is asked once: ``arxiv_resolved_at`` is set when arXiv's search answered (the paper matched, or no
candidate was the same paper). ``arxiv_resolve_retry_at`` holds a paper while one process asks about it, and
after a network or server failure backs it off for longer each time (``arxiv_resolve_failures``).

A match gives the paper its arXiv id and fills what its digests left empty. When another stored paper already has
that id, the two are one paper: they are merged into the one holding the id, with their digest links, deliveries,
favourites and pending digests, and the other row is deleted (its search entry with it).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, or_, text, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, delete, exists, select

from storage.enrichment import ArxivRecord, fill_from_record
from storage.ingest import abstract_key, better_authors
from storage.models import TITLE_WAITING, Delivery, DigestPaper, Favourite, Paper, PendingDigest
from storage.vectors import refresh_paper_vectors

BACKOFF_FIRST = timedelta(hours=1)  # after a first failure; doubled for each further one
BACKOFF_MAX = timedelta(days=1)
_TEXT_FIELDS = ("title_en", "title_zh", "summary_zh", "abstract_en", "url", "code_url")


class Resolution(enum.StrEnum):
    """What arXiv's title search answered for a paper."""

    MATCHED = "matched"  # a candidate was the same paper: it has its arXiv id now
    UNMATCHED = "unmatched"  # arXiv answered, no candidate was the same paper
    SKIPPED = "skipped"  # its title is not one arXiv can be searched by (not English): never asked


class TitleToResolve(NamedTuple):
    """What a resolution run needs of a paper to ask arXiv and judge the candidates: a claimed row, as read."""

    paper_id: int
    title: str
    authors: tuple[str, ...]
    failures: int


@dataclass(frozen=True, slots=True)
class Resolved:
    """What one match did to the store."""

    paper_id: int  # the paper that now holds the arXiv id (the one kept when two were merged)
    merged_from: int | None  # the paper folded into it and deleted, if another paper already had the id
    filled: tuple[str, ...]


def backoff(failures: int) -> timedelta:
    """How long to wait after the `failures`-th failure in a row: 1 h, 2 h, 4 h, … at most a day."""
    return min(BACKOFF_FIRST * 2 ** max(failures - 1, 0), BACKOFF_MAX)


def _free(now: datetime) -> ColumnElement[bool]:
    """Not held by another run and not backing off."""
    return or_(Paper.arxiv_resolve_retry_at.is_(None), Paper.arxiv_resolve_retry_at <= now)


_WAITING = (text(TITLE_WAITING),)  # the condition of the partial index that finds them (storage/models.py)


def claim_titles_to_resolve(*, session: Session, now: datetime, until: datetime,
                            limit: int) -> list[TitleToResolve]:
    """Hold up to `limit` papers still to look up (newest first) until `until`.

    The update is conditional on the paper still being free, so two processes never ask about the same paper.
    """
    candidates = session.exec(select(Paper.id).where(*_WAITING, _free(now)).order_by(Paper.id.desc())
                              .limit(limit)).all()
    if not candidates:
        return []
    rows = session.exec(
        update(Paper).where(Paper.id.in_(candidates), *_WAITING, _free(now)).values(arxiv_resolve_retry_at=until)
        .returning(Paper.id, Paper.title_en, Paper.authors, Paper.arxiv_resolve_failures)
        .execution_options(synchronize_session=False)
    ).all()
    claimed = [TitleToResolve(paper_id, title, tuple(authors or ()), failures)
               for paper_id, title, authors, failures in rows]
    return sorted(claimed, key=lambda item: -item.paper_id)


def count_titles_to_resolve(*, session: Session) -> int:
    """Papers without an arXiv id whose English title arXiv has not been asked about yet."""
    return session.exec(select(func.count()).select_from(Paper).where(*_WAITING)).one()


def record_no_match(*, session: Session, paper_id: int, now: datetime, outcome: Resolution) -> None:
    """arXiv answered and none of its candidates is this paper (or the paper cannot be asked): never ask again."""
    session.exec(update(Paper).where(Paper.id == paper_id, Paper.arxiv_id.is_(None))
                 .values(arxiv_resolution=outcome.value, arxiv_resolved_at=now, arxiv_resolve_retry_at=None)
                 .execution_options(synchronize_session=False))


def postpone_resolution(*, session: Session, paper_id: int, failures: int, now: datetime) -> datetime:
    """arXiv failed while asked about this paper: ask again after the backoff for `failures`; returns when."""
    until = now + backoff(failures)
    session.exec(update(Paper).where(Paper.id == paper_id, Paper.arxiv_resolved_at.is_(None))
                 .values(arxiv_resolve_retry_at=until, arxiv_resolve_failures=failures)
                 .execution_options(synchronize_session=False))
    return until


def release_titles(*, session: Session, paper_ids: Sequence[int]) -> None:
    """Claimed but not asked (the run stopped early): free at once for the next run."""
    if paper_ids:
        session.exec(update(Paper).where(Paper.id.in_(list(paper_ids)), Paper.arxiv_resolved_at.is_(None))
                     .values(arxiv_resolve_retry_at=None).execution_options(synchronize_session=False))


def record_match(*, session: Session, paper_id: int, record: ArxivRecord, now: datetime) -> Resolved | None:
    """Give the paper arXiv's id and fill its gaps; merge it into the paper that already has the id, if any.

    None when the paper is gone or got an id meanwhile (a digest gave it one while arXiv was asked).
    """
    paper = session.get(Paper, paper_id)
    if paper is None or paper.arxiv_id is not None:
        return None
    holder = session.exec(select(Paper).where(Paper.arxiv_id == record.arxiv_id)).first()
    merged_from = None
    if holder is not None:
        merge_papers(session=session, keep=holder, gone=paper)
        merged_from, paper = paper.id, holder
    else:
        paper.arxiv_id = record.arxiv_id
    filled = fill_from_record(paper, record, now=now)
    paper.arxiv_resolution, paper.arxiv_resolved_at, paper.arxiv_resolve_retry_at = Resolution.MATCHED.value, now, None
    session.add(paper)
    session.flush()
    if filled or merged_from is not None:
        refresh_paper_vectors(session.connection(), [paper.id])  # type: ignore[list-item]
    return Resolved(paper.id, merged_from, filled)  # type: ignore[arg-type]


def merge_papers(*, session: Session, keep: Paper, gone: Paper) -> None:
    """Fold `gone` into `keep`: fields merged (no digest text lost), every row that names `gone` moved, `gone`
    deleted. Rows `keep` already has (a chat sent or starring both) are kept once."""
    for name in _TEXT_FIELDS:
        if getattr(keep, name) is None and getattr(gone, name) is not None:
            setattr(keep, name, getattr(gone, name))
    keep.authors, keep.authors_truncated = better_authors(list(keep.authors or []), keep.authors_truncated,
                                                          tuple(gone.authors or ()), gone.authors_truncated)
    if not keep.affiliations and gone.affiliations:
        keep.affiliations = list(gone.affiliations)
    if gone.category and not gone.category_inferred and (keep.category is None or keep.category_inferred):
        keep.category, keep.category_inferred = gone.category, False
    elif keep.category is None:
        keep.category, keep.category_inferred = gone.category, gone.category_inferred
    keep.highlight = keep.highlight or gone.highlight
    keep.minor = keep.minor and gone.minor
    keep.title_key = keep.title_key or gone.title_key
    keep.abstract_key = keep.abstract_key or gone.abstract_key or abstract_key(keep)  # type: ignore[arg-type]
    if gone.rank_date is not None and (keep.rank_date is None or
                                       (gone.rank_date, gone.rank_digest_id or 0) >
                                       (keep.rank_date, keep.rank_digest_id or 0)):
        keep.rank_date, keep.rank_digest_id = gone.rank_date, gone.rank_digest_id
    if gone.created_at and keep.created_at and gone.created_at < keep.created_at:
        keep.created_at = gone.created_at
    session.add(keep)
    session.flush()
    _move_paper_rows(session, DigestPaper, ("digest_id",), keep.id, gone.id)  # type: ignore[arg-type]
    _move_paper_rows(session, Delivery, ("chat_id", "thread_id"), keep.id, gone.id)  # type: ignore[arg-type]
    _move_paper_rows(session, Favourite, ("chat_id",), keep.id, gone.id)  # type: ignore[arg-type]
    _move_pending(session, keep.id, gone.id)  # type: ignore[arg-type]
    session.delete(gone)
    session.flush()


def _move_paper_rows(session: Session, model: type[SQLModel], key: tuple[str, ...], keep_id: int,
                     gone_id: int) -> None:
    """Point one table's rows of `gone` at `keep`, skipping rows `keep` already has, and drop the rest."""
    other = aliased(model)
    table = model.__table__  # type: ignore[attr-defined]
    already = exists().where(other.paper_id == keep_id, *(getattr(other, name) == table.c[name] for name in key))
    session.exec(update(model).where(table.c.paper_id == gone_id, ~already).values(paper_id=keep_id)
                 .execution_options(synchronize_session=False))
    session.exec(delete(model).where(table.c.paper_id == gone_id).execution_options(synchronize_session=False))


def _move_pending(session: Session, keep_id: int, gone_id: int) -> None:
    """A planned digest that holds `gone` holds `keep` instead (once)."""
    for pending in session.exec(select(PendingDigest).where(PendingDigest.paper_ids.is_not(None))).all():
        if pending.paper_ids and gone_id in pending.paper_ids:
            pending.paper_ids = list(dict.fromkeys(keep_id if paper_id == gone_id else paper_id
                                                   for paper_id in pending.paper_ids))
            session.add(pending)
