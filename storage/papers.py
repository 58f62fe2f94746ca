"""Queries about papers: export rows, counts, what a chat gets next."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    FromClause,
    Integer,
    Select,
    Subquery,
    bindparam,
    exists,
    func,
    or_,
    outerjoin,
    tuple_,
    union,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from storage.keywords import sql_keyword_matches
from storage.models import GENERAL_THREAD, ChatKeyword, Delivery, Digest, DigestPaper, Paper, PaperContent, PaperVector
from storage.seen_marks import (
    INGEST_COMMIT_MARGIN,
    MARK_COLUMNS,
    MARK_OF_DESTINATION,
    MARK_REFRESH_INTERVAL,
    NO_GROUP,
    GroupKey,
    Mark,
    mark_of,
    read_seen_mark,
    save_seen_mark,
    settled_digest_id,
)
from storage.taste import POOL_SIZE, TasteSource, rank, read_taste_along, taste_statement
from storage.vectors import VectorBatch
from storage.vocabulary import CATEGORIES

EXPORT_KEYS = ("id", *PaperContent.model_fields, "digest_ids")  # a paper's content, and where it came from


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
    Without, the pick skips the run of papers the destination's seen mark says it was sent, and moves the mark
    when the destination has caught up with it, so the cost stays the same however many papers it has seen.
    """
    if not categories or limit <= 0:
        return []
    mark = None if keywords else read_seen_mark(session=session, chat_id=chat_id, thread_id=thread_id)
    return _pick(session, _PAPERS, chat_id=chat_id, categories=categories, limit=limit, thread_id=thread_id,
                 keywords=keywords, mark=mark)


@dataclass(frozen=True, slots=True)
class Pick:
    """A destination's next papers, and for those its taste ranked, the favourite each is closest to."""

    papers: list[Paper]
    reasons: dict[int, TasteSource] = field(default_factory=dict)


def pick_for_destination(*, session: Session, chat_id: int, categories: Sequence[str], limit: int,
                         thread_id: int = GENERAL_THREAD, keywords: bool = False, keeps: bool = True) -> Pick:
    """The destination's next papers: today's order, or, when it ranks by taste, the closest to its taste among
    the next POOL_SIZE unseen papers of today's order (so its digest stays as fresh as anyone's), leaving out
    papers the chat already starred or imported.

    The taste and the seen mark come in one round trip (the mark is of no use with keywords, but costs nothing
    there). ``keeps=False`` says the caller already knows the chat starred and imported nothing: it has no taste
    to read, only its mark."""
    if not categories or limit <= 0:
        return Pick([])
    if keeps:
        taste, choice = read_taste_along(_TASTE_AND_MARK, session=session, chat_id=chat_id, thread_id=thread_id)
        mark = None if keywords else mark_of(choice)
    else:
        taste = None
        mark = None if keywords else read_seen_mark(session=session, chat_id=chat_id, thread_id=thread_id)
    if taste is None:
        return Pick(_pick(session, _PAPERS, chat_id=chat_id, categories=categories, limit=limit, thread_id=thread_id,
                          keywords=keywords, mark=mark))
    pool = _pick(session, _POOL, chat_id=chat_id, categories=categories, limit=max(limit, POOL_SIZE),
                 thread_id=thread_id, keywords=keywords, mark=mark)
    pool = [row for row in pool if row.id not in taste.kept]
    ranked = rank(taste, [row.id for row in pool], VectorBatch.from_bytes([row.features for row in pool]), limit)
    papers = papers_by_ids(session=session, paper_ids=[item.paper_id for item in ranked])
    return Pick(papers, {item.paper_id: item.reason for item in ranked if item.reason is not None})


def _pick(session: Session, statements: _PickStatements, *, chat_id: int, categories: Sequence[str], limit: int,
          thread_id: int, keywords: bool, mark: Mark | None) -> list[Any]:
    """The destination's next `limit` items in today's order, as the statements select them, given its seen mark
    (read by the caller); moves the mark."""
    params: dict[str, object] = {"chat_id": chat_id, "thread_id": thread_id, "limit": limit,
                                 **_category_slots(categories)}
    if statements.papers:
        def read(statement: Select[Any]) -> list[Any]:
            return list(session.exec(statement, params=params).all())
    else:  # plain rows skip the ORM's loading: it cost a third of the pool query on SQLite
        def read(statement: Select[Any]) -> list[Any]:
            return list(session.connection().execute(statement, params).all())
    if keywords:
        return read(statements.filtered)
    top: GroupKey | None = None
    if mark is not None and mark.covers(categories):
        params |= {"top_date": mark.top[0], "top_digest": mark.top[1], "below_date": mark.below[0],
                   "below_digest": mark.below[1], "through": mark.through_digest_id,
                   "enriched_since": mark.made_at - INGEST_COMMIT_MARGIN}
        items = read(statements.past_mark)
    else:
        mark = None
        rows = read(statements.with_top)
        items = [row[0] for row in rows] if statements.papers else rows  # a pool row may keep the top's columns
        top = (rows[0][-2], rows[0][-1]) if rows else None
    _move_seen_mark(session, chat_id=chat_id, thread_id=thread_id, categories=categories, papers=items, mark=mark,
                    top=top)
    return items


