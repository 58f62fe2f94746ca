"""Group commit: store calls made meanwhile share one transaction, and a failing call fails alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from bot.services import GroupCommit
from storage.chats import ensure_chat
from storage.db import session_scope
from storage.models import Chat

NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def _subscribe(chat_id: int):  # type: ignore[no-untyped-def]
    """A store call that adds one chat and answers with its id."""

    def work(session: Session) -> int:
        chat, _created = ensure_chat(session=session, chat_id=chat_id, kind="private", title=None, ui_language="en",
                                     digest_time="09:00", timezone="Asia/Shanghai", now=NOW)
        return chat.id

    return work


def _stored_chats(engine: Engine) -> set[int]:
    with session_scope(engine) as session:
        return set(session.exec(select(Chat.id)).all())


async def test_calls_made_while_a_transaction_runs_share_the_next_one(engine: Engine) -> None:
    commits: list[None] = []
    event.listen(engine, "commit", lambda _connection: commits.append(None))
    grouped = GroupCommit(engine)
    results = await asyncio.gather(*(grouped.run(_subscribe(chat_id)) for chat_id in range(1, 41)))
    assert results == list(range(1, 41))
    assert _stored_chats(engine) == set(range(1, 41))
    assert len(commits) <= 3, f"40 calls took {len(commits)} transactions"


async def test_a_failing_call_gets_its_own_error_and_the_others_are_committed(engine: Engine) -> None:
    grouped = GroupCommit(engine)

    def broken(session: Session) -> int:
        session.exec(select(Chat.id)).all()
        raise LookupError("chat 99 is not subscribed")

    calls = [grouped.run(_subscribe(chat_id)) for chat_id in range(1, 11)]
    calls.insert(5, grouped.run(broken))
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[5], LookupError) and str(results[5]) == "chat 99 is not subscribed"
    assert results[:5] + results[6:] == list(range(1, 11))
    assert _stored_chats(engine) == set(range(1, 11))


async def test_a_call_that_fails_alone_leaves_nothing_behind(engine: Engine) -> None:
    grouped = GroupCommit(engine)

    def half_done(session: Session) -> None:
        _subscribe(7)(session)
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        await grouped.run(half_done)
    assert _stored_chats(engine) == set()
