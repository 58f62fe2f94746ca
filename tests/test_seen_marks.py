"""Seen marks: picks start past the papers a chat was sent, and still pick exactly what a full scan would."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlmodel import select

from storage.db import session_scope
from storage.deliveries import record_deliveries
from storage.ingest import Ingestor
from storage.models import Delivery, Digest, Paper, SeenMark
from storage.papers import pick_unseen_papers
from storage.seen_marks import NO_GROUP, read_seen_mark
from tests.test_picking import NEWEST_DIGEST

ALL = ["LG", "CV", "CL", "AS", "RO"]
CHAT = 42
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
LATE_DIGEST = """LG - 机器学习 CV - 计算机视觉 CL - 计算与语言 AS - 音频与语音 RO - 机器人 (*表示值得重点关注)

1、[CV] Late Vision Paper From An Old Digest

F Author
[Late Lab]
迟到的论文。本文提出一种方法。

We propose a late method.
https://arxiv.org/abs/2611.00031
"""
NEXT_DAY_DIGEST = NEWEST_DIGEST.replace("2611.0000", "2611.0010").replace("Paper", "Paper Two")


@pytest.fixture
def store(engine: Engine, samples_dir: Path) -> Engine:
    """The five samples as digests of 1–5 November and one of 6 November, all ingested an hour ago."""
    ingestor = Ingestor(engine)
    for day, path in enumerate(sorted(samples_dir.glob("*.txt")), start=1):
        assert ingestor.ingest_sources([str(path)], digest_date=date(2026, 11, day))[0].ok
    assert ingestor.ingest_text(NEWEST_DIGEST, source="newest.txt", digest_date=date(2026, 11, 6)).ok
    _age_digests(engine)
    return engine


def _age_digests(engine: Engine) -> None:
    """Every digest so far was ingested an hour ago: settled, so a mark may cover its papers."""
    with session_scope(engine) as session:
        session.exec(update(Digest).values(ingested_at=datetime.now(UTC) - timedelta(hours=1)))


def _pick(engine: Engine, categories: list[str] = ALL, limit: int = 7) -> list[int]:
    """What the chat gets next, as the bot picks it (marks read and moved)."""
    with session_scope(engine) as session:
        return [p.id for p in pick_unseen_papers(session=session, chat_id=CHAT, categories=categories, limit=limit)]


def _full_scan(engine: Engine, categories: list[str] = ALL, limit: int = 7) -> list[int]:
    """The reference: every paper of the categories not yet sent, sorted in the pick order, computed in Python."""
    with session_scope(engine) as session:
        sent = set(session.exec(select(Delivery.paper_id).where(Delivery.chat_id == CHAT)).all())
        papers = [p for p in session.exec(select(Paper)).all() if p.category in categories and p.id not in sent]
    papers.sort(key=lambda p: (-p.rank_date.toordinal(), -p.rank_digest_id, not p.highlight, p.minor, p.id))
    return [p.id for p in papers[:limit]]


def _send(engine: Engine, paper_ids: list[int]) -> None:
    with session_scope(engine) as session:
        record_deliveries(session=session, chat_id=CHAT, paper_ids=paper_ids, kind="scheduled", message_id=None,
                          now=NOW)


def _mark(engine: Engine):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return read_seen_mark(session=session, chat_id=CHAT, thread_id=0)


def _read_and_send(engine: Engine, rounds: int, categories: list[str] = ALL) -> None:
    """The chat is sent its next papers `rounds` times; every pick equals the full scan."""
    for _ in range(rounds):
        expected = _full_scan(engine, categories)
        picked = _pick(engine, categories)
        assert picked == expected
        _send(engine, picked)


def test_a_chat_that_read_deep_gets_a_mark_and_picks_exactly_as_a_full_scan(store: Engine) -> None:
    assert _pick(store) == _full_scan(store)
    assert _mark(store) is None, "nothing was skipped yet: no mark"
    _read_and_send(store, 3)
    assert _pick(store) == _full_scan(store)
    mark = _mark(store)
    assert mark is not None and mark.below < (date(2026, 11, 6), 10**9)
    with session_scope(store) as session:
        newest = session.exec(select(Digest.id).order_by(Digest.id.desc())).first()
    assert mark.through_digest_id == newest
    _read_and_send(store, 4)
    assert _mark(store).below < mark.below, "the mark follows the chat down"


def test_new_and_late_digests_and_changed_categories_are_never_hidden_by_a_mark(store: Engine) -> None:
    _read_and_send(store, 4)
    before = _mark(store)
    assert before is not None
    ingestor = Ingestor(store)
    # A new digest on top, a late one dated inside the run the chat has read, still unsettled.
    assert ingestor.ingest_text(NEXT_DAY_DIGEST, source="next.txt", digest_date=date(2026, 11, 7)).new == 4
    assert ingestor.ingest_text(LATE_DIGEST, source="late.txt", digest_date=date(2026, 11, 5)).new == 1
    _read_and_send(store, 1)
    _age_digests(store)  # settled now: only the mark's own digest number keeps them visible
    for categories in (["CV"], ["CV", "CL"], ALL, ["AS", "RO"], ALL):
        assert _pick(store, categories) == _full_scan(store, categories)
    _read_and_send(store, 3)
    with session_scope(store) as session:
        late = session.exec(select(Paper).where(Paper.arxiv_id == "2611.00031")).one()
        sent = set(session.exec(select(Delivery.paper_id).where(Delivery.chat_id == CHAT)).all())
    assert late.id in sent, "the late paper, ranked inside the run already read, was picked in its turn"


def test_a_chat_sent_everything_picks_nothing_until_the_next_digest(store: Engine) -> None:
    while picked := _pick(store, limit=20):
        assert picked == _full_scan(store, limit=20)
        _send(store, picked)
    assert _mark(store).below == NO_GROUP
    assert Ingestor(store).ingest_text(NEXT_DAY_DIGEST, source="next.txt", digest_date=date(2026, 11, 7)).new == 4
    assert len(_pick(store, limit=20)) == 4
    _age_digests(store)
    assert _pick(store, limit=20) == _full_scan(store, limit=20) and len(_full_scan(store, limit=20)) == 4


def test_a_mark_for_fewer_categories_is_not_used_for_more(store: Engine) -> None:
    _read_and_send(store, 3, categories=["LG"])
    with session_scope(store) as session:
        assert session.get(SeenMark, (CHAT, 0)).categories == "LG"
    assert _pick(store, ALL, limit=50) == _full_scan(store, ALL, limit=50)
    _read_and_send(store, 2, categories=["LG"])


def test_a_chat_that_keeps_up_has_its_mark_extended_to_newer_digests(store: Engine) -> None:
    while picked := _pick(store, limit=20):
        _send(store, picked)
    first = _mark(store)
    assert Ingestor(store).ingest_text(NEXT_DAY_DIGEST, source="next.txt", digest_date=date(2026, 11, 7)).new == 4
    _age_digests(store)
    _send(store, _pick(store, limit=20))
    assert _pick(store, limit=20) == []
    assert _mark(store) == first, "a mark made within the hour is left as it is"
    with session_scope(store) as session:
        session.exec(update(SeenMark).values(made_at=datetime.now(UTC) - timedelta(hours=2)))
    assert _pick(store, limit=20) == []
    extended = _mark(store)
    assert extended.top > first.top and extended.through_digest_id > first.through_digest_id
    assert extended.below == NO_GROUP


def test_a_category_arxiv_gives_a_paper_inside_the_run_is_not_hidden_by_the_mark(store: Engine) -> None:
    from storage.enrichment import ArxivRecord, apply_arxiv_records

    _read_and_send(store, 3, categories=["LG"])
    mark = _mark(store)
    with session_scope(store) as session:
        # A paper inside the run the chat has read, with no field yet: not one of the chat's papers so far.
        inside = session.exec(select(Paper).where(Paper.category != "LG", Paper.arxiv_id.is_not(None))
                              .order_by(Paper.rank_date.desc(), Paper.rank_digest_id.desc())).first()
        assert mark.below < (inside.rank_date, inside.rank_digest_id) <= mark.top
        inside.category, inside.category_inferred = None, False
        session.add(inside)
    with session_scope(store) as session:
        apply_arxiv_records(session=session, records=[ArxivRecord(inside.arxiv_id, category="LG")],
                            now=datetime.now(UTC))
    assert inside.id in _pick(store, ["LG"], limit=50)
    assert _pick(store, ["LG"], limit=50) == _full_scan(store, ["LG"], limit=50)


def test_a_category_a_title_match_gives_a_paper_inside_the_run_is_not_hidden_by_the_mark(store: Engine) -> None:
    from storage.enrichment import ArxivRecord
    from storage.resolution import record_match

    _read_and_send(store, 3, categories=["LG"])
    mark = _mark(store)
    with session_scope(store) as session:
        # A paper without an arXiv id inside the run the chat has read, its field guessed as another one.
        inside = session.exec(select(Paper).where(Paper.category != "LG", Paper.arxiv_id.is_(None),
                                                  Paper.title_en.is_not(None))
                              .order_by(Paper.rank_date.desc(), Paper.rank_digest_id.desc())).first()
        assert mark.below < (inside.rank_date, inside.rank_digest_id) <= mark.top
        inside.category_inferred = True
        session.add(inside)
    with session_scope(store) as session:
        record = ArxivRecord("2611.09999", title=inside.title_en, category="LG")
        assert record_match(session=session, paper_id=inside.id, record=record, now=datetime.now(UTC))
    assert inside.id in _pick(store, ["LG"], limit=50)
    assert _pick(store, ["LG"], limit=50) == _full_scan(store, ["LG"], limit=50)


def test_keyword_filters_and_forum_topics_are_not_hidden_by_a_chats_mark(store: Engine) -> None:
    from storage.keywords import KeywordSpec, add_keywords

    _read_and_send(store, 3, categories=["LG"])
    mark = _mark(store)
    with session_scope(store) as session:
        other = session.exec(select(Paper).where(Paper.category == "CV")
                             .order_by(Paper.rank_date.desc(), Paper.rank_digest_id.desc())).first()
        assert mark.below < (other.rank_date, other.rank_digest_id) <= mark.top, "a CV paper inside the LG run"
    with session_scope(store) as session:
        keyword = max((word.strip(".,:;()") for word in other.title_en.lower().split()), key=len)
        add_keywords(session=session, chat_id=CHAT, thread_id=0, keywords=[KeywordSpec(keyword)], now=NOW)
        with_keywords = pick_unseen_papers(session=session, chat_id=CHAT, categories=["LG"], limit=200, keywords=True)
    assert other.id in {paper.id for paper in with_keywords}, "a keyword widens the pick past the categories' mark"
    assert _mark(store) == mark, "a keyword pick neither uses nor moves the mark"
    with session_scope(store) as session:
        topic = pick_unseen_papers(session=session, chat_id=CHAT, categories=["LG"], limit=7, thread_id=5)
    assert [paper.id for paper in topic] == _full_scan_of_nothing_sent(store, ["LG"], 7), \
        "a forum topic of the chat has its own history and its own mark"


def _full_scan_of_nothing_sent(engine: Engine, categories: list[str], limit: int) -> list[int]:
    with session_scope(engine) as session:
        papers = [p for p in session.exec(select(Paper)).all() if p.category in categories]
    papers.sort(key=lambda p: (-p.rank_date.toordinal(), -p.rank_digest_id, not p.highlight, p.minor, p.id))
    return [p.id for p in papers[:limit]]
