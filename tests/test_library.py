"""Imported libraries in the store: once per title, matched to stored papers by arXiv id, part of the taste."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine
from sqlmodel import select

from storage.db import session_scope
from storage.ingest import Ingestor
from storage.library import clear_library, import_library
from storage.library_formats import parse_library
from storage.models import LibraryEntry, Paper
from storage.papers import pick_for_destination
from storage.taste import read_taste, taste_summary
from tests.taste_fixtures import GRASPING, grasping_bibtex, newer_digest, older_digest

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
ALL = ["LG", "CV", "CL", "AS", "RO"]


def test_an_imported_library_ranks_a_chat_without_favourites(engine: Engine) -> None:
    ingestor = Ingestor(engine)
    assert ingestor.ingest_text(older_digest(), source="older", digest_date=date(2026, 11, 1)).ok
    ingestor.write_vectors()
    library = parse_library(grasping_bibtex())
    with session_scope(engine) as session:
        assert read_taste(session=session, chat_id=9) is None
        report = import_library(session=session, chat_id=9, items=library.items, now=NOW)
    assert (report.added, report.matched, report.already) == (3, 1, 0)
    with session_scope(engine) as session:
        again = import_library(session=session, chat_id=9, items=library.items, now=NOW)
        assert (again.added, again.already) == (0, 3), "importing the same library twice adds nothing"
        matched = session.exec(select(LibraryEntry).where(LibraryEntry.paper_id.is_not(None))).one()
        assert session.get(Paper, matched.paper_id).arxiv_id == "2611.00101"
        summary = taste_summary(session=session, chat_id=9)
        assert (summary.favourites, summary.imported, summary.ranking) == (0, 3, True)
    assert ingestor.ingest_text(newer_digest(), source="newer", digest_date=date(2026, 11, 2)).ok
    ingestor.write_vectors()
    with session_scope(engine) as session:
        pick = pick_for_destination(session=session, chat_id=9, categories=ALL, limit=6)
    grasping = {title for _tag, title, *_rest in GRASPING}
    assert all(paper.title_en in grasping for paper in pick.papers[:3])
    assert {reason.favourite for reason in pick.reasons.values()} == {False}, "the reason names an imported paper"
    with session_scope(engine) as session:
        assert clear_library(session=session, chat_id=9) == 3
        assert read_taste(session=session, chat_id=9) is None
        assert clear_library(session=session, chat_id=9) == 0
