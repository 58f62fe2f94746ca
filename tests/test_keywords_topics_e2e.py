"""End to end: /keywords and forum topics with the real PTB client against the local Bot API emulator."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.emulator import BotApiEmulator, SentMessage
from bot.playground import Playground, emulator_settings, running_bot
from storage.db import open_store, session_scope
from storage.keywords import destination_keywords
from storage.models import Chat, Delivery, Paper, PendingDigest
from tests.conftest import UNTHROTTLED_USERS, FakeClock, card_tags, ingest_samples

USER, GROUP_ADMIN, MEMBER = 1001, 2001, 2002
GROUP, FORUM = -500, -1_000_000_000_777


@dataclass
class World:
    bot: Playground
    emulator: BotApiEmulator
    clock: FakeClock
    engine: Engine


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    """The samples in a fresh store; a user, a group and a forum supergroup; the bot with a fast tick."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = open_store(url)
    ingest_samples(engine)
    clock = FakeClock(datetime(2026, 11, 22, 0, 30, tzinfo=UTC))  # 08:30 in Shanghai
    async with BotApiEmulator() as emulator:
        emulator.add_private_chat(USER, first_name="Ada", language_code="en")
        emulator.add_private_chat(GROUP_ADMIN, first_name="Grace", language_code="en")
        emulator.add_group(GROUP, title="ML reading group", admins={GROUP_ADMIN}, members={MEMBER})
        emulator.add_group(FORUM, title="ML forum", supergroup=True, is_forum=True, admins={GROUP_ADMIN},
                           members={MEMBER})
        settings = emulator_settings(emulator, url, tick_seconds=0.05, **UNTHROTTLED_USERS)
        async with running_bot(settings, engine, emulator=emulator, clock=clock, with_scheduler=True) as bot:
            yield World(bot, emulator, clock, engine)
    engine.dispose()


async def _open_topic(world: World, name: str) -> int:
    """An admin opens a forum topic; the bot sees the service message."""
    thread_id = world.emulator.create_forum_topic(FORUM, name, by=GROUP_ADMIN)
    await world.bot.until_idle()
    return thread_id


def _delivered(engine: Engine, chat_id: int, thread_id: int = 0) -> list[Paper]:
    with session_scope(engine) as session:
        ids = session.exec(select(Delivery.paper_id).where(Delivery.chat_id == chat_id,
                                                           Delivery.thread_id == thread_id)).all()
        return list(session.exec(select(Paper).where(Paper.id.in_(ids))).all())


def _destination(engine: Engine, chat_id: int, thread_id: int = 0) -> Chat | None:
    with session_scope(engine) as session:
        return session.get(Chat, (chat_id, thread_id))


def _keywords(engine: Engine, chat_id: int, thread_id: int = 0) -> list[str]:
    with session_scope(engine) as session:
        return [spec.label for spec in destination_keywords(session=session, chat_id=chat_id, thread_id=thread_id)]


async def _let_ticks_run(world: World, ticks: int = 3) -> None:
    services = world.bot.application.bot_data.services
    target = services.ticks + ticks
    async with asyncio.timeout(10):
        while services.ticks < target:
            await asyncio.sleep(0.02)


def _no_rejected_messages(emulator: BotApiEmulator) -> None:
    rejected = [r for r in emulator.requests if r.method in ("sendMessage", "editMessageText") and r.status != 200
                and "thread" not in (r.description or "").lower() and "topic" not in (r.description or "").lower()]
    assert rejected == []


WHERE = {"private": (USER, USER), "group": (GROUP, GROUP_ADMIN), "topic": (FORUM, GROUP_ADMIN)}


