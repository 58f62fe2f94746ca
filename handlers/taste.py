"""/taste: what a chat's taste rests on, and switching ranking by taste on or off."""

from __future__ import annotations

from telegram import Update

from bot.context import DigestContext
from bot.i18n import Translator
from bot.views import taste_text
from handlers.common import Target, configures, in_topic, language_of, reply, require_chat
from storage.models import Chat, TasteMode
from storage.taste import set_taste_mode, taste_summary

SWITCHES = {"on": TasteMode.ON, "off": TasteMode.OFF}


async def manage_taste(update: Update, context: DigestContext) -> None:
    """/taste shows the taste (anyone may look); /taste on|off is for group administrators."""
    if context.args:  # a switch, or a channel named first (whose taste only its administrators see)
        await switch_taste(update, context)
        return
    chat = await require_chat(update, context)
    if chat is not None:
        await _show(update, context, chat, language_of(update, chat))


async def _show(update: Update, context: DigestContext, chat: Chat, t: Translator, done: str = "") -> None:
    """The destination's taste, as a reply, after what was just done."""
    summary = await context.services.db(lambda session: taste_summary(
        session=session, chat_id=chat.id, thread_id=chat.thread_id))
    await reply(update, in_topic(chat, t, "\n\n".join(part for part in (done, taste_text(summary, t)) if part)))


@configures
async def switch_taste(update: Update, context: DigestContext, target: Target) -> None:
    """Switch ranking by taste on or off (or, for a channel, show its taste)."""
    chat, t = target.chat, target.t
    if not target.args:
        await _show(update, context, chat, t)
        return
    mode = SWITCHES.get(target.args[0].lower()) if len(target.args) == 1 else None
    if mode is None:
        await reply(update, t.gettext("Usage: /taste shows what your ranking rests on; /taste on or /taste off."))
        return
    now = context.services.clock()
    await context.services.db(lambda session: set_taste_mode(
        session=session, chat_id=chat.id, mode=mode, now=now, thread_id=chat.thread_id))
    done = t.gettext("Ranking by taste switched on.") if mode is TasteMode.ON else t.gettext(
        "Ranking by taste switched off.")
    await _show(update, context, chat, t, done)
