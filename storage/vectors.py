"""Paper vectors: the words of a paper hashed into a fixed space, so a chat's taste can be compared with any paper.

English words, Chinese character bigrams (Chinese needs no word breaks for that) and author names become
features hashed into DIMENSIONS slots; counts are damped (1 + log), the vector is scaled to length 1, and only
the FEATURES_KEPT heaviest slots are stored. Computed once a paper's text is stored: for a batch of digests right
after they are stored (Ingestor.write_vectors, in passes of VECTOR_BATCH papers), when arXiv fills a paper in,
and at start-up for any paper a crash left without one; never at a pick.
"""

from __future__ import annotations

import itertools
import operator
import re
import string
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import chain, filterfalse
from typing import NamedTuple

import numpy as np
from sqlalchemy import Connection, select

from storage.ingest_sql import statements_for
from storage.models import Paper, PaperVector

_SLOT_BITS = 20
DIMENSIONS = 1 << _SLOT_BITS  # hashed slots: collisions among the ~10^5 words of the field stay rare
FEATURES_KEPT = 96  # the heaviest slots of a paper that are stored (576 bytes a paper)
TITLE_WEIGHT = 2  # a title word counts as much as two words of the abstract
AUTHOR_WEIGHT = 2
VECTOR_BATCH = 2000  # papers whose text is read and vectors written in one statement each
_PASS = 256  # papers per pass of array operations (their keys stay in the CPU's cache while sorted)
_COUNT_BUCKETS = 64  # a feature seen more often than this in one paper counts as this often when choosing
SLOT_CACHE_SIZE = 200_000  # words remembered with their slot (~20 MB at most; a field's words recur)
_FEATURE = np.dtype([("slot", "<u4"), ("weight", "<f2")])  # stored form of one feature: 6 bytes

# A word is a run of ASCII letters, digits and hyphens, read in lower case: one byte table folds the case and turns
# everything else into a space, so bytes.split() finds the words (a regex took twice as long over an abstract).
_WORD_BYTES = bytes(byte + 32 if 65 <= byte <= 90 else byte if chr(byte).isascii() and (chr(byte).isalnum() or
                    byte == 45) else 32 for byte in range(256))
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
# Stop words, single letters and hyphens say nothing; numbers are left out as well (see _english_tokens).
_DROPPED = frozenset(word.encode() for word in STOP_WORDS | set(string.ascii_lowercase) | {"-", "--"})
_NAME_PART = re.compile(r"\w+")
_SLOTS: dict[bytes, int] = {}
_AUTHOR_FEATURES: dict[str, bytes] = {}
_HAN_FIRST, _HAN_LAST = 0x4E00, 0x9FFF  # the characters _CHINESE_RUN reads


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


def _english_tokens(text: str | None) -> list[bytes]:
    """english_words as the bytes the slots are hashed from."""
    if not text:
        return []
    return list(filterfalse(bytes.isdigit, filterfalse(_DROPPED.__contains__,
                                                       text.encode().translate(_WORD_BYTES).split())))


def english_words(text: str | None) -> list[str]:
    """The English words of a text that say something: lower case; stop words, single letters and numbers left
    out."""
    return [token.decode() for token in _english_tokens(text)]


def chinese_bigrams(text: str | None) -> list[str]:
    """Every pair of neighbouring Chinese characters; a lone character is kept as it is."""
    if not text or text.isascii():
        return []
    grams: list[str] = []
    for run in _CHINESE_RUN.findall(text):
        grams.extend(map(operator.add, run, run[1:]) if len(run) > 1 else (run,))  # each character joined to the next
    return grams


def author_key(name: str) -> str:
    """An author as digests write them all: family name and first initial ("J Ren" and "Jie Ren" meet)."""
    parts = _NAME_PART.findall(name.lower())
    if not parts:
        return ""
    return f"@{parts[-1]}_{parts[0][0]}" if len(parts) > 1 else f"@{parts[0]}"


def _author_feature(name: str) -> bytes:
    """author_key as the bytes its slot is hashed from, remembered (authors recur across digests)."""
    key = _AUTHOR_FEATURES.get(name)
    if key is None:
        if len(_AUTHOR_FEATURES) >= SLOT_CACHE_SIZE:
            _AUTHOR_FEATURES.clear()
        key = _AUTHOR_FEATURES[name] = author_key(name).encode()
    return key


def english_features(paper: PaperFields) -> list[bytes]:
    """A paper's English words and authors, once per occurrence; title words and authors repeat by their weight."""
    title = _english_tokens(paper.title_en)
    authors = [key for key in map(_author_feature, paper.authors or ()) if key]
    return title * TITLE_WEIGHT + authors * AUTHOR_WEIGHT + _english_tokens(paper.abstract_en)


