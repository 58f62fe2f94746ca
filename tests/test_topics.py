"""Forum topics in the store: each topic is a destination with its own due time, pending digest and history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Engine, text
from sqlmodel import select

from storage.chats import (
    active_destinations,
    claim_due_chats,
    count_active_chats,
    ensure_chat,
    get_chat,
    mark_inactive,
    migrate_chat,
    set_categories,
)
from storage.db import alembic_config, make_engine, session_scope
from storage.deliveries import delivered_paper_ids, record_deliveries
from storage.favourites import toggle_favourite
from storage.ingest import Ingestor
from storage.keywords import KeywordSpec, add_keywords, destination_keywords
from storage.models import Chat, Paper, PendingDigest
from storage.pending import finish_pending_digest, holds_lease, lease_pending_digests
from tests.conftest import sample_text

NOW = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
GROUP, SUPERGROUP, TOPIC, OTHER_TOPIC = -100, -1_001_000, 5, 9


def _subscribe(engine: Engine, chat_id: int, thread_id: int = 0) -> Chat:
    with session_scope(engine) as session:
        return ensure_chat(session=session, chat_id=chat_id, kind="supergroup", title="forum", ui_language="en",
                           digest_time="09:00", timezone="Asia/Shanghai", now=NOW, thread_id=thread_id)[0]


def test_each_topic_is_claimed_and_leased_on_its_own(engine: Engine) -> None:
    for thread_id in (0, TOPIC, OTHER_TOPIC):
        _subscribe(engine, GROUP, thread_id)
    due = NOW + timedelta(hours=1)
    with session_scope(engine) as session:
        claimed = claim_due_chats(session=session, now=due)
        assert sorted((chat.id, chat.thread_id) for chat in claimed) == [(GROUP, 0), (GROUP, 5), (GROUP, 9)]
        assert claim_due_chats(session=session, now=due) == [], "claimed once"
        leased = lease_pending_digests(session=session, now=due, owner="a", lease_seconds=60, limit=10)
        assert sorted(pending.thread_id for pending in leased) == [0, TOPIC, OTHER_TOPIC]
        assert holds_lease(session=session, chat_id=GROUP, thread_id=TOPIC, owner="a", now=due)
        assert finish_pending_digest(session=session, chat_id=GROUP, thread_id=TOPIC, owner="a")
        left = session.exec(select(PendingDigest.thread_id).order_by(PendingDigest.thread_id)).all()
        assert left == [0, OTHER_TOPIC], "finishing one topic's digest leaves the others owed"


def test_a_deleted_topic_is_marked_inactive_alone_and_a_blocked_chat_with_all_its_topics(engine: Engine) -> None:
    for thread_id in (0, TOPIC, OTHER_TOPIC):
        _subscribe(engine, GROUP, thread_id)
    with session_scope(engine) as session:
        mark_inactive(session=session, chat_id=GROUP, thread_id=TOPIC)
        assert active_destinations(session=session) == [(GROUP, 0), (GROUP, OTHER_TOPIC)]
        assert count_active_chats(session=session) == 2
        mark_inactive(session=session, chat_id=GROUP)
        assert active_destinations(session=session) == []


def test_topic_settings_are_separate_from_the_groups(engine: Engine) -> None:
    _subscribe(engine, GROUP)
    _subscribe(engine, GROUP, TOPIC)
    with session_scope(engine) as session:
        set_categories(session=session, chat_id=GROUP, thread_id=TOPIC, categories=["RO"])
    with session_scope(engine) as session:
        assert get_chat(session=session, chat_id=GROUP).categories == "LG,CV,CL,AS,RO"
        assert get_chat(session=session, chat_id=GROUP, thread_id=TOPIC).categories == "RO"
        assert get_chat(session=session, chat_id=GROUP, thread_id=OTHER_TOPIC) is None


def test_a_migrating_group_takes_its_topics_keywords_history_and_pending_digests_along(engine: Engine) -> None:
    assert Ingestor(engine).ingest_text(sample_text("000"), source="000").ok
    _subscribe(engine, GROUP)
    _subscribe(engine, GROUP, TOPIC)
    with session_scope(engine) as session:
        paper_id = session.exec(select(Paper.id).order_by(Paper.id)).first()
        record_deliveries(session=session, chat_id=GROUP, thread_id=TOPIC, paper_ids=[paper_id], kind="today",
                          message_id=3, now=NOW)
        add_keywords(session=session, chat_id=GROUP, thread_id=TOPIC, keywords=[KeywordSpec("gan")], now=NOW)
        toggle_favourite(session=session, chat_id=GROUP, paper_id=paper_id, now=NOW)
        claim_due_chats(session=session, now=NOW + timedelta(hours=1))
        lease_pending_digests(session=session, now=NOW + timedelta(hours=1), owner="a", lease_seconds=60, limit=9)
    with session_scope(engine) as session:
        moved = migrate_chat(session=session, old_chat_id=GROUP, new_chat_id=SUPERGROUP)
        assert (moved.id, moved.thread_id) == (SUPERGROUP, 0)
    with session_scope(engine) as session:
        assert session.exec(select(Chat.id, Chat.thread_id).order_by(Chat.thread_id)).all() == [
            (SUPERGROUP, 0), (SUPERGROUP, TOPIC)]
        assert delivered_paper_ids(session=session, chat_id=SUPERGROUP, thread_id=TOPIC) == {paper_id}
        assert delivered_paper_ids(session=session, chat_id=SUPERGROUP) == set()
        assert destination_keywords(session=session, chat_id=SUPERGROUP, thread_id=TOPIC) == [KeywordSpec("gan")]
        pending = session.exec(select(PendingDigest).order_by(PendingDigest.thread_id)).all()
        assert [(p.chat_id, p.thread_id, p.lease_owner) for p in pending] == [
            (SUPERGROUP, 0, None), (SUPERGROUP, TOPIC, None)], "moved, leases freed for the next tick"


def test_migrating_onto_an_existing_supergroup_merges_each_topic(engine: Engine) -> None:
    _subscribe(engine, GROUP, TOPIC)
    _subscribe(engine, SUPERGROUP, TOPIC)
    with session_scope(engine) as session:
        set_categories(session=session, chat_id=GROUP, thread_id=TOPIC, categories=["CV"])
    with session_scope(engine) as session:
        migrate_chat(session=session, old_chat_id=GROUP, new_chat_id=SUPERGROUP)
    with session_scope(engine) as session:
        assert session.exec(select(Chat.id, Chat.thread_id, Chat.categories)).all() == [(SUPERGROUP, TOPIC, "CV")]


def test_the_upgrade_keeps_every_chat_pending_digest_and_delivery_as_thread_0(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        _upgrade(engine, "0003")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO chat (id, kind, language, ui_language, categories, digest_time, timezone, active, "
                "created_at) VALUES (-5, 'group', 'zh', 'zh', 'CV', '07:00', 'Asia/Shanghai', :yes, :now)"),
                {"yes": True, "now": NOW})
            connection.execute(text("INSERT INTO pending_digest (chat_id, due_at, attempts, created_at) "
                                    "VALUES (-5, :now, 2, :now)"), {"now": NOW})
            connection.execute(text(
                "INSERT INTO paper (id, category_inferred, authors, affiliations, highlight, minor, created_at) "
                "VALUES (1, :no, '[]', '[]', :no, :no, :now)"), {"no": False, "now": NOW})
            connection.execute(text("INSERT INTO delivery (chat_id, paper_id, kind, sent_at) "
                                    "VALUES (-5, 1, 'today', :now)"), {"now": NOW})
        _upgrade(engine, "head")
        with session_scope(engine) as session:
            chat = get_chat(session=session, chat_id=-5)
            assert (chat.thread_id, chat.categories, chat.digest_time) == (0, "CV", "07:00")
            assert session.get(PendingDigest, (-5, 0)).attempts == 2
            assert delivered_paper_ids(session=session, chat_id=-5) == {1}
            record_deliveries(session=session, chat_id=-5, thread_id=TOPIC, paper_ids=[1], kind="today",
                              message_id=None, now=NOW)
            assert delivered_paper_ids(session=session, chat_id=-5, thread_id=TOPIC) == {1}
    finally:
        engine.dispose()


def _upgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
