"""Paper vectors: the words of a paper hashed into a fixed space, so a chat's taste can be compared with any paper.

English words, Chinese character bigrams (Chinese needs no word breaks for that) and author names become
features hashed into DIMENSIONS slots; counts are damped (1 + log), the vector is scaled to length 1, and only
the FEATURES_KEPT heaviest slots are stored. Computed once, when a paper is stored (storage/ingest.py) or filled
in by arXiv, never at a pick.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy import Connection, delete, insert, select

from storage.models import Paper, PaperVector

DIMENSIONS = 1 << 20  # hashed slots: collisions among the ~10^5 words of the field stay rare
FEATURES_KEPT = 96  # the heaviest slots of a paper that are stored (576 bytes a paper)
TITLE_WEIGHT = 2  # a title word counts as much as two words of the abstract
AUTHOR_WEIGHT = 2
_FEATURE = np.dtype([("slot", "<u4"), ("weight", "<f2")])  # stored form of one feature: 6 bytes

_ENGLISH_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_CHINESE_RUN = re.compile(r"[\u4e00-\u9fff]+")
# Words that every abstract has: they would make every paper look alike.
STOP_WORDS = frozenset("""
a about above after again against all also an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having here how
however i if in into is it its itself just more most much new no nor not novel now of off on once only or
other our ours out over own paper propose proposed proposes same should show shows so some such than that the
their them then there these they this those through thus to too under until up upon us use used uses using
very via was we well were what when where which while who whom why will with within without would yet
""".split())  # noqa: SIM905 (a word list reads better as words)


@dataclass(frozen=True, slots=True)
class SparseVector:
    """A paper's heaviest hashed features (sorted slot numbers) and their weights; length about 1."""

    slots: np.ndarray
    weights: np.ndarray

    def to_bytes(self) -> bytes:
        """Stored form: (uint32 slot, float16 weight) records, little-endian."""
        records = np.empty(len(self.slots), dtype=_FEATURE)
        records["slot"], records["weight"] = self.slots, self.weights
        return records.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> SparseVector:
        """Read back what to_bytes wrote."""
        batch = VectorBatch.from_bytes([data])
        return cls(batch.slots, batch.weights)


