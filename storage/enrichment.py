"""arXiv metadata into stored papers: which papers still need asking, and filling only what digests left empty.

A paper is asked about once: `arxiv_checked_at` is set when arXiv answered for its id (found or unknown).
`arxiv_retry_at` holds a paper while one process asks about it, and postpones it after arXiv failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlmodel import Session, select

from storage.ingest import abstract_key
from storage.models import Paper
from storage.parsing import title_key
from storage.vectors import refresh_paper_vectors


@dataclass(frozen=True, slots=True)
class ArxivRecord:
    """What arXiv says about one paper (the fields are None or empty when arXiv gave none)."""

    arxiv_id: str
    title: str | None = None
    authors: tuple[str, ...] = ()
    affiliations: tuple[str, ...] = ()
    abstract: str | None = None
    primary_category: str | None = None
    category: str | None = None  # our field (LG, CV, CL, AS, RO) for the primary category, if it maps to one


@dataclass(frozen=True, slots=True)
class EnrichedPaper:
    """What one record changed in a stored paper."""

    paper_id: int
    filled: tuple[str, ...]  # names of the fields arXiv filled or replaced


_WAITING = (Paper.arxiv_id.is_not(None), Paper.arxiv_checked_at.is_(None))


def claim_papers_for_arxiv(*, session: Session, now: datetime, until: datetime, limit: int) -> dict[str, int]:
    """Hold up to `limit` unchecked papers (newest first) until `until`; returns arXiv id → paper id.

    The update is conditional on the paper still being free, so two processes never ask about the same paper.
    """
    free = or_(Paper.arxiv_retry_at.is_(None), Paper.arxiv_retry_at <= now)
    candidates = session.exec(select(Paper.id).where(*_WAITING, free).order_by(Paper.id.desc()).limit(limit)).all()
    if not candidates:
        return {}
    claimed = session.exec(
        update(Paper).where(Paper.id.in_(candidates), *_WAITING, free).values(arxiv_retry_at=until)
        .returning(Paper.arxiv_id, Paper.id).execution_options(synchronize_session=False)
    ).all()
    return {arxiv_id: paper_id for arxiv_id, paper_id in claimed}


def apply_arxiv_records(*, session: Session, records: Iterable[ArxivRecord], now: datetime) -> list[EnrichedPaper]:
    """Fill each paper's missing title, authors, affiliations and abstract; arXiv's field replaces an inferred one.

    Text a digest provided is never overwritten. Each paper is marked checked.
    """
    by_id = {record.arxiv_id: record for record in records}
    if not by_id:
        return []
    changed = []
    for paper in session.exec(select(Paper).where(Paper.arxiv_id.in_(list(by_id)))).all():
        filled = fill_from_record(paper, by_id[paper.arxiv_id], now=now)
        session.add(paper)
        changed.append(EnrichedPaper(paper.id, filled))
    session.flush()
    refresh_paper_vectors(session.connection(), [paper.paper_id for paper in changed if paper.filled])
    return changed


def fill_from_record(paper: Paper, record: ArxivRecord, *, now: datetime) -> tuple[str, ...]:
    """Fill what the paper's digests left empty from arXiv's record; arXiv's field replaces a guessed one.

    Returns the names of the fields filled; the paper is marked as answered for by arXiv at `now`.
    """
    filled = []
    if paper.title_en is None and record.title:
        paper.title_en, paper.title_key = record.title, paper.title_key or title_key(record.title)
        filled.append("title_en")
    if not paper.authors and record.authors:
        paper.authors = list(record.authors)
        filled.append("authors")
    if not paper.affiliations and record.affiliations:
        paper.affiliations = list(record.affiliations)
        filled.append("affiliations")
    if paper.abstract_en is None and record.abstract:
        paper.abstract_en = record.abstract
        paper.abstract_key = paper.abstract_key or abstract_key(paper)
        filled.append("abstract_en")
    if record.category and (paper.category is None or paper.category_inferred):
        paper.category, paper.category_inferred = record.category, False
        filled.append("category")
    paper.arxiv_checked_at, paper.arxiv_retry_at = now, None
    return tuple(filled)


def mark_arxiv_checked(*, session: Session, paper_ids: Sequence[int], now: datetime) -> None:
    """arXiv answered but knows nothing of these ids: never ask again."""
    if paper_ids:
        session.exec(update(Paper).where(Paper.id.in_(list(paper_ids)))
                     .values(arxiv_checked_at=now, arxiv_retry_at=None).execution_options(synchronize_session=False))


def postpone_arxiv_check(*, session: Session, paper_ids: Sequence[int], until: datetime | None) -> None:
    """Ask about these papers again from `until` (None: at once)."""
    if paper_ids:
        session.exec(update(Paper).where(Paper.id.in_(list(paper_ids)), Paper.arxiv_checked_at.is_(None))
                     .values(arxiv_retry_at=until).execution_options(synchronize_session=False))


def count_papers_waiting_for_arxiv(*, session: Session) -> int:
    """Papers with an arXiv id that arXiv has not answered for yet."""
    return session.exec(select(func.count()).select_from(Paper).where(*_WAITING)).one()
