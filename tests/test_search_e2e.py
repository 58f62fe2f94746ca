"""End to end: /search, /paper and /export against the local Bot API emulator, in private chats, a group and a
forum topic, bad arguments and forged buttons included."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.emulator import BotApiEmulator, SentMessage
from bot.playground import Playground, emulator_settings, running_bot
from storage.db import open_store, session_scope
from storage.ingest import Ingestor
from storage.models import Favourite, Paper
from tests.conftest import UNTHROTTLED_USERS, sample_text

ZH_USER, EN_USER = 1001, 1002
GROUP, GROUP_ADMIN, MEMBER = -500, 2001, 2002
FORUM, FORUM_ADMIN, TOPIC = -1_000_000_000_777, 3001, 1  # the topic is the forum's first message
NOW = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)
ROBOTS = 12  # papers about robots added to the samples, enough for three pages


@dataclass
class World:
    """The bot, the emulator and the store."""

    bot: Playground
    emulator: BotApiEmulator
    engine: Engine


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    """The sample digests plus a dozen robot papers; two private chats, a group and a forum, all subscribed."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = open_store(url)
    ingestor = Ingestor(engine)
    for prefix in ("000", "001", "002", "003", "004"):
        assert ingestor.ingest_text(sample_text(prefix), source=prefix, digest_date=date(2026, 11, 1)).ok
    robots = "\n\n".join(
        f"{n}、[RO] Walking Robot Number {n}\n\nRo Bot{n}, Ada Lovelace\n[Robot Lab]\n"
        f"会走路的机器人第{n}号。我们让机器人行走。\n\nWe make a robot walk, version {n}.\n"
        f"https://arxiv.org/abs/2611.{n:05d}" for n in range(1, ROBOTS + 1))
    assert ingestor.ingest_text(robots, source="robots", digest_date=date(2026, 11, 20)).ok
    async with BotApiEmulator() as emulator:
        emulator.add_private_chat(ZH_USER, first_name="林", language_code="zh-hans")
        emulator.add_private_chat(EN_USER, first_name="Ada", language_code="en")
        emulator.add_group(GROUP, title="ML reading group", admins={GROUP_ADMIN}, members={MEMBER})
        emulator.add_group(FORUM, title="Papers forum", supergroup=True, is_forum=True, admins={FORUM_ADMIN},
                           members={MEMBER})
        assert emulator.create_forum_topic(FORUM, "Reading list", by=FORUM_ADMIN) == TOPIC
        settings = emulator_settings(emulator, url, **UNTHROTTLED_USERS)
        async with running_bot(settings, engine, emulator=emulator, clock=lambda: NOW) as bot:
            world = World(bot, emulator, engine)
            await bot.say(ZH_USER, ZH_USER, "/start")
            await bot.say(EN_USER, EN_USER, "/start")
            await bot.say(GROUP, GROUP_ADMIN, "/start")
            await bot.say(FORUM, FORUM_ADMIN, "/start", message_thread_id=TOPIC)
            yield world
    engine.dispose()


CHATS = {  # chat, the member who searches, the forum topic (None: not a forum), interface language
    "zh-private": (ZH_USER, ZH_USER, None, "zh"),
    "en-private": (EN_USER, EN_USER, None, "en"),
    "group": (GROUP, MEMBER, None, "en"),
    "forum-topic": (FORUM, MEMBER, TOPIC, "en"),
}
WORDS = {
    "zh": {"matches": "篇论文", "details": "📄", "expired": "已过期", "no_page": "没有这一页", "empty": "要搜索什么",
           "long": "太长", "quote": "引号", "none": "没有论文匹配", "no_favourites": "还没有可导出的收藏",
           "format": "未知格式", "which": "哪一篇", "numbers": "是数字", "unknown": "库中没有论文"},
    "en": {"matches": "papers</b> match", "details": "📄", "expired": "expired", "no_page": "does not exist",
           "empty": "What should I look for", "long": "too long", "quote": "not closed", "none": "No papers match",
           "no_favourites": "No favourites to export", "format": "Unknown format", "which": "Which paper",
           "numbers": "are numbers", "unknown": "There is no paper #"},
}


def _ids(message: SentMessage, prefix: str) -> list[int]:
    """Paper ids behind one kind of button (f: stars, d: details)."""
    return [int(button["callback_data"].split(":")[1]) for button in message.buttons
            if button["callback_data"].startswith(prefix)]


def _in_place(messages: list[SentMessage], thread: int | None) -> None:
    """Every reply went to the chat's forum topic (or to no topic outside forums)."""
    assert messages and all(message.message_thread_id == thread for message in messages)


