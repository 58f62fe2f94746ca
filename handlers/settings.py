"""A chat's settings: /categories (keyboard or arguments), /time, /lang and /settings."""

from __future__ import annotations

import html

from telegram import InlineKeyboardMarkup, Update

from bot.context import DigestContext
from bot.views import categories_keyboard, categories_text, format_local, language_name, settings_text
from handlers.common import Target, configures, in_topic, language_of, redraw, reply, require_chat
from storage.chats import (
    chat_categories,
    set_categories,
    set_language,
    set_schedule,
    toggle_category,
)
from storage.taste import taste_summary
from storage.vocabulary import CATEGORIES, LANGUAGES, is_time_zone, time_of_day


def _keyboard_of(target: Target, chosen: list[str]) -> InlineKeyboardMarkup:
    """The categories keyboard; a channel's names the channel, as it is shown in a private chat."""
    return categories_keyboard(chosen, channel=target.chat.id if target.is_channel else None)


async def show_categories(update: Update, target: Target) -> None:
    """The categories keyboard for the destination, as a new message."""
    chat, t = target.chat, target.t
    chosen = chat_categories(chat)
    await reply(update, in_topic(chat, t, categories_text(chosen, t)), reply_markup=_keyboard_of(target, chosen))


@configures
async def choose_categories(update: Update, context: DigestContext, target: Target) -> None:
    """Show the categories keyboard, or set the categories given as arguments."""
    chat, t = target.chat, target.t
    if not target.args:
        await show_categories(update, target)
        return
    codes = [arg.upper() for arg in target.args]
    unknown = [code for code in codes if code not in CATEGORIES]
    if unknown:
        await reply(update, t.gettext("Unknown field {codes}. Choose from {choices}, e.g. /categories CV CL.").format(
            codes=html.escape(", ".join(unknown)[:100]), choices=", ".join(CATEGORIES)))
        return
    chat = await context.services.db(lambda session: set_categories(
        session=session, chat_id=chat.id, categories=codes, thread_id=chat.thread_id))
    await reply(update, in_topic(chat, t, t.gettext("Following: {codes}").format(
        codes=", ".join(chat_categories(chat)))))


@configures
async def toggle_category_button(update: Update, context: DigestContext, target: Target) -> None:
    """A tap on the categories keyboard: toggle that field and redraw the same message."""
    query, chat, t, callback = update.callback_query, target.chat, target.t, target.callback
    try:
        chat = await context.services.db(lambda session: toggle_category(
            session=session, chat_id=chat.id, category=callback.value, thread_id=chat.thread_id))
    except ValueError:
        await query.answer(t.gettext("Keep at least one field."), show_alert=True)
        return
    chosen = chat_categories(chat)
    await query.answer(t.gettext("Following: {codes}").format(codes=", ".join(chosen)))
    await redraw(query, in_topic(chat, t, categories_text(chosen, t)), _keyboard_of(target, chosen))


@configures
async def set_time(update: Update, context: DigestContext, target: Target) -> None:
    """/time HH:MM [Area/City]: when the daily digest comes, in the chat's timezone."""
    chat, t = target.chat, target.t
    usage = t.gettext("Usage: /time HH:MM [Area/City], e.g. /time 08:30 Europe/Berlin")
    args = target.args
    if not 1 <= len(args) <= 2:
        await reply(update, usage)
        return
    wall = time_of_day(args[0])
    if wall is None:
        await reply(update, t.gettext("{value} is not a time of day (00:00–23:59).").format(
            value=html.escape(args[0][:20])) + "\n" + usage)
        return
    zone = args[1] if len(args) == 2 else chat.timezone
    if not is_time_zone(zone):
        await reply(update, t.gettext("Unknown timezone {zone}. Use Area/City, e.g. Asia/Shanghai.").format(
            zone=html.escape(zone[:60])))
        return
    services = context.services
    now, digest_time = services.clock(), f"{wall:%H:%M}"
    chat = await services.db(lambda session: set_schedule(
        session=session, chat_id=chat.id, digest_time=digest_time, timezone=zone, now=now, thread_id=chat.thread_id))
    await reply(update, in_topic(chat, t, t.gettext("Daily digest at {time} ({zone}). Next: {when}").format(
        time=chat.digest_time, zone=chat.timezone, when=format_local(chat.next_due_at, chat.timezone, t))))


@configures
async def set_card_language(update: Update, context: DigestContext, target: Target) -> None:
    """/lang zh|en|both: the cards' language, and the interface language for zh or en."""
    args = target.args
    if len(args) != 1 or args[0].lower() not in LANGUAGES:
        await reply(update, target.t.gettext("Usage: /lang zh, /lang en or /lang both"))
        return
    await apply_language(update, context, target, args[0].lower())


async def apply_language(update: Update, context: DigestContext, target: Target, language: str) -> None:
    """Set the cards' language and say so; a channel's manager keeps their own interface language."""
    chat = target.chat
    chat = await context.services.db(lambda session: set_language(
        session=session, chat_id=chat.id, language=language, thread_id=chat.thread_id))
    t = target.t if target.is_channel else language_of(update, chat)
    await reply(update, in_topic(chat, t, t.gettext("Cards now in {language}.").format(
        language=language_name(chat.language, t))))


async def show_settings(update: Update, context: DigestContext) -> None:
    """Everything about this chat in one message; anyone may read it."""
    chat = await require_chat(update, context)
    if chat is not None:
        taste = await context.services.db(lambda session: taste_summary(
            session=session, chat_id=chat.id, thread_id=chat.thread_id))
        await reply(update, settings_text(chat, language_of(update, chat), taste=taste))
