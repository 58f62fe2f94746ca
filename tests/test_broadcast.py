"""The morning broadcast against the emulator with Telegram's limits switched on: fast, exact, and robust."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlmodel import select

from bot.emulator import BotApiEmulator, RateLimits
from bot.playground import emulator_settings, running_bot
from storage.channels import add_channel
from storage.chats import ensure_chat
from storage.db import open_store, session_scope
from storage.ingest import SAMPLE_DIGESTS_DIR, Ingestor
from storage.models import Chat, Delivery

SCALE = 1.0  # real time: the bot must keep 30 msg/s even on a busy 2-core machine (bench/ scales the clock)
# Telegram's: 30/s overall, 1/s per private chat (burst 3), 20/min per group, counted as a strict server does: on
# arrival, in sliding windows, so requests bunched on the way are refused.
LIMITS = RateLimits(sliding_window=True)


@dataclass
class Broadcast:
    """A store with the samples and `chats` subscribers all due now."""

    engine: Engine
    url: str
    chat_ids: list[int]


CHANNEL_MANAGER = 2  # the private chat that added every channel of a due store


def channel_ids(count: int) -> list[int]:
    """Ids of a due store's channels, as Telegram numbers channels."""
    return [-1_002_000_000_000 - i for i in range(1, count + 1)]


def make_due_store(tmp_path: Path, private: int, groups: int = 0, url: str | None = None,
                   channels: int = 0) -> Broadcast:
    """Subscribers whose digest is due: private chats 1..private, groups -1..-groups, and channels added by
    private chat 1 (SQLite unless url given)."""
    url = url or f"sqlite:///{tmp_path / 'broadcast.db'}"
    engine = open_store(url)
    Ingestor(engine).ingest_sources(sorted(str(p) for p in SAMPLE_DIGESTS_DIR.glob("*.txt")))
    now = datetime.now(UTC)
    chat_ids = list(range(1, private + 1)) + [-i for i in range(1, groups + 1)]
    defaults = {"ui_language": "en", "digest_time": "09:00", "timezone": "Asia/Shanghai", "now": now}
    with session_scope(engine) as session:
        for chat_id in chat_ids:
            ensure_chat(session=session, chat_id=chat_id, kind="private" if chat_id > 0 else "group", title=None,
                        **defaults)
        for chat_id in channel_ids(channels):
            add_channel(session=session, chat_id=chat_id, title=f"channel {chat_id}", username=None,
                        manager_id=CHANNEL_MANAGER, **defaults)
        session.exec(update(Chat).values(next_due_at=now - timedelta(minutes=1)))
    return Broadcast(engine, url, chat_ids + channel_ids(channels))


def scaled_settings(emulator: BotApiEmulator, url: str, **overrides: object):  # type: ignore[no-untyped-def]
    """The bot keeps Telegram's limits measured on the emulator's (scaled) clock."""
    return emulator_settings(
        emulator, url, tick_seconds=0.05, rate_limit_per_second=LIMITS.per_second * SCALE,
        private_chat_per_second=LIMITS.private_per_second * SCALE, private_burst=LIMITS.private_burst,
        group_per_minute=LIMITS.group_per_minute * SCALE, **overrides)


def digests_per_chat(emulator: BotApiEmulator) -> Counter[int]:
    """How many digest messages (the ones with ⭐ buttons) each chat received."""
    return Counter(message.chat_id for message in emulator.sent() if message.buttons)


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """The emulator with Telegram's flood limits on, on a faster clock."""
    async with BotApiEmulator(rate_limits=LIMITS, time_scale=SCALE) as emulator:
        yield emulator


async def test_broadcast_to_300_chats_runs_at_the_limit_without_429s(tmp_path: Path,
                                                                     emulator: BotApiEmulator) -> None:
    world = make_due_store(tmp_path, private=300)
    for chat_id in world.chat_ids:
        emulator.add_private_chat(chat_id, first_name=f"u{chat_id}", language_code="en")
    async with running_bot(scaled_settings(emulator, world.url), world.engine, emulator=emulator,
                           with_scheduler=True):
        await emulator.wait_until(lambda: len(digests_per_chat(emulator)) == 300, timeout=60)
    assert emulator.stats.too_many_requests == 0
    assert set(digests_per_chat(emulator).values()) == {1}, "every chat exactly one digest"
    sends = sorted(r.at for r in emulator.requests if r.method == "sendMessage" and r.status == 200)
    rate = (len(sends) - 1) / (sends[-1] - sends[0])  # messages per emulator second
    assert 0.9 * LIMITS.per_second <= rate <= LIMITS.per_second
    with session_scope(world.engine) as session:
        assert len(session.exec(select(Delivery)).all()) == 300 * 5


async def test_502s_blocked_and_migrated_chats_still_get_exactly_one_digest(tmp_path: Path,
                                                                            emulator: BotApiEmulator) -> None:
    world = make_due_store(tmp_path, private=120, groups=6, channels=6)
    blocked = set(range(1, 121, 10))
    channels = channel_ids(6)
    for chat_id in world.chat_ids:
        if chat_id > 0:
            emulator.add_private_chat(chat_id, first_name=f"u{chat_id}", language_code="en")
        elif chat_id in channels:
            emulator.add_channel(chat_id, title=f"channel {chat_id}", creator=CHANNEL_MANAGER)
        else:
            emulator.add_group(chat_id, title=f"group {chat_id}")
    for chat_id in blocked:
        emulator.block(chat_id)
    # One channel removed the bot, one took its right to post: Telegram's update and the refused send race.
    lost_channels = {channels[0], channels[1]}
    emulator.remove_from_channel(channels[0], emulator.bot_user.id)
    emulator.set_channel_admin(channels[1], emulator.bot_user.id, can_post=False)
    migrated = {-1: -1_000_000_000_001, -2: -1_000_000_000_002}
    for old, new in migrated.items():
        emulator.migrate(old, new)
    emulator.random_error_rate = 0.05
    settings = scaled_settings(emulator, world.url)
    reachable = {chat_id for chat_id in world.chat_ids
                 if chat_id not in blocked and chat_id not in migrated and chat_id not in lost_channels}
    reachable |= set(migrated.values())
    async with running_bot(settings, world.engine, emulator=emulator, with_scheduler=True):
        try:
            await emulator.wait_until(lambda: reachable <= set(digests_per_chat(emulator)), timeout=60)
        except TimeoutError:
            missing = reachable - set(digests_per_chat(emulator))
            raise AssertionError(f"no digest for {sorted(missing)}") from None
        emulator.random_error_rate = 0.0
    assert sum(1 for r in emulator.requests if r.status == 502) > 0, "the faults really happened"
    counts = digests_per_chat(emulator)
    assert {chat_id: counts[chat_id] for chat_id in reachable} == dict.fromkeys(reachable, 1)
    assert not blocked & set(counts)
    with session_scope(world.engine) as session:
        inactive = set(session.exec(select(Chat.id).where(Chat.active.is_(False))).all())
        ids = set(session.exec(select(Chat.id)).all())
    assert inactive == blocked | lost_channels
    news = [m for m in emulator.sent(CHANNEL_MANAGER) if "can no longer post" in m.plain_text]
    assert sorted(m.plain_text.split("/channels add ")[1].rstrip(".") for m in news) == sorted(
        str(chat_id) for chat_id in lost_channels), "the manager hears of each lost channel once"
    assert not set(migrated) & ids and set(migrated.values()) <= ids
