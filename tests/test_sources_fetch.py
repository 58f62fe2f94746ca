"""Scheduled source checks against a local HTTP server: conditional GETs, 304s, retries, timeouts, size caps,
admin notices through the emulator, and two bot processes sharing one PostgreSQL store."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from bot.config import Settings
from bot.emulator import BotApiEmulator
from bot.playground import Playground, emulator_settings, running_bot
from bot.services import Services
from bot.sources import poll_sources, register_configured_sources
from storage.db import open_store, session_scope
from storage.models import Digest, Paper, Source, SourceStatus
from storage.sources import add_source
from tests.conftest import sample_text
from tests.local_http import LocalServer, Request, Response, local_server

ADMIN, OTHER_ADMIN = 5001, 5002
START = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
HOUR = timedelta(minutes=60)


def robot_digest(title: str) -> bytes:
    """A one-paper digest; a different title makes a different digest (and paper)."""
    number = zlib.crc32(title.encode()) % 90000 + 10000
    return (f"1、[RO] {title}\n\nA Roboticist, B Engineer\n[Robot Lab]\n叠衣服的机器人。摘要。\n\n"
            f"We fold laundry with a robot arm.\nhttps://arxiv.org/abs/2601.{number}\n").encode()


class Site:
    """A digest page with an ETag and Last-Modified that answers conditional GETs honestly."""

    def __init__(self, body: bytes, *, etag: str | None = '"v1"', last_modified: str | None = None) -> None:
        self.body, self.etag, self.last_modified = body, etag, last_modified

    def __call__(self, request: Request) -> Response:
        validators = {name: value for name, value in (("ETag", self.etag), ("Last-Modified", self.last_modified))
                      if value}
        # RFC 9110: If-None-Match, when sent, decides; If-Modified-Since counts only without it.
        if "if-none-match" in request.headers:
            fresh = request.headers["if-none-match"] == self.etag
        else:
            fresh = self.last_modified is not None and request.headers.get("if-modified-since") == self.last_modified
        if fresh:
            return Response(304, headers=validators)
        return Response(200, self.body, {"Content-Type": "text/plain; charset=utf-8"} | validators)


class Flaky:
    """Fails with `status` the first `failures` times, then behaves like `then`."""

    def __init__(self, failures: int, then: Site, status: int = 503) -> None:
        self.failures, self.then, self.status = failures, then, status

    def __call__(self, request: Request) -> Response:
        if self.failures > 0:
            self.failures -= 1
            return Response(self.status, b"busy")
        return self.then(request)


class Clock:
    """The bot's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    """A bot (for the admin notices) polling the emulator, a store, a clock and a local digest server."""

    bot: Playground
    emulator: BotApiEmulator
    engine: Engine
    clock: Clock
    server: LocalServer

    @property
    def services(self) -> Services:
        return self.bot.application.bot_data.services

    async def poll(self) -> dict[str, SourceStatus]:
        """One round of source checks at the clock's time; URL path → how it ended."""
        checks = await poll_sources(self.services, self.bot.application.bot, backoff=0.01)
        return {check.url.removeprefix(self.server.base_url): check.status for check in checks}

    def add(self, path: str) -> int:
        with session_scope(self.engine) as session:
            source, _created = add_source(session=session, url=self.server.url(path), added_by=ADMIN)
            return source.id

    def source(self, path: str) -> Source:
        with session_scope(self.engine) as session:
            return session.exec(select(Source).where(Source.url == self.server.url(path))).one()

    def notices(self, chat_id: int = ADMIN) -> list[str]:
        return [message.plain_text for message in self.emulator.sent(chat_id)]

    def digests(self) -> int:
        with session_scope(self.engine) as session:
            return session.exec(select(func.count()).select_from(Digest)).one()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


@asynccontextmanager
async def _rig(database_url: str, server: LocalServer, **overrides: Any) -> AsyncIterator[Rig]:
    engine = open_store(database_url)
    clock = Clock(START)
    async with BotApiEmulator() as emulator:
        emulator.add_private_chat(ADMIN, first_name="Root", language_code="en")
        emulator.add_private_chat(OTHER_ADMIN, first_name="Ops", language_code="zh-hans")
        values = {"fetch_timeout": 2.0, "source_retries": 2, "max_digest_bytes": 64 * 1024} | overrides
        settings = emulator_settings(emulator, database_url, admin_ids=frozenset({ADMIN, OTHER_ADMIN}), **values)
        async with running_bot(settings, engine, emulator=emulator, clock=clock) as bot:
            yield Rig(bot, emulator, engine, clock, server)
    engine.dispose()


