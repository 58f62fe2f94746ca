"""Kill the bot mid-broadcast (SIGKILL) and start it again: every chat ends with its digest, none twice.

The one documented exception: a message that was out at Telegram when the process died, but not yet recorded,
is sent again after the restart (at most DELIVERY_CONCURRENCY messages, each the same digest as before).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.emulator import BotApiEmulator, EmulatorThread, RateLimits
from storage.db import session_scope
from storage.models import PendingDigest
from tests.test_broadcast import CHANNEL_MANAGER, make_due_store

ROOT = Path(__file__).resolve().parent.parent
CHATS = 150
CHANNELS = 12  # among the destinations: paced like groups, 20 messages a minute each
CONCURRENCY = 8


def _digests(server: EmulatorThread) -> dict[int, list[frozenset[str]]]:
    """Per chat, the papers (star buttons) of each digest message it received."""
    def read(emulator: BotApiEmulator) -> dict[int, list[frozenset[str]]]:
        found: dict[int, list[frozenset[str]]] = defaultdict(list)
        for message in emulator.sent():
            if message.buttons:
                found[message.chat_id].append(frozenset(b["callback_data"] for b in message.buttons))
        return dict(found)
    return server.call(read, server.emu)


def _start_bot(server: EmulatorThread, database_url: str, log: Path, *flags: str,
               **settings: str) -> subprocess.Popen[bytes]:
    """`python -m bot run` as an operator starts it, paced for Telegram's real limits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "ADMIN_"))}
    env |= {"TELEGRAM_BOT_TOKEN": server.emu.token, "TELEGRAM_API_BASE_URL": server.emu.api_base_url,
            "TELEGRAM_API_FILE_URL": server.emu.file_base_url, "DATABASE_URL": database_url,
            "TICK_SECONDS": "0.2", "CLAIM_LEASE_SECONDS": "3", "DELIVERY_CONCURRENCY": str(CONCURRENCY),
            "PYTHONPATH": str(ROOT), "LOG_LEVEL": "INFO"} | settings
    return subprocess.Popen([sys.executable, "-m", "bot", "run", *flags], cwd=ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _add_destinations(server: EmulatorThread, chat_ids: list[int]) -> None:
    """Each subscriber as Telegram knows it: private chats, and channels where the bot is an admin that may post."""
    for chat_id in chat_ids:
        if chat_id > 0:
            server.call(server.emu.add_private_chat, chat_id, first_name=f"u{chat_id}", language_code="en")
        else:
            server.call(server.emu.add_channel, chat_id, title=f"channel {chat_id}", creator=CHANNEL_MANAGER)


def _free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _assert_each_chat_once(digests: dict[int, list[frozenset[str]]], chat_ids: list[int], in_flight: int,
                           log: Path) -> None:
    """Every chat got its digest; a repeat only for a message in flight at the kill, and then the same one."""
    assert set(digests) == set(chat_ids), log.read_text()[-3000:]
    repeated = {chat_id: sent for chat_id, sent in digests.items() if len(sent) > 1}
    assert len(repeated) <= in_flight, f"more repeats than messages in flight: {len(repeated)}"
    assert all(len(sent) == 2 and sent[0] == sent[1] for sent in repeated.values()), \
        "a repeat is the in-flight message sent again, never a second digest"


def _wait(condition: Callable[[], bool], timeout: float) -> None:
    """Poll until the condition holds (bounded)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def _start_webhook_instances(server: EmulatorThread, database_url: str, logs: list[Path],
                             **settings: str) -> list[subprocess.Popen[bytes]]:
    """One webhook instance per log on one store; they share Telegram's 30/s, so each keeps half."""
    bots = []
    for log in logs:
        port = _free_port()
        bots.append(_start_bot(server, database_url, log, "--webhook-url", f"http://127.0.0.1:{port}/telegram",
                               "--port", str(port), RATE_LIMIT_PER_SECOND="15", WEBHOOK_SECRET_TOKEN="s3cr3t",
                               **settings))
    return bots


def _stop_all(bots: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the instances still running and wait for them."""
    for bot in bots:
        if bot.poll() is None:
            bot.terminate()
            bot.wait(timeout=30)


def test_sigkill_mid_broadcast_then_restart_delivers_every_digest_once(tmp_path: Path) -> None:
    world = make_due_store(tmp_path, private=CHATS, channels=CHANNELS)
    log = tmp_path / "bot.log"
    with EmulatorThread(BotApiEmulator(rate_limits=RateLimits())) as server:
        _add_destinations(server, world.chat_ids)
        first = _start_bot(server, world.url, log)
        try:
            _wait(lambda: len(_digests(server)) >= CHATS // 3, timeout=60)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        at_kill = len(_digests(server))
        assert at_kill < len(world.chat_ids), "the kill landed mid-broadcast"
        second = _start_bot(server, world.url, log)
        try:
            _wait(lambda: len(_digests(server)) == len(world.chat_ids), timeout=90)
            time.sleep(1.0)  # any duplicate from a wrong resume would show up now
        finally:
            second.terminate()
            second.wait(timeout=30)
        digests = _digests(server)
    _assert_each_chat_once(digests, world.chat_ids, CONCURRENCY, log)


def test_two_webhook_instances_on_postgresql_survive_losing_one(tmp_path: Path, postgres_url: str) -> None:
    """Two `python -m bot run --webhook-url …` share one PostgreSQL; one is killed mid-broadcast."""
    world = make_due_store(tmp_path, private=CHATS, channels=CHANNELS, url=postgres_url)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with EmulatorThread(BotApiEmulator(rate_limits=RateLimits())) as server:
        _add_destinations(server, world.chat_ids)
        bots = _start_webhook_instances(server, postgres_url, logs)
        try:
            _wait(lambda: len(_digests(server)) >= CHATS // 3, timeout=60)
            bots[0].send_signal(signal.SIGKILL)
            bots[0].wait(timeout=30)
            assert len(_digests(server)) < len(world.chat_ids), "the kill landed mid-broadcast"
            _wait(lambda: len(_digests(server)) == len(world.chat_ids), timeout=90)
            time.sleep(1.0)
        finally:
            _stop_all(bots)
        digests = _digests(server)
    _assert_each_chat_once(digests, world.chat_ids, CONCURRENCY, logs[0])
    assert all("kind=scheduled sent" in log.read_text() for log in logs), "both instances delivered a share"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_mid_broadcast_is_quiet_and_the_next_start_sends_the_rest_once(tmp_path: Path,
                                                                               stop: signal.Signals) -> None:
    """An operator's stop finishes the digests being sent, logs no error, and loses nothing for the next start."""
    world = make_due_store(tmp_path, private=CHATS, channels=CHANNELS)
    log = tmp_path / "bot.log"
    with EmulatorThread(BotApiEmulator(rate_limits=RateLimits())) as server:
        _add_destinations(server, world.chat_ids)
        first = _start_bot(server, world.url, log, TICK_SECONDS="0.05")  # ticks begin while the bot stops
        try:
            _wait(lambda: len(_digests(server)) >= CHATS // 3, timeout=60)
        finally:
            first.send_signal(stop)
            code = first.wait(timeout=30)
        at_stop = len(_digests(server))
        stopped_log = log.read_text()
        assert at_stop < len(world.chat_ids), "the stop landed mid-broadcast"
        assert code == 0, stopped_log[-3000:]
        assert "Traceback" not in stopped_log and " ERROR " not in stopped_log, stopped_log[-3000:]
        second = _start_bot(server, world.url, log)
        try:
            _wait(lambda: len(_digests(server)) == len(world.chat_ids), timeout=90)
            time.sleep(1.0)  # a digest sent twice would show up now
        finally:
            second.terminate()
            second.wait(timeout=30)
        digests = _digests(server)
    _assert_each_chat_once(digests, world.chat_ids, in_flight=0, log=log)


def _first_new_digest_after(server: EmulatorThread, known: int, timeout: float) -> float:
    """Seconds until a chat beyond the `known` ones gets its digest."""
    started = time.monotonic()
    _wait(lambda: len(_digests(server)) > known, timeout=timeout)
    return time.monotonic() - started


def test_sigkill_then_restart_on_sqlite_resumes_within_seconds_not_after_the_lease(tmp_path: Path) -> None:
    """Default lease (300 s) and tick (30 s): the restarted bot takes over its predecessor's digests at once."""
    world = make_due_store(tmp_path, private=CHATS, channels=CHANNELS)
    log = tmp_path / "bot.log"
    with EmulatorThread(BotApiEmulator(rate_limits=RateLimits())) as server:
        _add_destinations(server, world.chat_ids)
        first = _start_bot(server, world.url, log, CLAIM_LEASE_SECONDS="300")
        try:
            _wait(lambda: len(_digests(server)) >= CHATS // 3, timeout=60)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        at_kill = len(_digests(server))
        assert at_kill < len(world.chat_ids), "the kill landed mid-broadcast"
        second = _start_bot(server, world.url, log, CLAIM_LEASE_SECONDS="300", TICK_SECONDS="30")
        try:
            resumed_after = _first_new_digest_after(server, at_kill, timeout=60)
            _wait(lambda: len(_digests(server)) == len(world.chat_ids), timeout=90)
            time.sleep(1.0)
        finally:
            second.terminate()
            second.wait(timeout=30)
        digests = _digests(server)
    print(f"sqlite: the rest of the broadcast started {resumed_after:.1f} s after the restart")
    assert resumed_after < 10, f"resumed {resumed_after:.1f} s after the restart"
    assert "took over" in log.read_text()
    _assert_each_chat_once(digests, world.chat_ids, CONCURRENCY, log)


def _lease_holder_pids(engine: Engine) -> set[int]:
    """Process ids of the instances holding a pending digest's lease (owners are host:pid:suffix)."""
    with session_scope(engine) as session:
        owners = session.exec(select(PendingDigest.lease_owner).where(PendingDigest.lease_owner.is_not(None))).all()
    return {int(owner.split(":")[-2]) for owner in owners if owner}


def test_two_instances_on_postgresql_one_killed_the_other_takes_over_within_the_heartbeat_timeout(
        tmp_path: Path, postgres_url: str) -> None:
    """Default lease (300 s) and heartbeat (5 s, 30 s timeout): the survivor delivers the dead one's digests."""
    world = make_due_store(tmp_path, private=CHATS, channels=CHANNELS, url=postgres_url)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with EmulatorThread(BotApiEmulator(rate_limits=RateLimits())) as server:
        _add_destinations(server, world.chat_ids)
        bots = _start_webhook_instances(server, postgres_url, logs, CLAIM_LEASE_SECONDS="300")
        try:
            _wait(lambda: len(_digests(server)) >= CHATS // 3 and _lease_holder_pids(world.engine), timeout=60)
            victim = next(bot for bot in bots if bot.pid in _lease_holder_pids(world.engine))
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
            killed_at = time.monotonic()
            assert len(_digests(server)) < len(world.chat_ids), "the kill landed mid-broadcast"
            _wait(lambda: len(_digests(server)) == len(world.chat_ids), timeout=90)
            all_delivered_after = time.monotonic() - killed_at
            time.sleep(1.0)
        finally:
            _stop_all(bots)
        digests = _digests(server)
    survivor_log = logs[1 - bots.index(victim)]
    print(f"postgresql: every digest delivered {all_delivered_after:.1f} s after one of two instances was killed")
    assert all_delivered_after < 60
    assert "process: took over" in survivor_log.read_text()
    _assert_each_chat_once(digests, world.chat_ids, CONCURRENCY, logs[0])
