"""End to end: the real python-telegram-bot client against the local Bot API emulator, as subscribers use it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from bot.emulator import BotApiEmulator
from bot.playground import Playground, emulator_settings, running_bot
from storage.db import open_store, session_scope
from storage.ingest import Ingestor
from storage.models import Chat, Delivery, Favourite, Paper
from tests.conftest import UNTHROTTLED_USERS, FakeClock, card_tags, ingest_samples
from tests.local_http import Response, local_server

ZH_USER, EN_USER, ADMIN = 1001, 1002, 1003
GROUP, GROUP_ADMIN, MEMBER = -500, 2001, 2002
SUPERGROUP = -1_000_000_000_500


@dataclass
class World:
    """Everything a test touches."""

    bot: Playground
    emulator: BotApiEmulator
    clock: FakeClock
    engine: Engine


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    """Samples in a fresh store, three users and a group, the bot polling the emulator with a fast tick."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = open_store(url)
    ingest_samples(engine)
    clock = FakeClock(datetime(2026, 11, 22, 0, 30, tzinfo=UTC))  # 08:30 in Shanghai
    async with BotApiEmulator() as emulator:
        emulator.add_private_chat(ZH_USER, first_name="林", language_code="zh-hans")
        emulator.add_private_chat(EN_USER, first_name="Ada", language_code="en")
        emulator.add_private_chat(ADMIN, first_name="Root", language_code="en")
        emulator.add_private_chat(GROUP_ADMIN, first_name="Grace", language_code="en")
        emulator.add_private_chat(MEMBER, first_name="Mel", language_code="en")
        emulator.add_group(GROUP, title="ML reading group", admins={GROUP_ADMIN}, members={MEMBER})
        settings = emulator_settings(emulator, url, admin_ids=frozenset({ADMIN}), tick_seconds=0.05,
                                     **UNTHROTTLED_USERS)
        async with running_bot(settings, engine, emulator=emulator, clock=clock, with_scheduler=True) as bot:
            yield World(bot, emulator, clock, engine)
    engine.dispose()


def _delivered(engine: Engine, chat_id: int) -> list[Paper]:
    """Papers recorded as sent to a chat."""
    with session_scope(engine) as session:
        ids = session.exec(select(Delivery.paper_id).where(Delivery.chat_id == chat_id)).all()
        return list(session.exec(select(Paper).where(Paper.id.in_(ids))).all())


def _chat(engine: Engine, chat_id: int) -> Chat | None:
    with session_scope(engine) as session:
        return session.get(Chat, (chat_id, 0))


def _no_rejected_messages(emulator: BotApiEmulator) -> None:
    """Every message the bot sent passed Telegram's HTML and length checks."""
    rejected = [r for r in emulator.requests if r.method in ("sendMessage", "editMessageText") and r.status != 200]
    assert rejected == []


