"""Favourites: starring and unstarring papers, the labels under cards, the paged list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from storage.db import session_scope
from storage.favourites import count_favourites, favourite_ids, list_favourites, remove_favourite, toggle_favourite
from storage.ingest import Ingestor
from storage.models import Paper
from tests.conftest import sample_text

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


@pytest.fixture
def papers(engine: Engine) -> list[int]:
    """Ids of the ten papers of one sample digest."""
    report = Ingestor(engine).ingest_text(sample_text("001"), source="001.txt", digest_date=date(2026, 11, 19))
    assert report.new == 10
    with session_scope(engine) as session:
        return list(session.exec(select(Paper.id).order_by(Paper.id)).all())


def _toggle(engine: Engine, paper_id: int, chat_id: int = 42, now: datetime = NOW) -> bool:
    """Press the ⭐ button under a card."""
    with session_scope(engine) as session:
        return toggle_favourite(session=session, chat_id=chat_id, paper_id=paper_id, now=now)


def test_the_star_button_saves_and_unsaves(engine: Engine, papers: list[int]) -> None:
    assert _toggle(engine, papers[0]) is True
    assert _toggle(engine, papers[1]) is True
    assert _toggle(engine, papers[0]) is False
    assert _toggle(engine, papers[2], chat_id=7) is True
    with session_scope(engine) as session:
        assert favourite_ids(session=session, chat_id=42, paper_ids=papers[:3]) == {papers[1]}
        assert favourite_ids(session=session, chat_id=7, paper_ids=papers[:3]) == {papers[2]}
        assert favourite_ids(session=session, chat_id=42, paper_ids=[]) == set()
        assert count_favourites(session=session) == 2
    assert _toggle(engine, papers[0]) is True


def test_starring_an_unknown_paper_is_refused(engine: Engine, papers: list[int]) -> None:
    with pytest.raises(LookupError, match="paper 9999 does not exist"):
        _toggle(engine, 9999)
    with session_scope(engine) as session:
        assert count_favourites(session=session) == 0


def test_the_list_pages_newest_star_first(engine: Engine, papers: list[int]) -> None:
    starred = papers[3:8]
    for minute, paper_id in enumerate(starred):
        _toggle(engine, paper_id, now=NOW + timedelta(minutes=minute))
    _toggle(engine, papers[0], chat_id=7)
    pages = []
    for offset in (0, 2, 4, 6):
        with session_scope(engine) as session:
            page, total = list_favourites(session=session, chat_id=42, offset=offset, limit=2)
        assert total == 5
        pages.append([paper.id for paper in page])
    newest_first = starred[::-1]
    assert pages == [newest_first[:2], newest_first[2:4], newest_first[4:], []]
    with session_scope(engine) as session:
        page, total = list_favourites(session=session, chat_id=7, offset=0, limit=10)
    assert ([paper.title_zh for paper in page], total) == ([_title_zh(engine, papers[0])], 1)


def _title_zh(engine: Engine, paper_id: int) -> str | None:
    """The Chinese title a card would show."""
    with session_scope(engine) as session:
        return session.get(Paper, paper_id).title_zh


def test_removing_a_favourite(engine: Engine, papers: list[int]) -> None:
    _toggle(engine, papers[0])
    with session_scope(engine) as session:
        assert remove_favourite(session=session, chat_id=7, paper_id=papers[0]) is False
        assert remove_favourite(session=session, chat_id=42, paper_id=papers[0]) is True
        assert remove_favourite(session=session, chat_id=42, paper_id=papers[0]) is False
    with session_scope(engine) as session:
        assert list_favourites(session=session, chat_id=42, offset=0, limit=10) == ([], 0)
