"""/today: the chat's next unseen papers, now, through the same function as the daily digest."""

from __future__ import annotations

from telegram import Update

from bot.context import DigestContext
from bot.delivery import DeliveryOutcome, DeliveryStatus, deliver_digest
from bot.i18n import Translator
from handlers.common import in_topic, language_of, reply, require_chat
from storage.models import CHANNEL_KIND, Chat, DeliveryKind


async def post_today(update: Update, context: DigestContext) -> None:
    """Deliver the next digest to this chat now, or say there is nothing new."""
    chat = await require_chat(update, context)
    if chat is None:
        return
    outcome = await deliver_digest(bot=context.bot, services=context.services, chat_id=chat.id,
                                   thread_id=chat.thread_id, kind=DeliveryKind.TODAY)
    text = today_outcome_text(outcome, chat, language_of(update, chat))
    if text:
        await reply(update, text)


def today_outcome_text(outcome: DeliveryOutcome, chat: Chat, t: Translator) -> str | None:
    """What to say after an on-demand digest; nothing when it went to the chat that asked (it is the answer)."""
    if outcome.status is DeliveryStatus.NOTHING_NEW:
        return in_topic(chat, t, t.gettext("Nothing new in your fields — you have seen every paper. "
                                           "/categories adds more fields."))
    if outcome.status is DeliveryStatus.FAILED:
        return t.gettext("Telegram did not take the digest just now; please try again in a minute.")
    if chat.kind != CHANNEL_KIND:
        return None
    if outcome.status is DeliveryStatus.SENT:
        return in_topic(chat, t, t.ngettext("posted {count} paper.", "posted {count} papers.",
                                            outcome.papers).format(count=outcome.papers))
    return in_topic(chat, t, t.gettext("I could not post there: see /channels."))
