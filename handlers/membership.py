"""Telegram's own news about a chat: the bot was blocked or removed, a group became a supergroup."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.ext import ContextTypes

from bot.services import services_of
from storage.chats import mark_inactive, migrate_chat

log = logging.getLogger(__name__)


async def follow_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Blocked, kicked or left: stop delivering there until someone sends /start again."""
    change = update.my_chat_member
    if change.new_chat_member.status not in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
        return
    chat_id = change.chat.id
    await services_of(context).db(lambda session: mark_inactive(session=session, chat_id=chat_id))
    log.info("chat=%s removed the bot (%s), marked inactive", chat_id, change.new_chat_member.status)


async def follow_migration(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group upgraded to a supergroup: its settings, favourites and history move to the new id."""
    message = update.effective_message
    if message.migrate_to_chat_id:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    else:
        old_id, new_id = message.migrate_from_chat_id, message.chat.id
    services = services_of(context)
    try:
        await services.db(lambda session: migrate_chat(session=session, old_chat_id=old_id, new_chat_id=new_id))
    except LookupError:
        return  # a group that never subscribed
    log.info("chat=%s migrated to %s", old_id, new_id)