@pytest.mark.parametrize("where", sorted(WHERE))
async def test_keywords_show_add_remove_clear_and_refuse_bad_arguments(world: World, where: str) -> None:
    chat_id, user = WHERE[where]
    thread_id = await _open_topic(world, "papers") if where == "topic" else 0
    bot = world.bot

    async def say(text: str) -> SentMessage:
        replies = await bot.say(chat_id, user, text, message_thread_id=thread_id or None)
        assert len(replies) == 1, [r.plain_text for r in replies]
        assert replies[0].message_thread_id == (thread_id or None), "answered in the topic it was asked in"
        return replies[0]

    await say("/start")
    assert "No keywords yet" in (await say("/keywords")).plain_text
    added = await say('/keywords add diffusion "Graph  Neural" -survey 扩散 diffusion')
    assert "Added: diffusion, graph neural, -survey, 扩散" in added.plain_text
    assert "Included (papers that mention one come too): diffusion, graph neural, 扩散" in added.plain_text
    assert "Excluded (papers that mention one never come): survey" in added.plain_text
    assert ("This topic only" in added.plain_text) == (where == "topic")
    assert _keywords(world.engine, chat_id, thread_id) == ["diffusion", "graph neural", "扩散", "-survey"]
    if where == "topic":
        assert _keywords(world.engine, chat_id) == [], "the group itself keeps its own (no) keywords"

    assert "Already there: diffusion" in (await say("/keywords add diffusion")).plain_text
    switched = await say("/keywords add “-graph neural”")  # a phone's curly quotes
    assert "Added: -graph neural" in switched.plain_text
    assert "Changed: -扩散" in (await say("/keywords add -扩散")).plain_text
    removed = await say("/keywords remove -survey gan")
    assert "Removed: survey" in removed.plain_text and "Not among the keywords here: gan" in removed.plain_text

    bad = {
        '/keywords add "graph neural': "A quote is not closed",
        "/keywords add": "Usage: /keywords",
        "/keywords": None,
        "/keywords frobnicate x": "frobnicate is not add, remove or clear",
        '/keywords add ""': "An empty keyword",
        "/keywords add " + "x" * 65: "at most 64 characters; this one has 65",
        "/keywords add " + " ".join(f"w{n}" for n in range(31)): "At most 30 keywords per chat or topic; this "
                                                                   "command gives 31",
        "/keywords add " + " ".join(f"w{n}" for n in range(27)): "At most 30 keywords per chat or topic: 4 are "
                                                                   "stored and 27 more would pass it",
    }
    before = _keywords(world.engine, chat_id, thread_id)
    for text, expected in bad.items():
        answer = await say(text)
        if expected is not None:
            assert expected in answer.plain_text, (text, answer.plain_text)
    assert _keywords(world.engine, chat_id, thread_id) == before, "refused arguments change nothing"

    await say("/categories AS")  # no AS paper in the samples: only keywords bring papers now
    await say("/keywords clear")
    await say("/keywords add diffusion 扩散")
    today = await bot.say(chat_id, user, "/today", message_thread_id=thread_id or None)
    assert len(today) == 1 and today[0].message_thread_id == (thread_id or None)
    cards = today[0].plain_text
    assert "🔑 diffusion" in cards or "🔑 扩散" in cards
    assert set(card_tags(today)) <= {"CV", "CL"} and card_tags(today)
    for paper in _delivered(world.engine, chat_id, thread_id):
        text = " ".join(filter(None, (paper.title_en, paper.title_zh, paper.summary_zh, paper.abstract_en))).lower()
        assert "diffusion" in text or "扩散" in text
    cleared = await say("/keywords clear")
    assert "Removed 2 keywords." in cleared.plain_text and "No keywords yet" in cleared.plain_text
    assert "There were no keywords." in (await say("/keywords clear")).plain_text
    _no_rejected_messages(world.emulator)


async def test_group_members_may_read_keywords_but_not_change_them(world: World) -> None:
    bot = world.bot
    await bot.say(GROUP, GROUP_ADMIN, "/start")
    await bot.say(GROUP, GROUP_ADMIN, "/keywords add diffusion")
    (refusal,) = await bot.say(GROUP, MEMBER, "/keywords add -diffusion")
    assert "Only group administrators" in refusal.plain_text
    (refusal,) = await bot.say(GROUP, MEMBER, "/keywords clear")
    assert "Only group administrators" in refusal.plain_text
    (shown,) = await bot.say(GROUP, MEMBER, "/keywords")
    assert "Included (papers that mention one come too): diffusion" in shown.plain_text
    assert _keywords(world.engine, GROUP) == ["diffusion"]


