"""Building the python-telegram-bot Application: settings, store, handlers, command menu, scheduler."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, Defaults

from bot.arxiv import schedule_arxiv_enrichment
from bot.config import Settings
from bot.context import CONTEXT_TYPES, BotApplication
from bot.heartbeat import leave_registry, register_process, schedule_heartbeat
from bot.i18n import SUPPORTED, translator
from bot.metrics import BotMetrics
from bot.pacing import PaceLimits, Pacer
from bot.resolution import schedule_arxiv_resolution
from bot.scheduler import schedule_ticks
from bot.services import Services, system_clock
from bot.sources import register_configured_sources, schedule_source_checks
from storage.vectors import backfill_paper_vectors

# Every message is HTML without a link preview (a card holds several links, and Telegram would preview the first),
# and a reply does not quote the command it answers. Said once here: the ExtBot adds these to every call that does
# not say otherwise (a plain telegram.Bot would not).
DEFAULTS = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True),
                    do_quote=False)
MENU = ("today", "search", "categories", "keywords", "taste", "time", "lang", "favorites", "import", "export",
        "settings", "subscribe", "unsubscribe", "help")


def command_menu(language: str) -> list[BotCommand]:
    """The commands shown in Telegram's menu, described in one interface language."""
    t = translator(language)
    descriptions = {
        "today": t.gettext("Papers you have not seen, now"),
        "categories": t.gettext("Choose fields: LG CV CL AS RO"),
        "keywords": t.gettext("Keyword filters: add, remove, -exclude"),
        "taste": t.gettext("Papers like your favourites first: on, off, why"),
        "import": t.gettext("Import your library (.bib, .ris, Zotero .csv)"),
        "time": t.gettext("Daily delivery time and timezone"),
        "lang": t.gettext("Card language: zh, en or both"),
        "favorites": t.gettext("Your saved papers"),
        "search": t.gettext("Find papers by words, in English or Chinese"),
        "export": t.gettext("Favourites as Markdown and BibTeX files"),
        "settings": t.gettext("This chat's settings"),
        "subscribe": t.gettext("Resume the daily digest"),
        "unsubscribe": t.gettext("Pause the daily digest"),
        "help": t.gettext("What this bot does"),
    }
    return [BotCommand(name, descriptions[name]) for name in MENU]


async def _register_menu(application: BotApplication) -> None:
    """setMyCommands once per interface language (English is the default for everyone else)."""
    for language in SUPPORTED:
        await application.bot.set_my_commands(command_menu(language),
                                              language_code=None if language == "en" else language)


async def _start(application: BotApplication) -> None:
    """Join the process registry (taking over dead leases on SQLite), give vectors to papers a crash left without
    them, then show the command menu."""
    await register_process(application)
    await application.bot_data.services.db(lambda session: backfill_paper_vectors(session.connection()))
    await _register_menu(application)


def pace_limits(settings: Settings) -> PaceLimits:
    """Telegram's limits as configured."""
    return PaceLimits(per_second=settings.rate_limit_per_second, paid_per_second=settings.paid_rate_per_second,
                      private_per_second=settings.private_chat_per_second, private_burst=settings.private_burst,
                      group_per_minute=settings.group_per_minute)


class DigestApplication(BotApplication):
    """python-telegram-bot's Application, stopping the scheduled jobs without cutting one short."""

    async def stop(self) -> None:
        """Start no new job first: APScheduler cancels a run it has just begun when it shuts down, logging that as
        an error. Runs already going finish; a tick sees ``running`` turn false and takes no new digest."""
        if self.job_queue is not None and self.job_queue.scheduler.running:
            self.job_queue.scheduler.pause()
        await super().stop()


def build_application(settings: Settings, engine: Engine, *, clock: Callable[[], datetime] = system_clock,
                      with_scheduler: bool = True) -> BotApplication:
    """The whole bot, ready for polling or a webhook."""
    from handlers import register  # the app builder is the one place bot/ reaches into handlers/

    metrics = BotMetrics()
    application = (
        ApplicationBuilder()
        .application_class(DigestApplication)
        .context_types(CONTEXT_TYPES)
        .defaults(DEFAULTS)
        .token(settings.require_token())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_file_url)
        .post_init(_start)
        .post_stop(leave_registry)
        .rate_limiter(Pacer(pace_limits(settings), on_too_many_requests=metrics.too_many_requests.inc))
        # httpx checks every pooled connection on each request: a few busy connections beat PTB's default 256.
        .connection_pool_size(settings.telegram_connections)
        .pool_timeout(30.0)
        .build()
    )
    application.bot_data.services = Services(settings=settings, engine=engine, clock=clock, metrics=metrics)
    register(application)
    register_configured_sources(settings, engine)
    if with_scheduler:
        schedule_ticks(application)
        schedule_heartbeat(application)
        schedule_source_checks(application)
        schedule_arxiv_enrichment(application)
        schedule_arxiv_resolution(application)
    return application
