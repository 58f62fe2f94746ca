"""Prometheus metrics: the bot in webhook mode against the emulator delivers and ingests; /metrics shows it."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from bot.app import build_application
from bot.emulator import BotApiEmulator
from bot.playground import emulator_settings
from bot.webhook import serve_webhook
from storage.db import session_scope
from storage.models import Paper
from tests.test_broadcast import make_due_store
from tests.test_picking import NEWEST_DIGEST

SECRET = "m3trics"
ADMIN = 4
BLOCKED = 3


def _free_port() -> int:
    """A port nobody listens on right now: serve_webhook must know its URL before it binds."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition, keyed by name and labels."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(exposition) for sample in family.samples}


def _paper_count(engine) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return len(session.exec(select(Paper.id)).all())


async def test_metrics_count_deliveries_failures_429s_ticks_and_ingestion_over_http(tmp_path: Path) -> None:
    world = make_due_store(tmp_path, private=4)
    papers_before = _paper_count(world.engine)
    async with BotApiEmulator() as emulator:
        for chat_id in world.chat_ids:
            emulator.add_private_chat(chat_id, first_name=f"u{chat_id}", language_code="en")
        emulator.block(BLOCKED, "deactivated")  # no my_chat_member update: the bot learns it from the 403
        emulator.fail_next("sendMessage", status=429, description="Too Many Requests: retry after 1",
                           parameters={"retry_after": 1})
        settings = emulator_settings(emulator, world.url, admin_ids=frozenset({ADMIN}), tick_seconds=0.05)
        application = build_application(settings, world.engine)
        port, stop = _free_port(), asyncio.Event()
        serving = asyncio.create_task(serve_webhook(
            application, webhook_url=f"http://127.0.0.1:{port}/telegram", listen="127.0.0.1", port=port,
            path="/telegram", secret_token=SECRET, stop=stop))
        try:
            reached = [chat_id for chat_id in world.chat_ids if chat_id != BLOCKED]

            def digests() -> Counter[int]:
                return Counter(m.chat_id for m in emulator.sent() if m.buttons)

            await emulator.wait_until(lambda: serving.done() or set(digests()) == set(reached), timeout=30)
            services = application.bot_data.services
            ticks = services.ticks
            async with asyncio.timeout(10):
                while services.ticks < ticks + 2:  # the tick that delivered has finished and been timed
                    await asyncio.sleep(0.02)
            before_ingest = len(emulator.sent(ADMIN))
            emulator.user_sends_document(ADMIN, ADMIN, "newest.txt", NEWEST_DIGEST.encode(), caption="/ingest")
            await emulator.wait_for_messages(ADMIN, before_ingest + 1, timeout=15)
            async with (aiohttp.ClientSession() as client,
                        client.get(f"http://127.0.0.1:{port}/metrics") as response):
                content_type = response.headers["Content-Type"]
                exposition = await response.text()
        finally:
            stop.set()
            await asyncio.wait_for(serving, 15)
        messages = sum(digests().values())
    new_papers = _paper_count(world.engine) - papers_before
    world.engine.dispose()

    metrics = _samples(exposition)

    def value(name: str, **labels: str) -> float:
        return metrics.get((name, frozenset(labels.items())), 0.0)

    assert content_type.startswith("text/plain; version=")
    assert value("papers_digest_deliveries_total", kind="scheduled", status="sent") == len(reached)
    assert value("papers_digest_deliveries_total", kind="scheduled", status="unreachable") == 1
    assert value("papers_digest_deliveries_total", kind="scheduled", status="failed") == 0
    assert value("papers_digest_messages_sent_total", kind="scheduled") == messages
    assert value("papers_digest_delivery_failures_total", failure="blocked") == 1
    assert value("papers_digest_telegram_429_total") == 1
    assert value("papers_digest_tick_duration_seconds_count") >= 1
    assert value("papers_digest_tick_duration_seconds_sum") > 0
    assert value("papers_digest_ingested_digests_total", outcome="stored") == 1
    assert new_papers > 0
    assert value("papers_digest_ingested_papers_total", outcome="new") == new_papers


async def test_each_application_counts_in_its_own_registry(tmp_path: Path) -> None:
    world = make_due_store(tmp_path, private=1)
    async with BotApiEmulator() as emulator:
        settings = emulator_settings(emulator, world.url)
        first, second = build_application(settings, world.engine), build_application(settings, world.engine)
        first.bot_data.services.metrics.too_many_requests.inc()
        assert _samples(first.bot_data.services.metrics.exposition().decode())[
            ("papers_digest_telegram_429_total", frozenset())] == 1
        assert _samples(second.bot_data.services.metrics.exposition().decode())[
            ("papers_digest_telegram_429_total", frozenset())] == 0
    world.engine.dispose()
