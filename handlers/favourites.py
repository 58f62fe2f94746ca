"""Favourites: the ⭐ under each card, and /favorites with paging and removal."""

from __future__ import annotations

import re

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.callbacks import Action, decode
from bot.context import DigestContext
from bot.i18n import Translator
from bot.views import FAVOURITES_PAGE_SIZE, FavouritesPage, favourites_page
from handlers.common import ButtonPress, language_of, on_button, redraw, reply, require_chat
from storage.chats import get_chat
from storage.favourites import (
    favourite_ids,
    list_favourites,
    remove_favourite,
    save_favourite,
    toggle_favourite,
)
from storage.models import CHANNEL_KIND, Chat

_NUMBER = re.compile(r"(\d+)\s*$")


@on_button
async def toggle_star(update: Update, context: DigestContext, press: ButtonPress) -> None:
    """Save or unsave the paper under this card, then redraw the stars of that message in place."""
    query, chat, t = press.query, press.chat, press.t
    services, paper_id = context.services, int(press.callback.value)
    now = services.clock()
    if chat.kind == CHANNEL_KIND:
        await save_for_tapper(update, context, paper_id)
        return
    try:
        saved = await services.db(lambda session: toggle_favourite(
            session=session, chat_id=chat.id, paper_id=paper_id, now=now))
    except LookupError:
        await query.answer(t.gettext("This paper is no longer available."), show_alert=True)
        return
    # Answer first: Telegram shows a spinner on the button until the query is answered.
    await query.answer(t.gettext("Saved to favourites ⭐") if saved else t.gettext("Removed from favourites"))
    markup = query.message.reply_markup if query.message else None
    if markup is None:
        return
    ids = [int(d.value) for d in (decode(b.callback_data) for row in markup.inline_keyboard for b in row)
           if d is not None and d.action is Action.FAVOURITE]
    stars = await services.db(lambda session: favourite_ids(session=session, chat_id=chat.id, paper_ids=ids))
    await redraw(query, None, _restarred(markup, stars))


async def save_for_tapper(update: Update, context: DigestContext, paper_id: int) -> None:
    """⭐ under a channel's card: the paper goes to the tapper's own favourites; the channel's message stays as it
    is for everyone."""
    query, user, services = update.callback_query, update.effective_user, context.services
    now = services.clock()

    def save(session: Session) -> tuple[Chat | None, bool]:
        own = get_chat(session=session, chat_id=user.id)
        if own is None:
            return None, False
        return own, save_favourite(session=session, chat_id=user.id, paper_id=paper_id, now=now)

    try:
        own, saved = await services.db(save)
    except LookupError:
        await query.answer(language_of(update, None).gettext("This paper is no longer available."), show_alert=True)
        return
    t = language_of(update, own)
    if own is None:
        username = context.bot.username
        await query.answer(t.gettext("Open a chat with @{bot} and send /start first; then ⭐ saves papers to your "
                                     "favourites there.").format(bot=username), show_alert=True)
        return
    await query.answer(t.gettext("Saved to your favourites ⭐ — /favorites in our private chat.") if saved
                       else t.gettext("Already in your favourites — /favorites in our private chat."))


def _restarred(markup: InlineKeyboardMarkup, saved: set[int]) -> InlineKeyboardMarkup:
    """The same buttons with each star showing whether its paper is saved now."""
    rows = []
    for row in markup.inline_keyboard:
        buttons = []
        for button in row:
            callback = decode(button.callback_data if isinstance(button.callback_data, str) else None)
            if callback is None or callback.action is not Action.FAVOURITE:
                buttons.append(button)
                continue
            number = _NUMBER.search(button.text)
            label = number.group(1) if number else "?"
            mark = "✅" if int(callback.value) in saved else "⭐"
            buttons.append(InlineKeyboardButton(f"{mark} {label}", callback_data=button.callback_data))
        rows.append(buttons)
    return InlineKeyboardMarkup(rows)


async def list_saved(update: Update, context: DigestContext) -> None:
    """/favorites: the first page of saved papers, newest first."""
    chat = await require_chat(update, context)
    if chat is None:
        return
    page = await _page(context, chat.id, 0, language_of(update, chat))
    await reply(update, page.text, reply_markup=page.keyboard)


@on_button
async def favourites_button(update: Update, context: DigestContext, press: ButtonPress) -> None:
    """Page buttons and ❌ buttons of the /favorites message."""
    query, chat, t, callback = press.query, press.chat, press.t, press.callback
    services = context.services
    if callback.action is Action.UNFAVOURITE:
        paper_id = int(callback.value)
        removed = await services.db(lambda session: remove_favourite(
            session=session, chat_id=chat.id, paper_id=paper_id))
        await query.answer(t.gettext("Removed from favourites") if removed else t.gettext("Already removed."))
        page_number = callback.page
    else:
        await query.answer()
        page_number = int(callback.value)
    page = await _page(context, chat.id, page_number, t)
    await redraw(query, page.text, page.keyboard)


async def _page(context: DigestContext, chat_id: int, page: int, t: Translator) -> FavouritesPage:
    """Load and render one page; a page past the end (after removals) falls back to the last one."""
    services = context.services
    papers, total = await services.db(lambda session: list_favourites(
        session=session, chat_id=chat_id, offset=page * FAVOURITES_PAGE_SIZE, limit=FAVOURITES_PAGE_SIZE))
    if not papers and total and page > 0:
        last = (total - 1) // FAVOURITES_PAGE_SIZE
        return await _page(context, chat_id, last, t)
    return favourites_page(papers, total=total, page=page, t=t)

