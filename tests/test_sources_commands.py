"""/sources end to end: the real bot against the local Bot API emulator, in a private chat, a group, a forum topic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.emulator import BotApiEmulator, SentMessage
from bot.playground import Playground, emulator_settings, running_bot
from storage.db import open_store, session_scope
from storage.models import Source
from tests.conftest import UNTHROTTLED_USERS

ADMIN, OTHER_ADMIN, MEMBER = 3001, 3002, 3003
GROUP, FORUM, TOPIC = -600, -1_000_000_000_600, 1  # the topic is the forum's first message
PLACES = {
    # where the admin types: chat id and the extra arguments of each message (a forum topic's thread)
    "private": (ADMIN, {}),
    "group": (GROUP, {}),
    "forum-topic": (FORUM, {"message_thread_id": TOPIC}),
}


@dataclass
class Desk:
    """The bot, the emulator and the store."""

    bot: Playground
    emulator: BotApiEmulator
    engine: Engine

    async def say(self, place: str, text: str, user: int = ADMIN) -> list[SentMessage]:
        """A user types in one of the places; returns the bot's answers there."""
        chat_id, extra = PLACES[place]
        if place == "private" and user != ADMIN:
            chat_id = user
        answers = await self.bot.say(chat_id, user, text, **extra)
        if "message_thread_id" in extra:
            assert all(answer.message_thread_id == TOPIC for answer in answers), "answers stay in the topic"
        return answers

    def urls(self) -> list[str]:
        """The registered sources, oldest first."""
        with session_scope(self.engine) as session:
            return list(session.exec(select(Source.url).order_by(Source.id)).all())


