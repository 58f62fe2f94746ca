"""A destination's taste: what its favourites and imported library have in common, and the papers closest to it.

Rocchio's relevance feedback over the paper vectors of storage/vectors.py: the taste is the mean of what the chat
keeps (favourites, imported papers) minus a little of what it was sent and never starred. Papers are ranked by
their dot product with it; the favourite a paper is closest to is the reason shown on its card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    Boolean,
    ColumnElement,
    CompoundSelect,
    FromClause,
    Integer,
    LargeBinary,
    Row,
    String,
    bindparam,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlmodel import Session

from storage.models import (
    GENERAL_THREAD,
    ChatTaste,
    Delivery,
    Favourite,
    LibraryEntry,
    Paper,
    PaperVector,
    TasteMode,
)
from storage.vectors import EMPTY, SparseVector, VectorBatch, chinese_bigrams, english_words, slot_of

TASTE_AUTO_MINIMUM = 3  # favourites and imported papers that switch ranking on by itself
POOL_SIZE = 40  # unseen papers, in today's order, that ranking reorders: about one digest, so the digest stays fresh
SOURCES_READ = 500  # the newest favourites, and as many imported papers, that make a taste
NEGATIVES_READ = 50  # the newest papers sent and never starred, read as weak negatives
NEGATIVE_WEIGHT = 0.25  # how much of their mean is taken away (Rocchio's gamma)
REASON_MINIMUM = 0.08  # cosine to the closest favourite below which a card gives no reason
TOP_WORDS = 8


@dataclass(frozen=True, slots=True)
class TasteSource:
    """One paper the taste rests on: a favourite or an imported one, with the titles a reason line can show."""

    favourite: bool
    title_en: str | None
    title_zh: str | None


@dataclass(frozen=True, slots=True)
class Taste:
    """A destination's taste: its sources, their vectors (in the same order) and their Rocchio vector."""

    sources: list[TasteSource]
    source_vectors: VectorBatch
    vector: SparseVector
    kept: frozenset[int] = frozenset()  # stored papers it rests on: starred or imported, never offered again


@dataclass(frozen=True, slots=True)
class Ranked:
    """A paper of the pool as ranking placed it, with the source it is closest to (None: no reason to give)."""

    paper_id: int
    reason: TasteSource | None


def ranking_is_on(mode: TasteMode, sources: int) -> bool:
    """Whether a destination's digest is ordered by taste: switched on, or by itself from TASTE_AUTO_MINIMUM on."""
    return sources > 0 and (mode is TasteMode.ON or (mode is TasteMode.AUTO and sources >= TASTE_AUTO_MINIMUM))


def combine(positives: VectorBatch, negatives: VectorBatch) -> SparseVector:
    """Rocchio: the mean of the positives minus NEGATIVE_WEIGHT times the mean of the negatives, as one vector."""
    if not positives.count:
        return EMPTY
    slots, weights = positives.slots, positives.weights / np.float32(positives.count)
    if negatives.count:
        slots = np.concatenate([slots, negatives.slots])
        weights = np.concatenate([weights, negatives.weights * np.float32(-NEGATIVE_WEIGHT / negatives.count)])
    unique, where = _group_slots(slots)
    return SparseVector(unique, np.bincount(where, weights=weights, minlength=len(unique)).astype(np.float32))


