"""Onboarding: /start, /help, /subscribe and /unsubscribe."""

from __future__ import annotations

from sqlmodel import Session
from telegram import Update
from telegram.constants import ChatType

from bot.context import DigestContext
from bot.i18n import Translator, ui_language_for
from bot.views import format_local, settings_text
from handlers.common import group_admins_only, in_topic, language_of, load_chat, reply, require_chat, thread_of
from storage.chats import ensure_chat, set_active
from storage.models import Chat


def help_text(t: Translator) -> str:
    """Everything the bot does, in the interface language."""
    return "\n".join([
        t.gettext("<b>Papers Digest</b> brings you new machine-learning papers every day, in Chinese and English."),
        "",
        t.gettext("/today — the next papers you have not seen, now"),
        t.gettext("/categories — choose fields (LG, CV, CL, AS, RO); /categories CV CL sets them directly"),
        t.gettext("/time HH:MM [Area/City] — daily delivery time and timezone"),
        t.gettext("/lang zh|en|both — card and interface language"),
        t.gettext("/favorites — papers you saved with ⭐"),
        t.gettext("/keywords — keyword filters: /keywords add diffusion \"graph neural\" -survey"),
        t.gettext("/taste — papers like your favourites come first (on by itself at three ⭐); /taste on|off"),
        t.gettext("/import — your library (.bib, .ris or Zotero .csv) as a file captioned /import, or reply /import "
                  "to it; /import clear forgets it"),
        t.gettext('/search words or "a phrase" — find papers in English or Chinese; /paper ID — all of one paper'),
        t.gettext("/export [md|bib] — your favourites as Markdown and BibTeX files"),
        t.gettext("/settings — this chat's settings"),
        t.gettext("/unsubscribe — pause the daily digest; /subscribe — resume it"),
        t.gettext("In a forum, commands sent inside a topic give that topic its own digest and settings."),
        t.gettext("/channels — digests for your Telegram channels: /channels add @channelname"),
        "",
        t.gettext("Admins: /post_now [all|CHAT_ID], /ingest (a file, a reply to one, or a URL), /stats"),
        t.gettext("Admins: /sources — digest URLs fetched on a schedule (/sources add URL, /sources remove N)"),
    ])


@group_admins_only
async def start_chat(update: Update, context: DigestContext) -> None:
    """Subscribe the chat (or resume it) and say what happens next."""
    services = context.services
    chat, user, thread_id = update.effective_chat, update.effective_user, thread_of(update)
    now = services.clock()
    settings = services.settings
    ui_language = ui_language_for(user.language_code if user else None)
    title = None if chat.type == ChatType.PRIVATE else chat.title

    def subscribe(session: Session) -> tuple[Chat, bool]:
        stored, created = ensure_chat(session=session, chat_id=chat.id, kind=chat.type, title=title,
                                      ui_language=ui_language, digest_time=settings.default_digest_time,
                                      timezone=settings.default_timezone, now=now, thread_id=thread_id)
        if not stored.active:
            stored = set_active(session=session, chat_id=chat.id, active=True, now=now, thread_id=thread_id)
        return stored, created

    stored, created = await services.db(subscribe)
    t = language_of(update, stored)
    if thread_id:
        greeting = t.gettext("Welcome! This topic is subscribed: its digest comes here, with settings of its own "
                             "(a copy of the group's to start with).") if created else t.gettext("Welcome back!")
    else:
        greeting = t.gettext("Welcome! This chat is subscribed.") if created else t.gettext("Welcome back!")
    when = format_local(stored.next_due_at, stored.timezone, t)
    await reply(update, "\n\n".join([
        greeting,
        t.gettext("Your first digest comes {when}. /today shows papers right now.").format(when=when),
        help_text(t),
    ]))


async def show_help(update: Update, context: DigestContext) -> None:
    """List the commands."""
    await reply(update, help_text(language_of(update, await load_chat(update, context))))


@group_admins_only
async def unsubscribe_chat(update: Update, context: DigestContext) -> None:
    """Pause daily delivery; settings and favourites stay."""
    await _set_subscription(update, context, active=False)


@group_admins_only
async def subscribe_chat(update: Update, context: DigestContext) -> None:
    """Resume daily delivery."""
    await _set_subscription(update, context, active=True)


async def _set_subscription(update: Update, context: DigestContext, *, active: bool) -> None:
    """Shared by /subscribe and /unsubscribe."""
    if await require_chat(update, context) is None:
        return
    services = context.services
    chat_id, thread_id, now = update.effective_chat.id, thread_of(update), services.clock()
    chat = await services.db(lambda session: set_active(session=session, chat_id=chat_id, active=active, now=now,
                                                        thread_id=thread_id))
    t = language_of(update, chat)
    if active:
        await reply(update, in_topic(chat, t, t.gettext("Daily digest resumed.") + "\n\n" + settings_text(chat, t)))
    else:
        await reply(update, in_topic(chat, t, t.gettext("Daily digest paused. Your settings and favourites are kept; "
                                                        "/subscribe resumes it.")))