async def test_commands_in_a_forum_topic_configure_that_topic_and_its_digest_goes_there(world: World) -> None:
    bot, emulator, engine = world.bot, world.emulator, world.engine
    vision, language = await _open_topic(world, "vision"), await _open_topic(world, "language")
    await bot.say(FORUM, GROUP_ADMIN, "/start")  # the General topic: the group itself
    await bot.say(FORUM, GROUP_ADMIN, "/categories CV CL")
    await bot.say(FORUM, GROUP_ADMIN, "/keywords add -survey")

    (hint,) = await bot.say(FORUM, MEMBER, "/settings", message_thread_id=vision)
    assert "This topic has no digest of its own yet" in hint.plain_text and hint.message_thread_id == vision
    (done,) = await bot.say(FORUM, GROUP_ADMIN, "/categories CV", message_thread_id=vision)
    assert "This topic only: Following: CV" in done.plain_text and done.message_thread_id == vision
    topic = _destination(engine, FORUM, vision)
    assert (topic.categories, topic.language, topic.active) == ("CV", "both", True)
    assert _keywords(engine, FORUM, vision) == ["-survey"], "started as a copy of the group's keywords"
    assert _destination(engine, FORUM).categories == "CV,CL", "the group's own settings did not change"
    (keyboard,) = await bot.say(FORUM, GROUP_ADMIN, "/categories", message_thread_id=vision)
    assert keyboard.message_thread_id == vision and "This topic only" in keyboard.plain_text
    await bot.tap(FORUM, GROUP_ADMIN, keyboard.message_id, "c:LG")
    assert "This topic only" in emulator.message(FORUM, keyboard.message_id).plain_text
    assert _destination(engine, FORUM, vision).categories == "LG,CV"
    await bot.tap(FORUM, GROUP_ADMIN, keyboard.message_id, "c:LG")
    assert (_destination(engine, FORUM, vision).categories, _destination(engine, FORUM).categories) == ("CV", "CV,CL")

    (timed,) = await bot.say(FORUM, GROUP_ADMIN, "/time 10:00 Europe/Berlin", message_thread_id=vision)
    assert "This topic only: Daily digest at 10:00 (Europe/Berlin)" in timed.plain_text
    (lang,) = await bot.say(FORUM, GROUP_ADMIN, "/lang zh", message_thread_id=vision)
    assert "仅本话题" in lang.plain_text and lang.message_thread_id == vision
    (settings,) = await bot.say(FORUM, MEMBER, "/settings", message_thread_id=vision)
    assert "本话题的设置" in settings.plain_text and "10:00" in settings.plain_text
    (group_settings,) = await bot.say(FORUM, MEMBER, "/settings")
    assert "Settings of this chat" in group_settings.plain_text and "09:00" in group_settings.plain_text
    assert group_settings.message_thread_id is None

    (paused,) = await bot.say(FORUM, GROUP_ADMIN, "/unsubscribe", message_thread_id=vision)
    assert "仅本话题" in paused.plain_text and not _destination(engine, FORUM, vision).active
    assert _destination(engine, FORUM).active, "pausing a topic leaves the group subscribed"
    await bot.say(FORUM, GROUP_ADMIN, "/subscribe", message_thread_id=vision)
    assert _destination(engine, FORUM, vision).active

    (refusal,) = await bot.say(FORUM, MEMBER, "/categories LG", message_thread_id=language)
    assert "Only group administrators" in refusal.plain_text
    assert _destination(engine, FORUM, language) is None
    (welcome,) = await bot.say(FORUM, GROUP_ADMIN, "/start", message_thread_id=language)
    assert "This topic is subscribed" in welcome.plain_text and welcome.message_thread_id == language

    today = await bot.say(FORUM, MEMBER, "/today", message_thread_id=vision)
    assert len(today) == 1 and today[0].message_thread_id == vision and set(card_tags(today)) == {"CV"}
    first_in_vision = {b["callback_data"] for b in today[0].buttons}
    star = today[0].buttons[0]["callback_data"]
    answer = await bot.tap(FORUM, MEMBER, today[0].message_id, star)
    assert "收藏" in answer["text"], "a topic's buttons answer in the topic's language"
    (other,) = await bot.say(FORUM, MEMBER, "/today", message_thread_id=language)
    assert other.message_thread_id == language and set(card_tags([other])) <= {"CV", "CL"}
    assert first_in_vision & {b["callback_data"] for b in other.buttons}, "seen in one topic, still new in another"

    # The day's scheduled digests: 09:00 Shanghai for the group and the language topic, 10:00 Berlin for vision.
    sent_before = len(emulator.sent(FORUM))
    world.clock.now = datetime(2026, 11, 22, 9, 1, tzinfo=UTC)
    await emulator.wait_until(lambda: len(emulator.sent(FORUM)) >= sent_before + 3, timeout=10)
    await _let_ticks_run(world)
    scheduled = emulator.sent(FORUM)[sent_before:]
    assert sorted(m.message_thread_id or 0 for m in scheduled) == [0, vision, language]
    assert all("survey" not in m.plain_text.lower() for m in scheduled if m.message_thread_id != language)
    with session_scope(engine) as session:
        assert session.exec(select(PendingDigest)).all() == []
    _no_rejected_messages(emulator)


