"""What handlers and jobs share: settings, the store, the clock; store calls run off the event loop."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session
from telegram.ext import Application, CallbackContext

from bot.config import Settings
from storage.db import session_scope
from storage.ingest import Ingestor, IngestReport

T = TypeVar("T")
SERVICES_KEY = "services"


def system_clock() -> datetime:
    """Aware UTC now; tests swap in a clock they control."""
    return datetime.now(UTC)


def instance_name() -> str:
    """Unique per process, readable in the database: host, pid and a random suffix."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Services:
    """One per running bot, kept in ``application.bot_data``."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime] = system_clock
    owner: str = field(default_factory=instance_name)  # who holds a lease on a pending digest
    ticks: int = 0  # scheduler ticks completed, for logs and for tests that wait on the scheduler

    async def db(self, work: Callable[[Session], T]) -> T:
        """Run one transaction in a worker thread so the event loop never waits on the database."""

        def in_transaction() -> T:
            with session_scope(self.engine) as session:
                return work(session)

        return await asyncio.to_thread(in_transaction)

    def is_bot_admin(self, user_id: int | None) -> bool:
        """Bot admins are listed in ADMIN_IDS."""
        return user_id is not None and user_id in self.settings.admin_ids


def services_of(context: CallbackContext | Application) -> Services:  # type: ignore[type-arg]
    """The Services object stored when the application was built."""
    return context.bot_data[SERVICES_KEY]


async def ingest_digest(services: Services, text: str, *, source: str) -> IngestReport:
    """Store one digest off the event loop: what /ingest and the scheduled source check both call."""
    ingestor = Ingestor(services.engine, max_bytes=services.settings.max_digest_bytes,
                        timeout=services.settings.fetch_timeout)
    return await asyncio.to_thread(ingestor.ingest_text, text, source=source)