def slot_of(feature: str) -> int:
    """The hashed slot a feature falls in (CRC-32: stable across processes, unlike hash())."""
    return zlib.crc32(feature.encode()) & (DIMENSIONS - 1)


def _slots_of(features: list[bytes]) -> np.ndarray:
    """slot_of for many features (as UTF-8), remembering the words already hashed (most words of a field recur)."""
    cache = _SLOTS
    missing = set(features).difference(cache)
    if len(cache) + len(missing) > SLOT_CACHE_SIZE:
        cache.clear()
    for feature in missing:
        cache[feature] = zlib.crc32(feature) & (DIMENSIONS - 1)
    return np.fromiter(map(cache.__getitem__, features), dtype=np.int32, count=len(features))


@cache
def _han_crc_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CRC-32 parts per Chinese character: a bigram's CRC is first[a] ^ second[b] (CRC is affine in its input),
    a lone character's is alone[a]; so the slots of all bigrams come from two table lookups, no strings built."""
    chars = [chr(code).encode() for code in range(_HAN_FIRST, _HAN_LAST + 1)]
    pad, zeros = b"\0" * 3, zlib.crc32(b"\0" * 6)
    first = np.array([zlib.crc32(char + pad) ^ zeros for char in chars], dtype=np.uint32)
    second = np.array([zlib.crc32(pad + char) for char in chars], dtype=np.uint32)
    alone = np.array([zlib.crc32(char) for char in chars], dtype=np.uint32)
    return first, second, alone


def chinese_slots(texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """slot_of every chinese_bigrams() feature of many texts at once, and the index of the text each came from."""
    joined = "\n".join(text or "" for text in texts)  # the newline ends a run: no bigram spans two texts
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    han = (codes >= _HAN_FIRST) & (codes <= _HAN_LAST)
    if not han.any():
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    lengths = np.fromiter((len(text or "") + 1 for text in texts), dtype=np.int64, count=len(texts))
    text_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    index = np.where(han, codes.astype(np.int64) - _HAN_FIRST, 0)
    first, second, alone = _han_crc_tables()
    pairs = np.flatnonzero(han[:-1] & han[1:])
    lone = han.copy()
    lone[1:] &= ~han[:-1]
    lone[:-1] &= ~han[1:]
    singles = np.flatnonzero(lone)
    crcs = np.concatenate([first[index[pairs]] ^ second[index[pairs + 1]], alone[index[singles]]])
    return (crcs & (DIMENSIONS - 1)).astype(np.int32), np.concatenate([text_of[pairs], text_of[singles]])


def vectors_of(papers: Sequence[PaperFields]) -> list[SparseVector]:
    """The vectors of many papers in a few passes of array operations: each slot's count damped, the FEATURES_KEPT
    heaviest kept (ties: the lower slot), scaled to length 1."""
    return [SparseVector(slots[begin:end].astype(np.int64), weights[begin:end]) if end > begin else EMPTY
            for slots, weights, spans in _passes(papers) for begin, end in spans]


def stored_vectors_of(papers: Sequence[PaperFields]) -> list[bytes]:
    """vectors_of in their stored form (SparseVector.to_bytes), without making a SparseVector of each: this runs
    for every paper stored."""
    stored: list[bytes] = []
    for slots, weights, spans in _passes(papers):
        records = np.empty(len(slots), dtype=_FEATURE)
        records["slot"], records["weight"] = slots, weights
        data, size = records.tobytes(), _FEATURE.itemsize
        stored.extend(data[begin * size:end * size] for begin, end in spans)
    return stored


def _passes(papers: Sequence[PaperFields]) -> Iterator[tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]]:
    """_pass over the papers _PASS at a time: each pass's slots and weights, and each paper's span in them."""
    for start in range(0, len(papers), _PASS):
        slots, weights, ends = _pass(papers[start:start + _PASS])
        yield slots, weights, list(itertools.pairwise([0, *ends]))


