"""Digest channels end to end: subscribed and managed from a private chat, posted to by the one delivery path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlmodel import select

from bot.emulator import BotApiEmulator
from bot.pacing import PaceLimits, Pacer
from bot.playground import emulator_settings, running_bot
from storage.channels import add_channel, channels_managed_by, get_channel, lose_channel, remove_channel
from storage.chats import claim_due_chats, count_active_chats
from storage.db import alembic_config, make_engine, migrate, open_store, session_scope
from storage.deliveries import delivered_paper_ids, record_deliveries
from storage.keywords import KeywordSpec, add_keywords
from storage.models import Channel, ChannelManager, Chat, ChatKeyword, Delivery, Favourite, Paper, PendingDigest
from tests.conftest import UNTHROTTLED_USERS, FakeClock, card_tags, ingest_samples
from tests.test_bot_e2e import World, _let_ticks_run
from tests.test_pacing import VirtualTime, _send_many

OWNER, EDITOR, READER, STRANGER, ADMIN = 3001, 3002, 3003, 3004, 3005
NAMED, NUMBERED, FORWARDED = -1_001_000_000_001, -1_001_000_000_002, -1_001_000_000_003
MUTED, ABSENT, GROUP = -1_001_000_000_004, -1_001_000_000_005, -1_001_000_000_006


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    """Channels of every standing, their owner and an editor, a reader and someone who never opened the bot."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = open_store(url)
    ingest_samples(engine)
    clock = FakeClock(datetime(2026, 11, 22, 0, 30, tzinfo=UTC))  # 08:30 in Shanghai
    async with BotApiEmulator() as emulator:
        for user, name in ((OWNER, "Olga"), (EDITOR, "Ed"), (READER, "Rea"), (ADMIN, "Root")):
            emulator.add_private_chat(user, first_name=name, language_code="en")
        emulator.add_channel(NAMED, title="Daily ML papers", username="daily_ml", creator=OWNER, admins={EDITOR})
        emulator.add_channel(NUMBERED, title="Vision digest", creator=OWNER)
        emulator.add_channel(FORWARDED, title="NLP digest", creator=OWNER)
        emulator.add_channel(MUTED, title="Muted", username="muted_ml", creator=OWNER, bot_can_post=False)
        emulator.add_channel(ABSENT, title="Absent", username="absent_ml", creator=OWNER, bot_can_post=None)
        emulator.add_group(GROUP, title="A group", supergroup=True, username="a_group", creator=OWNER)
        settings = emulator_settings(emulator, url, admin_ids=frozenset({ADMIN}), tick_seconds=0.05,
                                     **UNTHROTTLED_USERS)
        async with running_bot(settings, engine, emulator=emulator, clock=clock, with_scheduler=True) as bot:
            yield World(bot, emulator, clock, engine)
    engine.dispose()


def _channel_rows(engine: Engine) -> dict[int, tuple[str, bool, bool]]:
    """Each stored channel: its kind, whether it is served, whether it was lost."""
    with session_scope(engine) as session:
        rows = session.exec(select(Chat, Channel).join(Channel, Channel.id == Chat.id)).all()
        return {chat.id: (chat.kind, chat.active, channel.lost) for chat, channel in rows}


def _chat(engine: Engine, chat_id: int) -> Chat | None:
    with session_scope(engine) as session:
        return session.get(Chat, (chat_id, 0))


