"""Scheduled digest sources: claim the due ones, fetch each conditionally, ingest what is new, tell admins once.

A source that starts failing is reported to the admins once; when it works again they hear once that it
recovered. Between the two it is retried every SOURCE_POLL_MINUTES without further messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import Engine
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.config import Settings
from bot.context import BotApplication, DigestContext
from bot.delivery import send_html
from bot.http import FetchedPage, TransientFetchError, fetch_page, retry_with_backoff
from bot.i18n import Translator, translator
from bot.services import Services, ingest_digest
from bot.views import source_failing_text, source_recovered_text
from storage.chats import get_chat
from storage.db import session_scope
from storage.documents import DocumentError
from storage.ingest import IngestReport
from storage.models import Source, SourceStatus
from storage.sources import claim_due_sources, merge_configured_sources, record_source_failure, record_source_success

log = logging.getLogger(__name__)
CLAIM_BATCH = 50
CONCURRENT_FETCHES = 4
BACKOFF_SECONDS = 1.0  # first pause before retrying a 5xx or a timeout; doubled each time, with jitter


@dataclass(frozen=True, slots=True)
class SourceCheck:
    """How one source's check ended."""

    source_id: int
    url: str
    status: SourceStatus
    report: IngestReport | None = None
    error: str | None = None
    recovered: bool = False  # it works again after the admins were told it failed


def register_configured_sources(settings: Settings, engine: Engine) -> None:
    """Merge DIGEST_SOURCES into the table at start; what admins added stays."""
    if not settings.digest_sources:
        return
    with session_scope(engine) as session:
        added = merge_configured_sources(session=session, urls=settings.digest_sources)
    for source in added:
        log.info("source=%d %s registered from DIGEST_SOURCES", source.id, source.url)


async def fetch_with_retries(url: str, *, etag: str | None, last_modified: str | None, settings: Settings,
                             backoff: float = BACKOFF_SECONDS) -> FetchedPage:
    """Conditional GET; 5xx, 429, timeouts and refused connections are retried SOURCE_RETRIES times."""
    return await retry_with_backoff(
        lambda: fetch_page(url, etag=etag, last_modified=last_modified, max_bytes=settings.max_digest_bytes,
                           timeout=settings.fetch_timeout),
        retryable=lambda error: isinstance(error, TransientFetchError), retries=settings.source_retries,
        backoff=backoff, name=f"source {url}")


async def check_source(services: Services, source: Source, *, backoff: float = BACKOFF_SECONDS) -> SourceCheck:
    """Fetch one source and ingest a new digest through the same code as /ingest; a bad source never raises."""
    try:
        page = await fetch_with_retries(source.url, etag=source.etag, last_modified=source.last_modified,
                                        settings=services.settings, backoff=backoff)
    except DocumentError as error:
        return SourceCheck(source.id, source.url, SourceStatus.FAILED, error=str(error))
    if page.document is None:
        outcome = SourceCheck(source.id, source.url, SourceStatus.UNCHANGED)
    else:
        report = await ingest_digest(services, page.document.text, source=source.url, markup=page.document.markup)
        if report.error:
            # The validators are not kept: the next check fetches the page again instead of getting a 304.
            return SourceCheck(source.id, source.url, SourceStatus.FAILED, report, report.error)
        status = SourceStatus.UNCHANGED if report.already_ingested else SourceStatus.INGESTED
        outcome = SourceCheck(source.id, source.url, status, report)
    now = services.clock()
    recovered = await services.db(lambda session: record_source_success(
        session=session, source_id=source.id, now=now, status=outcome.status, etag=page.etag,
        last_modified=page.last_modified))
    return replace(outcome, recovered=recovered)


async def poll_sources(services: Services, bot: ExtBot[None], *, backoff: float = BACKOFF_SECONDS) -> list[SourceCheck]:
    """Check every due source this process could claim; report new failures and recoveries to the admins."""
    settings = services.settings
    if settings.source_poll_minutes <= 0:
        return []
    interval = timedelta(minutes=settings.source_poll_minutes)
    now = services.clock()
    claimed = await services.db(lambda session: claim_due_sources(session=session, now=now, interval=interval,
                                                                  limit=CLAIM_BATCH))
    gate = asyncio.Semaphore(CONCURRENT_FETCHES)

    async def one(source: Source) -> SourceCheck:
        async with gate:
            return await check_source(services, source, backoff=backoff)

    checks = await asyncio.gather(*(one(source) for source in claimed))
    for check in checks:
        await _follow_up(services, bot, check)
    return list(checks)


async def _follow_up(services: Services, bot: ExtBot[None], check: SourceCheck) -> None:
    """Log the check; record a failure; tell the admins when a source starts failing or recovers."""
    if check.status is SourceStatus.FAILED:
        now, error = services.clock(), check.error or "unknown error"
        first = await services.db(lambda session: record_source_failure(
            session=session, source_id=check.source_id, now=now, error=error))
        log.warning("source=%d %s failed: %s", check.source_id, check.url, error)
        if first:
            minutes = services.settings.source_poll_minutes
            await tell_admins(services, bot, lambda t: source_failing_text(check.source_id, check.url, error,
                                                                           minutes, t))
        return
    if check.status is SourceStatus.INGESTED and check.report is not None:
        # Where an "ingested via source" counter belongs (metrics are the /metrics endpoint's business).
        log.info("source=%d %s ingested digest %s: %d papers, %d new, %d merged", check.source_id, check.url,
                 check.report.digest_id, check.report.found, check.report.new, check.report.merged)
    else:
        log.info("source=%d %s unchanged", check.source_id, check.url)
    if check.recovered:
        await tell_admins(services, bot, lambda t: source_recovered_text(check.source_id, check.url, t))


async def tell_admins(services: Services, bot: ExtBot[None], text_for: Callable[[Translator], str]) -> int:
    """Send a notice to every ADMIN_IDS chat in its interface language; returns how many got it."""
    told = 0
    for admin_id in sorted(services.settings.admin_ids):
        chat = await services.db(lambda session, admin_id=admin_id: get_chat(session=session, chat_id=admin_id))
        try:
            await send_html(bot, admin_id, text_for(translator(chat.ui_language if chat else "en")))
            told += 1
        except TelegramError as error:  # e.g. the admin never opened a private chat with the bot
            log.warning("admin=%s could not be told about a source: %s", admin_id, error)
    return told


async def check_sources_job(context: DigestContext) -> None:
    """The scheduled job: one round of due sources."""
    await poll_sources(context.services, context.bot)


def schedule_source_checks(application: BotApplication) -> None:
    """Look for due sources every TICK_SECONDS (each source is fetched every SOURCE_POLL_MINUTES); 0 disables."""
    settings = application.bot_data.services.settings
    if settings.source_poll_minutes <= 0:
        log.info("sources: automatic fetching is off (SOURCE_POLL_MINUTES=0)")
        return
    assert application.job_queue is not None, "python-telegram-bot[job-queue] is required"
    application.job_queue.run_repeating(check_sources_job, interval=settings.tick_seconds, first=settings.tick_seconds,
                                        name="digest-sources", job_kwargs={"max_instances": 1, "coalesce": True})