@pytest.mark.parametrize("place", sorted(CHATS))
async def test_search_pages_stars_and_details_where_the_user_asked(world: World, place: str) -> None:
    chat, user, thread, language = CHATS[place]
    words, bot, emulator = WORDS[language], world.bot, world.emulator
    (results,) = await bot.say(chat, user, "/search walking robot", message_thread_id=thread)
    _in_place([results], thread)
    assert f"{ROBOTS} " in results.plain_text and "1/3" in results.plain_text
    assert words["matches"] in results.text and "Walking Robot Number" in results.plain_text
    first_page = _ids(results, "f:")
    assert len(first_page) == 5 and _ids(results, "d:") == first_page
    assert [button["text"] for button in results.buttons][-1] == "▶"

    await bot.tap(chat, user, results.message_id, results.buttons[-1]["callback_data"])
    second = emulator.message(chat, results.message_id)
    assert "2/3" in second.plain_text and "6. " in second.plain_text
    assert not set(_ids(second, "f:")) & set(first_page)
    assert [button["text"] for button in second.buttons[-2:]] == ["◀", "▶"]

    star = next(b["callback_data"] for b in second.buttons if b["callback_data"].startswith("f:"))
    answer = await bot.tap(chat, user, results.message_id, star)
    assert not answer["show_alert"]
    assert emulator.message(chat, results.message_id).buttons[0]["text"] == "✅ 6"
    with session_scope(world.engine) as session:
        assert session.exec(select(Favourite.paper_id).where(Favourite.chat_id == chat)).all() == [int(star[2:])]

    details_button = next(b["callback_data"] for b in second.buttons if b["callback_data"].startswith("d:"))
    before = len(emulator.sent(chat))
    await bot.tap(chat, user, results.message_id, details_button)
    details = emulator.sent(chat)[before:]
    _in_place(details, thread)
    with session_scope(world.engine) as session:
        paper = session.get(Paper, int(details_button[2:]))
    whole = "\n".join(message.plain_text for message in details)
    assert paper.title_en in whole and paper.summary_zh in whole and paper.abstract_en in whole
    assert "Robot Lab" in whole and "Ada Lovelace" in whole and f"arXiv:{paper.arxiv_id}" in whole

    (by_command,) = await bot.say(chat, user, f"/paper {paper.id}", message_thread_id=thread)
    _in_place([by_command], thread)
    assert by_command.plain_text == details[0].plain_text
    assert [r for r in emulator.requests if r.status != 200] == []


@pytest.mark.parametrize("place", sorted(CHATS))
async def test_bad_search_and_paper_arguments_get_clear_answers(world: World, place: str) -> None:
    chat, user, thread, language = CHATS[place]
    words = WORDS[language]
    cases = {
        "/search": words["empty"], "/search    ": words["empty"], "/search " + "机器人" * 100: words["long"],
        '/search "walking robot': words["quote"], "/search zzzzqqqq": words["none"],
        "/paper": words["which"], "/paper abc": words["numbers"], "/paper 99999999": words["unknown"],
        "/paper 99999999999999": words["unknown"], "/export pdf": words["format"],
        "/export": words["no_favourites"],
    }
    for command, expected in cases.items():
        (answer,) = await world.bot.say(chat, user, command, message_thread_id=thread)
        _in_place([answer], thread)
        assert expected in answer.plain_text, command
        assert not answer.buttons and answer.document is None, command
    (usage,) = await world.bot.say(chat, user, '/search "unclosed', message_thread_id=thread)
    assert "/search" in usage.plain_text, "a refusal shows how to write a query"


async def test_forged_and_expired_search_buttons_are_refused(world: World) -> None:
    bot = world.bot
    (mine,) = await bot.say(EN_USER, EN_USER, "/search robot")
    (theirs,) = await bot.say(ZH_USER, ZH_USER, "/search robot")
    my_search = mine.buttons[-1]["callback_data"].split(":")[1]
    their_search = theirs.buttons[-1]["callback_data"].split(":")[1]
    refusals = {
        f"s:{their_search}:1": "expired",  # another chat's search
        "s:999999:0": "expired",
        f"s:{my_search}:400": "does not exist",
        "s:abc:1": "no longer valid",
        "s:1": "no longer valid",
        "d:99999999": "no longer available",
        "d:99999999999": "no longer available",
        "d:-1": "no longer valid",
    }
    for data, expected in refusals.items():
        answer = await bot.tap(EN_USER, EN_USER, mine.message_id, data, forged=True)
        assert answer["show_alert"] and expected in answer["text"], data
    assert world.emulator.message(EN_USER, mine.message_id).plain_text == mine.plain_text
    for _ in range(21):  # a chat keeps its 20 newest searches
        await bot.say(EN_USER, EN_USER, "/search walking")
    answer = await bot.tap(EN_USER, EN_USER, mine.message_id, mine.buttons[-1]["callback_data"])
    assert answer["show_alert"] and "expired" in answer["text"]