async def test_an_admin_adds_channels_by_name_by_id_and_by_forwarding_a_post(world: World) -> None:
    bot, emulator = world.bot, world.emulator
    (named,) = await bot.say(OWNER, OWNER, "/channels add @daily_ml")
    assert "Daily ML papers is subscribed" in named.plain_text
    assert {button["callback_data"] for button in named.buttons} >= {f"m:{NAMED}:post", f"m:{NAMED}:fields"}
    (numbered,) = await bot.say(OWNER, OWNER, f"/channels add {NUMBERED}")
    assert "Vision digest is subscribed" in numbered.plain_text
    post = emulator.channel_post(FORWARDED, "Welcome to the channel")
    await bot.until_idle()  # the bot, an administrator there, sees the post and ignores it
    before = len(emulator.sent(OWNER))
    emulator.user_forwards(OWNER, FORWARDED, post)
    await bot.until_idle()
    (forwarded,) = emulator.sent(OWNER)[before:]
    assert "NLP digest is subscribed" in forwarded.plain_text
    assert emulator.sent(FORWARDED) == [], "nothing is posted in a channel when it is added"

    assert _channel_rows(world.engine) == {channel: ("channel", True, False)
                                           for channel in (NAMED, NUMBERED, FORWARDED)}
    stored = _chat(world.engine, NAMED)
    assert (stored.title, stored.categories, stored.language, stored.digest_time, stored.timezone) == (
        "Daily ML papers", "LG,CV,CL,AS,RO", "both", "09:00", "Asia/Shanghai"), "a new chat's defaults"
    (listing,) = await bot.say(OWNER, OWNER, "/channels")
    for title in ("Daily ML papers", "Vision digest", "NLP digest"):
        assert title in listing.plain_text
    assert [button["callback_data"] for button in listing.buttons] == [
        f"m:{NAMED}:show", f"m:{FORWARDED}:show", f"m:{NUMBERED}:show"], "by title"
    (other,) = await bot.say(READER, READER, "/channels")
    assert "no channels" in other.plain_text and other.buttons == [], "each person lists their own channels"


async def test_a_non_admin_and_channels_the_bot_cannot_post_in_are_refused_and_nothing_is_stored(
        world: World) -> None:
    bot = world.bot
    (not_admin,) = await bot.say(READER, READER, "/channels add @daily_ml")
    assert "Only administrators of Daily ML papers" in not_admin.plain_text
    (muted,) = await bot.say(OWNER, OWNER, "/channels add @muted_ml")
    assert "I may not post in Muted" in muted.plain_text and "post messages" in muted.plain_text
    (absent,) = await bot.say(OWNER, OWNER, "/channels add @absent_ml")
    assert "I may not post in Absent" in absent.plain_text and "administrator" in absent.plain_text
    (unknown,) = await bot.say(OWNER, OWNER, "/channels add @nobody_here")
    assert "I cannot see the channel @nobody_here" in unknown.plain_text
    (group,) = await bot.say(OWNER, OWNER, "/channels add @a_group")
    assert "is not a channel" in group.plain_text
    (usage,) = await bot.say(OWNER, OWNER, "/channels add")
    assert "Usage" in usage.plain_text
    with session_scope(world.engine) as session:
        assert session.exec(select(Chat)).all() == []
        assert session.exec(select(ChannelManager)).all() == []


async def test_the_scheduled_digest_and_post_now_arrive_in_the_channel_with_its_fields_and_time(
        world: World) -> None:
    bot, emulator, clock = world.bot, world.emulator, world.clock
    await bot.say(OWNER, OWNER, "/channels add @daily_ml")
    (keyboard,) = await bot.say(OWNER, OWNER, f"/categories {NAMED}")
    assert "Daily ML papers" in keyboard.plain_text
    for code in ("LG", "AS", "RO", "CL"):
        answer = await bot.tap(OWNER, OWNER, keyboard.message_id, f"c:{code}:{NAMED}")
        assert not answer["show_alert"]
    assert _chat(world.engine, NAMED).categories == "CV"
    (timed,) = await bot.say(OWNER, OWNER, f"/time {NAMED} 07:15 Europe/Berlin")
    assert "07:15" in timed.plain_text and "Daily ML papers" in timed.plain_text
    due = datetime(2026, 11, 22, 6, 15, tzinfo=UTC)  # 07:15 in Berlin
    assert _chat(world.engine, NAMED).next_due_at == due

    clock.now = datetime(2026, 11, 22, 1, 5, tzinfo=UTC)  # 09:05 in Shanghai: the default time has passed
    await _let_ticks_run(world)
    assert emulator.sent(NAMED) == [], "nothing at the old time"
    clock.now = due + timedelta(seconds=5)
    (digest,) = await emulator.wait_for_messages(NAMED, 1, timeout=5)
    assert set(card_tags([digest])) == {"CV"} and "new papers" in digest.plain_text
    await _let_ticks_run(world)
    assert len(emulator.sent(NAMED)) == 1, "one digest a day"

    (summary,) = await bot.say(ADMIN, ADMIN, f"/post_now {NAMED}")
    assert "Posted to 1 chat." in summary.plain_text
    extra = emulator.sent(NAMED)[1:]
    assert len(extra) == 1 and set(card_tags(extra)) == {"CV"}
    with session_scope(world.engine) as session:
        sent = session.exec(select(Delivery.paper_id).where(Delivery.chat_id == NAMED)).all()
    assert len(sent) == 10 and len(set(sent)) == 10, "unseen papers only"