async def test_chinese_user_onboarding_categories_today_and_favourites(world: World) -> None:
    bot, emulator = world.bot, world.emulator
    (welcome,) = await bot.say(ZH_USER, ZH_USER, "/start")
    assert "欢迎" in welcome.plain_text and "/today" in welcome.plain_text
    chat = _chat(world.engine, ZH_USER)
    assert chat.ui_language == "zh" and chat.language == "both" and chat.categories == "LG,CV,CL,AS,RO"
    assert chat.next_due_at == datetime(2026, 11, 22, 1, 0, tzinfo=UTC), "first digest at the next 09:00 Shanghai"

    (keyboard,) = await bot.say(ZH_USER, ZH_USER, "/categories")
    labels = [button["text"] for button in keyboard.buttons]
    assert len(labels) == 5 and all(label.startswith("✅") for label in labels)
    assert any("计算机视觉" in label and "Computer vision" in label for label in labels)
    for code in ("LG", "AS", "RO"):
        answer = await bot.tap(ZH_USER, ZH_USER, keyboard.message_id, f"c:{code}")
        assert answer is not None
    redrawn = emulator.message(ZH_USER, keyboard.message_id)
    marks = {button["callback_data"][2:]: button["text"][0] for button in redrawn.buttons}
    assert marks == {"LG": "▫", "CV": "✅", "CL": "✅", "AS": "▫", "RO": "▫"}
    assert _chat(world.engine, ZH_USER).categories == "CV,CL"

    first = await bot.say(ZH_USER, ZH_USER, "/today")
    second = await bot.say(ZH_USER, ZH_USER, "/today")
    assert len(first) == 1 and len(second) == 1, "a normal day is one message"
    assert "2026年11月22日 星期日" in first[0].plain_text and "5 篇新论文" in first[0].plain_text
    assert set(card_tags(first + second)) <= {"CV", "CL"} and len(card_tags(first)) == 5
    first_ids = {b["callback_data"] for b in first[0].buttons}
    second_ids = {b["callback_data"] for b in second[0].buttons}
    assert first_ids and second_ids and not first_ids & second_ids, "the second /today brings other papers"
    assert [b["text"] for b in first[0].buttons] == ["⭐ 1", "⭐ 2", "⭐ 3", "⭐ 4", "⭐ 5",
                                                    "📄 1", "📄 2", "📄 3", "📄 4", "📄 5"]

    while True:
        replies = await bot.say(ZH_USER, ZH_USER, "/today")
        if len(replies) == 1 and not replies[0].buttons:
            break
    assert "没有新论文" in replies[0].plain_text
    delivered = _delivered(world.engine, ZH_USER)
    assert {paper.category for paper in delivered} <= {"CV", "CL"}
    assert len(delivered) == len({paper.id for paper in delivered}), "no paper twice"

    star = first[0].buttons[1]["callback_data"]
    answer = await bot.tap(ZH_USER, ZH_USER, first[0].message_id, star)
    assert "收藏" in answer["text"]
    assert [b["text"] for b in emulator.message(ZH_USER, first[0].message_id).buttons][1] == "✅ 2"
    (listing,) = await bot.say(ZH_USER, ZH_USER, "/favorites")
    assert "已收藏 1 篇论文" in listing.plain_text
    assert [b["callback_data"] for b in listing.buttons] == [f"u:{star[2:]}:0"]
    await bot.tap(ZH_USER, ZH_USER, first[0].message_id, star)
    assert [b["text"] for b in emulator.message(ZH_USER, first[0].message_id).buttons][1] == "⭐ 2"
    (empty,) = await bot.say(ZH_USER, ZH_USER, "/favorites")
    assert "还没有收藏" in empty.plain_text and empty.buttons == []
    _no_rejected_messages(emulator)


JOURNEYS = {
    # chat, acting user, header date, "n new papers", "nothing new", favourites count line, empty favourites
    "zh-private": (ZH_USER, ZH_USER, "2026年11月22日 星期日", "5 篇新论文", "没有新论文", "已收藏 1 篇论文",
                   "还没有收藏"),
    "en-private": (EN_USER, EN_USER, "Sunday, November 22, 2026", "5 new papers", "Nothing new", "1 saved paper",
                   "No favourites yet"),
    "group": (GROUP, GROUP_ADMIN, "Sunday, November 22, 2026", "5 new papers", "Nothing new", "1 saved paper",
              "No favourites yet"),
}