@pytest.fixture
async def rig(sqlite_url: str, server: LocalServer) -> AsyncIterator[Rig]:
    async with _rig(sqlite_url, server) as made:
        yield made


async def test_a_source_is_fetched_conditionally_and_each_digest_ingested_once(rig: Rig) -> None:
    site = Site(robot_digest("A Robot That Folds Laundry"), last_modified="Sat, 21 Nov 2026 08:00:00 GMT")
    rig.server.routes["/daily"] = site
    rig.add("/daily")
    assert await rig.poll() == {"/daily": SourceStatus.INGESTED}
    (first,) = rig.server.hits("/daily")
    assert "if-none-match" not in first.headers and "if-modified-since" not in first.headers
    with session_scope(rig.engine) as session:
        assert session.exec(select(Paper.title_en)).all() == ["A Robot That Folds Laundry"]
    stored = rig.source("/daily")
    assert (stored.etag, stored.last_modified, stored.last_status) == (
        '"v1"', "Sat, 21 Nov 2026 08:00:00 GMT", "ingested")

    rig.clock.now += HOUR / 2
    assert await rig.poll() == {}, "not due before SOURCE_POLL_MINUTES"
    assert len(rig.server.hits("/daily")) == 1

    rig.clock.now += HOUR
    assert await rig.poll() == {"/daily": SourceStatus.UNCHANGED}
    second = rig.server.hits("/daily")[1]
    assert second.headers["if-none-match"] == '"v1"'
    assert second.headers["if-modified-since"] == "Sat, 21 Nov 2026 08:00:00 GMT"
    assert rig.digests() == 1

    site.body, site.etag, site.last_modified = (robot_digest("A Robot That Folds Towels"), '"v2"',
                                                "Sun, 22 Nov 2026 02:00:00 GMT")
    rig.clock.now += HOUR
    assert await rig.poll() == {"/daily": SourceStatus.INGESTED}
    assert rig.digests() == 2 and rig.source("/daily").etag == '"v2"'
    assert rig.notices() == [], "working sources never message the admins"


async def test_a_server_without_validators_re_serving_a_digest_changes_nothing(rig: Rig) -> None:
    rig.server.routes["/plain"] = Site(sample_text("003").encode(), etag=None)
    rig.add("/plain")
    assert await rig.poll() == {"/plain": SourceStatus.INGESTED}
    with session_scope(rig.engine) as session:
        papers = session.exec(select(func.count()).select_from(Paper)).one()
    rig.clock.now += HOUR
    assert await rig.poll() == {"/plain": SourceStatus.UNCHANGED}
    assert rig.digests() == 1
    with session_scope(rig.engine) as session:
        assert session.exec(select(func.count()).select_from(Paper)).one() == papers


async def test_5xx_answers_are_retried_with_backoff_then_the_digest_goes_in(rig: Rig) -> None:
    rig.server.routes["/busy"] = Flaky(2, Site(robot_digest("Patient Robots")))
    rig.add("/busy")
    assert await rig.poll() == {"/busy": SourceStatus.INGESTED}
    hits = rig.server.hits("/busy")
    assert len(hits) == 3, "SOURCE_RETRIES=2: two retries after the first try"
    assert hits[1].at - hits[0].at >= 0.01 and hits[2].at - hits[1].at >= 0.02, "backoff doubles"
    assert rig.notices() == []