async def test_managing_a_channel_with_its_buttons_is_for_its_current_administrators(world: World) -> None:
    bot, emulator = world.bot, world.emulator
    (added,) = await bot.say(OWNER, OWNER, "/channels add @daily_ml")
    answer = await bot.tap(OWNER, OWNER, added.message_id, f"m:{NAMED}:en")
    assert answer is not None and _chat(world.engine, NAMED).language == "en"
    await bot.tap(OWNER, OWNER, added.message_id, f"m:{NAMED}:pause")
    assert not _chat(world.engine, NAMED).active
    assert f"m:{NAMED}:resume" in {b["callback_data"] for b in emulator.message(OWNER, added.message_id).buttons}
    sent = len(emulator.sent(OWNER))
    again = await bot.tap(OWNER, OWNER, added.message_id, f"m:{NAMED}:pause", forged=True)  # a double tap
    assert again is not None and not again.get("show_alert"), "the second tap is answered quietly"
    assert len(emulator.sent(OWNER)) == sent, "no apology for a channel already paused"
    await bot.tap(OWNER, OWNER, added.message_id, f"m:{NAMED}:resume")
    assert _chat(world.engine, NAMED).active
    await bot.tap(OWNER, OWNER, added.message_id, f"m:{NAMED}:post")
    (posted,) = emulator.sent(NAMED)
    assert "5 new papers" in posted.plain_text and len(posted.buttons) == 10, "the channel got a digest"
    assert "posted 5 papers" in emulator.sent(OWNER)[-1].plain_text
    (listing,) = await bot.say(OWNER, OWNER, "/channels")
    before = len(emulator.sent(OWNER))
    await bot.tap(OWNER, OWNER, listing.message_id, f"m:{NAMED}:show")
    (manage,) = emulator.sent(OWNER)[before:]
    assert "Settings of the channel Daily ML papers" in manage.plain_text and f"m:{NAMED}:remove" in {
        b["callback_data"] for b in manage.buttons}
    (keywords,) = await bot.say(OWNER, OWNER, f"/keywords {NAMED} add diffusion")
    assert "diffusion" in keywords.plain_text and "Daily ML papers" in keywords.plain_text
    (shown,) = await bot.say(OWNER, OWNER, f"/keywords {NAMED}")
    assert "diffusion" in shown.plain_text
    (own,) = await bot.say(OWNER, OWNER, "/keywords")
    assert "Send /start first" in own.plain_text, "the private chat's own keywords are apart from the channel's"
    (language,) = await bot.say(OWNER, OWNER, f"/lang {NAMED} zh")
    assert "Daily ML papers" in language.plain_text and _chat(world.engine, NAMED).language == "zh"

    # The editor added it too; then the owner takes the editor's admin rights away.
    await bot.say(EDITOR, EDITOR, "/channels add @daily_ml")
    emulator.set_channel_admin(NAMED, EDITOR, admin=False)
    (refused,) = await bot.say(EDITOR, EDITOR, f"/time {NAMED} 10:00")
    assert "Only administrators of Daily ML papers" in refused.plain_text
    (listing,) = await bot.say(EDITOR, EDITOR, "/channels")
    denied = await bot.tap(EDITOR, EDITOR, listing.message_id, f"m:{NAMED}:show")
    assert denied["show_alert"] and "Only administrators" in denied["text"]
    (own,) = await bot.say(READER, READER, "/channels")
    forged = await bot.tap(READER, READER, own.message_id, f"m:{NAMED}:remove", forged=True)
    assert forged["show_alert"]
    assert _chat(world.engine, NAMED).digest_time == "09:00", "nothing changed"

    remove = await bot.tap(OWNER, OWNER, added.message_id, f"m:{NAMED}:remove")
    assert remove is not None and _channel_rows(world.engine) == {}
    assert "no longer subscribed" in emulator.message(OWNER, added.message_id).plain_text