@pytest.mark.parametrize("journey", sorted(JOURNEYS))
async def test_subscriber_journey(world: World, journey: str) -> None:
    """Onboarding, fields by keyboard and by arguments, /today until nothing is new, ⭐ and /favorites."""
    chat_id, user, day, count, nothing, saved_one, none_saved = JOURNEYS[journey]
    bot, emulator = world.bot, world.emulator
    await bot.say(chat_id, user, "/start")
    (keyboard,) = await bot.say(chat_id, user, "/categories")
    await bot.tap(chat_id, user, keyboard.message_id, "c:RO")
    assert _chat(world.engine, chat_id).categories == "LG,CV,CL,AS"
    (done,) = await bot.say(chat_id, user, "/categories LG CV")
    assert "LG, CV" in done.plain_text
    first = await bot.say(chat_id, user, "/today")
    second = await bot.say(chat_id, user, "/today")
    assert len(first) == len(second) == 1
    assert day in first[0].plain_text and count in first[0].plain_text
    assert set(card_tags(first + second)) <= {"LG", "CV"} and len(card_tags(first)) == 5
    assert not {b["callback_data"] for b in first[0].buttons} & {b["callback_data"] for b in second[0].buttons}
    for _ in range(20):
        (last,) = await bot.say(chat_id, user, "/today")
        if not last.buttons:
            break
    assert nothing in last.plain_text
    star = second[0].buttons[0]["callback_data"]
    await bot.tap(chat_id, user, second[0].message_id, star)
    assert emulator.message(chat_id, second[0].message_id).buttons[0]["text"] == "✅ 1"
    (listing,) = await bot.say(chat_id, user, "/favorites")
    assert saved_one in listing.plain_text
    await bot.tap(chat_id, user, second[0].message_id, star)
    assert emulator.message(chat_id, second[0].message_id).buttons[0]["text"] == "⭐ 1"
    (listing,) = await bot.say(chat_id, user, "/favorites")
    assert none_saved in listing.plain_text
    delivered = _delivered(world.engine, chat_id)
    assert {paper.category for paper in delivered} <= {"LG", "CV"}
    _no_rejected_messages(emulator)


async def test_english_user_sets_categories_by_arguments_and_language(world: World) -> None:
    bot = world.bot
    (welcome,) = await bot.say(EN_USER, EN_USER, "/start")
    assert "Welcome" in welcome.plain_text
    (done,) = await bot.say(EN_USER, EN_USER, "/categories cv cl")
    assert "CV, CL" in done.plain_text
    (digest,) = await bot.say(EN_USER, EN_USER, "/today")
    assert "Sunday, November 22, 2026" in digest.plain_text and "5 new papers" in digest.plain_text
    assert set(card_tags([digest])) <= {"CV", "CL"}
    (switched,) = await bot.say(EN_USER, EN_USER, "/lang zh")
    assert "中文" in switched.plain_text
    (chinese,) = await bot.say(EN_USER, EN_USER, "/today")
    assert "篇新论文" in chinese.plain_text
    (settings,) = await bot.say(EN_USER, EN_USER, "/settings")
    assert "CV" in settings.plain_text and "09:00" in settings.plain_text and "Asia/Shanghai" in settings.plain_text
    _no_rejected_messages(world.emulator)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/time 25:99", "25:99"),
        ("/time 08:00 Mars/Olympus", "Mars/Olympus"),
        ("/categories XX", "XX"),
        ("/lang fr", "/lang"),
        ("/time", "/time HH:MM"),
    ],
)
async def test_bad_arguments_get_a_clear_reply_and_change_nothing(world: World, command: str, expected: str) -> None:
    await world.bot.say(EN_USER, EN_USER, "/start")
    before = _chat(world.engine, EN_USER)
    (answer,) = await world.bot.say(EN_USER, EN_USER, command)
    assert expected in answer.plain_text
    after = _chat(world.engine, EN_USER)
    assert (after.digest_time, after.timezone, after.categories, after.language) == (
        before.digest_time, before.timezone, before.categories, before.language)


async def test_forged_and_stale_buttons_are_refused(world: World) -> None:
    bot = world.bot
    await bot.say(EN_USER, EN_USER, "/start")
    (digest,) = await bot.say(EN_USER, EN_USER, "/today")
    for forged in ("f:999999", "f:1; DROP TABLE paper", "c:ZZ", "x:1", "p:-1", "u:abc:0"):
        answer = await bot.tap(EN_USER, EN_USER, digest.message_id, forged, forged=True)
        assert answer is not None and answer["show_alert"], forged
        assert "no longer" in answer["text"]
    with session_scope(world.engine) as session:
        assert session.exec(select(Favourite)).all() == []
    assert _chat(world.engine, EN_USER).categories == "LG,CV,CL,AS,RO"