async def test_a_failing_source_is_reported_once_then_once_when_it_recovers(rig: Rig) -> None:
    await rig.bot.say(OTHER_ADMIN, OTHER_ADMIN, "/start")  # a Chinese-speaking admin the bot knows
    greeted = len(rig.notices(OTHER_ADMIN))
    flaky = Flaky(10**6, Site(robot_digest("Robots Recover")))
    rig.server.routes["/down"] = flaky
    number = rig.add("/down")
    assert await rig.poll() == {"/down": SourceStatus.FAILED}
    assert len(rig.server.hits("/down")) == 3, "bounded: one try and SOURCE_RETRIES retries"
    (notice,) = rig.notices()
    assert f"Digest source {number} fails: {rig.server.url('/down')}" in notice and "HTTP 503" in notice
    (chinese,) = rig.notices(OTHER_ADMIN)[greeted:]
    assert "抓取失败" in chinese, "each admin reads it in their language"
    failing = rig.source("/down")
    assert failing.last_status == "failed" and failing.failing_since == START and failing.failure_reported

    for _ in range(3):
        rig.clock.now += HOUR
        assert await rig.poll() == {"/down": SourceStatus.FAILED}
    assert len(rig.server.hits("/down")) == 12
    assert len(rig.notices()) == 1, "reported once, not every tick"
    assert rig.source("/down").failing_since == START

    flaky.failures = 0
    rig.clock.now += HOUR
    assert await rig.poll() == {"/down": SourceStatus.INGESTED}
    assert rig.notices()[1] == f"✅ Digest source {number} works again: {rig.server.url('/down')}"
    assert "已恢复正常" in rig.notices(OTHER_ADMIN)[greeted + 1]
    rig.clock.now += HOUR
    assert await rig.poll() == {"/down": SourceStatus.UNCHANGED}
    assert len(rig.notices()) == 2, "recovery is said once"
    recovered = rig.source("/down")
    assert (recovered.last_status, recovered.failing_since, recovered.failure_reported) == ("unchanged", None, False)


async def test_a_server_that_does_not_answer_times_out_after_bounded_retries(sqlite_url: str,
                                                                            server: LocalServer) -> None:
    server.routes["/slow"] = lambda request: Response(200, robot_digest("Slow Robots"), stall=5)
    async with _rig(sqlite_url, server, fetch_timeout=0.3, source_retries=1) as rig:
        rig.add("/slow")
        started = asyncio.get_running_loop().time()
        assert await rig.poll() == {"/slow": SourceStatus.FAILED}
        assert asyncio.get_running_loop().time() - started < 3, "the timeout bounds each attempt"
        assert len(server.hits("/slow")) == 2
        assert "did not answer within 0.3 s" in rig.source("/slow").last_error
        (notice,) = rig.notices()
        assert "did not answer within 0.3 s" in notice


async def test_an_oversized_body_is_refused_without_retrying(rig: Rig) -> None:
    huge = robot_digest("Huge") + b"x" * (70 * 1024)
    rig.server.routes["/huge"] = lambda request: Response(200, huge, {"Content-Type": "text/plain"})
    rig.add("/huge")
    assert await rig.poll() == {"/huge": SourceStatus.FAILED}
    assert len(rig.server.hits("/huge")) == 1, "too large is not a transient failure"
    assert "the limit is 64.0 KB" in rig.source("/huge").last_error
    assert rig.digests() == 0


async def test_a_page_that_is_not_a_digest_fails_and_is_fetched_in_full_next_time(rig: Rig) -> None:
    page = Site(b"<html><body><p>Our blog moved.</p></body></html>", etag='"moved"')
    rig.server.routes["/moved"] = page
    rig.add("/moved")
    assert await rig.poll() == {"/moved": SourceStatus.FAILED}
    assert "no recognisable paper entry" in rig.source("/moved").last_error
    assert rig.source("/moved").etag is None, "a page that failed to ingest is not remembered"
    page.body = robot_digest("Back Online")
    rig.clock.now += HOUR
    assert await rig.poll() == {"/moved": SourceStatus.INGESTED}
    assert "if-none-match" not in rig.server.hits("/moved")[1].headers
    assert [notice.startswith("✅") for notice in rig.notices()] == [False, True]


async def test_a_404_and_a_refused_connection_are_failures_with_their_reason(rig: Rig) -> None:
    rig.add("/gone")
    with session_scope(rig.engine) as session:
        add_source(session=session, url="http://127.0.0.1:9/closed", added_by=ADMIN)
    checks = await rig.poll()
    assert checks == {"/gone": SourceStatus.FAILED, "http://127.0.0.1:9/closed": SourceStatus.FAILED}
    assert len(rig.server.hits("/gone")) == 1, "a 404 is not retried"
    assert "HTTP 404" in rig.source("/gone").last_error
    assert len(rig.notices()) == 2