async def test_chinese_words_of_any_length_and_authors_are_found(world: World) -> None:
    bot = world.bot
    for query in ("机器人", "行走", "第3号", '"Ada Lovelace"', "Lovelace 机器人"):
        (results,) = await bot.say(ZH_USER, ZH_USER, f"/search {query}")
        assert "篇论文" in results.plain_text and results.buttons, query
    (one,) = await bot.say(ZH_USER, ZH_USER, "/search 第3号")
    assert "1 篇论文" in one.plain_text and "Walking Robot Number 3" in one.plain_text


def _bib_fields(entry: str) -> dict[str, str]:
    return dict(re.findall(r"^  (\w+) = \{(.*)\},$", entry, re.MULTILINE))


@pytest.mark.parametrize("place", sorted(CHATS))
async def test_export_sends_markdown_and_bibtex_of_the_favourites(world: World, place: str) -> None:
    chat, user, thread, _language = CHATS[place]
    bot, emulator = world.bot, world.emulator
    (results,) = await bot.say(chat, user, "/search walking robot", message_thread_id=thread)
    starred = _ids(results, "f:")[:2]
    for paper_id in starred:
        await bot.tap(chat, user, results.message_id, f"f:{paper_id}")
    files = await bot.say(chat, user, "/export", message_thread_id=thread)
    _in_place(files, thread)
    assert [message.document.file_name for message in files] == ["favourites-2026-11-22.md",
                                                                  "favourites-2026-11-22.bib"]
    markdown, bibtex = (message.document.content.decode("utf-8") for message in files)
    with session_scope(world.engine) as session:
        papers = [session.get(Paper, paper_id) for paper_id in starred]
    assert markdown.startswith("# ") and all(paper.title_en in markdown for paper in papers)
    entries = bibtex.strip().split("\n\n")
    assert len(entries) == 2 and all(entry.startswith("@article{") for entry in entries)
    assert {_bib_fields(entry)["eprint"] for entry in entries} == {paper.arxiv_id for paper in papers}
    assert all(_bib_fields(entry)["primaryClass"] == "cs.RO" for entry in entries)
    assert len({entry.split(",", 1)[0] for entry in entries}) == 2, "unique citation keys"
    (only_bib,) = await bot.say(chat, user, "/export bib", message_thread_id=thread)
    assert only_bib.document.file_name.endswith(".bib") and only_bib.document.content.decode() == bibtex
    (only_md,) = await bot.say(chat, user, "/export MD", message_thread_id=thread)
    assert only_md.document.file_name.endswith(".md")
    assert [r for r in emulator.requests if r.status != 200] == []


async def test_search_and_export_ask_an_unsubscribed_chat_to_start(world: World) -> None:
    world.emulator.add_private_chat(4004, first_name="New", language_code="en")
    for command in ("/search robot", "/export"):
        (answer,) = await world.bot.say(4004, 4004, command)
        assert "/start" in answer.plain_text
    (details,) = await world.bot.say(4004, 4004, "/paper 1")
    assert details.plain_text, "/paper needs no subscription"


@pytest.mark.parametrize("place", sorted(CHATS))
async def test_daily_cards_have_a_details_button_under_each_star(world: World, place: str) -> None:
    """Details go where the digest is (which forum topic a digest goes to is the delivery's business)."""
    chat, user, thread, _language = CHATS[place]
    bot, emulator = world.bot, world.emulator
    (digest,) = await bot.say(chat, user, "/today", message_thread_id=thread)
    stars, details = _ids(digest, "f:"), _ids(digest, "d:")
    assert len(stars) == 5 and details == stars
    await bot.tap(chat, user, digest.message_id, f"f:{stars[2]}")
    redrawn = emulator.message(chat, digest.message_id)
    assert [b["text"] for b in redrawn.buttons] == ["⭐ 1", "⭐ 2", "✅ 3", "⭐ 4", "⭐ 5",
                                                   "📄 1", "📄 2", "📄 3", "📄 4", "📄 5"], "starring keeps 📄"
    before = len(emulator.sent(chat))
    await bot.tap(chat, user, digest.message_id, f"d:{details[2]}")
    sent = emulator.sent(chat)[before:]
    _in_place(sent, digest.message_thread_id)
    with session_scope(world.engine) as session:
        paper = session.get(Paper, details[2])
    whole = "\n".join(message.plain_text for message in sent)
    assert (paper.title_en or paper.title_zh) in whole
    assert all(part in whole for part in (paper.summary_zh, paper.abstract_en) if part)
