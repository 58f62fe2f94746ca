"""/search with paged results, and a paper's full details from /paper ID or a result's 📄 button."""

from __future__ import annotations

import logging
import re

from sqlmodel import Session
from telegram import Message, Update
from telegram.error import BadRequest, Forbidden

from bot.context import DigestContext
from bot.details import render_paper_details
from bot.i18n import Translator
from bot.views import SEARCH_PAGE_SIZE, SearchPage, query_problem_text, search_page
from handlers.common import (
    ButtonPress,
    argument_text,
    language_of,
    load_chat,
    on_button,
    redraw,
    reply,
    require_chat,
)
from storage.chats import get_chat
from storage.favourites import favourite_ids
from storage.models import CHANNEL_KIND, Paper
from storage.papers import get_paper
from storage.search import QueryError, get_saved_search, parse_query, save_search, search_papers

log = logging.getLogger(__name__)
_PAPER_ID = re.compile(r"#?(\d{1,30})")
MAX_PAPER_ID = 2**31 - 1  # the id column is a 32-bit integer; anything larger is not a paper


async def search_store(update: Update, context: DigestContext) -> None:
    """/search words: the best matches in the store, five per page, each with ⭐ and 📄."""
    chat = await require_chat(update, context)
    if chat is None:
        return
    t = language_of(update, chat)
    text = argument_text(update.effective_message).strip()
    try:
        query = parse_query(text)
    except QueryError as error:
        await reply(update, query_problem_text(error.problem, t))
        return
    services = context.services
    now = services.clock()

    def run(session: Session) -> SearchPage:
        results = search_papers(session=session, query=query, offset=0, limit=SEARCH_PAGE_SIZE)
        search_id = save_search(session=session, chat_id=chat.id, query=text, now=now).id if results.total else 0
        saved = favourite_ids(session=session, chat_id=chat.id, paper_ids=[paper.id for paper in results.papers])
        return search_page(results.papers, query=text, total=results.total, page=0, search_id=search_id,
                           saved=saved, t=t)

    page = await services.db(run)
    log.info("chat=%s searched", chat.id)
    await reply(update, page.text, reply_markup=page.keyboard)


@on_button
async def search_page_button(update: Update, context: DigestContext, press: ButtonPress) -> None:
    """◀ ▶ under a result list: redraw it with another page; expired searches and forged pages are refused."""
    chat, t, search_id, page_number = press.chat, press.t, int(press.callback.value), press.callback.page

    def run(session: Session) -> SearchPage | str:
        """The page, or why there is none to show."""
        search = get_saved_search(session=session, chat_id=chat.id, search_id=search_id)
        try:
            saved_query = parse_query(search.query) if search else None
        except QueryError:  # saved under older limits
            saved_query = None
        if search is None or saved_query is None:
            return t.gettext("This search has expired. Send /search again.")
        results = search_papers(session=session, query=saved_query,
                                offset=page_number * SEARCH_PAGE_SIZE, limit=SEARCH_PAGE_SIZE)
        if not results.papers:
            return t.gettext("That page of results does not exist.")
        saved = favourite_ids(session=session, chat_id=chat.id, paper_ids=[paper.id for paper in results.papers])
        return search_page(results.papers, query=search.query, total=results.total, page=page_number,
                           search_id=search_id, saved=saved, t=t)

    page = await context.services.db(run)
    if isinstance(page, str):
        await press.query.answer(page, show_alert=True)
        return
    await press.query.answer()  # stops the spinner on the button
    await redraw(press.query, page.text, page.keyboard)


async def _send_details(message: Message, paper: Paper, t: Translator) -> None:
    """The paper in as many messages as it needs, in the chat (and forum topic) of message."""
    for text in render_paper_details(paper, t=t):
        await message.reply_text(text)


async def show_paper(update: Update, context: DigestContext) -> None:
    """/paper ID: the full Chinese summary and English abstract, every author, affiliation and link."""
    t = language_of(update, await load_chat(update, context))
    text = argument_text(update.effective_message).strip()
    if not text:
        await reply(update, t.gettext("Which paper? Send /paper ID, e.g. /paper 42; /search shows IDs as #42."))
        return
    match = _PAPER_ID.fullmatch(text)
    paper_id = int(match.group(1)) if match else None
    if paper_id is None:
        await reply(update, t.gettext("Paper IDs are numbers, e.g. /paper 42; /search shows them as #42."))
        return
    paper = await context.services.db(
        lambda session: get_paper(session=session, paper_id=paper_id) if 0 < paper_id <= MAX_PAPER_ID else None)
    if paper is None:
        await reply(update, t.gettext("There is no paper #{id} in the store.").format(id=paper_id))
        return
    await _send_details(update.effective_message, paper, t)


@on_button
async def paper_details_button(update: Update, context: DigestContext, press: ButtonPress) -> None:
    """📄 under a result: send that paper's details below the list."""
    query, t, paper_id = press.query, press.t, int(press.callback.value)
    paper = await context.services.db(
        lambda session: get_paper(session=session, paper_id=paper_id) if paper_id <= MAX_PAPER_ID else None)
    if paper is None or not isinstance(query.message, Message):  # too old a message is inaccessible
        await query.answer(t.gettext("This paper is no longer available."), show_alert=True)
        return
    if press.chat.kind == CHANNEL_KIND:
        await _send_details_privately(update, context, paper)
        return
    await query.answer()
    await _send_details(query.message, paper, t)


async def _send_details_privately(update: Update, context: DigestContext, paper: Paper) -> None:
    """📄 under a channel's card: the details go to the tapper's private chat, never to the channel."""
    query, user = update.callback_query, update.effective_user
    own = await context.services.db(lambda session: get_chat(session=session, chat_id=user.id))
    t = language_of(update, own)
    try:
        if own is None:
            raise Forbidden("no private chat with the bot")
        for text in render_paper_details(paper, t=t):
            await context.bot.send_message(user.id, text)
    except (Forbidden, BadRequest):  # Telegram lets a bot write only to people who opened a chat with it
        await query.answer(t.gettext("Open a chat with @{bot} and send /start first; then 📄 sends the details "
                                     "there.").format(bot=context.bot.username), show_alert=True)
        return
    await query.answer(t.gettext("Details sent to our private chat."))
