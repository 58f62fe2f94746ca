"""The one read a delivery makes about its destination gives what the separate reads give, lease checks included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete

from storage.chats import claim_due_chats, ensure_chat, set_language
from storage.db import session_scope
from storage.destinations import DeliverySettings, delivery_destination
from storage.favourites import toggle_favourite
from storage.keywords import KeywordSpec, add_keywords, destination_keywords
from storage.models import Chat, LibraryEntry, Paper
from storage.pending import LeaseLost, lease_pending_digests, plan_pending_digest
from tests.conftest import ingest_samples

NOW = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
DUE = NOW + timedelta(hours=1)
LEASE_SECONDS = 60


def _subscribe(engine: Engine, chat_id: int) -> None:
    with session_scope(engine) as session:
        ensure_chat(session=session, chat_id=chat_id, kind="private", title=None, ui_language="zh",
                    digest_time="09:00", timezone="Asia/Shanghai", now=NOW)


def _lease(engine: Engine, owner: str = "worker-a") -> None:
    with session_scope(engine) as session:
        claim_due_chats(session=session, now=DUE)
        lease_pending_digests(session=session, now=DUE, owner=owner, lease_seconds=LEASE_SECONDS, limit=10)


def test_settings_keywords_and_keeps_come_in_one_read(engine: Engine) -> None:
    ingest_samples(engine)
    _subscribe(engine, 7)
    with session_scope(engine) as session:
        set_language(session=session, chat_id=7, language="en")
        add_keywords(session=session, chat_id=7, thread_id=0, now=NOW, keywords=[
            KeywordSpec("diffusion"), KeywordSpec("gan", exclude=True), KeywordSpec("robot")])
        paper_id = session.exec(Paper.__table__.select().limit(1)).first().id  # type: ignore[attr-defined]
        toggle_favourite(session=session, chat_id=7, paper_id=paper_id, now=NOW)
    with session_scope(engine) as session:
        destination = delivery_destination(session=session, chat_id=7, now=NOW)
        assert destination is not None
        assert destination.settings == DeliverySettings(7, True, ("LG", "CV", "CL", "AS", "RO"), "en", "en",
                                                        "Asia/Shanghai")
        assert destination.keywords == destination_keywords(session=session, chat_id=7, thread_id=0)
        assert [spec.label for spec in destination.keywords] == ["diffusion", "robot", "-gan"]
        assert (destination.favourites, destination.keeps, destination.planned) == (True, True, None)


def test_a_chat_that_keeps_nothing_and_one_that_only_imported(engine: Engine) -> None:
    _subscribe(engine, 7)
    _subscribe(engine, 8)
    with session_scope(engine) as session:
        session.add(LibraryEntry(chat_id=8, title="A paper from a library", features=b"", created_at=NOW))
    with session_scope(engine) as session:
        nothing = delivery_destination(session=session, chat_id=7, now=NOW)
        imported = delivery_destination(session=session, chat_id=8, now=NOW)
        assert nothing is not None and imported is not None
        assert (nothing.keywords, nothing.favourites, nothing.keeps) == ([], False, False)
        assert (imported.favourites, imported.keeps) == (False, True)
        assert delivery_destination(session=session, chat_id=9, now=NOW) is None, "never subscribed"


def test_the_leased_plan_comes_along_and_a_lost_lease_is_refused(engine: Engine) -> None:
    _subscribe(engine, 7)
    _lease(engine)
    with session_scope(engine) as session:
        unplanned = delivery_destination(session=session, chat_id=7, now=DUE, lease_owner="worker-a")
        assert unplanned is not None and unplanned.planned is None
        plan_pending_digest(session=session, chat_id=7, owner="worker-a", paper_ids=[3, 1, 2])
    with session_scope(engine) as session:
        planned = delivery_destination(session=session, chat_id=7, now=DUE, lease_owner="worker-a")
        assert planned is not None and planned.planned == [3, 1, 2]
        assert delivery_destination(session=session, chat_id=7, now=DUE).planned is None, "no lease asked about"
        with pytest.raises(LeaseLost):
            delivery_destination(session=session, chat_id=7, now=DUE, lease_owner="worker-b")
        with pytest.raises(LeaseLost):
            delivery_destination(session=session, chat_id=7, now=DUE + timedelta(seconds=LEASE_SECONDS + 1),
                                 lease_owner="worker-a")


def test_a_destination_gone_under_a_held_lease_reads_as_none_and_under_a_lost_one_as_lost(engine: Engine) -> None:
    _subscribe(engine, 7)
    _lease(engine)
    with session_scope(engine) as session:
        session.exec(delete(Chat).where(Chat.id == 7))  # type: ignore[call-overload]
    with session_scope(engine) as session:
        assert delivery_destination(session=session, chat_id=7, now=DUE, lease_owner="worker-a") is None
        with pytest.raises(LeaseLost):
            delivery_destination(session=session, chat_id=7, now=DUE, lease_owner="worker-b")