async def test_polling_off_fetches_nothing(sqlite_url: str, server: LocalServer) -> None:
    server.routes["/daily"] = Site(robot_digest("Idle Robots"))
    async with _rig(sqlite_url, server, source_poll_minutes=0) as rig:
        rig.add("/daily")
        assert await rig.poll() == {}
        assert server.requests == []
        (listing,) = await rig.bot.say(ADMIN, ADMIN, "/sources")
        assert "automatic fetching is off" in listing.plain_text


async def test_the_scheduler_fetches_a_source_an_admin_just_added(sqlite_url: str, server: LocalServer) -> None:
    """The whole path: /sources add, the job queue's check round, the digest in the store, /sources list."""
    server.routes["/daily"] = Site(robot_digest("Scheduled Robots"))
    engine = open_store(sqlite_url)
    async with BotApiEmulator() as emulator:
        emulator.add_private_chat(ADMIN, first_name="Root", language_code="en")
        settings = emulator_settings(emulator, sqlite_url, admin_ids=frozenset({ADMIN}), tick_seconds=0.05)
        async with running_bot(settings, engine, emulator=emulator, with_scheduler=True) as bot:
            jobs = {job.name for job in bot.application.job_queue.jobs()}
            assert {"digest-tick", "digest-sources"} <= jobs and "arxiv-enrichment" not in jobs
            await bot.say(ADMIN, ADMIN, f"/sources add {server.url('/daily')}")
            async with asyncio.timeout(5):
                while not server.hits("/daily"):
                    await asyncio.sleep(0.02)
            await emulator.wait_until(lambda: _status(engine) == "ingested")
            (listing,) = await bot.say(ADMIN, ADMIN, "/sources")
            assert "1. " + server.url("/daily") + " — new digest ingested" in listing.plain_text
            await asyncio.sleep(0.3)
            assert len(server.hits("/daily")) == 1, "the next check waits SOURCE_POLL_MINUTES"
    with session_scope(engine) as session:
        assert session.exec(select(Paper.title_en)).all() == ["Scheduled Robots"]
    engine.dispose()


def _status(engine: Engine) -> str:
    with session_scope(engine) as session:
        return session.exec(select(Source.last_status)).one()


def test_digest_sources_are_merged_at_start_and_admin_sources_stay(database_url: str) -> None:
    engine = open_store(database_url)
    with session_scope(engine) as session:
        add_source(session=session, url="https://admin.example.org/picked", added_by=ADMIN)
    settings = Settings(database_url=database_url,
                        digest_sources="https://a.example.org/daily, https://b.example.org/weekly")
    register_configured_sources(settings, engine)
    register_configured_sources(settings, engine)  # a restart adds nothing twice
    later = Settings(database_url=database_url, digest_sources="https://c.example.org/new")
    register_configured_sources(later, engine)
    with session_scope(engine) as session:
        rows = [(source.url, source.added_by) for source in session.exec(select(Source).order_by(Source.id))]
    assert rows == [("https://admin.example.org/picked", ADMIN), ("https://a.example.org/daily", None),
                    ("https://b.example.org/weekly", None), ("https://c.example.org/new", None)]
    engine.dispose()


async def test_two_bot_processes_on_postgresql_fetch_each_due_source_once(postgres_url: str,
                                                                         server: LocalServer) -> None:
    paths = [f"/digest-{number}" for number in range(6)]
    for number, path in enumerate(paths):
        server.routes[path] = Site(robot_digest(f"Robot Number {number}"), etag=f'"{number}"')
    async with _rig(postgres_url, server) as first:
        for path in paths:
            first.add(path)
        second_engine = open_store(postgres_url)
        second = Services(settings=first.services.settings, engine=second_engine, clock=first.clock)
        try:
            rounds = await asyncio.gather(first.poll(), poll_sources(second, first.bot.application.bot,
                                                                     backoff=0.01))
        finally:
            second_engine.dispose()
        checked = [url for url in rounds[0]] + [check.url.removeprefix(server.base_url) for check in rounds[1]]
        assert sorted(checked) == sorted(paths), "every source checked by exactly one process"
        assert all(len(server.hits(path)) == 1 for path in paths)
        assert first.digests() == 6
