"""The periodic tick: chats whose local delivery time has come get a pending digest; pending digests go out.

Both steps are claims in the database (a conditional update each), so two bot processes never deliver the same
digest, and a crash leaves the digest pending for the next tick (after its lease runs out) instead of losing it.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.card_cache import CardCache
from bot.context import BotApplication, DigestContext
from bot.delivery import DeliveryOutcome, deliver_digest
from bot.services import Services
from storage.chats import claim_due_chats
from storage.db import unreachable_reason
from storage.models import DeliveryKind, PendingDigest
from storage.pending import lease_pending_digests, release_leases_of, release_pending_digest

log = logging.getLogger(__name__)
CLAIM_BATCH = 500
FIRST_TICK_SECONDS = 0.5  # after start


async def run_tick(context: DigestContext) -> list[DeliveryOutcome]:
    """One tick: turn due chats into pending digests, then deliver every pending digest this process can lease."""
    services = context.services
    if not context.application.running:
        return []  # the bot is stopping: what is due stays owed for the next start
    try:
        with services.metrics.tick_seconds.time():
            outcomes = await _claim_and_deliver(context, services)
    except OperationalError as error:
        if services.database_reachable:
            log.warning("tick: database unreachable (%s); due digests wait until it is back",
                        unreachable_reason(error))
        services.database_reachable = False
        return []
    if not services.database_reachable:
        log.info("tick: database reachable again; delivery resumes")
        services.database_reachable = True
    if outcomes:
        log.info("tick: %d digests, %s", len(outcomes), _summary(outcomes))
    services.ticks += 1
    return outcomes


async def _claim_and_deliver(context: DigestContext, services: Services) -> list[DeliveryOutcome]:
    """Turn every due chat into a pending digest, then deliver what this process can lease."""
    while True:
        now = services.clock()
        claimed = await services.db(lambda session, now=now: claim_due_chats(session=session, now=now,
                                                                             limit=CLAIM_BATCH))
        if len(claimed) < CLAIM_BATCH:
            break
    return await _deliver_leased(context, services)


def lease_chunk(services: Services) -> int:
    """Lease only what this process can send in half a lease at its pace, so no lease runs out mid-send."""
    settings = services.settings
    rate = settings.paid_rate_per_second if settings.paid_broadcast else settings.rate_limit_per_second
    return max(1, min(CLAIM_BATCH, int(rate * settings.claim_lease_seconds / 2)))


async def _deliver_leased(context: DigestContext, services: Services) -> list[DeliveryOutcome]:
    """Lease pending digests chunk by chunk and keep DELIVERY_CONCURRENCY workers busy on them.

    The next chunk is leased before the workers run dry, so the rate limiter, not the leasing, sets the pace.
    When the bot stops, the digests being sent finish and the leased ones not yet begun are handed back, still owed.
    """
    settings = services.settings
    chunk, workers = lease_chunk(services), settings.delivery_concurrency
    queue: asyncio.Queue[PendingDigest | None] = asyncio.Queue()
    outcomes: list[DeliveryOutcome] = []
    unsent: list[PendingDigest] = []
    cache = CardCache()  # the tick is one broadcast: the same few papers go to every chat due now

    async def work() -> None:
        while (pending := await queue.get()) is not None:
            if not context.application.running:
                unsent.append(pending)
                continue
            outcomes.append(await deliver_digest(bot=context.bot, services=services, chat_id=pending.chat_id,
                                                 kind=DeliveryKind.SCHEDULED, pending=pending, cache=cache))

    # No digest of this process is being sent between ticks: leases left by a tick cut short go back first.
    await services.db(lambda session: release_leases_of(session=session, owner=services.owner))
    tasks = [asyncio.create_task(work()) for _ in range(workers)]
    try:
        while context.application.running:
            now = services.clock()
            leased = await services.db(lambda session, now=now: lease_pending_digests(
                session=session, now=now, owner=services.owner, lease_seconds=settings.claim_lease_seconds,
                limit=chunk))
            for pending in leased:
                queue.put_nowait(pending)
            if len(leased) < chunk:
                break
            while queue.qsize() > workers and not all(task.done() for task in tasks):
                await asyncio.sleep(0.05)
            if all(task.done() for task in tasks):
                break  # the workers failed: what is leased waits out its lease and is retried
    finally:
        for _ in tasks:
            queue.put_nowait(None)
        # Every worker ends before the tick does, so the next tick never finds a digest of ours in flight.
        failures = [error for error in await asyncio.gather(*tasks, return_exceptions=True) if error is not None]
    if failures:
        raise failures[0]
    if unsent:
        await services.db(lambda session: _hand_back(session, unsent, services.owner))
        log.info("tick: bot stopping, %d leased digests handed back unsent (delivered after the next start)",
                 len(unsent))
    return outcomes


def _hand_back(session: Session, unsent: list[PendingDigest], owner: str) -> None:
    """Give up the leases on digests not begun, so the next start need not wait for them to run out."""
    for pending in unsent:
        release_pending_digest(session=session, chat_id=pending.chat_id, owner=owner, thread_id=pending.thread_id)


def _summary(outcomes: list[DeliveryOutcome]) -> str:
    """'sent=3 nothing_new=1' for the log."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    return " ".join(f"{status}={count}" for status, count in sorted(counts.items()))


def schedule_ticks(application: BotApplication) -> None:
    """Run the tick every TICK_SECONDS on python-telegram-bot's job queue (APScheduler underneath)."""
    interval = application.bot_data.services.settings.tick_seconds
    assert application.job_queue is not None, "python-telegram-bot[job-queue] is required"
    # One tick at a time per process: a long broadcast simply delays the next tick (so the scheduler's
    # "skipped: maximum number of running instances" is expected, not a warning).
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    # The first tick runs right after start: a bot (re)started after delivery time sends what is owed at once, not
    # a whole TICK_SECONDS later (APScheduler cannot start a job at 0, hence a moment).
    application.job_queue.run_repeating(run_tick, interval=interval, first=min(interval, FIRST_TICK_SECONDS),
                                        name="digest-tick",
                                        job_kwargs={"max_instances": 1, "coalesce": True})