def _group_slots(slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct slots, sorted, and where each slot falls among them: np.unique(return_inverse=True), but a
    stable sort finds the sorted runs each vector brings (np.unique took twice as long on a pick's taste)."""
    if not len(slots):
        return slots, np.zeros(0, dtype=np.intp)
    order = slots.argsort(kind="stable")
    ordered = slots[order]
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    where = np.empty(len(ordered), dtype=np.intp)
    where[order] = np.cumsum(first) - 1
    return ordered[first], where


def dot_many(vector: SparseVector, others: VectorBatch) -> np.ndarray:
    """The dot product of `vector` with each vector of the batch, in one pass over all their features."""
    if not len(vector.slots) or not len(others.slots):
        return np.zeros(others.count, dtype=np.float32)
    where = np.minimum(np.searchsorted(vector.slots, others.slots), len(vector.slots) - 1)
    shared = vector.slots[where] == others.slots
    return np.bincount(others.owner, weights=others.weights * vector.weights[where] * shared,
                       minlength=others.count)


def one_of(batch: VectorBatch, index: int) -> SparseVector:
    """One vector of a batch."""
    mine = batch.owner == index
    return SparseVector(batch.slots[mine], batch.weights[mine])


def rank(taste: Taste, paper_ids: Sequence[int], vectors: VectorBatch, limit: int) -> list[Ranked]:
    """The `limit` papers of the pool closest to the taste; ties (no shared words) keep today's order."""
    scores = dot_many(taste.vector, vectors)
    order = sorted(range(len(paper_ids)), key=lambda index: (-scores[index], index))[:limit]
    ranked = []
    for index in order:
        reason = None
        if scores[index] > 0 and taste.sources:
            closeness = dot_many(one_of(vectors, index), taste.source_vectors)
            best = int(np.argmax(closeness))
            reason = taste.sources[best] if closeness[best] >= REASON_MINIMUM else None
        ranked.append(Ranked(paper_ids[index], reason))
    return ranked


def taste_mode(*, session: Session, chat_id: int, thread_id: int = GENERAL_THREAD) -> TasteMode:
    """The destination's choice; AUTO when it never made one."""
    row = session.get(ChatTaste, (chat_id, thread_id))
    return TasteMode(row.mode) if row is not None else TasteMode.AUTO


def set_taste_mode(*, session: Session, chat_id: int, mode: TasteMode, now: datetime,
                   thread_id: int = GENERAL_THREAD) -> None:
    """Switch ranking by taste on or off for a destination (/taste on|off)."""
    row = session.get(ChatTaste, (chat_id, thread_id))
    if row is None:
        row = ChatTaste(chat_id=chat_id, thread_id=thread_id)
    row.mode, row.updated_at = mode.value, now
    session.add(row)


def read_taste(*, session: Session, chat_id: int, thread_id: int = GENERAL_THREAD,
               when_off: bool = False) -> Taste | None:
    """The destination's taste when its digest is ranked by it (or, with `when_off`, whenever it has one).

    One statement reads the destination's choice, its sources and its weak negatives: the sources only when the
    choice lets them count, the negatives only when the destination keeps something, so the two chats in three
    that rank by nothing get the one row saying what they chose.
    """
    return read_taste_along(_TASTE_ROWS, session=session, chat_id=chat_id, thread_id=thread_id,
                            when_off=when_off)[0]


def read_taste_along(statement: CompoundSelect, *, session: Session, chat_id: int, thread_id: int = GENERAL_THREAD,
                     when_off: bool = False) -> tuple[Taste | None, Row[Any]]:
    """read_taste, running a statement taste_statement built with more columns, and the row that holds them."""
    rows = session.connection().execute(statement, {"chat_id": chat_id, "thread_id": thread_id,
                                                    "when_off": when_off}).all()
    choice = next(row for row in rows if row.kind == _MODE_ROW)
    return _taste_of(rows, TasteMode(choice.mode) if choice.mode else TasteMode.AUTO, when_off=when_off), choice


def _taste_of(rows: Sequence[Row[Any]], mode: TasteMode, *, when_off: bool) -> Taste | None:
    """The taste the rows of a taste statement make, if the destination ranks by it (or `when_off`)."""
    sources = [row for row in rows if row.kind in (_FAVOURITE_ROW, _IMPORTED_ROW)]
    if not sources or not (when_off or ranking_is_on(mode, len(sources))):
        return None
    positives = VectorBatch.from_bytes([row.features for row in sources])
    negatives = VectorBatch.from_bytes([row.features for row in rows if row.kind == _NEGATIVE_ROW])
    return Taste([TasteSource(row.kind == _FAVOURITE_ROW, row.title_en, row.title_zh) for row in sources],
                 positives, combine(positives, negatives),
                 frozenset(row.paper_id for row in sources if row.paper_id is not None))


@dataclass(frozen=True, slots=True)
class TasteSummary:
    """What /taste and /settings say about a destination's taste."""

    mode: TasteMode
    favourites: int
    imported: int
    words: list[str]  # the words that weigh most, heaviest first

    @property
    def ranking(self) -> bool:
        """Whether its digest is ordered by taste now."""
        return ranking_is_on(self.mode, self.favourites + self.imported)


def taste_summary(*, session: Session, chat_id: int, thread_id: int = GENERAL_THREAD) -> TasteSummary:
    """The destination's choice, how many favourites and imported papers its taste rests on, its heaviest words."""
    connection = session.connection()
    favourites = connection.execute(select(func.count()).select_from(Favourite)
                                    .where(Favourite.chat_id == chat_id)).scalar_one()
    imported = connection.execute(select(func.count()).select_from(LibraryEntry)
                                  .where(LibraryEntry.chat_id == chat_id)).scalar_one()
    taste = read_taste(session=session, chat_id=chat_id, thread_id=thread_id, when_off=True)
    return TasteSummary(taste_mode(session=session, chat_id=chat_id, thread_id=thread_id), favourites, imported,
                        top_words(taste) if taste is not None else [])


def top_words(taste: Taste, *, limit: int = TOP_WORDS) -> list[str]:
    """The words of the sources' titles that weigh most in the taste, heaviest first."""
    weight = dict(zip(taste.vector.slots.tolist(), taste.vector.weights.tolist(), strict=True))
    scored: dict[str, float] = {}
    for source in taste.sources:
        for word in english_words(source.title_en) + chinese_bigrams(source.title_zh):
            scored[word] = weight.get(slot_of(word), 0.0)
    ranked = sorted((item for item in scored.items() if item[1] > 0), key=lambda item: (-item[1], item[0]))
    return [word for word, _weight in ranked[:limit]]


_FAVOURITE_ROW, _IMPORTED_ROW, _NEGATIVE_ROW, _MODE_ROW = "favourite", "imported", "negative", "mode"
_NO_TEXT = cast(null(), String)
_MODE = select(ChatTaste.mode).where(ChatTaste.chat_id == bindparam("chat_id"),
                                     ChatTaste.thread_id == bindparam("thread_id")).scalar_subquery()
# Conditions on parameters and the destination's rows alone: the databases test them once, before reading.
_SOURCES_COUNT = or_(bindparam("when_off", type_=Boolean),
                     func.coalesce(_MODE, TasteMode.AUTO.value) != TasteMode.OFF.value)
_KEEPS = or_(exists().where(Favourite.chat_id == bindparam("chat_id")),
             exists().where(LibraryEntry.chat_id == bindparam("chat_id")))
_FAVOURITES = (
    select(literal(_FAVOURITE_ROW).label("kind"), Paper.id.label("paper_id"), Paper.title_en, Paper.title_zh,
           PaperVector.features)
    .select_from(Favourite).join(Paper, Paper.id == Favourite.paper_id)
    .join(PaperVector, PaperVector.paper_id == Favourite.paper_id)
    .where(Favourite.chat_id == bindparam("chat_id"), _SOURCES_COUNT)
    .order_by(Favourite.created_at.desc(), Favourite.paper_id.desc()).limit(SOURCES_READ).subquery()
)
_IMPORTED = (
    select(literal(_IMPORTED_ROW).label("kind"), LibraryEntry.paper_id, LibraryEntry.title.label("title_en"),
           _NO_TEXT.label("title_zh"), LibraryEntry.features)
    .where(LibraryEntry.chat_id == bindparam("chat_id"), _SOURCES_COUNT).order_by(LibraryEntry.id.desc())
    .limit(SOURCES_READ).subquery()
)
# The newest papers the destination was sent and did not star, read off the (chat, topic, paper) unique index
# from its end, so the cost does not grow with what the chat has been sent.
_NEGATIVES = (
    select(literal(_NEGATIVE_ROW).label("kind"), Delivery.paper_id, _NO_TEXT.label("title_en"),
           _NO_TEXT.label("title_zh"), PaperVector.features)
    .select_from(Delivery).join(PaperVector, PaperVector.paper_id == Delivery.paper_id)
    .where(Delivery.chat_id == bindparam("chat_id"), Delivery.thread_id == bindparam("thread_id"),
           ~exists().where(Favourite.chat_id == Delivery.chat_id, Favourite.paper_id == Delivery.paper_id),
           _SOURCES_COUNT, _KEEPS)
    .order_by(Delivery.paper_id.desc()).limit(NEGATIVES_READ).subquery()
)


def taste_statement(along: Sequence[ColumnElement[Any]] = (), along_from: FromClause | None = None) -> CompoundSelect:
    """The statement read_taste runs: one row with the destination's choice, then its sources and negatives.

    `along` are more columns the caller wants in the same round trip, read from `along_from` on the choice's row
    (which must stay exactly one row) and NULL on the others.
    """
    choice = select(literal(_MODE_ROW).label("kind"), cast(null(), Integer).label("paper_id"),
                    _NO_TEXT.label("title_en"), _NO_TEXT.label("title_zh"), cast(null(), LargeBinary).label("features"),
                    _MODE.label("mode"), *along)
    if along_from is not None:
        choice = choice.select_from(along_from)
    nothing = [cast(null(), column.type).label(column.key) for column in along]
    # The subqueries keep their own ORDER BY and LIMIT: SQLite takes neither on a member of a UNION.
    return union_all(choice, *(select(*part.c, _NO_TEXT.label("mode"), *nothing)
                               for part in (_FAVOURITES, _IMPORTED, _NEGATIVES)))


_TASTE_ROWS = taste_statement()