def _move_seen_mark(session: Session, *, chat_id: int, thread_id: int, categories: Sequence[str],
                    papers: list[Any], mark: Mark | None, top: GroupKey | None) -> None:
    """Every group ranked above the first paper picked was sent: mark that run once the destination caught up."""
    below = (papers[0].rank_date, papers[0].rank_digest_id) if papers else NO_GROUP
    if below[0] is None or below[1] is None:
        return  # a paper no digest ranked (not stored by ingestion): no group to mark from
    now = datetime.now(UTC)
    if mark is None:
        if papers and below == top:
            return  # the first paper picked is in the top group: nothing was skipped, a mark would save nothing
    elif below > mark.below:
        return  # unseen papers above the mark: the destination reads newer digests, the run stays where it is
    elif below == mark.below and now - mark.made_at < MARK_REFRESH_INTERVAL:
        return  # caught up with a mark made lately: extending it to newer digests can wait
    if top is None:
        row = session.connection().execute(_TOP_GROUP, _category_slots(categories)).first()
        top = (row.rank_date, row.rank_digest_id) if row is not None else NO_GROUP
    save_seen_mark(session=session, chat_id=chat_id, thread_id=thread_id, mark=Mark(
        frozenset(categories), top, below, settled_digest_id(session=session, now=now), now))


def _category_slots(categories: Sequence[str]) -> dict[str, str]:
    """The categories as the fixed CATEGORY_SLOTS parameters, the first repeated into unused slots."""
    unique = list(dict.fromkeys(categories))
    if len(unique) > CATEGORY_SLOTS:
        raise ValueError(f"at most {CATEGORY_SLOTS} categories, got {unique}")
    padded = unique + unique[:1] * (CATEGORY_SLOTS - len(unique))
    return {f"category_{slot}": code for slot, code in enumerate(padded)}


def _keyword_of_destination(*, exclude: bool) -> ColumnElement[bool]:
    """EXISTS one of the destination's included (or excluded) keywords that the paper matches."""
    return exists(select(ChatKeyword.keyword).where(
        ChatKeyword.chat_id == bindparam("chat_id"), ChatKeyword.thread_id == bindparam("thread_id"),
        ChatKeyword.exclude == exclude, sql_keyword_matches(ChatKeyword.keyword)))


# The categories go in as a fixed number of parameters, not an expanding list, so the compiled statement is reused
# as it is instead of being rewritten for each pick.
CATEGORY_SLOTS = len(CATEGORIES)
_IN_CATEGORIES = Paper.category.in_([bindparam(f"category_{slot}") for slot in range(CATEGORY_SLOTS)])
_UNSEEN = ~exists(select(Delivery.id).where(Delivery.chat_id == bindparam("chat_id"),
                                            Delivery.thread_id == bindparam("thread_id"),
                                            Delivery.paper_id == Paper.id))
_PICK_ORDER = (Paper.rank_date.desc(), Paper.rank_digest_id.desc(), Paper.highlight.desc(), Paper.minor, Paper.id)
_GROUP = tuple_(Paper.rank_date, Paper.rank_digest_id)
_TOP_GROUP = select(Paper.rank_date, Paper.rank_digest_id).where(_IN_CATEGORIES).order_by(*_PICK_ORDER).limit(1)
_TOP_OF_CATEGORIES = _TOP_GROUP.subquery()


def _first_unseen_ids(*where: ColumnElement[bool]) -> Subquery:
    """The ids of the first `limit` unseen papers of the categories that also meet `where`, in pick order."""
    return (select(Paper.id).where(_IN_CATEGORIES, _UNSEEN, *where).order_by(*_PICK_ORDER)
            .limit(bindparam("limit")).subquery())


