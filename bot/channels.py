"""What the bot does when it loses a channel: stop serving it and tell the people who manage it, once."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable

from sqlmodel import Session
from telegram.error import TelegramError

from bot.i18n import translator
from bot.services import Services
from storage.channels import lose_channel
from storage.chats import get_chat

log = logging.getLogger(__name__)


def _lose(session: Session, chat_id: int) -> list[tuple[int, str]]:
    """Mark the chat inactive; for a channel lost just now, each manager with the message in their language."""
    managers = lose_channel(session=session, chat_id=chat_id)
    channel = get_chat(session=session, chat_id=chat_id)
    if not managers or channel is None:
        return []
    news = []
    for manager_id in managers:
        own = get_chat(session=session, chat_id=manager_id)
        t = translator(own.ui_language if own is not None else channel.ui_language)
        news.append((manager_id, t.gettext(
            "📢 I can no longer post in {title}: I was removed from it or lost the right to post messages. Its "
            "digest is stopped. To bring it back, make me an administrator of the channel with the right to post "
            "messages, then send /channels add {id}.").format(title=html.escape(channel.title or str(chat_id)),
                                                            id=chat_id)))
    return news


async def lose_chat(services: Services, chat_id: int, tell: Callable[[int, str], Awaitable[object]]) -> None:
    """The bot may no longer write to this chat: mark it inactive; a channel's managers hear of it privately.

    ``tell`` sends one HTML message to a private chat (bot.delivery.send_html, with its retries).
    """
    for manager_id, text in await services.db(lambda session: _lose(session, chat_id)):
        try:
            await tell(manager_id, text)
        except TelegramError as error:  # the manager blocked the bot, or never opened a chat with it
            log.info("chat=%s lost; manager=%s could not be told (%s)", chat_id, manager_id, error)
        else:
            log.info("chat=%s lost; manager=%s told", chat_id, manager_id)
