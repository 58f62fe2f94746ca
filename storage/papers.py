"""Queries about papers: export rows, counts, what a chat gets next."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, func, or_
from sqlmodel import Session, select

from storage.keywords import sql_keyword_matches
from storage.models import GENERAL_THREAD, ChatKeyword, Delivery, DigestPaper, Paper

EXPORT_KEYS = ("id", "category", "category_inferred", "title_en", "title_zh", "authors", "affiliations",
               "summary_zh", "abstract_en", "url", "arxiv_id", "code_url", "highlight", "minor", "digest_ids")


def export_rows(session: Session, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every stored paper as a plain dict with exactly EXPORT_KEYS, in id order, read in batches."""
    last_id = 0
    while True:
        papers = session.exec(select(Paper).where(Paper.id > last_id).order_by(Paper.id).limit(batch)).all()
        if not papers:
            return
        ids = [paper.id for paper in papers]
        digests: dict[int, list[int]] = defaultdict(list)
        for paper_id, digest_id in session.exec(
            select(DigestPaper.paper_id, DigestPaper.digest_id)
            .where(DigestPaper.paper_id.in_(ids))
            .order_by(DigestPaper.digest_id)
        ):
            digests[paper_id].append(digest_id)
        for paper in papers:
            row = {key: getattr(paper, key) for key in EXPORT_KEYS if key != "digest_ids"}
            row["authors"] = list(paper.authors) or None
            row["affiliations"] = list(paper.affiliations) or None
            row["digest_ids"] = digests.get(paper.id, [])
            yield row
        last_id = ids[-1]


def count_papers(session: Session) -> int:
    """How many papers the store holds."""
    return session.exec(select(func.count()).select_from(Paper)).one()


def pick_unseen_papers(*, session: Session, chat_id: int, categories: Sequence[str], limit: int,
                       thread_id: int = GENERAL_THREAD, keywords: bool = False) -> list[Paper]:
    """The destination's next papers: never sent to it, newest digest first, highlights and main entries leading.

    With ``keywords`` (the destination has keyword filters) a paper also qualifies by matching an included keyword
    and is left out when it matches an excluded one; the matching runs in SQL so LIMIT still stops the scan early.
    """
    if not categories or limit <= 0:
        return []
    statement = _PICK_FILTERED if keywords else _PICK
    return list(session.exec(statement, params={"chat_id": chat_id, "thread_id": thread_id,
                                                "categories": list(categories), "limit": limit}).all())


def _keyword_of_destination(*, exclude: bool) -> ColumnElement[bool]:
    """EXISTS one of the destination's included (or excluded) keywords that the paper matches."""
    return exists(select(ChatKeyword.keyword).where(
        ChatKeyword.chat_id == bindparam("chat_id"), ChatKeyword.thread_id == bindparam("thread_id"),
        ChatKeyword.exclude == exclude, sql_keyword_matches(ChatKeyword.keyword)))


_IN_CATEGORIES = Paper.category.in_(bindparam("categories", expanding=True))
_UNSEEN = ~exists(select(Delivery.id).where(Delivery.chat_id == bindparam("chat_id"),
                                            Delivery.thread_id == bindparam("thread_id"),
                                            Delivery.paper_id == Paper.id))
_PICK_ORDER = (Paper.rank_date.desc(), Paper.rank_digest_id.desc(), Paper.highlight.desc(), Paper.minor, Paper.id)
# Built once: this runs for every chat of every broadcast, and building the statement cost as much as running it.
_PICK = select(Paper).where(_IN_CATEGORIES, _UNSEEN).order_by(*_PICK_ORDER).limit(bindparam("limit"))
# Only destinations with keywords pay for the keyword probes.
_PICK_FILTERED = (
    select(Paper)
    .where(or_(_IN_CATEGORIES, _keyword_of_destination(exclude=False)), ~_keyword_of_destination(exclude=True),
           _UNSEEN)
    .order_by(*_PICK_ORDER)
    .limit(bindparam("limit"))
)


def get_paper(*, session: Session, paper_id: int) -> Paper | None:
    """One paper, e.g. the one behind a ⭐ button; None if it is not stored."""
    return session.get(Paper, paper_id)


def papers_by_ids(*, session: Session, paper_ids: Sequence[int]) -> list[Paper]:
    """The stored papers among these ids, in the order asked for."""
    if not paper_ids:
        return []
    found = {paper.id: paper for paper in session.exec(select(Paper).where(Paper.id.in_(list(paper_ids))))}
    return [found[paper_id] for paper_id in paper_ids if paper_id in found]