async def test_a_deleted_topic_stops_alone_and_a_closed_topic_skips_its_digest(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.delivery")
    bot, emulator, engine = world.bot, world.emulator, world.engine
    doomed, closed, healthy = [await _open_topic(world, name) for name in ("doomed", "closed", "healthy")]
    await bot.say(FORUM, GROUP_ADMIN, "/start")
    for thread_id in (doomed, closed, healthy):
        await bot.say(FORUM, GROUP_ADMIN, "/start", message_thread_id=thread_id)
    emulator.delete_forum_topic(FORUM, doomed)
    emulator.close_forum_topic(FORUM, closed, by=GROUP_ADMIN)
    await bot.until_idle()

    requests_before = len(emulator.requests)

    def tries(*thread_ids: int) -> int:
        """sendMessage calls into these topics since the clock moved."""
        return sum(1 for r in emulator.requests[requests_before:] if r.method == "sendMessage"
                   and int(r.params.get("message_thread_id") or 0) in thread_ids)

    world.clock.now = datetime(2026, 11, 22, 1, 1, tzinfo=UTC)  # 09:01 in Shanghai: all four are due
    await emulator.wait_until(lambda: {m.message_thread_id for m in emulator.sent(FORUM) if m.buttons}
                              >= {None, healthy}, timeout=10)
    await _let_ticks_run(world, ticks=5)
    assert tries(doomed) == 1 and tries(closed) == 1, "one try each, no retry storm"
    assert not _destination(engine, FORUM, doomed).active, "the deleted topic is marked inactive"
    assert _destination(engine, FORUM, closed).active, "a closed topic stays subscribed"
    assert _destination(engine, FORUM).active and _destination(engine, FORUM, healthy).active
    assert _delivered(engine, FORUM, doomed) == [] and _delivered(engine, FORUM, closed) == []
    assert len(_delivered(engine, FORUM)) == 5 and len(_delivered(engine, FORUM, healthy)) == 5
    with session_scope(engine) as session:
        assert session.exec(select(PendingDigest)).all() == [], "nothing left owed, so nothing retried"
    logged = [record.getMessage() for record in caplog.records]
    assert any(f"chat={FORUM} thread={doomed} topic deleted" in line for line in logged), logged
    assert any(f"chat={FORUM} thread={closed} topic closed, digest skipped" in line for line in logged), logged

    emulator.reopen_forum_topic(FORUM, closed)
    today = await bot.say(FORUM, GROUP_ADMIN, "/today", message_thread_id=closed)
    stars = [button for button in today[0].buttons if button["callback_data"].startswith("f:")]
    assert len(today) == 1 and today[0].message_thread_id == closed and len(stars) == 5
    (hint,) = await bot.say(FORUM, GROUP_ADMIN, "/settings", message_thread_id=healthy)
    assert "active" in hint.plain_text

    sent_before = len(emulator.sent(FORUM))
    world.clock.now = datetime(2026, 11, 23, 1, 1, tzinfo=UTC)  # the next day: the deleted topic gets nothing
    await emulator.wait_until(lambda: len(emulator.sent(FORUM)) >= sent_before + 3, timeout=10)
    await _let_ticks_run(world)
    assert sorted(m.message_thread_id or 0 for m in emulator.sent(FORUM)[sent_before:]) == [0, closed, healthy]
    assert tries(doomed) == 1, "the deleted topic was not tried again"


async def test_post_now_for_a_forum_reaches_the_group_and_each_subscribed_topic(world: World) -> None:
    bot, emulator = world.bot, world.emulator
    topic = await _open_topic(world, "papers")
    admin = 3003
    emulator.add_private_chat(admin, first_name="Root", language_code="en")
    bot.application.bot_data.services.settings.admin_ids = frozenset({admin})
    await bot.say(FORUM, GROUP_ADMIN, "/start")
    await bot.say(FORUM, GROUP_ADMIN, "/start", message_thread_id=topic)
    (summary,) = await bot.say(admin, admin, f"/post_now {FORUM}")
    assert "Posted to 2 chats" in summary.plain_text
    assert sorted(m.message_thread_id or 0 for m in emulator.sent(FORUM) if m.buttons) == [0, topic]
