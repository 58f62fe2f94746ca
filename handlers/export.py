"""/export: the chat's favourites as Markdown and BibTeX documents."""

from __future__ import annotations

import logging

from telegram import InputFile, Update

from bot.context import DigestContext
from bot.exports import favourites_bibtex, favourites_markdown
from handlers.common import argument_text, language_of, reply, require_chat
from storage.favourites import favourite_papers

log = logging.getLogger(__name__)
FORMATS = {"md": "md", "markdown": "md", "bib": "bib", "bibtex": "bib"}


async def export_favourites(update: Update, context: DigestContext) -> None:
    """/export [md|bib]: send the favourites as files (both formats unless one is named)."""
    chat = await require_chat(update, context)
    if chat is None:
        return
    t = language_of(update, chat)
    argument = argument_text(update.effective_message).strip().lower()
    if argument and argument not in FORMATS:
        await reply(update, t.gettext("Unknown format. Send /export for Markdown and BibTeX, /export md or "
                                      "/export bib for one of them."))
        return
    papers = await context.services.db(lambda session: favourite_papers(session=session, chat_id=chat.id))
    if not papers:
        await reply(update, t.gettext("No favourites to export yet. Tap ⭐ under a paper to save it."))
        return
    wanted = [FORMATS[argument]] if argument else ["md", "bib"]
    day = context.services.clock().date().isoformat()
    title = t.gettext("Papers saved in {chat}").format(chat=chat.title or t.gettext("this chat"))
    files = {"md": lambda: favourites_markdown(papers, t=t, title=title), "bib": lambda: favourites_bibtex(papers)}
    caption = t.ngettext("{count} saved paper", "{count} saved papers", len(papers)).format(count=len(papers))
    for kind in wanted:
        document = InputFile(files[kind]().encode("utf-8"), filename=f"favourites-{day}.{kind}")
        # The caption is plain text: parse_mode=None keeps the application's HTML default off it.
        await update.effective_message.reply_document(document, caption=caption, parse_mode=None)
    log.info("chat=%s exported %d favourites as %s", chat.id, len(papers), "+".join(wanted))