@pytest.fixture
async def desk(tmp_path) -> AsyncIterator[Desk]:
    """Two bot admins and a member; a group and a forum supergroup with all three in it."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = open_store(url)
    async with BotApiEmulator() as emulator:
        for user, name in ((ADMIN, "Root"), (OTHER_ADMIN, "Ops"), (MEMBER, "Mel")):
            emulator.add_private_chat(user, first_name=name, language_code="en")
        emulator.add_group(GROUP, title="Editors", members={ADMIN, OTHER_ADMIN, MEMBER})
        emulator.add_group(FORUM, title="Editors forum", supergroup=True, is_forum=True,
                           members={ADMIN, OTHER_ADMIN, MEMBER})
        assert emulator.create_forum_topic(FORUM, "sources", by=ADMIN) == TOPIC
        settings = emulator_settings(emulator, url, admin_ids=frozenset({ADMIN, OTHER_ADMIN}), **UNTHROTTLED_USERS)
        async with running_bot(settings, engine, emulator=emulator) as bot:
            yield Desk(bot, emulator, engine)
    engine.dispose()


@pytest.mark.parametrize("place", sorted(PLACES))
async def test_admin_adds_lists_and_removes_sources(desk: Desk, place: str) -> None:
    (empty,) = await desk.say(place, "/sources")
    assert "Digest sources" in empty.plain_text and "None yet" in empty.plain_text
    (added,) = await desk.say(place, "/sources add https://digests.example.org/daily.html")
    assert "Added source 1: https://digests.example.org/daily.html" in added.plain_text
    assert "every 60 min" in added.plain_text
    (quoted,) = await desk.say(place, "/sources add 'https://digests.example.org/weekly?a=1&b=2'")
    assert "Added source 2" in quoted.plain_text
    (again,) = await desk.say(place, "/sources add https://digests.example.org/daily.html")
    assert "Source 1 already has this URL" in again.plain_text
    (listing,) = await desk.say(place, "/sources list")
    assert "1. https://digests.example.org/daily.html — not checked yet" in listing.plain_text
    assert "2. https://digests.example.org/weekly?a=1&b=2 — not checked yet" in listing.plain_text
    (removed,) = await desk.say(place, "/sources remove 1")
    assert "Removed source 1: https://digests.example.org/daily.html" in removed.plain_text
    assert desk.urls() == ["https://digests.example.org/weekly?a=1&b=2"]
    (listing,) = await desk.say(place, "/sources")
    assert "daily.html" not in listing.plain_text and "2. https://digests.example.org/weekly" in listing.plain_text


BAD_ARGUMENTS: list[tuple[str, str]] = [
    ("/sources add", "Usage: /sources add URL"),
    ("/sources add   ", "Usage: /sources add URL"),
    ("/sources remove", "Usage: /sources remove N"),
    ("/sources remove two", "Usage: /sources remove N"),
    ("/sources remove -1", "Usage: /sources remove N"),
    ("/sources remove ²", "Usage: /sources remove N"),
    ("/sources remove 99", "There is no source 99"),
    ("/sources remove 99999999999999999999999", "Usage: /sources remove N"),
    ("/sources add 'https://digests.example.org/daily.html", "Unbalanced quotes"),
    ('/sources add "https://digests.example.org/x', "Unbalanced quotes"),
    ("/sources add digests.example.org/daily.html", "“digests.example.org/daily.html” is not a web link"),
    ("/sources add ftp://digests.example.org/daily.txt", "is not a web link"),
    ("/sources add javascript:alert(1)", "is not a web link"),
    ("/sources add https://", "is not a web link"),
    ("/sources add '<b>https://x</b>'", "“&lt;b&gt;https://x&lt;/b&gt;” is not a web link"),
    ("/sources add https://example.org/" + "a" * 2000, "too long"),
    ("/sources add https://example.org/" + "a" * 3000, "too long"),
    ("/sources add https://a.example.org https://b.example.org", "Usage: /sources add URL"),
    ("/sources frobnicate", "Usage: /sources (or /sources list)"),
    ("/sources list everything", "Usage: /sources (or /sources list)"),
]


@pytest.mark.parametrize("place", sorted(PLACES))
async def test_bad_arguments_are_answered_clearly_and_change_nothing(desk: Desk, place: str) -> None:
    await desk.say(place, "/sources add https://digests.example.org/daily.html")
    for command, expected in BAD_ARGUMENTS:
        (answer,) = await desk.say(place, command)
        assert expected in answer.text, (command, answer.text)
        assert len(answer.plain_text) < 600, "a bad argument is never echoed at length"
    assert desk.urls() == ["https://digests.example.org/daily.html"]


@pytest.mark.parametrize("place", sorted(PLACES))
async def test_non_admins_are_refused_and_nothing_changes(desk: Desk, place: str) -> None:
    await desk.say(place, "/sources add https://digests.example.org/daily.html")
    for command in ("/sources", "/sources list", "/sources add https://evil.example.org/x", "/sources remove 1"):
        (refusal,) = await desk.say(place, command, user=MEMBER)
        assert "only the bot's administrators" in refusal.plain_text, command
        assert "digests.example.org" not in refusal.plain_text
    assert desk.urls() == ["https://digests.example.org/daily.html"]


async def test_another_admin_sees_and_removes_what_one_added(desk: Desk) -> None:
    await desk.say("group", "/sources add https://digests.example.org/daily.html")
    (listing,) = await desk.bot.say(OTHER_ADMIN, OTHER_ADMIN, "/sources")
    assert "1. https://digests.example.org/daily.html" in listing.plain_text
    (removed,) = await desk.bot.say(OTHER_ADMIN, OTHER_ADMIN, "/sources remove 1")
    assert "Removed source 1" in removed.plain_text
    assert desk.urls() == []


async def test_a_long_list_is_split_into_messages_within_telegram_limits(desk: Desk) -> None:
    long_urls = [f"https://digests.example.org/{i:03d}/" + "x" * 1900 for i in range(30)]
    with session_scope(desk.engine) as session:
        session.add_all(Source(url=url, added_by=ADMIN) for url in long_urls)
    messages = await desk.say("private", "/sources")
    assert len(messages) > 1
    assert all(len(message.plain_text) <= 4096 for message in messages)
    shown = "\n".join(message.plain_text for message in messages)
    assert all(f"{number}. https://digests.example.org/{number - 1:03d}/" in shown for number in range(1, 31))
    rejected = [r for r in desk.emulator.requests if r.method == "sendMessage" and r.status != 200]
    assert rejected == []


async def test_chinese_admin_reads_chinese(desk: Desk) -> None:
    await desk.bot.say(ADMIN, ADMIN, "/start")
    await desk.bot.say(ADMIN, ADMIN, "/lang zh")
    (added,) = await desk.say("private", "/sources add https://digests.example.org/daily.html")
    assert "已添加来源 1" in added.plain_text
    (usage,) = await desk.say("private", "/sources remove")
    assert "用法" in usage.plain_text

