"""The bot's whole surface in one routing table: commands, buttons, documents, errors."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError
from telegram import Update
from telegram.constants import ChatType
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import BotApplication, DigestContext
from handlers.admin import ingest_command, ingest_document_message, post_now, show_stats
from handlers.channels import add_forwarded_channel, channel_button, manage_channels
from handlers.common import language_of, load_chat, reply
from handlers.digest import post_today
from handlers.export import export_favourites
from handlers.favourites import favourites_button, list_saved, toggle_star
from handlers.keywords import manage_keywords
from handlers.library import import_library_command
from handlers.membership import follow_membership, follow_migration
from handlers.search import paper_details_button, search_page_button, search_store, show_paper
from handlers.settings import choose_categories, set_card_language, set_time, show_settings, toggle_category_button
from handlers.sources import manage_sources
from handlers.start import show_help, start_chat, subscribe_chat, unsubscribe_chat
from handlers.taste import manage_taste
from storage.db import unreachable_reason

log = logging.getLogger(__name__)


async def unknown_command(update: Update, context: DigestContext) -> None:
    """A command we do not know: point to /help (in groups only when addressed to this bot)."""
    text = update.effective_message.text or ""
    command = text.split()[0]
    if update.effective_chat.type != ChatType.PRIVATE and "@" not in command:
        return  # another bot's command in a shared group
    t = language_of(update, await load_chat(update, context))
    await reply(update, t.gettext("Unknown command. /help lists what I can do."))


async def stale_button(update: Update, context: DigestContext) -> None:
    """Buttons with data this bot does not recognise (forged, or from an older version)."""
    t = language_of(update, await load_chat(update, context))
    await update.callback_query.answer(t.gettext("This button is no longer valid."), show_alert=True)


async def report_error(update: object, context: DigestContext) -> None:
    """Log the failure with what it happened to, and tell the user it did not work."""
    chat_id = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
    if isinstance(context.error, OperationalError):  # the database went away: one line, not a traceback
        log.warning("update for chat=%s failed: database unreachable (%s)", chat_id, unreachable_reason(context.error))
    else:
        log.error("update for chat=%s failed", chat_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        t = language_of(update, None)
        try:
            await reply(update, t.gettext("Sorry, something went wrong. Please try again."))
        except Exception:  # the reply may fail for the same reason; the log has the cause
            log.warning("chat=%s could not be told about the failure", chat_id)


def register(application: BotApplication) -> None:
    """Attach every handler; order matters only for the catch-alls at the end."""
    commands = {
        "start": start_chat, "help": show_help, "subscribe": subscribe_chat, "unsubscribe": unsubscribe_chat,
        "categories": choose_categories, "time": set_time, "lang": set_card_language, "settings": show_settings,
        "today": post_today, "favorites": list_saved, "favourites": list_saved, "keywords": manage_keywords,
        "search": search_store, "paper": show_paper, "export": export_favourites,
        "post_now": post_now, "ingest": ingest_command, "stats": show_stats, "sources": manage_sources,
        "channels": manage_channels, "taste": manage_taste, "import": import_library_command,
    }
    for name, handler in commands.items():
        application.add_handler(CommandHandler(name, handler))
    application.add_handler(MessageHandler(filters.Document.ALL & filters.CaptionRegex(r"^/import(@\w+)?\b"),
                                           import_library_command))
    application.add_handler(MessageHandler(filters.Document.ALL & filters.CaptionRegex(r"^/ingest(@\w+)?\b"),
                                           ingest_document_message))
    application.add_handler(MessageHandler(filters.Document.ALL & filters.ChatType.PRIVATE & ~filters.CAPTION,
                                           ingest_document_message))
    application.add_handler(CallbackQueryHandler(toggle_star, pattern=r"^f:"))
    application.add_handler(CallbackQueryHandler(toggle_category_button, pattern=r"^c:"))
    application.add_handler(CallbackQueryHandler(favourites_button, pattern=r"^[pu]:"))
    application.add_handler(CallbackQueryHandler(search_page_button, pattern=r"^s:"))
    application.add_handler(CallbackQueryHandler(paper_details_button, pattern=r"^d:"))
    application.add_handler(CallbackQueryHandler(channel_button, pattern=r"^m:"))
    application.add_handler(CallbackQueryHandler(stale_button))
    application.add_handler(ChatMemberHandler(follow_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, follow_migration))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.FORWARDED & ~filters.COMMAND,
                                           add_forwarded_channel))
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_error_handler(report_error)