# Past a seen mark, three places can hold unseen papers: above the run (newer digests), below it (both read off
# ix_paper_pick from their end of the run), and inside it papers a digest or arXiv touched since the mark was
# made. A digest dated after the run's top ranks its papers above the run, so only older or undated ones are
# looked at; undated digests rank their papers on the day they were ingested. The date test is on an expression,
# not the bare column, so the planner reads only the digests newer than the mark (by id) instead of every digest
# older than the run's top (by date).
_TOP = tuple_(bindparam("top_date", type_=Date), bindparam("top_digest", type_=Integer))
_BELOW = tuple_(bindparam("below_date", type_=Date), bindparam("below_digest", type_=Integer))
_TOUCHED_INSIDE = (
    select(DigestPaper.paper_id).join(Digest, Digest.id == DigestPaper.digest_id)
    .where(Digest.id > bindparam("through"), DigestPaper.digest_id > bindparam("through"),
           func.coalesce(Digest.digest_date, bindparam("top_date", type_=Date)) <= bindparam("top_date", type_=Date))
)
# arXiv enrichment is the one change outside digests that matters here: it can give a paper its category.
_ENRICHED = aliased(Paper)
_ENRICHED_INSIDE = select(_ENRICHED.id).where(_ENRICHED.arxiv_checked_at >= bindparam("enriched_since"),
                                              tuple_(_ENRICHED.rank_date, _ENRICHED.rank_digest_id) <= _TOP)
_ABOVE_MARK = _first_unseen_ids(_GROUP > _TOP)
_BELOW_MARK = _first_unseen_ids(_GROUP <= _BELOW)
_INSIDE_MARK = _first_unseen_ids(Paper.id.in_(union(_TOUCHED_INSIDE, _ENRICHED_INSIDE)))
_PAST_MARK_IDS = union(select(_ABOVE_MARK.c.id), select(_BELOW_MARK.c.id), select(_INSIDE_MARK.c.id))


@dataclass(frozen=True, slots=True)
class _PickStatements:
    """The three ways to read a destination's next items, for one choice of what an item is."""

    with_top: Select[Any]  # with the top group of the categories alongside (read once, not per row)
    filtered: Select[Any]  # only destinations with keywords pay for the keyword probes
    past_mark: Select[Any]
    papers: bool  # items are whole papers, loaded by the session; else plain rows of the columns selected


def _pick_statements(item: Any, source: FromClause) -> _PickStatements:
    """The pick statements selecting `item` (the Paper entity, or the columns ranking needs) from `source`."""
    papers = item is Paper
    items = (item,) if papers else tuple(item)
    with_top = (
        select(*items, select(_TOP_OF_CATEGORIES.c.rank_date).scalar_subquery(),
               select(_TOP_OF_CATEGORIES.c.rank_digest_id).scalar_subquery())
        .select_from(source).where(_IN_CATEGORIES, _UNSEEN).order_by(*_PICK_ORDER).limit(bindparam("limit"))
    )
    filtered = (
        select(*items).select_from(source)
        .where(or_(_IN_CATEGORIES, _keyword_of_destination(exclude=False)), ~_keyword_of_destination(exclude=True),
               _UNSEEN)
        .order_by(*_PICK_ORDER).limit(bindparam("limit"))
    )
    past_mark = (select(*items).select_from(source).where(Paper.id.in_(_PAST_MARK_IDS))
                 .order_by(*_PICK_ORDER).limit(bindparam("limit")))
    return _PickStatements(with_top, filtered, past_mark, papers)


# Built once: this runs for every chat of every broadcast, and building a statement cost as much as running it.
_PAPERS = _pick_statements(Paper, Paper.__table__)  # type: ignore[attr-defined]
# Ranking reads the pool's ids, groups and vectors in one statement, and whole papers only for those it keeps.
_POOL = _pick_statements((Paper.id, Paper.rank_date, Paper.rank_digest_id, PaperVector.features),
                         outerjoin(Paper, PaperVector, PaperVector.paper_id == Paper.id))
# A pick's first statement: the destination's taste (storage.taste) with its seen mark alongside.
_TASTE_AND_MARK = taste_statement(MARK_COLUMNS, MARK_OF_DESTINATION)


def get_paper(*, session: Session, paper_id: int) -> Paper | None:
    """One paper, e.g. the one behind a ⭐ button; None if it is not stored."""
    return session.get(Paper, paper_id)


def papers_by_ids(*, session: Session, paper_ids: Sequence[int]) -> list[Paper]:
    """The stored papers among these ids, in the order asked for."""
    if not paper_ids:
        return []
    found = {paper.id: paper for paper in session.exec(_PAPERS_BY_IDS, params={"ids": list(paper_ids)})}
    return [found[paper_id] for paper_id in paper_ids if paper_id in found]


_PAPERS_BY_IDS = select(Paper).where(Paper.id.in_(bindparam("ids", expanding=True)))  # built once: see _PAPERS
