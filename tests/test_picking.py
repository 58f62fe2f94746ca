"""Picking a chat's next papers: unseen only, in its categories, newest digest and highlights first; deliveries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from storage.db import session_scope
from storage.deliveries import (
    count_chats_served_since,
    count_deliveries_since,
    delivered_paper_ids,
    record_deliveries,
)
from storage.ingest import Ingestor
from storage.models import Delivery, Paper
from storage.papers import get_paper, papers_by_ids, pick_unseen_papers

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
ALL = ["LG", "CV", "CL", "AS", "RO"]
NEWEST_DIGEST = """LG - 机器学习 CV - 计算机视觉 CL - 计算与语言 AS - 音频与语音 RO - 机器人 (*表示值得重点关注)

1、[LG] Plain Learning Paper

A Author, B Author
[Some Lab]
普通论文。本文提出一种方法。

We propose a plain method.
https://arxiv.org/abs/2611.00001

2、[CV] Plain Vision Paper

C Author
[Vision Lab]
视觉论文。本文提出一种视觉方法。

We propose a vision method.
https://arxiv.org/abs/2611.00002

3、*[LG] Starred Learning Paper

D Author
[Star Lab]
重点论文。本文提出一种重要方法。

We propose an important method.
https://arxiv.org/abs/2611.00003

另外几篇值得关注的论文:

[LG] Minor Learning Paper

次要论文
E Author
[Minor Lab]
https://arxiv.org/abs/2611.00004
"""


@pytest.fixture
def store(engine: Engine, samples_dir: Path) -> Engine:
    """The five samples as digests of 1–5 November, then a digest of 6 November with a highlight."""
    ingestor = Ingestor(engine)
    for day, path in enumerate(sorted(samples_dir.glob("*.txt")), start=1):
        (report,) = ingestor.ingest_sources([str(path)], digest_date=date(2026, 11, day))
        assert report.ok and report.new > 0
    report = ingestor.ingest_text(NEWEST_DIGEST, source="newest.txt", digest_date=date(2026, 11, 6))
    assert (report.new, report.error) == (4, None)
    return engine


def _pick(engine: Engine, chat_id: int = 42, categories: list[str] = ALL, limit: int = 1000) -> list[Paper]:
    """What the chat would be sent next."""
    with session_scope(engine) as session:
        return pick_unseen_papers(session=session, chat_id=chat_id, categories=categories, limit=limit)


def _deliver(engine: Engine, papers: list[Paper], chat_id: int = 42, now: datetime = NOW) -> int:
    """Record that the chat was sent these papers."""
    with session_scope(engine) as session:
        return record_deliveries(session=session, chat_id=chat_id, paper_ids=[paper.id for paper in papers],
                                 kind="scheduled", message_id=None, now=now)


def _all_papers(engine: Engine) -> list[Paper]:
    """Every stored paper, read directly."""
    with session_scope(engine) as session:
        return list(session.exec(select(Paper)).all())


def test_newest_digest_comes_first_with_its_highlight_leading_and_minor_entries_last(store: Engine) -> None:
    picked = _pick(store, categories=["LG"], limit=4)
    assert [paper.title_en for paper in picked[:3]] == [
        "Starred Learning Paper", "Plain Learning Paper", "Minor Learning Paper"]
    assert (picked[0].highlight, picked[2].minor) == (True, True)
    assert picked[3].rank_date == date(2026, 11, 5) and picked[3].category == "LG"


def test_the_whole_order_is_newest_digest_highlight_main_then_id(store: Engine) -> None:
    papers = _all_papers(store)
    expected = sorted(papers, key=lambda p: (-p.rank_date.toordinal(), -p.rank_digest_id, not p.highlight,
                                             p.minor, p.id))
    assert [paper.id for paper in _pick(store)] == [paper.id for paper in expected]
    assert len(expected) == 50


def test_only_the_chats_categories_and_at_most_the_limit(store: Engine) -> None:
    papers = _all_papers(store)
    for categories in (["CV"], ["CL", "LG"], ["AS", "RO"]):
        picked = _pick(store, categories=categories)
        assert {paper.id for paper in picked} == {paper.id for paper in papers if paper.category in categories}
    assert len(_pick(store, categories=["CV"], limit=3)) == 3
    assert _pick(store, categories=[]) == []


def test_delivered_papers_never_come_again_until_none_is_left(store: Engine) -> None:
    seen: list[int] = []
    while batch := _pick(store, categories=["CV", "CL"], limit=7):
        assert not {paper.id for paper in batch} & set(seen)
        assert _deliver(store, batch) == len(batch)
        seen.extend(paper.id for paper in batch)
    with session_scope(store) as session:
        assert delivered_paper_ids(session=session, chat_id=42) == set(seen)
    assert seen == [paper.id for paper in _pick(store, chat_id=7, categories=["CV", "CL"])], \
        "another chat still gets everything, in the same order"
    assert _pick(store, categories=["CV", "CL"]) == []
    assert {paper.category for paper in _pick(store)} <= {"LG", "AS", "RO"}


def test_recording_a_delivery_twice_counts_it_once(store: Engine) -> None:
    first = _pick(store, limit=3)
    assert _deliver(store, first + first[:1]) == 3
    assert _deliver(store, first[1:] + _pick(store, limit=1)) == 1
    with session_scope(store) as session:
        assert len(session.exec(select(Delivery).where(Delivery.chat_id == 42)).all()) == 4
    with pytest.raises(ValueError, match="postponed"), session_scope(store) as session:
        record_deliveries(session=session, chat_id=42, paper_ids=[first[0].id], kind="postponed", message_id=None,
                          now=NOW)


def test_delivery_counts_for_stats(store: Engine) -> None:
    papers = _pick(store, limit=6)
    _deliver(store, papers[:2], chat_id=1, now=NOW - timedelta(days=1))
    _deliver(store, papers[2:4], chat_id=1, now=NOW)
    _deliver(store, papers[:3], chat_id=2, now=NOW + timedelta(hours=1))
    with session_scope(store) as session:
        assert count_deliveries_since(session=session, since=NOW) == 5
        assert count_chats_served_since(session=session, since=NOW) == 2
        assert count_chats_served_since(session=session, since=NOW + timedelta(minutes=1)) == 1
        assert count_deliveries_since(session=session, since=NOW + timedelta(days=1)) == 0


def test_papers_are_fetched_by_id_in_the_order_asked(store: Engine) -> None:
    with session_scope(store) as session:
        assert get_paper(session=session, paper_id=3).id == 3
        assert get_paper(session=session, paper_id=9999) is None
        assert [paper.id for paper in papers_by_ids(session=session, paper_ids=[5, 9999, 2, 40])] == [5, 2, 40]
        assert papers_by_ids(session=session, paper_ids=[]) == []
