"""What every handler needs: the chat's language, replies and redraws, and the one place permissions are checked."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlmodel import Session
from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden

from bot.callbacks import Callback, decode
from bot.context import DigestContext
from bot.i18n import Translator, translator, ui_language_for
from storage.chats import ensure_chat, get_chat
from storage.models import CHANNEL_KIND, GENERAL_THREAD, Chat

Handler = Callable[[Update, DigestContext], Awaitable[None]]
# A channel named in a private chat: its numeric id, or its public @username.
CHANNEL_REF = re.compile(r"-100\d{1,16}|@[A-Za-z][A-Za-z0-9_]{3,31}")


def thread_of(update: Update) -> int:
    """The forum topic an update came from; 0 for the chat itself, a forum's General topic included."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None or not chat.is_forum or not message.is_topic_message:
        return GENERAL_THREAD
    return message.message_thread_id or GENERAL_THREAD


async def load_chat(update: Update, context: DigestContext) -> Chat | None:
    """The stored destination this update came from (the chat, or the forum topic), if it subscribed once."""
    chat_id, thread_id = update.effective_chat.id, thread_of(update)
    return await context.services.db(lambda session: get_chat(session=session, chat_id=chat_id,
                                                              thread_id=thread_id))


def in_topic(chat: Chat, t: Translator, text: str) -> str:
    """Say that a reply is about this forum topic only, or about a channel managed from a private chat."""
    if chat.kind == CHANNEL_KIND:
        return t.gettext("📢 {title}:").format(title=html.escape(chat.title or str(chat.id))) + " " + text
    if chat.thread_id == GENERAL_THREAD:
        return text
    return t.gettext("🧵 This topic only:") + " " + text


def language_of(update: Update, chat: Chat | None) -> Translator:
    """The chat's interface language, else the user's Telegram language."""
    if chat is not None:
        return translator(chat.ui_language)
    user = update.effective_user
    return translator(ui_language_for(user.language_code if user else None))


async def reply(update: Update, text: str, *, reply_markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the same chat (and forum topic); HTML without link previews, as bot.app's Defaults say."""
    await update.effective_message.reply_text(text, reply_markup=reply_markup)


async def redraw(query: CallbackQuery, text: str | None, reply_markup: InlineKeyboardMarkup | None) -> None:
    """Edit the message under a button in place (only its buttons when text is None).

    A double tap can ask for exactly what is shown, which Telegram refuses as "message is not modified": the message
    already reads as wanted, so that refusal is no error.
    """
    try:
        if text is None:
            await query.edit_message_reply_markup(reply_markup)
        else:
            await query.edit_message_text(text, reply_markup=reply_markup)
    except BadRequest as error:
        if "not modified" not in error.message:
            raise


def argument_text(message: Message) -> str:
    """Everything after the command word, spacing inside quotes kept (context.args would split it)."""
    parts = (message.text or "").split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


async def may_change_settings(update: Update, context: DigestContext) -> bool:
    """In private chats anyone; in groups only group administrators and the bot's admins."""
    chat, user = update.effective_chat, update.effective_user
    if chat.type == ChatType.PRIVATE or context.services.is_bot_admin(user.id if user else None):
        return True
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def group_admins_only(handler: Handler) -> Handler:
    """Refuse settings changes from group members who are not administrators; nothing changes."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: DigestContext) -> None:
        if await may_change_settings(update, context):
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
    async def guarded(update: Update, context: DigestContext) -> None:
        user = update.effective_user
        if context.services.is_bot_admin(user.id if user else None):
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
    query: CallbackQuery


async def read_button(update: Update, context: DigestContext) -> ButtonPress | None:
    """Decode a tap; forged or stale data, or a chat that never subscribed, gets an alert and None."""
    query = update.callback_query
    callback = decode(query.data)
    chat = await load_chat(update, context)
    t = language_of(update, chat)
    if callback is None or chat is None:
        await query.answer(t.gettext("This button is no longer valid."), show_alert=True)
        return None
    return ButtonPress(callback, chat, t, query)


ButtonHandler = Callable[[Update, DigestContext, ButtonPress], Awaitable[None]]


def on_button(handler: ButtonHandler) -> Callable[[Update, DigestContext], Awaitable[None]]:
    """A button handler that runs with the tap decoded, and not at all for a forged or stale one (read_button)."""

    @functools.wraps(handler)
    async def read_then_handle(update: Update, context: DigestContext) -> None:
        press = await read_button(update, context)
        if press is not None:
            await handler(update, context, press)

    return read_then_handle


async def require_chat(update: Update, context: DigestContext) -> Chat | None:
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


async def require_chat_to_configure(update: Update, context: DigestContext) -> Chat | None:
    """Like require_chat, but a forum topic of a subscribed group gets its own settings, copied from the group."""
    chat = await load_chat(update, context)
    thread_id = thread_of(update)
    if chat is not None or thread_id == GENERAL_THREAD:
        return chat if chat is not None else await require_chat(update, context)
    services = context.services
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


async def is_channel_admin(context: DigestContext, channel_id: int | str, user_id: int) -> bool | None:
    """Telegram's answer now, not what was true when the channel was added; None if the bot may no longer ask
    (it was removed from the channel)."""
    try:
        member = await context.bot.get_chat_member(channel_id, user_id)
    except (BadRequest, Forbidden):
        return None
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


@dataclass(frozen=True, slots=True)
class Target:
    """The destination a settings command or button changes: this chat or forum topic, or a channel its
    administrator manages from a private chat (named before the arguments, or carried by the button)."""

    chat: Chat
    args: list[str]  # the arguments after the channel, if one was named
    text: str  # the same, as typed: quotes and spacing kept
    t: Translator
    callback: Callback | None = None

    @property
    def is_channel(self) -> bool:
        """Replies then go to the manager's private chat, in their language."""
        return self.chat.kind == CHANNEL_KIND


TargetHandler = Callable[[Update, DigestContext, Target], Awaitable[None]]


def named_channel(update: Update, args: list[str]) -> str | None:
    """The channel a private-chat command names first, e.g. /time -1001234567890 08:30; None for this chat."""
    if update.effective_chat.type != ChatType.PRIVATE or not args or not CHANNEL_REF.fullmatch(args[0]):
        return None
    return args[0]


async def _refuse(update: Update, text: str) -> None:
    """An alert on a button, a reply to a command."""
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)