def _pass(papers: Sequence[PaperFields]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Every kept slot and weight of at most _PASS papers, paper after paper, and where each paper's end: a paper's
    index and a slot share one int32 key, so one sort counts every paper's slots at once."""
    count = len(papers)
    english = [english_features(paper) for paper in papers]
    sizes = np.fromiter(map(len, english), dtype=np.int32, count=count)
    slots = _slots_of(list(chain.from_iterable(english)))
    chinese = [text for paper in papers for text in (paper.title_zh,) * TITLE_WEIGHT + (paper.summary_zh,)]
    han_slots, text_of = chinese_slots(chinese)
    keys = np.concatenate([np.repeat(np.arange(count, dtype=np.int32), sizes) << _SLOT_BITS | slots,
                           (text_of // (TITLE_WEIGHT + 1)).astype(np.int32) << _SLOT_BITS | han_slots])
    if not len(keys):  # no paper of the pass has a word
        return keys, np.zeros(0, dtype=np.float32), [0] * count
    keys.sort(kind="stable")  # by paper, then slot (stable: the keys come mostly in paper order)
    firsts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    counts = np.diff(np.append(firsts, len(keys)))  # collisions add up
    keys = keys[firsts]
    owner = keys >> _SLOT_BITS
    kept = np.bincount(owner, minlength=count)
    if kept.max(initial=0) > FEATURES_KEPT:
        chosen = _heaviest(owner, counts, kept)
        keys, owner, counts = keys[chosen], owner[chosen], counts[chosen]
        kept = np.minimum(kept, FEATURES_KEPT)
    weights = (1.0 + np.log(counts)).astype(np.float32)
    weights /= np.sqrt(np.bincount(owner, weights=weights * weights, minlength=count)).astype(np.float32)[owner]
    return keys & (DIMENSIONS - 1), weights, np.cumsum(kept).tolist()


def _heaviest(owner: np.ndarray, counts: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Which features to keep: each paper's FEATURES_KEPT most frequent, ties going to the lower slot (features
    come sorted by paper, then slot), found from per-paper count histograms instead of a sort."""
    papers, top = len(kept), _COUNT_BUCKETS - 1
    bucket = np.minimum(counts, top)
    histogram = np.bincount(owner * _COUNT_BUCKETS + bucket, minlength=papers * _COUNT_BUCKETS)
    at_least = np.cumsum(histogram.reshape(papers, _COUNT_BUCKETS)[:, ::-1], axis=1)[:, ::-1]  # features ≥ count
    threshold = (at_least >= FEATURES_KEPT).sum(axis=1) - 1  # -1: the paper keeps everything
    above = np.concatenate([at_least, np.zeros((papers, 1), dtype=at_least.dtype)], axis=1)[
        np.arange(papers), threshold + 1]
    edge = bucket == threshold[owner]
    before = np.cumsum(edge) - edge  # features at the threshold count earlier in the whole pass
    starts = np.cumsum(kept) - kept
    room = FEATURES_KEPT - above
    base = np.append(before, 0)[starts]  # at each paper's first feature (a paper may have none)
    return np.flatnonzero((bucket > threshold[owner]) | (edge & (before - base[owner] < room[owner])))


def paper_vector(*, title_en: str | None, title_zh: str | None, abstract_en: str | None, summary_zh: str | None,
                 authors: Sequence[str]) -> SparseVector:
    """A paper's vector from the text the store has of it."""
    return vectors_of([PaperFields(None, title_en, title_zh, abstract_en, summary_zh, authors)])[0]


class PaperFields(NamedTuple):
    """What a paper's vector is made of, field by field (a stored row reads the same: fields of the paper schema,
    storage/models.py; tests/test_models.py holds them to it)."""

    id: int | None
    title_en: str | None
    title_zh: str | None
    abstract_en: str | None
    summary_zh: str | None
    authors: Sequence[str]


def store_paper_vectors(connection: Connection, papers: Sequence[PaperFields]) -> int:
    """(Re)compute and store the vectors of these papers in one statement; how many were written."""
    if not papers:
        return 0
    rows = [(paper.id, stored) for paper, stored in zip(papers, stored_vectors_of(papers), strict=True)]
    statements_for(connection).store_vectors(connection, rows)
    return len(rows)


_TEXT_COLUMNS = tuple(getattr(Paper, name) for name in PaperFields._fields)  # rows that read as PaperFields


def refresh_paper_vectors(connection: Connection, paper_ids: Iterable[int], *, batch: int = VECTOR_BATCH) -> int:
    """Recompute the vectors of stored papers whose text is new or changed (ingested, filled by arXiv, merged)."""
    ids, written = sorted(set(paper_ids)), 0
    for start in range(0, len(ids), batch):
        rows = connection.execute(select(*_TEXT_COLUMNS).where(Paper.id.in_(ids[start:start + batch]))).all()
        written += store_paper_vectors(connection, rows)  # type: ignore[arg-type]
    return written


def backfill_paper_vectors(connection: Connection, *, batch: int = VECTOR_BATCH) -> int:
    """Vectors for every stored paper that has none yet (stored before vectors existed, or before a crash let
    its ingestion write them)."""
    written, last_id = 0, 0
    while True:
        rows = connection.execute(
            select(*_TEXT_COLUMNS).outerjoin(PaperVector, PaperVector.paper_id == Paper.id)
            .where(Paper.id > last_id, PaperVector.paper_id.is_(None)).order_by(Paper.id).limit(batch)).all()
        if not rows:
            return written
        written += store_paper_vectors(connection, rows)  # type: ignore[arg-type]
        last_id = rows[-1][0]
