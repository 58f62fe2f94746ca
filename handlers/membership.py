"""Telegram's own news about a chat: the bot was blocked or removed, a group became a supergroup."""

from __future__ import annotations

import functools
import logging

from telegram import ChatMemberAdministrator, Update
from telegram.constants import ChatMemberStatus, ChatType

from bot.channels import lose_chat
from bot.context import DigestContext
from bot.delivery import send_html
from storage.chats import migrate_chat

log = logging.getLogger(__name__)


async def follow_membership(update: Update, context: DigestContext) -> None:
    """Blocked, kicked or left, or a channel's right to post taken: stop delivering there until someone sends
    /start again (for a channel: /channels add), and tell a channel's managers."""
    change = update.my_chat_member
    new = change.new_chat_member
    demoted = (change.chat.type == ChatType.CHANNEL
               and not (isinstance(new, ChatMemberAdministrator) and new.can_post_messages))
    if new.status not in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT) and not demoted:
        return  # added or promoted: a channel comes back through /channels add, checked with Telegram
    await lose_chat(context.services, change.chat.id, functools.partial(send_html, context.bot))
    log.info("chat=%s removed the bot or its right to post (%s), marked inactive", change.chat.id, new.status)


async def follow_migration(update: Update, context: DigestContext) -> None:
    """A group upgraded to a supergroup: its settings, favourites and history move to the new id."""
    message = update.effective_message
    if message.migrate_to_chat_id:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    else:
        old_id, new_id = message.migrate_from_chat_id, message.chat.id
    services = context.services
    try:
        await services.db(lambda session: migrate_chat(session=session, old_chat_id=old_id, new_chat_id=new_id))
    except LookupError:
        return  # a group that never subscribed
    log.info("chat=%s migrated to %s", old_id, new_id)