async def _channel_target(update: Update, context: DigestContext, ref: int | str, args: list[str],
                          text: str, callback: Callback | None) -> Target | None:
    """A managed channel, once Telegram confirms the sender administers it now; else a reply saying why not."""
    t = language_of(update, await load_chat(update, context))
    user = update.effective_user
    channel_id: int | None = ref if isinstance(ref, int) else None
    if channel_id is None:
        try:
            channel_id = (await context.bot.get_chat(ref)).id
        except (BadRequest, Forbidden):
            channel_id = None
    chat = None if channel_id is None else await context.services.db(
        lambda session: get_chat(session=session, chat_id=channel_id))
    if chat is None or chat.kind != CHANNEL_KIND:
        await _refuse(update, t.gettext("{channel} is not one of the channels I post to. Add it first: "
                                        "/channels add @channelname").format(channel=html.escape(str(ref))))
        return None
    admin = None if user is None else await is_channel_admin(context, chat.id, user.id)
    title = html.escape(chat.title or str(chat.id))
    if admin is None:
        await _refuse(update, t.gettext("Telegram will not tell me who administers {title}: am I still an "
                                        "administrator there? Add me back, then /channels add {id}.").format(
            title=title, id=chat.id))
        return None
    if not admin:
        await _refuse(update, t.gettext("Only administrators of {title} can change its digest, and Telegram says "
                                        "you are not one now.").format(title=title))
        return None
    return Target(chat, args, text, t, callback)


def configures(handler: TargetHandler) -> Handler:
    """The one place settings permissions are checked: a group's administrators for a group (or forum topic), a
    channel's current administrators, asked of Telegram, for a channel; the handler gets the destination to change.

    A forum topic of a subscribed group gets settings of its own on its first change.
    """

    @functools.wraps(handler)
    async def guarded(update: Update, context: DigestContext) -> None:
        callback = decode(update.callback_query.data) if update.callback_query else None
        args = list(context.args or [])
        text = "" if update.callback_query else argument_text(update.effective_message)
        if callback is not None and callback.channel is not None:
            target = await _channel_target(update, context, callback.channel, [], "", callback)
        elif (ref := named_channel(update, args)) is not None:
            parts = text.split(maxsplit=1)
            channel: int | str = int(ref) if ref.lstrip("-").isdigit() else ref
            target = await _channel_target(update, context, channel, args[1:], parts[1] if len(parts) > 1 else "",
                                           None)
        else:
            target = await _own_target(update, context, args, text)
        if target is not None:
            await handler(update, context, target)

    return guarded


async def _own_target(update: Update, context: DigestContext, args: list[str], text: str) -> Target | None:
    """This chat or topic, for its group's administrators (anyone in a private chat)."""
    if not await may_change_settings(update, context):
        t = language_of(update, await load_chat(update, context))
        await _refuse(update, t.gettext("Only group administrators can change this chat's settings."))
        return None
    if update.callback_query is not None:  # forged or stale data is refused here too
        press = await read_button(update, context)
        return None if press is None else Target(press.chat, [], "", press.t, press.callback)
    chat = await require_chat_to_configure(update, context)
    return None if chat is None else Target(chat, args, text, language_of(update, chat))

