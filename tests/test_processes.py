"""The process registry: heartbeats, and leases taken over from a process that stopped beating (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import select

from storage.chats import claim_due_chats, ensure_chat
from storage.db import session_scope
from storage.models import PendingDigest
from storage.pending import lease_pending_digests
from storage.processes import beat, forget_process, take_over_dead_leases, take_over_every_lease

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
TIMEOUT = 30.0
LEASE = 300.0


def _owed(engine: Engine, chats: int) -> None:
    """`chats` private chats whose digest is pending now."""
    with session_scope(engine) as session:
        for chat_id in range(1, chats + 1):
            ensure_chat(session=session, chat_id=chat_id, kind="private", title=None, ui_language="en",
                        digest_time="09:00", timezone="Asia/Shanghai", now=NOW - timedelta(days=1))
    with session_scope(engine) as session:
        assert len(claim_due_chats(session=session, now=NOW)) == chats


def _lease(engine: Engine, owner: str, limit: int, now: datetime = NOW) -> list[int]:
    """Chat ids `owner` leases now."""
    with session_scope(engine) as session:
        leased = lease_pending_digests(session=session, now=now, owner=owner, lease_seconds=LEASE, limit=limit)
    return [pending.chat_id for pending in leased]


def _holders(engine: Engine) -> dict[int, str | None]:
    """Who holds each pending digest."""
    with session_scope(engine) as session:
        return {row.chat_id: row.lease_owner for row in session.exec(select(PendingDigest))}


def test_a_dead_process_loses_its_leases_after_the_timeout_and_a_live_one_keeps_them(engine: Engine) -> None:
    _owed(engine, 6)
    with session_scope(engine) as session:
        beat(session=session, owner="dead", now=NOW)
        beat(session=session, owner="alive", now=NOW)
    assert _lease(engine, "dead", 3) == [1, 2, 3]
    assert _lease(engine, "alive", 2) == [4, 5]
    assert _lease(engine, "unregistered", 1) == [6]  # an older bot without heartbeats: its lease runs out as before
    later = NOW + timedelta(seconds=TIMEOUT - 1)
    with session_scope(engine) as session:
        beat(session=session, owner="alive", now=later)
        assert take_over_dead_leases(session=session, now=later, timeout_seconds=TIMEOUT) == 0
    assert _lease(engine, "taker", 10, later) == [], "nothing is free before the timeout"
    after = NOW + timedelta(seconds=TIMEOUT + 1)
    with session_scope(engine) as session:
        assert take_over_dead_leases(session=session, now=after, timeout_seconds=TIMEOUT) == 3
    assert _holders(engine) == {1: None, 2: None, 3: None, 4: "alive", 5: "alive", 6: "unregistered"}
    assert _lease(engine, "taker", 10, after) == [1, 2, 3], "long before the lease itself runs out"
    with session_scope(engine) as session:  # the dead process left the registry: a later look frees nothing more
        assert take_over_dead_leases(session=session, now=after, timeout_seconds=TIMEOUT) == 0


def test_a_process_that_beats_again_is_alive_again(engine: Engine) -> None:
    _owed(engine, 1)
    with session_scope(engine) as session:
        beat(session=session, owner="slow", now=NOW)
    assert _lease(engine, "slow", 1) == [1]
    late = NOW + timedelta(seconds=TIMEOUT + 5)
    with session_scope(engine) as session:
        beat(session=session, owner="slow", now=late)
        assert take_over_dead_leases(session=session, now=late, timeout_seconds=TIMEOUT) == 0
    assert _holders(engine) == {1: "slow"}


def test_a_starting_sqlite_bot_takes_over_every_lease_but_its_own(engine: Engine) -> None:
    _owed(engine, 4)
    with session_scope(engine) as session:
        beat(session=session, owner="before-the-crash", now=NOW)
    assert _lease(engine, "before-the-crash", 2) == [1, 2]
    assert _lease(engine, "no-heartbeat", 1) == [3]
    assert _lease(engine, "me", 1) == [4]
    with session_scope(engine) as session:
        assert take_over_every_lease(session=session, owner="me") == 3
    assert _holders(engine) == {1: None, 2: None, 3: None, 4: "me"}


def test_a_clean_stop_leaves_the_registry_and_nothing_is_taken_from_it(engine: Engine) -> None:
    _owed(engine, 1)
    with session_scope(engine) as session:
        beat(session=session, owner="stopping", now=NOW)
        beat(session=session, owner="other", now=NOW)
    assert _lease(engine, "other", 1) == [1]
    with session_scope(engine) as session:
        forget_process(session=session, owner="stopping")
    after = NOW + timedelta(seconds=TIMEOUT + 1)
    with session_scope(engine) as session:
        beat(session=session, owner="other", now=after)
        assert take_over_dead_leases(session=session, now=after, timeout_seconds=TIMEOUT) == 0
    assert _holders(engine) == {1: "other"}