async def test_time_with_timezone_makes_the_tick_deliver_at_that_local_time(world: World) -> None:
    bot, emulator, clock = world.bot, world.emulator, world.clock
    await bot.say(EN_USER, EN_USER, "/start")
    (answer,) = await bot.say(EN_USER, EN_USER, "/time 07:15 Europe/Berlin")
    assert "07:15" in answer.plain_text and "Europe/Berlin" in answer.plain_text
    due = datetime(2026, 11, 22, 6, 15, tzinfo=UTC)  # 07:15 in Berlin (UTC+1 in November)
    assert _chat(world.engine, EN_USER).next_due_at == due
    sent_before = len(emulator.sent(EN_USER))
    clock.now = due - timedelta(seconds=1)
    await _let_ticks_run(world)
    assert len(emulator.sent(EN_USER)) == sent_before, "nothing before the local time"
    clock.now = due + timedelta(seconds=5)
    messages = await emulator.wait_for_messages(EN_USER, sent_before + 1, timeout=5)
    assert "new papers" in messages[-1].plain_text
    await _let_ticks_run(world)
    assert len(emulator.sent(EN_USER)) == sent_before + 1, "one digest a day, not one per tick"
    assert _chat(world.engine, EN_USER).next_due_at == due + timedelta(days=1)
    clock.now = due + timedelta(days=3)  # the bot was down for two days: it catches up once
    await emulator.wait_for_messages(EN_USER, sent_before + 2, timeout=5)
    await _let_ticks_run(world)
    assert len(emulator.sent(EN_USER)) == sent_before + 2
    assert _chat(world.engine, EN_USER).next_due_at == due + timedelta(days=4)


async def _let_ticks_run(world: World, ticks: int = 2) -> None:
    """Wait until the scheduler has completed a few more ticks at the clock's current time."""
    services = world.bot.application.bot_data.services
    target = services.ticks + ticks
    async with asyncio.timeout(5):
        while services.ticks < target:
            await asyncio.sleep(0.01)


async def test_group_admin_sets_up_a_group_and_members_can_only_read(world: World) -> None:
    bot = world.bot
    (refused,) = await bot.say(GROUP, MEMBER, "/start")
    assert "administrators" in refused.plain_text
    assert _chat(world.engine, GROUP) is None
    (welcome,) = await bot.say(GROUP, GROUP_ADMIN, "/start@papers_digest_bot")
    assert "Welcome" in welcome.plain_text
    (refusal,) = await bot.say(GROUP, MEMBER, "/categories RO")
    assert "administrators" in refusal.plain_text
    assert _chat(world.engine, GROUP).categories == "LG,CV,CL,AS,RO"
    (keyboard,) = await bot.say(GROUP, GROUP_ADMIN, "/categories")
    answer = await bot.tap(GROUP, MEMBER, keyboard.message_id, "c:LG")
    assert answer["show_alert"] and "administrators" in answer["text"]
    assert _chat(world.engine, GROUP).categories == "LG,CV,CL,AS,RO"
    (settings,) = await bot.say(GROUP, MEMBER, "/settings")
    assert "LG" in settings.plain_text
    (ok,) = await bot.say(GROUP, GROUP_ADMIN, "/categories@papers_digest_bot CL")
    assert "CL" in ok.plain_text
    (digest,) = await bot.say(GROUP, MEMBER, "/today")
    assert set(card_tags([digest])) == {"CL"}
    _no_rejected_messages(world.emulator)


