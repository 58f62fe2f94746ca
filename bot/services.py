"""What handlers and jobs share: settings, the store, the clock; store calls run off the event loop."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.metrics import BotMetrics
from storage.db import session_scope
from storage.ingest import Ingestor, IngestReport
from storage.search import index_pending

T = TypeVar("T")
GROUP_COMMIT_MAX = 64  # store calls one grouped transaction takes at most: bounds its lock time and its rollback
GROUP_GATHER_SECONDS = 0.002  # how long a group waits for more calls before it starts (each costs a commit)

log = logging.getLogger(__name__)


def system_clock() -> datetime:
    """Aware UTC now; tests swap in a clock they control."""
    return datetime.now(UTC)


def instance_name() -> str:
    """Unique per process, readable in the database: host, pid and a random suffix."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _in_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    """One store call in its own transaction."""
    with session_scope(engine) as session:
        return work(session)


class GroupCommit:
    """Store calls made while a transaction is running wait and then share the next one.

    A broadcast makes two short transactions per chat; grouping them pays one thread hop, one connection checkout
    and one commit for a burst of calls, and SQLite's writers stop queueing for its one write lock. Each caller
    still gets its result only after its work is committed. If a grouped transaction fails, each call is run
    again alone, so one bad call cannot fail the others.
    """

    def __init__(self, engine: Engine, *, max_calls: int = GROUP_COMMIT_MAX) -> None:
        self._engine = engine
        self._max_calls = max_calls
        self._waiting: list[tuple[Callable[[Session], object], asyncio.Future[object]]] = []
        self._committing: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in the next grouped transaction; its result once committed."""
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._waiting.append((work, future))
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit_while_waiting())
        return await future  # type: ignore[return-value]

    async def _commit_while_waiting(self) -> None:
        """Commit groups until nobody waits; calls arriving meanwhile form the next group."""
        while self._waiting:
            if len(self._waiting) < self._max_calls:
                await asyncio.sleep(GROUP_GATHER_SECONDS)  # let the calls of this instant join: fewer, fuller groups
            group, self._waiting = self._waiting[:self._max_calls], self._waiting[self._max_calls:]
            try:
                outcomes = await asyncio.to_thread(self._run_group, [work for work, _future in group])
            except asyncio.CancelledError:  # the application is stopping: nobody may wait forever
                for _work, future in group + self._waiting:
                    future.cancel()
                self._waiting = []
                raise
            for (_work, future), (result, error) in zip(group, outcomes, strict=True):
                if future.done():
                    continue  # its caller was cancelled
                if error is None:
                    future.set_result(result)
                else:
                    future.set_exception(error)

    def _run_group(self, works: list[Callable[[Session], object]]) -> list[tuple[object, BaseException | None]]:
        """All works in one transaction; if that fails, each alone so the error stays with its own call."""
        try:
            with session_scope(self._engine) as session:
                return [(work(session), None) for work in works]
        except Exception as error:
            if len(works) == 1:
                return [(None, error)]
            log.warning("store: a grouped transaction of %d calls failed (%s); running them one by one",
                        len(works), error)
        outcomes: list[tuple[object, BaseException | None]] = []
        for work in works:
            try:
                outcomes.append((_in_transaction(self._engine, work), None))
            except Exception as error:
                outcomes.append((None, error))
        return outcomes


@dataclass
class Services:
    """One per running bot, kept in ``application.bot_data.services`` (bot.context)."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime] = system_clock
    owner: str = field(default_factory=instance_name)  # who holds a lease on a pending digest
    metrics: BotMetrics = field(default_factory=BotMetrics)
    ticks: int = 0  # scheduler ticks completed, for logs and for tests that wait on the scheduler
    database_reachable: bool = True  # as the last tick found it: an outage is logged once, and its end
    grouped: GroupCommit = field(init=False)

    def __post_init__(self) -> None:
        self.grouped = GroupCommit(self.engine)

    async def db(self, work: Callable[[Session], T]) -> T:
        """Run one transaction in a worker thread so the event loop never waits on the database."""
        return await asyncio.to_thread(_in_transaction, self.engine, work)

    async def db_grouped(self, work: Callable[[Session], T]) -> T:
        """Like ``db``, but sharing a transaction with the other calls made meanwhile (see GroupCommit)."""
        return await self.grouped.run(work)

    def is_bot_admin(self, user_id: int | None) -> bool:
        """Bot admins are listed in ADMIN_IDS."""
        return user_id is not None and user_id in self.settings.admin_ids


async def ingest_digest(services: Services, text: str, *, source: str, markup: str | None = None) -> IngestReport:
    """Store one digest off the event loop: what /ingest and the scheduled source check both call."""
    ingestor = Ingestor(services.engine)
    report = await asyncio.to_thread(ingestor.ingest_text, text, source=source, markup=markup)
    services.metrics.count_ingestion(report)
    if report.new or report.merged:  # vectors and search entries now, so no pick or /search goes without them
        await asyncio.to_thread(ingestor.write_vectors)
        await services.db(index_pending)
    return report