async def test_star_in_a_channel_saves_to_the_tappers_own_favourites_and_details_go_privately(
        world: World) -> None:
    bot, emulator = world.bot, world.emulator
    await bot.say(OWNER, OWNER, "/channels add @daily_ml")
    await bot.say(READER, READER, "/start")
    await bot.say(ADMIN, ADMIN, f"/post_now {NAMED}")
    (digest,) = emulator.sent(NAMED)
    star, details = digest.buttons[0]["callback_data"], digest.buttons[5]["callback_data"]
    paper_id = int(star[2:])
    buttons_before = [b["text"] for b in digest.buttons]

    saved = await bot.tap(NAMED, READER, digest.message_id, star)
    assert "Saved to your favourites" in saved["text"]
    again = await bot.tap(NAMED, READER, digest.message_id, star)
    assert "Already in your favourites" in again["text"], "a second tap does not unsave what nobody sees"
    (listing,) = await bot.say(READER, READER, "/favorites")
    assert "1 saved paper" in listing.plain_text and listing.buttons[0]["callback_data"] == f"u:{paper_id}:0"
    with session_scope(world.engine) as session:
        assert session.exec(select(Favourite.chat_id)).all() == [READER], "not the channel's, not anyone else's"

    stranger = await bot.tap(NAMED, STRANGER, digest.message_id, star)
    assert stranger["show_alert"] and "/start" in stranger["text"] and "@papers_digest_bot" in stranger["text"]
    before = len(emulator.sent(READER))
    shown = await bot.tap(NAMED, READER, digest.message_id, details)
    assert "private chat" in shown["text"]
    assert len(emulator.sent(READER)) > before and emulator.sent(NAMED) == [digest], "details only to the tapper"
    assert emulator.message(NAMED, digest.message_id).history == []
    assert [b["text"] for b in emulator.message(NAMED, digest.message_id).buttons] == buttons_before


async def test_removing_the_bot_marks_the_channel_inactive_tells_its_manager_once_and_adding_it_back_revives_it(
        world: World) -> None:
    bot, emulator = world.bot, world.emulator
    await bot.say(OWNER, OWNER, "/channels add @daily_ml")
    await bot.say(EDITOR, EDITOR, "/channels add @daily_ml")
    told_before = {user: len(emulator.sent(user)) for user in (OWNER, EDITOR)}
    emulator.remove_from_channel(NAMED, emulator.bot_user.id)
    await bot.until_idle()
    assert _channel_rows(world.engine) == {NAMED: ("channel", False, True)}
    for user in (OWNER, EDITOR):
        (news,) = emulator.sent(user)[told_before[user]:]
        assert "can no longer post in Daily ML papers" in news.plain_text
        assert f"/channels add {NAMED}" in news.plain_text
    (summary,) = await bot.say(ADMIN, ADMIN, f"/post_now {NAMED}")
    assert "not an active subscriber" in summary.plain_text
    (cannot,) = await bot.say(OWNER, OWNER, f"/time {NAMED} 10:00")
    assert "am I still an administrator there" in cannot.plain_text
    (listing,) = await bot.say(OWNER, OWNER, "/channels")
    assert "inactive" in listing.plain_text

    emulator.set_channel_admin(NAMED, emulator.bot_user.id, can_post=True)
    await bot.until_idle()
    assert _channel_rows(world.engine) == {NAMED: ("channel", False, True)}, "back only through /channels add"
    (again,) = await bot.say(OWNER, OWNER, "/channels add @daily_ml")
    assert "subscribed again" in again.plain_text
    assert _channel_rows(world.engine) == {NAMED: ("channel", True, False)}

    # Taking the right to post, noticed first by a refused send: the same news, once more, once.
    emulator.set_channel_admin(NAMED, emulator.bot_user.id, can_post=False)
    told_before = len(emulator.sent(OWNER))
    await bot.say(ADMIN, ADMIN, f"/post_now {NAMED}")
    await bot.until_idle()
    assert _channel_rows(world.engine) == {NAMED: ("channel", False, True)}
    assert len(emulator.sent(OWNER)) == told_before + 1


async def test_stats_count_channels_apart_from_chats(world: World) -> None:
    bot = world.bot
    await bot.say(OWNER, OWNER, "/start")
    await bot.say(OWNER, OWNER, "/channels add @daily_ml")
    await bot.say(OWNER, OWNER, f"/channels add {NUMBERED}")
    (stats,) = await bot.say(ADMIN, ADMIN, "/stats")
    assert "1 active chat\n" in stats.plain_text and "2 active channels" in stats.plain_text


