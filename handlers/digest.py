"""/today: the chat's next unseen papers, now, through the same function as the daily digest."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.delivery import DeliveryStatus, deliver_digest
from bot.services import services_of
from handlers.common import in_topic, language_of, reply, require_chat
from storage.models import DeliveryKind


async def post_today(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Deliver the next digest to this chat now, or say there is nothing new."""
    chat = await require_chat(update, context)
    if chat is None:
        return
    outcome = await deliver_digest(bot=context.bot, services=services_of(context), chat_id=chat.id,
                                   thread_id=chat.thread_id, kind=DeliveryKind.TODAY)
    t = language_of(update, chat)
    if outcome.status is DeliveryStatus.NOTHING_NEW:
        await reply(update, in_topic(chat, t, t.gettext("Nothing new in your fields — you have seen every paper. "
                                                        "/categories adds more fields.")))
    elif outcome.status is DeliveryStatus.FAILED:
        await reply(update, t.gettext("Telegram did not take the digest just now; please try again in a minute."))
