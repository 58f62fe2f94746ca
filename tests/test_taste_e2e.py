"""End to end through the emulator: stars reorder the next /today, with a reason on each card; /taste, /settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.emulator import BotApiEmulator, SentMessage
from bot.playground import Playground, emulator_settings, running_bot
from storage.db import open_store
from storage.ingest import Ingestor
from tests.conftest import UNTHROTTLED_USERS, FakeClock
from tests.taste_fixtures import GRASPING, REASONING, grasping_bibtex, newer_digest, older_digest

STARRING, PLAIN, SWITCHED_OFF, ZH_STARRING = 3001, 3002, 3003, 3004
GROUP, GROUP_ADMIN, MEMBER = -700, 3101, 3102
TITLES = [title for _tag, title, *_rest in GRASPING + REASONING]
GRASPING_TITLES = {title for _tag, title, *_rest in GRASPING}


@dataclass
class World:
    bot: Playground
    emulator: BotApiEmulator
    engine: Engine


def _ingest(engine: Engine, text: str, *, source: str, day: date) -> None:
    """Store a digest as /ingest does: its papers, then their vectors."""
    ingestor = Ingestor(engine)
    assert ingestor.ingest_text(text, source=source, digest_date=day).ok
    assert ingestor.write_vectors() > 0


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The older fixture digest in a fresh store; readers in private chats and a group, the bot polling."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = open_store(url)
    _ingest(engine, older_digest(), source="older", day=date(2026, 11, 20))
    async with BotApiEmulator() as emulator:
        for user in (STARRING, PLAIN, SWITCHED_OFF, GROUP_ADMIN, MEMBER):
            emulator.add_private_chat(user, first_name="Reader", language_code="en")
        emulator.add_private_chat(ZH_STARRING, first_name="读者", language_code="zh-hans")
        emulator.add_group(GROUP, title="Robotics club", admins={GROUP_ADMIN}, members={MEMBER})
        settings = emulator_settings(emulator, url, **UNTHROTTLED_USERS)
        clock = FakeClock(datetime(2026, 11, 22, 0, 30, tzinfo=UTC))
        async with running_bot(settings, engine, emulator=emulator, clock=clock) as bot:
            yield World(bot, emulator, engine)
    engine.dispose()


def titles_in(messages: list[SentMessage]) -> list[str]:
    """The fixture titles the cards show, in card order."""
    text = "\n".join(message.plain_text for message in messages)
    return sorted((title for title in TITLES if f" {title}" in text), key=lambda title: text.index(f" {title}"))


def reason_lines(messages: list[SentMessage]) -> list[str]:
    """The reason lines of the cards, in card order."""
    return [line for message in messages for line in message.plain_text.splitlines() if line.startswith("≈")]


async def _star_grasping(world: World, chat_id: int) -> None:
    """Subscribe, take the first /today (the older digest) and star its grasping papers."""
    await world.bot.say(chat_id, chat_id, "/start")
    (digest,) = await world.bot.say(chat_id, chat_id, "/today")
    shown = titles_in([digest])
    for number, title in enumerate(shown, start=1):
        if title in GRASPING_TITLES:
            await world.bot.tap(chat_id, chat_id, digest.message_id, _star_button(digest, number))


def _star_button(message: SentMessage, number: int) -> str:
    return next(button["callback_data"] for button in message.buttons if button["text"].endswith(f" {number}")
                and button["callback_data"].startswith("f:"))


async def test_stars_bring_papers_of_that_kind_first_with_reasons(world: World) -> None:
    bot = world.bot
    await _star_grasping(world, STARRING)
    await bot.say(PLAIN, PLAIN, "/start")
    await bot.say(PLAIN, PLAIN, "/today")
    await _star_grasping(world, SWITCHED_OFF)
    (off,) = await bot.say(SWITCHED_OFF, SWITCHED_OFF, "/taste off")
    assert "switched off" in off.plain_text
    _ingest(world.engine, newer_digest(), source="newer", day=date(2026, 11, 21))

    ranked = await bot.say(STARRING, STARRING, "/today")
    today = await bot.say(PLAIN, PLAIN, "/today")
    switched_off = await bot.say(SWITCHED_OFF, SWITCHED_OFF, "/today")

    first_three = titles_in(ranked)[:3]
    assert set(first_three) == {title for _tag, title, *_rest in GRASPING[3:]}, "the starred kind comes first"
    reasons = reason_lines(ranked)
    assert len(reasons) >= 3 and all(line.startswith("≈ ⭐ ") for line in reasons)
    starred_titles = [title for _tag, title, *_rest in GRASPING[:3]]
    assert all(any(line[4:].rstrip("…") in title or title.startswith(line[4:].rstrip("…"))
                   for title in starred_titles) for line in reasons[:3]), reasons
    assert titles_in(today)[:3] == [title for _tag, title, *_rest in REASONING[3:]], "today's order leads with these"
    assert reason_lines(today) == [] and reason_lines(switched_off) == []
    assert titles_in(switched_off) == titles_in(today), "ranking off: exactly today's order"


async def test_taste_and_settings_say_what_ranking_rests_on(world: World) -> None:
    bot = world.bot
    await bot.say(PLAIN, PLAIN, "/start")
    (nothing,) = await bot.say(PLAIN, PLAIN, "/taste")
    assert "not yet" in nothing.plain_text and "0 favourites and 0 imported papers" in nothing.plain_text
    await _star_grasping(world, STARRING)
    (taste,) = await bot.say(STARRING, STARRING, "/taste")
    assert "Ranking by taste: on." in taste.plain_text
    assert "It rests on 3 favourites and 0 imported papers." in taste.plain_text
    assert "grasping" in taste.plain_text.split("Words that weigh most:")[1].splitlines()[0]
    (settings,) = await bot.say(STARRING, STARRING, "/settings")
    assert "Ranking by taste: on (/taste)" in settings.plain_text
    await bot.say(STARRING, STARRING, "/taste off")
    (settings,) = await bot.say(STARRING, STARRING, "/settings")
    assert "Ranking by taste: off (/taste)" in settings.plain_text
    (usage,) = await bot.say(STARRING, STARRING, "/taste sideways")
    assert "Usage: /taste" in usage.plain_text


async def test_reason_line_speaks_the_chats_language(world: World) -> None:
    await _star_grasping(world, ZH_STARRING)
    _ingest(world.engine, newer_digest(), source="newer", day=date(2026, 11, 21))
    ranked = await world.bot.say(ZH_STARRING, ZH_STARRING, "/today")
    assert reason_lines(ranked) and all(line.startswith("≈ ⭐ 近似收藏：") for line in reason_lines(ranked))
    (taste,) = await world.bot.say(ZH_STARRING, ZH_STARRING, "/taste")
    assert "按口味排序：已开启" in taste.plain_text


async def test_only_group_admins_switch_a_groups_ranking(world: World) -> None:
    bot = world.bot
    await bot.say(GROUP, GROUP_ADMIN, "/start")
    (refused,) = await bot.say(GROUP, MEMBER, "/taste on")
    assert "Only group administrators" in refused.plain_text
    (shown,) = await bot.say(GROUP, MEMBER, "/taste")
    assert "not yet" in shown.plain_text
    (done,) = await bot.say(GROUP, GROUP_ADMIN, "/taste on")
    assert "switched on" in done.plain_text


async def test_importing_a_bib_ranks_a_chat_without_favourites(world: World) -> None:
    bot = world.bot
    for chat_id in (STARRING, PLAIN):
        await bot.say(chat_id, chat_id, "/start")
    (report,) = await bot.send_document(STARRING, STARRING, "My Library.bib", grasping_bibtex().encode(),
                                        caption="/import")
    lines = report.plain_text.splitlines()
    assert lines[:3] == ["Imported 3 papers from your BibTeX library.",
                         "1 of them is a paper I have; its full text counts.",
                         "1 entry without a title was skipped."]
    assert "Ranking by taste: on." in report.plain_text
    _ingest(world.engine, newer_digest(), source="newer", day=date(2026, 11, 21))
    ranked = await bot.say(STARRING, STARRING, "/today")
    today = await bot.say(PLAIN, PLAIN, "/today")
    assert set(titles_in(ranked)[:3]) <= GRASPING_TITLES and titles_in(ranked) != titles_in(today)
    assert titles_in(today)[:3] == [title for _tag, title, *_rest in REASONING[3:]]
    reasons = reason_lines(ranked)
    assert len(reasons) >= 3 and all(line.startswith("≈ 📚 ") for line in reasons)
    assert reason_lines(today) == []


async def test_bad_imports_say_why_in_one_line_and_change_nothing(world: World) -> None:
    bot, emulator = world.bot, world.emulator
    await bot.say(PLAIN, PLAIN, "/start")
    for name, content, expected in (
        ("notes.txt", b"Some notes about grasping.\nNot a library.", "is not a BibTeX (.bib), RIS (.ris) or Zotero"),
        ("empty.bib", b"", "has no entries"),
        ("photo.bib", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "is not a BibTeX (.bib), RIS (.ris) or Zotero"),
    ):
        (refused,) = await bot.send_document(PLAIN, PLAIN, name, content, caption="/import")
        assert expected in refused.plain_text and "nothing was imported" in refused.plain_text
        assert len(refused.plain_text.splitlines()) == 1
    (taste,) = await bot.say(PLAIN, PLAIN, "/taste")
    assert "0 favourites and 0 imported papers" in taste.plain_text

    ris = (b"TY  - JOUR\nTI  - Learning Grasp Poses for Cluttered Bins\nER  -\n\n"
           b"TY  - JOUR\nTI  - Tactile Sensing for Robust Robotic Grasping\nER  -\n")
    file_message = emulator.user_sends_document(PLAIN, PLAIN, "export.ris", ris)
    await bot.until_idle()
    (imported,) = await bot.say(PLAIN, PLAIN, "/import", reply_to_message_id=file_message)
    assert imported.plain_text.startswith("Imported 2 papers from your RIS library.")
    (cleared,) = await bot.say(PLAIN, PLAIN, "/import clear")
    assert "Forgot 2 imported papers" in cleared.plain_text
    (usage,) = await bot.say(PLAIN, PLAIN, "/import")
    assert "caption /import" in usage.plain_text

    await bot.say(GROUP, GROUP_ADMIN, "/start")
    (refused,) = await bot.send_document(GROUP, MEMBER, "lib.bib", grasping_bibtex().encode(), caption="/import")
    assert "Only group administrators" in refused.plain_text
    (accepted,) = await bot.send_document(GROUP, GROUP_ADMIN, "lib.bib", grasping_bibtex().encode(),
                                          caption="/import")
    assert accepted.plain_text.startswith("Imported 3 papers")


async def test_papers_a_crash_left_without_vectors_get_them_when_the_bot_starts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = open_store(url)
    report = Ingestor(engine).ingest_text(older_digest(), source="older", digest_date=date(2026, 11, 20))
    missing = text("SELECT count(*) FROM paper WHERE id NOT IN (SELECT paper_id FROM paper_vector)")
    with engine.connect() as connection:  # stored, and the process died before writing their vectors
        assert connection.execute(missing).scalar_one() == report.new > 0
    async with BotApiEmulator() as emulator:
        clock = FakeClock(datetime(2026, 11, 22, 0, 30, tzinfo=UTC))
        async with running_bot(emulator_settings(emulator, url), engine, emulator=emulator, clock=clock):
            with engine.connect() as connection:
                assert connection.execute(missing).scalar_one() == 0
    engine.dispose()
