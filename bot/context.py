"""The typed context python-telegram-bot hands every handler and job: ``context.services`` instead of string keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.services import Services

if TYPE_CHECKING:  # bot.arxiv schedules its jobs with this context: a runtime import would be circular
    from bot.arxiv import ArxivClient


class BotData:
    """``application.bot_data``: PTB creates it empty with the Application; build_application fills it."""

    services: Services
    arxiv_client: ArxivClient | None = None  # one for every arXiv job, so arXiv's pace holds across them


class DigestContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """What every handler and job gets: PTB's context, with the bot's services typed."""

    @property
    def services(self) -> Services:
        """The settings, the store and the clock this bot runs with."""
        return self.bot_data.services


BotApplication = Application[ExtBot[None], DigestContext, dict[Any, Any], dict[Any, Any], BotData,
                             JobQueue[DigestContext]]
CONTEXT_TYPES = ContextTypes(context=DigestContext, bot_data=BotData)
