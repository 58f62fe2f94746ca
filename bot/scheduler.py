"""The periodic tick: claim chats whose local delivery time has come, and deliver each its digest."""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.delivery import DeliveryOutcome, deliver_digest
from bot.services import services_of
from storage.chats import claim_due_chats
from storage.models import DeliveryKind

log = logging.getLogger(__name__)
CLAIM_BATCH = 100


async def run_tick(context: ContextTypes.DEFAULT_TYPE) -> list[DeliveryOutcome]:
    """One tick: chats are claimed in the database first, so two bot processes never deliver the same digest."""
    services = services_of(context)
    outcomes: list[DeliveryOutcome] = []
    while True:
        now = services.clock()
        claimed = await services.db(lambda session, now=now: claim_due_chats(session=session, now=now,
                                                                             limit=CLAIM_BATCH))
        for chat in claimed:
            outcome = await deliver_digest(bot=context.bot, services=services, chat_id=chat.id,
                                           kind=DeliveryKind.SCHEDULED)
            outcomes.append(outcome)
        if len(claimed) < CLAIM_BATCH:
            break
    if outcomes:
        log.info("tick: %d chats due, %s", len(outcomes), _summary(outcomes))
    services.ticks += 1
    return outcomes


def _summary(outcomes: list[DeliveryOutcome]) -> str:
    """'sent=3 nothing_new=1' for the log."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    return " ".join(f"{status}={count}" for status, count in sorted(counts.items()))


def schedule_ticks(application: Application) -> None:  # type: ignore[type-arg]
    """Run the tick every TICK_SECONDS on python-telegram-bot's job queue (APScheduler underneath)."""
    interval = services_of(application).settings.tick_seconds
    assert application.job_queue is not None, "python-telegram-bot[job-queue] is required"
    application.job_queue.run_repeating(run_tick, interval=interval, first=interval, name="digest-tick")
