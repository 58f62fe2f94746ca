"""The process's heartbeat: registered at start, renewed every HEARTBEAT_SECONDS, removed on a clean stop.

Each beat also hands back the leases of processes whose heartbeat is older than HEARTBEAT_TIMEOUT_SECONDS, so a
crashed instance's digests go out within that timeout instead of after the whole CLAIM_LEASE_SECONDS. On SQLite,
one process by design, a starting bot takes over every lease at once.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.context import BotApplication, DigestContext
from bot.services import Services
from storage.processes import beat, forget_process, take_over_dead_leases, take_over_every_lease

log = logging.getLogger(__name__)


async def register_process(application: BotApplication) -> None:
    """First beat; on SQLite, whatever holds a lease now is a process that died."""
    services = application.bot_data.services
    sqlite = services.engine.dialect.name == "sqlite"
    now, owner = services.clock(), services.owner

    def register(session: Session) -> int:
        beat(session=session, owner=owner, now=now)
        return take_over_every_lease(session=session, owner=owner) if sqlite else 0

    freed = await services.db(register)
    log.info("process: registered as %s%s", owner,
             f"; took over {freed} digests leased before the restart" if freed else "")


async def keep_beating(context: DigestContext) -> None:
    """Renew this process's heartbeat, and free the digests leased by processes that stopped beating."""
    await renew(context.services)


async def renew(services: Services) -> int:
    """One beat and one look for dead holders; how many of their digests were freed."""
    now, owner, timeout = services.clock(), services.owner, services.settings.heartbeat_timeout_seconds

    def beat_and_take_over(session: Session) -> int:
        beat(session=session, owner=owner, now=now)
        return take_over_dead_leases(session=session, now=now, timeout_seconds=timeout)

    try:
        freed = await services.db(beat_and_take_over)
    except OperationalError:
        return 0  # the database is away: the tick says so once, and beats resume when it is back
    if freed:
        log.warning("process: took over %d digests of a process whose heartbeat stopped %g s ago or more",
                    freed, timeout)
    return freed


async def leave_registry(application: BotApplication) -> None:
    """A clean stop: the tick handed the leases back; this process leaves the registry."""
    services = application.bot_data.services
    try:
        await services.db(lambda session: forget_process(session=session, owner=services.owner))
    except OperationalError:
        log.info("process: database unreachable at stop; the entry expires by itself")


def schedule_heartbeat(application: BotApplication) -> None:
    """Beat every HEARTBEAT_SECONDS on python-telegram-bot's job queue."""
    interval = application.bot_data.services.settings.heartbeat_seconds
    assert application.job_queue is not None, "python-telegram-bot[job-queue] is required"
    application.job_queue.run_repeating(keep_beating, interval=interval, first=interval, name="heartbeat",
                                        job_kwargs={"max_instances": 1, "coalesce": True})
