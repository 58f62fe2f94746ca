"""What every handler needs: the chat's language, replies in HTML, and the one place permissions are checked."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from telegram import Message, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.ext import ContextTypes

from bot.callbacks import Callback, decode
from bot.delivery import NO_PREVIEW
from bot.i18n import Translator, translator, ui_language_for
from bot.services import Services, services_of
from storage.chats import ensure_chat, get_chat
from storage.models import GENERAL_THREAD, Chat

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def thread_of(update: Update) -> int:
    """The forum topic an update came from; 0 for the chat itself, a forum's General topic included."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None or not chat.is_forum or not message.is_topic_message:
        return GENERAL_THREAD
    return message.message_thread_id or GENERAL_THREAD


async def load_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Chat | None:
    """The stored destination this update came from (the chat, or the forum topic), if it subscribed once."""
    chat_id, thread_id = update.effective_chat.id, thread_of(update)
    return await services_of(context).db(lambda session: get_chat(session=session, chat_id=chat_id,
                                                                  thread_id=thread_id))


def in_topic(chat: Chat, t: Translator, text: str) -> str:
    """Say that a reply is about this forum topic only, so nobody mistakes it for the whole group's settings."""
    if chat.thread_id == GENERAL_THREAD:
        return text
    return t.gettext("🧵 This topic only:") + " " + text


def language_of(update: Update, chat: Chat | None) -> Translator:
    """The chat's interface language, else the user's Telegram language."""
    if chat is not None:
        return translator(chat.ui_language)
    user = update.effective_user
    return translator(ui_language_for(user.language_code if user else None))


async def reply(update: Update, text: str, **kwargs: Any) -> None:
    """Answer in the same chat (and forum topic) with HTML and no link previews."""
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW,
                                              do_quote=False, **kwargs)


def argument_text(message: Message) -> str:
    """Everything after the command word, spacing inside quotes kept (context.args would split it)."""
    parts = (message.text or "").split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


async def may_change_settings(update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services) -> bool:
    """In private chats anyone; in groups only group administrators and the bot's admins."""
    chat, user = update.effective_chat, update.effective_user
    if chat.type == ChatType.PRIVATE or services.is_bot_admin(user.id if user else None):
        return True
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def group_admins_only(handler: Handler) -> Handler:
    """Refuse settings changes from group members who are not administrators; nothing changes."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await may_change_settings(update, context, services_of(context)):
            await handler(update, context)
            return
        t = language_of(update, await load_chat(update, context))
        refusal = t.gettext("Only group administrators can change this chat's settings.")
        if update.callback_query:
            await update.callback_query.answer(refusal, show_alert=True)
        else:
            await reply(update, refusal)

    return guarded


def bot_admins_only(handler: Handler) -> Handler:
    """Admin commands: anyone not in ADMIN_IDS gets a polite refusal and nothing happens."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if services_of(context).is_bot_admin(user.id if user else None):
            await handler(update, context)
            return
        t = language_of(update, await load_chat(update, context))
        await reply(update, t.gettext("Sorry, only the bot's administrators can do that."))

    return guarded


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """A decoded tap on one of our buttons, in a chat we know."""

    callback: Callback
    chat: Chat
    t: Translator


async def read_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> ButtonPress | None:
    """Decode a tap; forged or stale data, or a chat that never subscribed, gets an alert and None."""
    query = update.callback_query
    callback = decode(query.data)
    chat = await load_chat(update, context)
    t = language_of(update, chat)
    if callback is None or chat is None:
        await query.answer(t.gettext("This button is no longer valid."), show_alert=True)
        return None
    return ButtonPress(callback, chat, t)


async def require_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Chat | None:
    """The chat's (or topic's) settings, or a hint to /start first when it never subscribed."""
    chat = await load_chat(update, context)
    if chat is None:
        t = language_of(update, None)
        if thread_of(update) != GENERAL_THREAD:
            await reply(update, t.gettext("This topic has no digest of its own yet. Send /start here to subscribe "
                                          "it; it starts with the group's settings."))
        else:
            await reply(update, t.gettext("Send /start first to subscribe this chat."))
    return chat


async def require_chat_to_configure(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Chat | None:
    """Like require_chat, but a forum topic of a subscribed group gets its own settings, copied from the group."""
    chat = await load_chat(update, context)
    thread_id = thread_of(update)
    if chat is not None or thread_id == GENERAL_THREAD:
        return chat if chat is not None else await require_chat(update, context)
    services = services_of(context)
    chat_id, title, now = update.effective_chat.id, update.effective_chat.title, services.clock()

    def copy_group(session: Session) -> Chat | None:
        group = get_chat(session=session, chat_id=chat_id)
        if group is None:
            return None
        topic, _created = ensure_chat(session=session, chat_id=chat_id, thread_id=thread_id, kind=group.kind,
                                      title=title, ui_language=group.ui_language, digest_time=group.digest_time,
                                      timezone=group.timezone, now=now)
        return topic

    topic = await services.db(copy_group)
    return topic if topic is not None else await require_chat(update, context)