async def test_admin_commands_work_for_admins_and_refuse_others(world: World) -> None:
    bot = world.bot
    for user in (ZH_USER, EN_USER):
        await bot.say(user, user, "/start")
    for command in ("/post_now", "/stats", "/ingest https://example.invalid/x"):
        (refusal,) = await bot.say(EN_USER, EN_USER, command)
        assert "administrators" in refusal.plain_text, command
    assert _delivered(world.engine, ZH_USER) == []
    (summary,) = await bot.say(ADMIN, ADMIN, "/post_now all")
    assert "Posted to 2 chats" in summary.plain_text
    assert len(_delivered(world.engine, ZH_USER)) == 5 and len(_delivered(world.engine, EN_USER)) == 5
    assert _chat(world.engine, ZH_USER).next_due_at == datetime(2026, 11, 22, 1, 0, tzinfo=UTC), \
        "a manual post does not cancel the scheduled one"
    (single,) = await bot.say(ADMIN, ADMIN, f"/post_now {EN_USER}")
    assert "Posted to 1 chat." in single.plain_text
    (stats,) = await bot.say(ADMIN, ADMIN, "/stats")
    assert "2 active chats" in stats.plain_text and "46" in stats.plain_text and "15 papers" in stats.plain_text


async def test_admin_ingests_a_document_a_reply_and_rejects_junk(world: World) -> None:
    bot = world.bot
    digest = ("1、[RO] A Robot That Folds Laundry\n\nA Roboticist, B Engineer\n[Robot Lab]\n叠衣服的机器人。摘要。\n\n"
              "We fold laundry with a robot arm.\nhttps://arxiv.org/abs/2601.00001\n").encode()
    (report,) = await bot.send_document(ADMIN, ADMIN, "robots.txt", digest)
    assert "1 papers found, 1 new" in report.plain_text
    with session_scope(world.engine) as session:  # indexed at once: no /search is left to write the entries
        assert session.connection().execute(text("SELECT count(*) FROM search_queue")).scalar_one() == 0
        without_vector = "SELECT count(*) FROM paper WHERE id NOT IN (SELECT paper_id FROM paper_vector)"
        assert session.connection().execute(text(without_vector)).scalar_one() == 0, "every paper has its vector"
    (again,) = await bot.send_document(ADMIN, ADMIN, "robots-again.txt", digest, caption="/ingest")
    assert "ingested before" in again.plain_text
    junk_message_id = world.emulator.user_sends_document(ADMIN, ADMIN, "junk.bin", b"\x89PNG\x00\x00\x00binary")
    await bot.until_idle()
    (refused,) = await bot.say(ADMIN, ADMIN, "/ingest", reply_to_message_id=junk_message_id)
    assert "binary" in refused.plain_text
    (from_member,) = await bot.send_document(EN_USER, EN_USER, "x.txt", digest.replace(b"Laundry", b"Dishes"))
    assert "administrators" in from_member.plain_text
    with session_scope(world.engine) as session:
        titles = set(session.exec(select(Paper.title_en)).all())
    assert "A Robot That Folds Laundry" in titles and "A Robot That Folds Dishes" not in titles


async def test_admin_ingests_a_url_and_hears_why_a_bad_one_failed(world: World) -> None:
    digest = ("1、[RO] A Robot That Waters Plants\n\nA Roboticist\n[Garden Lab]\n浇花的机器人。摘要。\n\n"
              "We water plants with a robot arm.\nhttps://arxiv.org/abs/2601.00002\n").encode("gbk")
    with local_server() as site:
        site.routes["/digest.txt"] = lambda _: Response(200, digest, {"Content-Type": "text/plain; charset=gbk"})
        site.routes["/huge.txt"] = lambda _: Response(200, b"x", {"Content-Length": str(50 * 1024 * 1024)})
        (report,) = await world.bot.say(ADMIN, ADMIN, f"/ingest {site.url('/digest.txt')}")
        assert "1 papers found, 1 new" in report.plain_text
        (gone,) = await world.bot.say(ADMIN, ADMIN, f"/ingest {site.url('/gone.txt')}")
        assert f"{site.url('/gone.txt')} answered HTTP 404" in gone.plain_text
        (huge,) = await world.bot.say(ADMIN, ADMIN, f"/ingest {site.url('/huge.txt')}")
        assert "is 50.0 MB; the limit is 10.0 MB" in huge.plain_text
        assert site.requests[0].headers["user-agent"] == "papers-digest/0.1"
    with session_scope(world.engine) as session:
        assert "A Robot That Waters Plants" in set(session.exec(select(Paper.title_en)).all())