@dataclass(frozen=True, slots=True)
class VectorBatch:
    """Many stored vectors read at once: every feature's slot and weight, and which vector it belongs to."""

    slots: np.ndarray
    weights: np.ndarray
    owner: np.ndarray
    count: int

    @classmethod
    def from_bytes(cls, blobs: Sequence[bytes | None]) -> VectorBatch:
        """Decode stored vectors in one pass (a missing one, None, is empty)."""
        records = np.frombuffer(b"".join(blob or b"" for blob in blobs), dtype=_FEATURE)
        sizes = [len(blob or b"") // _FEATURE.itemsize for blob in blobs]
        return cls(records["slot"].astype(np.int64), records["weight"].astype(np.float32),
                   np.repeat(np.arange(len(blobs)), sizes), len(blobs))


EMPTY = SparseVector(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


def english_words(text: str | None) -> list[str]:
    """The English words of a text that say something: lower case, stop words and single letters left out."""
    return [word for word in _ENGLISH_WORD.findall((text or "").lower()) if len(word) > 1 and word not in STOP_WORDS]


def chinese_bigrams(text: str | None) -> list[str]:
    """Every pair of neighbouring Chinese characters; a lone character is kept as it is."""
    grams: list[str] = []
    for run in _CHINESE_RUN.findall(text or ""):
        grams.extend([run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)])
    return grams


def author_key(name: str) -> str:
    """An author as digests write them all: family name and first initial ("J Ren" and "Jie Ren" meet)."""
    parts = re.findall(r"\w+", name.lower())
    if not parts:
        return ""
    return f"@{parts[-1]}_{parts[0][0]}" if len(parts) > 1 else f"@{parts[0]}"


def text_features(*, title_en: str | None = None, title_zh: str | None = None, abstract_en: str | None = None,
                  summary_zh: str | None = None, authors: Sequence[str] = ()) -> Counter[str]:
    """The features of one paper with their counts, titles and authors counted more."""
    counts: Counter[str] = Counter()
    for word in english_words(title_en) + chinese_bigrams(title_zh):
        counts[word] += TITLE_WEIGHT
    counts.update(english_words(abstract_en))
    counts.update(chinese_bigrams(summary_zh))
    for name in authors:
        if key := author_key(name):
            counts[key] += AUTHOR_WEIGHT
    return counts


def slot_of(feature: str) -> int:
    """The hashed slot a feature falls in (CRC-32: stable across processes, unlike hash())."""
    return zlib.crc32(feature.encode()) & (DIMENSIONS - 1)


def vector_of(counts: Counter[str]) -> SparseVector:
    """Damped counts in hashed slots, scaled to length 1, the FEATURES_KEPT heaviest kept (in array operations:
    this runs for every paper stored)."""
    if not counts:
        return EMPTY
    crc32 = zlib.crc32
    hashed = np.fromiter([crc32(feature.encode()) for feature in counts], dtype=np.int64, count=len(counts))
    damped = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
    slots, where = np.unique(hashed & (DIMENSIONS - 1), return_inverse=True)  # sorted; collisions add up
    values = np.bincount(where, weights=damped).astype(np.float32)
    if len(slots) > FEATURES_KEPT:
        heaviest = np.sort(np.argpartition(-values, FEATURES_KEPT)[:FEATURES_KEPT])
        slots, values = slots[heaviest], values[heaviest]
    return SparseVector(slots, values / np.float32(np.linalg.norm(values)))


def paper_vector(*, title_en: str | None, title_zh: str | None, abstract_en: str | None, summary_zh: str | None,
                 authors: Sequence[str]) -> SparseVector:
    """A paper's vector from the text the store has of it."""
    return vector_of(text_features(title_en=title_en, title_zh=title_zh, abstract_en=abstract_en,
                                   summary_zh=summary_zh, authors=authors))


class PaperText(Protocol):
    """What a paper's vector is made of: a stored row, or a draft ingestion is about to write."""

    id: int | None
    title_en: str | None
    title_zh: str | None
    abstract_en: str | None
    summary_zh: str | None
    authors: Sequence[str]


def store_paper_vectors(connection: Connection, papers: Iterable[PaperText]) -> int:
    """(Re)compute and store the vectors of these papers, in two bulk statements; how many were written."""
    rows = [{"paper_id": paper.id, "features": paper_vector(
        title_en=paper.title_en, title_zh=paper.title_zh, abstract_en=paper.abstract_en,
        summary_zh=paper.summary_zh, authors=paper.authors or ()).to_bytes()} for paper in papers]
    if not rows:
        return 0
    connection.execute(delete(PaperVector).where(PaperVector.paper_id.in_([row["paper_id"] for row in rows])))
    connection.execute(insert(PaperVector), rows)
    return len(rows)


_TEXT_COLUMNS = (Paper.id, Paper.title_en, Paper.title_zh, Paper.abstract_en, Paper.summary_zh, Paper.authors)


def refresh_paper_vectors(connection: Connection, paper_ids: Sequence[int]) -> int:
    """Recompute the vectors of stored papers whose text changed (arXiv filled an abstract, papers merged)."""
    if not paper_ids:
        return 0
    rows = connection.execute(select(*_TEXT_COLUMNS).where(Paper.id.in_(list(paper_ids)))).all()
    return store_paper_vectors(connection, rows)  # type: ignore[arg-type]


def backfill_paper_vectors(connection: Connection, *, batch: int = 2000) -> int:
    """Vectors for every stored paper that has none yet (papers stored before vectors existed)."""
    written, last_id = 0, 0
    while True:
        rows = connection.execute(
            select(*_TEXT_COLUMNS).outerjoin(PaperVector, PaperVector.paper_id == Paper.id)
            .where(Paper.id > last_id, PaperVector.paper_id.is_(None)).order_by(Paper.id).limit(batch)).all()
        if not rows:
            return written
        written += store_paper_vectors(connection, rows)  # type: ignore[arg-type]
        last_id = rows[-1][0]
