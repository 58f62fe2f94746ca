"""/import: a chat's reference library (BibTeX, RIS, Zotero CSV) joins its taste; /import clear forgets it."""

from __future__ import annotations

import asyncio

from sqlmodel import Session
from telegram import Document, Update

from bot.context import DigestContext
from bot.i18n import Translator
from bot.views import import_problem_text, import_text
from handlers.common import group_admins_only, in_topic, language_of, reply, require_chat
from storage.library import ImportReport, clear_library, import_library
from storage.library_formats import MAX_LIBRARY_BYTES, LibraryFormatError, LibraryProblem, read_library
from storage.models import Chat
from storage.taste import TasteSummary, taste_summary


@group_admins_only
async def import_library_command(update: Update, context: DigestContext) -> None:
    """/import with a library attached or as a reply to one; /import clear. Group administrators only."""
    chat = await require_chat(update, context)
    if chat is None:
        return
    t = language_of(update, chat)
    message = update.effective_message
    words = (message.text or message.caption or "").split()[1:]
    replied = message.reply_to_message
    document = message.document or (replied.document if replied is not None else None)
    if words == ["clear"] and document is None:
        await _clear(update, context, chat, t)
    elif document is not None and not words:
        await _import(update, context, chat, t, document)
    else:
        await reply(update, in_topic(chat, t, t.gettext(
            "Send your library as a file (.bib, .ris or Zotero .csv) with the caption /import, or reply /import to "
            "it; /import clear forgets it.")))


async def _clear(update: Update, context: DigestContext, chat: Chat, t: Translator) -> None:
    """Forget the imported papers and say how many."""
    count = await context.services.db(lambda session: clear_library(session=session, chat_id=chat.id))
    await reply(update, in_topic(chat, t, t.ngettext(
        "Forgot {count} imported paper; your favourites stay.", "Forgot {count} imported papers; your favourites stay.",
        count).format(count=count) if count else t.gettext("There was no imported library.")))


async def _import(update: Update, context: DigestContext, chat: Chat, t: Translator, document: Document) -> None:
    """Download within the size cap, read the library, store its papers; one line when it cannot be read."""
    name = document.file_name or "library"
    if document.file_size and document.file_size > MAX_LIBRARY_BYTES:
        await reply(update, in_topic(chat, t, import_problem_text(LibraryProblem.TOO_LARGE, t)))
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    try:
        library = await asyncio.to_thread(read_library, data, name)
    except LibraryFormatError as error:
        await reply(update, in_topic(chat, t, import_problem_text(error.problem, t, count=error.count)))
        return
    services = context.services
    now = services.clock()

    def store(session: Session) -> tuple[ImportReport, TasteSummary]:
        report = import_library(session=session, chat_id=chat.id, items=library.items, now=now)
        return report, taste_summary(session=session, chat_id=chat.id, thread_id=chat.thread_id)

    report, taste = await services.db(store)
    await reply(update, in_topic(chat, t, import_text(library, report, taste, t)))
