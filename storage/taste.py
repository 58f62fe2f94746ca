"""A destination's taste: what its favourites and imported library have in common, and the papers closest to it.

Rocchio's relevance feedback over the paper vectors of storage/vectors.py: the taste is the mean of what the chat
keeps (favourites, imported papers) minus a little of what it was sent and never starred. Papers are ranked by
their dot product with it; the favourite a paper is closest to is the reason shown on its card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import bindparam, exists, func, select
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
from storage.vectors import EMPTY, SparseVector, chinese_bigrams, english_words, slot_of

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
    vector: SparseVector


@dataclass(frozen=True, slots=True)
class Taste:
    """A destination's taste: its sources and their Rocchio vector."""

    sources: list[TasteSource]
    vector: SparseVector


@dataclass(frozen=True, slots=True)
class Ranked:
    """A paper of the pool as ranking placed it, with the source it is closest to (None: no reason to give)."""

    paper_id: int
    reason: TasteSource | None


def ranking_is_on(mode: TasteMode, sources: int) -> bool:
    """Whether a destination's digest is ordered by taste: switched on, or by itself from TASTE_AUTO_MINIMUM on."""
    return sources > 0 and (mode is TasteMode.ON or (mode is TasteMode.AUTO and sources >= TASTE_AUTO_MINIMUM))


def combine(positives: Sequence[SparseVector], negatives: Sequence[SparseVector]) -> SparseVector:
    """Rocchio: the mean of the positives minus NEGATIVE_WEIGHT times the mean of the negatives, as one vector."""
    parts = [(vector, 1.0 / len(positives)) for vector in positives]
    parts += [(vector, -NEGATIVE_WEIGHT / len(negatives)) for vector in negatives]
    parts = [(vector, scale) for vector, scale in parts if len(vector.slots)]
    if not parts:
        return EMPTY
    slots = np.concatenate([vector.slots for vector, _scale in parts])
    weights = np.concatenate([vector.weights * np.float32(scale) for vector, scale in parts])
    unique, where = np.unique(slots, return_inverse=True)
    return SparseVector(unique, np.bincount(where, weights=weights, minlength=len(unique)).astype(np.float32))


def dot_many(vector: SparseVector, others: Sequence[SparseVector]) -> np.ndarray:
    """The dot product of `vector` with each of `others`, in one pass over all their slots."""
    if not others:
        return np.zeros(0, dtype=np.float32)
    if not len(vector.slots):
        return np.zeros(len(others), dtype=np.float32)
    slots = np.concatenate([other.slots for other in others])
    weights = np.concatenate([other.weights for other in others])
    owner = np.repeat(np.arange(len(others)), [len(other.slots) for other in others])
    where = np.minimum(np.searchsorted(vector.slots, slots), len(vector.slots) - 1)
    shared = vector.slots[where] == slots
    return np.bincount(owner, weights=weights * vector.weights[where] * shared, minlength=len(others))


def rank(taste: Taste, pool: Sequence[tuple[int, SparseVector]], limit: int) -> list[Ranked]:
    """The `limit` papers of the pool closest to the taste; ties (no shared words) keep today's order."""
    scores = dot_many(taste.vector, [vector for _paper_id, vector in pool])
    order = sorted(range(len(pool)), key=lambda index: (-scores[index], index))[:limit]
    positives = taste.sources
    ranked = []
    for index in order:
        paper_id, vector = pool[index]
        reason = None
        if scores[index] > 0 and positives:
            closeness = dot_many(vector, [source.vector for source in positives])
            best = int(np.argmax(closeness))
            reason = positives[best] if closeness[best] >= REASON_MINIMUM else None
        ranked.append(Ranked(paper_id, reason))
    return ranked


def taste_mode(*, session: Session, chat_id: int, thread_id: int = GENERAL_THREAD) -> TasteMode:
    """The destination's choice; AUTO when it never made one."""
    mode = session.connection().execute(_MODE, {"chat_id": chat_id, "thread_id": thread_id}).scalar()
    return TasteMode(mode) if mode else TasteMode.AUTO