async def test_hostile_paper_fields_and_huge_abstracts_render_within_telegram_rules(world: World) -> None:
    hostile = "<b>&amp; & < > \" </i> <script>alert(1)</script>"
    long_abstract = "We study <tags> & entities. " * 2000
    text = (f"1、[CV] {hostile} Title\n\nA <Author>, B & C\n[Lab <&>]\n恶意标题<b>。摘要&amp;。\n\n{long_abstract}\n"
            "https://arxiv.org/abs/2601.99999?a=1&b=<2>\n")
    assert Ingestor(world.engine).ingest_text(text, source="hostile", digest_date=date(2026, 11, 21)).ok
    await world.bot.say(EN_USER, EN_USER, "/start")
    (digest,) = await world.bot.say(EN_USER, EN_USER, "/today")
    assert hostile in digest.plain_text
    assert len(digest.plain_text) <= 4096
    _no_rejected_messages(world.emulator)


async def test_unknown_command_and_help(world: World) -> None:
    (unknown,) = await world.bot.say(EN_USER, EN_USER, "/frobnicate")
    assert "/help" in unknown.plain_text
    (help_text,) = await world.bot.say(ZH_USER, ZH_USER, "/help")
    assert "/today" in help_text.plain_text and "/categories" in help_text.plain_text
    assert world.emulator.commands("zh") and world.emulator.commands()
    assert {c["command"] for c in world.emulator.commands("zh")} >= {"today", "categories", "favorites"}


def _json_param(value: object) -> object:
    """An object parameter as PTB sent it: a JSON string inside a form."""
    return json.loads(value) if isinstance(value, str) else value


async def test_sends_and_edits_are_html_without_previews_and_a_double_tap_is_quiet(world: World) -> None:
    """The Defaults set on the builder reach every reply, card and redraw; a file's caption stays plain text; the
    same page button tapped twice (before the client redrew it) finds the page shown and says nothing."""
    bot, emulator = world.bot, world.emulator
    await bot.say(EN_USER, EN_USER, "/start")
    (keyboard,) = await bot.say(EN_USER, EN_USER, "/categories")
    await bot.tap(EN_USER, EN_USER, keyboard.message_id, "c:RO")
    for _ in range(2):
        (digest,) = await bot.say(EN_USER, EN_USER, "/today")
        for button in digest.buttons:
            if button["callback_data"].startswith("f:"):
                await bot.tap(EN_USER, EN_USER, digest.message_id, button["callback_data"])
    (page_one,) = await bot.say(EN_USER, EN_USER, "/favorites")
    sent = len(emulator.sent(EN_USER))
    for second in (False, True):
        await bot.tap(EN_USER, EN_USER, page_one.message_id, "p:1", forged=second)
    assert "2/2" in emulator.message(EN_USER, page_one.message_id).plain_text
    refused = [r for r in emulator.requests if r.method == "editMessageText"][-1]
    assert refused.status == 400 and "not modified" in (refused.description or "")
    assert len(emulator.sent(EN_USER)) == sent, "no apology for a page already shown"
    await bot.say(EN_USER, EN_USER, "/export md")

    texts = [r for r in emulator.requests if r.method in ("sendMessage", "editMessageText") and r.status == 200]
    assert {r.method for r in texts} == {"sendMessage", "editMessageText"}
    for request in texts:
        assert request.params.get("parse_mode") == "HTML", request.params.get("text")
        assert _json_param(request.params.get("link_preview_options")) == {"is_disabled": True}
        assert "reply_parameters" not in request.params
    (document,) = [r for r in emulator.requests if r.method == "sendDocument"]
    assert "saved papers" in document.params["caption"] and "parse_mode" not in document.params


