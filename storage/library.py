"""A chat's imported library (/import): papers it keeps elsewhere, part of its taste like its favourites."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlmodel import Session

from storage.library_formats import LibraryItem
from storage.models import LibraryEntry, Paper, PaperVector
from storage.parsing import title_key
from storage.vectors import paper_vector


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import added: new papers, those matched to a stored paper by arXiv id, those already there."""

    added: int
    matched: int
    already: int


def import_library(*, session: Session, chat_id: int, items: Sequence[LibraryItem], now: datetime) -> ImportReport:
    """Add a library's papers to the chat's taste, each once; a paper whose arXiv id is stored takes that
    paper's vector (its full abstract and Chinese summary), the others one made from the export's text."""
    known = {title_key(title) or title for title in session.exec(
        select(LibraryEntry.title).where(LibraryEntry.chat_id == chat_id)).scalars()}
    fresh: dict[str, LibraryItem] = {}
    for item in items:
        key = title_key(item.title) or item.title
        if key not in known:
            fresh.setdefault(key, item)
    arxiv_ids = [item.arxiv_id for item in fresh.values() if item.arxiv_id]
    stored = {arxiv_id: (paper_id, features) for arxiv_id, paper_id, features in session.exec(
        select(Paper.arxiv_id, Paper.id, PaperVector.features).join(PaperVector, PaperVector.paper_id == Paper.id)
        .where(Paper.arxiv_id.in_(arxiv_ids))).all()} if arxiv_ids else {}
    rows = []
    for item in fresh.values():
        paper_id, features = stored.get(item.arxiv_id or "", (None, None))
        if features is None:
            features = paper_vector(title_en=item.title, title_zh=None, abstract_en=item.abstract, summary_zh=None,
                                    authors=item.authors).to_bytes()
        rows.append({"chat_id": chat_id, "title": item.title, "arxiv_id": item.arxiv_id, "paper_id": paper_id,
                     "features": features, "created_at": now})
    if rows:
        session.exec(insert(LibraryEntry), params=rows)
    return ImportReport(added=len(rows), matched=sum(row["paper_id"] is not None for row in rows),
                        already=len(items) - len(rows))


def clear_library(*, session: Session, chat_id: int) -> int:
    """/import clear: forget the chat's imported papers (its favourites stay); how many there were."""
    return session.exec(delete(LibraryEntry).where(LibraryEntry.chat_id == chat_id)
                        .execution_options(synchronize_session=False)).rowcount