def set_taste_mode(*, session: Session, chat_id: int, mode: TasteMode, now: datetime,
                   thread_id: int = GENERAL_THREAD) -> None:
    """Switch ranking by taste on or off for a destination (/taste on|off)."""
    row = session.get(ChatTaste, (chat_id, thread_id))
    if row is None:
        row = ChatTaste(chat_id=chat_id, thread_id=thread_id)
    row.mode, row.updated_at = mode.value, now
    session.add(row)


def taste_sources(*, session: Session, chat_id: int) -> list[TasteSource]:
    """What the chat's taste rests on: its newest favourites, then its imported papers."""
    params = {"chat_id": chat_id}
    connection = session.connection()
    sources = [TasteSource(True, title_en, title_zh, SparseVector.from_bytes(features))
               for title_en, title_zh, features in connection.execute(_FAVOURITE_SOURCES, params)]
    sources += [TasteSource(False, title, None, SparseVector.from_bytes(features))
                for title, features in connection.execute(_IMPORTED_SOURCES, params)]
    return sources


def read_taste(*, session: Session, chat_id: int, thread_id: int = GENERAL_THREAD) -> Taste | None:
    """The destination's taste when its digest is ranked by it, else None (today's order)."""
    mode = taste_mode(session=session, chat_id=chat_id, thread_id=thread_id)
    if mode is TasteMode.OFF:
        return None
    sources = taste_sources(session=session, chat_id=chat_id)
    if not ranking_is_on(mode, len(sources)):
        return None
    negatives = [SparseVector.from_bytes(features) for features in session.connection().execute(
        _NEGATIVES, {"chat_id": chat_id, "thread_id": thread_id}).scalars()]
    return Taste(sources, combine([source.vector for source in sources], negatives))


def count_taste_sources(*, session: Session, chat_id: int) -> tuple[int, int]:
    """How many favourites and imported papers the chat has, for /taste and /settings."""
    favourites = session.exec(select(func.count()).select_from(Favourite).where(Favourite.chat_id == chat_id)).one()
    imported = session.exec(select(func.count()).select_from(LibraryEntry)
                            .where(LibraryEntry.chat_id == chat_id)).one()
    return favourites, imported


def top_words(taste: Taste, *, limit: int = TOP_WORDS) -> list[str]:
    """The words of the sources' titles that weigh most in the taste, heaviest first."""
    weight = dict(zip(taste.vector.slots.tolist(), taste.vector.weights.tolist(), strict=True))
    scored: dict[str, float] = {}
    for source in taste.sources:
        for word in english_words(source.title_en) + chinese_bigrams(source.title_zh):
            scored[word] = weight.get(slot_of(word), 0.0)
    ranked = sorted((item for item in scored.items() if item[1] > 0), key=lambda item: (-item[1], item[0]))
    return [word for word, _weight in ranked[:limit]]


_MODE = select(ChatTaste.mode).where(ChatTaste.chat_id == bindparam("chat_id"),
                                     ChatTaste.thread_id == bindparam("thread_id"))
_FAVOURITE_SOURCES = (
    select(Paper.title_en, Paper.title_zh, PaperVector.features)
    .select_from(Favourite).join(Paper, Paper.id == Favourite.paper_id)
    .join(PaperVector, PaperVector.paper_id == Favourite.paper_id)
    .where(Favourite.chat_id == bindparam("chat_id"))
    .order_by(Favourite.created_at.desc(), Favourite.paper_id.desc()).limit(SOURCES_READ)
)
_IMPORTED_SOURCES = (
    select(LibraryEntry.title, LibraryEntry.features).where(LibraryEntry.chat_id == bindparam("chat_id"))
    .order_by(LibraryEntry.id.desc()).limit(SOURCES_READ)
)
_NEGATIVES = (
    select(PaperVector.features).select_from(Delivery).join(PaperVector, PaperVector.paper_id == Delivery.paper_id)
    .where(Delivery.chat_id == bindparam("chat_id"), Delivery.thread_id == bindparam("thread_id"),
           ~exists().where(Favourite.chat_id == Delivery.chat_id, Favourite.paper_id == Delivery.paper_id))
    .order_by(Delivery.id.desc()).limit(NEGATIVES_READ)
)