def test_migration_0012_adds_channels_and_goes_back_keeping_chats(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0008_partial_arxiv_index")
        connection.execute(text(
            "INSERT INTO chat (id, thread_id, kind, language, ui_language, categories, digest_time, timezone, active, "
            "created_at) VALUES (-1001, 0, 'channel', 'both', 'en', 'CV', '09:00', 'Asia/Shanghai', true, "
            "CURRENT_TIMESTAMP)"))
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO channel (id, lost, created_at) VALUES (-1001, false, CURRENT_TIMESTAMP)"))
        connection.execute(text("INSERT INTO channel_manager (chat_id, user_id, created_at) "
                                "VALUES (-1001, 7, CURRENT_TIMESTAMP)"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008_partial_arxiv_index")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT id, kind FROM chat").all() == [(-1001, "channel")]
        assert connection.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar_one() == 1
    migrate(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM channel").scalar_one() == 0
    engine.dispose()


async def test_a_channel_is_paced_as_telegram_paces_it_like_a_group() -> None:
    """Telegram allows a channel what it allows a group (20 messages a minute): the pacer treats them alike."""
    timings = []
    for chat_id in (NAMED, GROUP, -500):
        time = VirtualTime()
        pacer = Pacer(PaceLimits(per_second=1000, group_per_minute=20), clock=time.clock, sleep=time.sleep)
        timings.append(await _send_many(pacer, time, [chat_id] * 23))
    assert timings[0] == timings[1] == timings[2]
    assert timings[0][-1] >= 6.0, "past the first minute's allowance a channel waits"


def _add(engine: Engine, chat_id: int, manager: int, now: datetime) -> Chat:
    with session_scope(engine) as session:
        return add_channel(session=session, chat_id=chat_id, title=f"channel {chat_id}", username=None,
                           manager_id=manager, ui_language="en", digest_time="09:00", timezone="Asia/Shanghai",
                           now=now)[0]


def test_a_channel_is_lost_once_however_often_it_is_reported_and_comes_back_when_added(engine: Engine) -> None:
    now = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)
    _add(engine, NAMED, OWNER, now)
    _add(engine, NAMED, EDITOR, now)
    _add(engine, NUMBERED, EDITOR, now)
    with session_scope(engine) as session:
        assert lose_channel(session=session, chat_id=NAMED) == [OWNER, EDITOR]
        assert lose_channel(session=session, chat_id=NAMED) == [], "told once"
        assert lose_channel(session=session, chat_id=OWNER) == [], "a private chat has no managers to tell"
        assert [chat.id for chat, _ in channels_managed_by(session=session, user_id=EDITOR)] == [NAMED, NUMBERED]
        assert count_active_chats(session=session, channels=True) == 1
    revived = _add(engine, NAMED, OWNER, now + timedelta(days=2))
    assert revived.active and revived.next_due_at == datetime(2026, 11, 24, 1, 0, tzinfo=UTC), "from now on"
    with session_scope(engine) as session:
        assert get_channel(session=session, chat_id=NAMED).lost is False
        assert lose_channel(session=session, chat_id=NAMED) == [OWNER, EDITOR], "lost again: told again"


def test_removing_a_channel_forgets_its_settings_but_not_what_it_was_sent(engine: Engine) -> None:
    now = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)
    ingest_samples(engine)
    _add(engine, NAMED, OWNER, now)
    with session_scope(engine) as session:
        paper_id = session.exec(select(Paper.id)).first()
        record_deliveries(session=session, chat_id=NAMED, paper_ids=[paper_id], kind="scheduled", message_id=1,
                          now=now)
        add_keywords(session=session, chat_id=NAMED, thread_id=0, keywords=[KeywordSpec("gan")], now=now)
        claim_due_chats(session=session, now=now + timedelta(hours=1))
    with session_scope(engine) as session:
        assert remove_channel(session=session, chat_id=NAMED)
        assert not remove_channel(session=session, chat_id=NAMED)
    with session_scope(engine) as session:
        assert session.exec(select(Chat)).all() == [] and session.exec(select(ChannelManager)).all() == []
        assert session.exec(select(PendingDigest)).all() == [] and session.exec(select(ChatKeyword)).all() == []
        assert delivered_paper_ids(session=session, chat_id=NAMED) == {paper_id}
