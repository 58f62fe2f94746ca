"""The real bot running against the local Bot API emulator, with helpers to play users: tests, demo, benchmarks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from telegram import Update
from telegram.ext import TypeHandler

from bot.app import build_application
from bot.config import Settings
from bot.context import BotApplication, DigestContext
from bot.emulator import BotApiEmulator, SentMessage
from bot.services import system_clock

_AFTER_EVERYTHING = 10_000  # handler group that runs once every other group has handled an update


@dataclass
class Playground:
    """An emulator, the bot polling it, and a count of updates the bot has finished handling."""

    emulator: BotApiEmulator
    application: BotApplication
    handled_update_id: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def _count(self, update: Update, context: DigestContext) -> None:
        """Runs after the real handlers of each update (and after the error handler, if one failed)."""
        self.handled_update_id = max(self.handled_update_id, update.update_id)
        self._changed.set()

    async def until_idle(self, timeout: float = 10.0) -> None:
        """Wait until the bot finished handling every update queued so far (updates are handled in order)."""
        async with asyncio.timeout(timeout):
            while self.handled_update_id < self.emulator.last_update_id:
                self._changed.clear()
                await self._changed.wait()

    async def say(self, chat_id: int, user_id: int, text: str, **kwargs: Any) -> list[SentMessage]:
        """A user sends text; returns what the bot sent to that chat while handling it."""
        before = len(self.emulator.sent(chat_id))
        self.emulator.user_sends(chat_id, user_id, text, **kwargs)
        await self.until_idle()
        return self.emulator.sent(chat_id)[before:]

    async def send_document(self, chat_id: int, user_id: int, name: str, content: bytes,
                            caption: str | None = None) -> list[SentMessage]:
        """A user sends a file; returns what the bot answered."""
        before = len(self.emulator.sent(chat_id))
        self.emulator.user_sends_document(chat_id, user_id, name, content, caption=caption)
        await self.until_idle()
        return self.emulator.sent(chat_id)[before:]

    async def tap(self, chat_id: int, user_id: int, message_id: int, data: str, *,
                  forged: bool = False) -> dict[str, Any] | None:
        """A user taps a button; returns the bot's answer (toast text, alert flag) once it handled the tap."""
        query_id = self.emulator.user_taps(chat_id, user_id, message_id, data, forged=forged)
        await self.until_idle()
        return self.emulator.callback_answer(query_id)


@asynccontextmanager
async def running_bot(settings: Settings, engine: Engine, *, emulator: BotApiEmulator,
                      clock: Callable[[], datetime] = system_clock,
                      with_scheduler: bool = False) -> AsyncIterator[Playground]:
    """Start the bot polling the (already started) emulator; stop it cleanly afterwards."""
    application = build_application(settings, engine, clock=clock, with_scheduler=with_scheduler)
    playground = Playground(emulator=emulator, application=application)
    application.add_handler(TypeHandler(Update, playground._count), group=_AFTER_EVERYTHING)
    async with application:
        if application.post_init is not None:  # run_polling() would call it; here we start by hand
            await application.post_init(application)
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield playground
        finally:
            await application.updater.stop()
            await application.stop()


def emulator_settings(emulator: BotApiEmulator, database_url: str, **overrides: Any) -> Settings:
    """Settings that point the bot at the emulator; environment values are overridden."""
    values: dict[str, Any] = {
        "telegram_bot_token": emulator.token,
        "telegram_api_base_url": emulator.api_base_url,
        "telegram_api_file_url": emulator.file_base_url,
        "database_url": database_url,
        "arxiv_enrichment": False,  # offline: a test that wants it points ARXIV_API_URL at its own server
    }
    return Settings(**(values | overrides))
