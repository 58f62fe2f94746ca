"""Admin command /sources: list, add and remove the digest URLs the bot fetches on a schedule."""

from __future__ import annotations

import html
import re
import shlex

from telegram import Update

from bot.config import MAX_URL_LENGTH
from bot.context import DigestContext
from bot.i18n import Translator
from bot.views import sources_list_texts
from handlers.common import bot_admins_only, language_of, load_chat, reply
from storage.sources import add_source, list_sources, remove_source
from storage.vocabulary import web_link_problem

MAX_ARGUMENTS_CHARS = MAX_URL_LENGTH + 100  # room for "add", quotes and spaces around the longest URL
ECHOED = 100  # characters of a bad argument quoted back


def _usage(t: Translator) -> str:
    """What /sources understands."""
    return t.gettext("Usage: /sources (or /sources list), /sources add URL, /sources remove N")


def _arguments(update: Update) -> str:
    """Everything after the command word, as typed."""
    parts = (update.effective_message.text or "").split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


@bot_admins_only
async def manage_sources(update: Update, context: DigestContext) -> None:
    """/sources [list] | add URL | remove N — a URL may be quoted; anything else gets the usage."""
    chat = await load_chat(update, context)
    t = language_of(update, chat)
    typed = _arguments(update)
    if len(typed) > MAX_ARGUMENTS_CHARS:
        await reply(update, t.gettext("That is too long: a source URL has at most {limit} characters.").format(
            limit=MAX_URL_LENGTH))
        return
    try:
        args = shlex.split(typed)
    except ValueError:
        await reply(update, t.gettext("Unbalanced quotes. Put the URL in matching quotes or none: "
                                      "/sources add https://example.org/digest.html"))
        return
    if not args or args == ["list"]:
        await _list(update, context, t, chat.timezone if chat else None)
    elif args[0] == "add" and len(args) == 2:
        await _add(update, context, t, args[1])
    elif args[0] == "remove" and len(args) == 2:
        await _remove(update, context, t, args[1])
    elif args[0] == "add":
        await reply(update, t.gettext("Usage: /sources add URL, e.g. /sources add https://example.org/digest.html"))
    elif args[0] == "remove":
        await reply(update, t.gettext("Usage: /sources remove N, with N from /sources list"))
    else:
        await reply(update, _usage(t))


async def _list(update: Update, context: DigestContext, t: Translator, timezone: str | None) -> None:
    """Every source with how its last check ended, in as many messages as it takes."""
    services = context.services
    sources = await services.db(lambda session: list_sources(session=session))
    for text in sources_list_texts(sources, poll_minutes=services.settings.source_poll_minutes,
                                   timezone=timezone or services.settings.default_timezone, t=t):
        await reply(update, text)


async def _add(update: Update, context: DigestContext, t: Translator, url: str) -> None:
    """Register a URL; it is fetched at the next check round."""
    if len(url) > MAX_URL_LENGTH:
        await reply(update, t.gettext("That is too long: a source URL has at most {limit} characters.").format(
            limit=MAX_URL_LENGTH))
        return
    if web_link_problem(url, max_length=MAX_URL_LENGTH):
        await reply(update, t.gettext("“{text}” is not a web link. Give an http:// or https:// URL, e.g. "
                                      "/sources add https://example.org/digest.html").format(
            text=html.escape(url[:ECHOED])))
        return
    user = update.effective_user
    source, created = await context.services.db(
        lambda session: add_source(session=session, url=url, added_by=user.id if user else None))
    if not created:
        await reply(update, t.gettext("Source {number} already has this URL.").format(number=source.id))
        return
    minutes = context.services.settings.source_poll_minutes
    added = t.gettext("Added source {number}: {url}").format(number=source.id, url=html.escape(source.url))
    when = (t.gettext("It is fetched shortly, then every {minutes} min.").format(minutes=f"{minutes:g}") if minutes
            else t.gettext("Automatic fetching is off (SOURCE_POLL_MINUTES=0)."))
    await reply(update, f"{added}\n{when}")


async def _remove(update: Update, context: DigestContext, t: Translator, number: str) -> None:
    """Forget a source by its number in /sources list."""
    if not re.fullmatch(r"[0-9]{1,18}", number):
        await reply(update, t.gettext("Usage: /sources remove N, with N from /sources list"))
        return
    source_id = int(number)
    removed = await context.services.db(lambda session: remove_source(session=session, source_id=source_id))
    if removed is None:
        await reply(update, t.gettext("There is no source {number}. /sources list shows the numbers.").format(
            number=source_id))
        return
    await reply(update, t.gettext("Removed source {number}: {url}").format(number=source_id,
                                                                          url=html.escape(removed.url)))
