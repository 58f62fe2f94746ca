"""/channels: subscribe a channel from a private chat, list the channels one manages, and manage each one."""

from __future__ import annotations

import html

from telegram import ChatMemberAdministrator, MessageOriginChannel, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden

from bot.callbacks import ChannelOp
from bot.context import DigestContext
from bot.delivery import deliver_digest
from bot.i18n import Translator, ui_language_for
from bot.views import channel_manage_keyboard, channel_manage_text, channel_name, channels_list
from handlers.common import (
    CHANNEL_REF,
    Target,
    configures,
    is_channel_admin,
    language_of,
    load_chat,
    redraw,
    reply,
)
from handlers.digest import today_outcome_text
from handlers.settings import apply_language, show_categories
from storage.channels import add_channel, channels_managed_by, remove_channel
from storage.chats import set_active
from storage.models import DeliveryKind


async def manage_channels(update: Update, context: DigestContext) -> None:
    """/channels lists the sender's channels; /channels add @name (or an id) subscribes one."""
    t = language_of(update, await load_chat(update, context))
    if update.effective_chat.type != ChatType.PRIVATE:
        await reply(update, t.gettext("Channels are managed in a private chat with me: open it and send /channels."))
        return
    args = context.args or []
    if not args:
        user_id = update.effective_user.id
        channels = await context.services.db(lambda session: channels_managed_by(session=session, user_id=user_id))
        text, keyboard = channels_list(channels, t)
        await reply(update, text, reply_markup=keyboard)
        return
    if len(args) == 2 and args[0].lower() == "add" and CHANNEL_REF.fullmatch(args[1]):
        await subscribe_channel(update, context, int(args[1]) if args[1].lstrip("-").isdigit() else args[1], t)
        return
    await reply(update, t.gettext("Usage: /channels lists your channels; /channels add @channelname (or the "
                                  "channel's id, e.g. -1001234567890) subscribes one. You can also forward me "
                                  "any post of the channel."))


async def add_forwarded_channel(update: Update, context: DigestContext) -> None:
    """A channel post forwarded to the bot privately: subscribe that channel, as /channels add would."""
    origin = update.effective_message.forward_origin
    if isinstance(origin, MessageOriginChannel):
        t = language_of(update, await load_chat(update, context))
        await subscribe_channel(update, context, origin.chat.id, t)


async def subscribe_channel(update: Update, context: DigestContext, ref: int | str, t: Translator) -> None:
    """Check with Telegram that the bot may post there and the sender administers it; then store it."""
    bot, user = context.bot, update.effective_user
    shown = html.escape(str(ref))
    try:
        info = await bot.get_chat(ref)
    except (BadRequest, Forbidden):
        await reply(update, t.gettext(
            "I cannot see the channel {channel}. In the channel's settings → Administrators, add me as an "
            "administrator with the right to post messages, then send /channels add again.").format(channel=shown))
        return
    if info.type != ChatType.CHANNEL:
        await reply(update, t.gettext("{channel} is not a channel. For a group, add me to it and send /start there."
                                      ).format(channel=shown))
        return
    title = html.escape(info.title or shown)
    try:
        me = await bot.get_chat_member(info.id, bot.id)
    except (BadRequest, Forbidden):
        me = None
    if not (isinstance(me, ChatMemberAdministrator) and me.can_post_messages):
        await reply(update, t.gettext(
            "I may not post in {title}. In the channel's settings → Administrators, make me an administrator with "
            "the right to post messages, then send /channels add again.").format(title=title))
        return
    if not await is_channel_admin(context, info.id, user.id):  # None: the bot may not ask, so it may not post
        await reply(update, t.gettext("Only administrators of {title} can subscribe it, and Telegram says you are "
                                      "not one. Ask one of them to send /channels add.").format(title=title))
        return
    services = context.services
    settings, now = services.settings, services.clock()
    ui_language = ui_language_for(user.language_code)
    chat, created = await services.db(lambda session: add_channel(
        session=session, chat_id=info.id, title=info.title, username=info.username, manager_id=user.id,
        ui_language=ui_language, digest_time=settings.default_digest_time, timezone=settings.default_timezone,
        now=now))
    done = (t.gettext("📢 {title} is subscribed: its daily digest will be posted there.") if created
            else t.gettext("📢 {title} is subscribed again.")).format(title=channel_name(chat))
    await reply(update, done + "\n\n" + channel_manage_text(chat, t), reply_markup=channel_manage_keyboard(chat, t))


@configures
async def channel_button(update: Update, context: DigestContext, target: Target) -> None:
    """A button under a channel's management message; the tapper's rights were just checked with Telegram."""
    query, chat, t = update.callback_query, target.chat, target.t
    op = ChannelOp(target.callback.value)
    services = context.services
    if op in (ChannelOp.ZH, ChannelOp.EN, ChannelOp.BOTH):
        await query.answer()
        await apply_language(update, context, target, op.value)
        return
    if op is ChannelOp.FIELDS:
        await query.answer()
        await show_categories(update, target)
        return
    if op is ChannelOp.POST:
        await query.answer(t.gettext("Posting…"))
        outcome = await deliver_digest(bot=context.bot, services=services, chat_id=chat.id, kind=DeliveryKind.TODAY)
        await reply(update, today_outcome_text(outcome, chat, t))
        return
    if op is ChannelOp.REMOVE:
        await services.db(lambda session: remove_channel(session=session, chat_id=chat.id))
        await query.answer()
        await redraw(query, t.gettext("📢 {title} is no longer subscribed. /channels add brings it back."
                                      ).format(title=channel_name(chat)), None)
        return
    if op is ChannelOp.SHOW:  # from the /channels list, which stays as it is for the other channels
        await query.answer()
        await reply(update, channel_manage_text(chat, t), reply_markup=channel_manage_keyboard(chat, t))
        return
    if op in (ChannelOp.PAUSE, ChannelOp.RESUME):
        now = services.clock()
        chat = await services.db(lambda session: set_active(session=session, chat_id=chat.id,
                                                            active=op is ChannelOp.RESUME, now=now))
    await query.answer()
    await redraw(query, channel_manage_text(chat, t), channel_manage_keyboard(chat, t))