async def test_favourites_page_through_and_remove(world: World) -> None:
    bot = world.bot
    await bot.say(EN_USER, EN_USER, "/start")
    await bot.say(EN_USER, EN_USER, "/taste off")  # the stars below would reorder the second digest (test_taste_e2e)
    stars = []
    for _ in range(2):
        (digest,) = await bot.say(EN_USER, EN_USER, "/today")
        for button in digest.buttons:
            await bot.tap(EN_USER, EN_USER, digest.message_id, button["callback_data"])
            stars.append(int(button["callback_data"][2:]))
    (page_one,) = await bot.say(EN_USER, EN_USER, "/favorites")
    assert "10 saved papers · 1/2" in page_one.plain_text
    removes = [b for b in page_one.buttons if b["callback_data"].startswith("u:")]
    assert [int(b["callback_data"].split(":")[1]) for b in removes] == stars[::-1][:5], "newest saved first"
    await bot.tap(EN_USER, EN_USER, page_one.message_id, "p:1")
    page_two = world.emulator.message(EN_USER, page_one.message_id)
    assert "1/2" not in page_two.plain_text and "2/2" in page_two.plain_text
    await bot.tap(EN_USER, EN_USER, page_one.message_id, page_two.buttons[0]["callback_data"])
    after = world.emulator.message(EN_USER, page_one.message_id)
    assert "9 saved papers" in after.plain_text
    with session_scope(world.engine) as session:
        assert len(session.exec(select(Favourite).where(Favourite.chat_id == EN_USER)).all()) == 9


async def test_blocking_the_bot_or_upgrading_a_group_is_followed(world: World) -> None:
    """Telegram's own updates: a user blocks the bot; a group becomes a supergroup."""
    bot, emulator = world.bot, world.emulator
    await bot.say(EN_USER, EN_USER, "/start")
    await bot.say(GROUP, GROUP_ADMIN, "/start")
    await bot.say(GROUP, GROUP_ADMIN, "/categories CV")
    emulator.block(EN_USER)
    emulator.migrate(GROUP, SUPERGROUP)
    await bot.until_idle()
    assert _chat(world.engine, EN_USER).active is False
    assert _chat(world.engine, GROUP) is None and _chat(world.engine, SUPERGROUP).categories == "CV"
    (summary,) = await bot.say(ADMIN, ADMIN, "/post_now all")
    assert "Posted to 1 chat." in summary.plain_text
    (digest,) = [m for m in emulator.sent(SUPERGROUP) if m.buttons]
    assert set(card_tags([digest])) == {"CV"}


async def test_delivery_follows_403_and_migration_answers(world: World) -> None:
    """When the first sign is a failed send: 403 marks the chat inactive; 'upgraded' moves it and resends."""
    bot, emulator = world.bot, world.emulator
    await bot.say(EN_USER, EN_USER, "/start")
    await bot.say(GROUP, GROUP_ADMIN, "/start")
    await bot.say(GROUP, GROUP_ADMIN, "/categories CL")
    emulator.add_group(SUPERGROUP, title="ML reading group", supergroup=True, admins={GROUP_ADMIN})
    emulator.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    (summary,) = await bot.say(ADMIN, ADMIN, f"/post_now {EN_USER}")
    assert "Unreachable: 1" in summary.plain_text
    assert _chat(world.engine, EN_USER).active is False
    emulator.fail_next("sendMessage", status=400,
                       description="Bad Request: group chat was upgraded to a supergroup chat",
                       parameters={"migrate_to_chat_id": SUPERGROUP})
    (summary,) = await bot.say(ADMIN, ADMIN, f"/post_now {GROUP}")
    assert "Posted to 1 chat." in summary.plain_text
    assert _chat(world.engine, GROUP) is None and _chat(world.engine, SUPERGROUP).categories == "CL"
    assert len(_delivered(world.engine, SUPERGROUP)) == 5
    (digest,) = [m for m in emulator.sent(SUPERGROUP) if m.buttons]
    assert set(card_tags([digest])) == {"CL"}
