"""/keywords: show, add, remove and clear the keyword filters of a chat, or of the forum topic it is sent in."""

from __future__ import annotations

import html
import re
from datetime import datetime

from sqlmodel import Session
from telegram import Update

from bot.context import DigestContext
from bot.i18n import Translator
from bot.keyword_args import (
    SUB_COMMANDS,
    KeywordAction,
    KeywordArgsError,
    KeywordCommand,
    KeywordProblem,
    parse_keywords_command,
)
from bot.views import keyword_change_text, keyword_removal_text, keywords_text
from handlers.common import Target, configures, in_topic, language_of, load_chat, named_channel, reply, require_chat
from storage import keywords as stored_keywords
from storage.models import Chat

_AFTER_COMMAND = re.compile(r"\S*\s*(.*)", re.DOTALL)


def _arguments(update: Update) -> str:
    """The message text after '/keywords' (or '/keywords@bot'), quotes intact: context.args loses them."""
    return _AFTER_COMMAND.fullmatch(update.effective_message.text or "").group(1)


def problem_text(error: KeywordArgsError, t: Translator) -> str:
    """Why /keywords arguments were refused, and how to write them."""
    usage = t.gettext("Usage: /keywords shows the keywords; /keywords add diffusion \"graph neural\" -survey adds "
                      "some (a -word excludes papers that mention it); /keywords remove diffusion; /keywords clear.")
    if error.problem is KeywordProblem.UNBALANCED_QUOTES:
        return t.gettext("A quote is not closed. Put a keyword of several words between double quotes, e.g. "
                         "/keywords add \"graph neural\".")
    if error.problem is KeywordProblem.EMPTY_KEYWORD:
        return t.gettext("An empty keyword (\"\" or a lone -) cannot be used.") + "\n" + usage
    if error.problem is KeywordProblem.TOO_LONG:
        return t.gettext("A keyword has at most {limit} characters; this one has {count}: {keyword}…").format(
            limit=stored_keywords.MAX_KEYWORD_CHARS, count=error.count, keyword=html.escape(error.detail[:30]))
    if error.problem is KeywordProblem.TOO_MANY:
        return t.gettext("At most {limit} keywords per chat or topic; this command gives {count}.").format(
            limit=stored_keywords.MAX_KEYWORDS, count=error.count)
    if error.detail and error.detail.lower() not in SUB_COMMANDS:
        return t.gettext("{word} is not add, remove or clear.").format(word=html.escape(error.detail[:30])) + (
            "\n" + usage)
    return usage


async def manage_keywords(update: Update, context: DigestContext) -> None:
    """/keywords [add|remove|clear …]: anyone may look; changing them is for group administrators."""
    if named_channel(update, list(context.args or [])):
        await change_keywords(update, context)  # a channel's keywords are for its administrators, even to look
        return
    try:
        command = parse_keywords_command(_arguments(update))
    except KeywordArgsError as error:
        await reply(update, problem_text(error, language_of(update, await load_chat(update, context))))
        return
    if command.action is not KeywordAction.SHOW:
        await change_keywords(update, context)
        return
    chat = await require_chat(update, context)
    if chat is not None:
        await _show(update, context, chat, language_of(update, chat))


async def _show(update: Update, context: DigestContext, chat: Chat, t: Translator) -> None:
    """The destination's keywords, as a reply."""
    keywords = await context.services.db(lambda session: stored_keywords.destination_keywords(
        session=session, chat_id=chat.id, thread_id=chat.thread_id))
    await reply(update, in_topic(chat, t, keywords_text(keywords, t)))


@configures
async def change_keywords(update: Update, context: DigestContext, target: Target) -> None:
    """Add, remove or clear keywords (or, for a channel, show them), then show them all."""
    chat, t = target.chat, target.t
    try:
        command = parse_keywords_command(target.text)
    except KeywordArgsError as error:
        await reply(update, problem_text(error, t))
        return
    if command.action is KeywordAction.SHOW:
        await _show(update, context, chat, t)
        return
    now = context.services.clock()
    try:
        done, keywords = await context.services.db(lambda session: _change(session, chat, command, t, now))
    except stored_keywords.KeywordLimitError as error:
        await reply(update, in_topic(chat, t, t.gettext(
            "At most {limit} keywords per chat or topic: {have} are stored and {adding} more would pass it. "
            "/keywords remove some first.").format(limit=stored_keywords.MAX_KEYWORDS, have=error.have,
                                                   adding=error.adding)))
        return
    await reply(update, in_topic(chat, t, done + "\n\n" + keywords_text(keywords, t)))


def _change(session: Session, chat: Chat, command: KeywordCommand, t: Translator,
            now: datetime) -> tuple[str, list[stored_keywords.KeywordSpec]]:
    """Apply the command in one transaction: what changed, and the keywords afterwards."""
    where = {"session": session, "chat_id": chat.id, "thread_id": chat.thread_id}
    if command.action is KeywordAction.ADD:
        done = keyword_change_text(stored_keywords.add_keywords(**where, keywords=command.keywords, now=now), t)
    elif command.action is KeywordAction.REMOVE:
        words = [spec.keyword for spec in command.keywords]
        removed, missing = stored_keywords.remove_keywords(**where, keywords=words)
        done = keyword_removal_text(removed, missing, t)
    else:
        count = stored_keywords.clear_keywords(**where)
        done = (t.ngettext("Removed {count} keyword.", "Removed {count} keywords.", count).format(count=count)
                if count else t.gettext("There were no keywords."))
    return done, stored_keywords.destination_keywords(**where)
