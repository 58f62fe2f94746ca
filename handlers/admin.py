"""Admin commands: /post_now, /ingest (file, reply to a file, or URL) and /stats."""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import Document, Update

from bot.context import DigestContext
from bot.delivery import DeliveryOutcome, DeliveryStatus, deliver_digests
from bot.http import fetch_document
from bot.i18n import Translator
from bot.services import Services, ingest_digest
from bot.views import StoreStats, ingest_text, stats_text
from handlers.common import bot_admins_only, language_of, load_chat, reply
from storage.chats import active_destinations, count_active_chats
from storage.deliveries import count_chats_served_since, count_deliveries_since
from storage.documents import Document as LoadedDocument
from storage.documents import DocumentError, bytes_to_document, too_large
from storage.favourites import count_favourites
from storage.ingest import IngestReport
from storage.models import DeliveryKind
from storage.papers import count_papers

_URL = re.compile(r"^https?://\S+$")


@bot_admins_only
async def post_now(update: Update, context: DigestContext) -> None:
    """/post_now [all|CHAT_ID]: an extra digest now, whatever the schedule; the daily one still comes."""
    services = context.services
    t = language_of(update, await load_chat(update, context))
    args = context.args or []
    if len(args) > 1 or (args and args[0] != "all" and not re.fullmatch(r"-?\d{1,20}", args[0])):
        await reply(update, t.gettext("Usage: /post_now, /post_now all or /post_now CHAT_ID"))
        return
    chat_id = int(args[0]) if args and args[0] != "all" else None
    # A chat id stands for the chat and each of its subscribed forum topics.
    targets = await services.db(lambda session: active_destinations(session=session, chat_id=chat_id))
    if chat_id is not None and not targets:
        await reply(update, t.gettext("Chat {chat_id} is not an active subscriber.").format(chat_id=chat_id))
        return
    outcomes = await deliver_digests(bot=context.bot, services=services, destinations=targets,
                                     kind=DeliveryKind.MANUAL)
    await reply(update, _post_summary(outcomes, t))


def _post_summary(outcomes: list[DeliveryOutcome], t: Translator) -> str:
    """'Posted to 3 chats; 1 had nothing new; 0 unreachable; 0 failed.'"""
    count = {status: sum(1 for o in outcomes if o.status is status) for status in DeliveryStatus}
    sent = count[DeliveryStatus.SENT]
    return t.ngettext("Posted to {sent} chat.", "Posted to {sent} chats.", sent).format(sent=sent) + " " + (
        t.gettext("Nothing new: {nothing}. Unreachable: {unreachable}. Failed: {failed}.").format(
            nothing=count[DeliveryStatus.NOTHING_NEW], unreachable=count[DeliveryStatus.UNREACHABLE],
            failed=count[DeliveryStatus.FAILED]))


@bot_admins_only
async def ingest_command(update: Update, context: DigestContext) -> None:
    """/ingest with a URL, with a file attached, or as a reply to a file."""
    message = update.effective_message
    t = language_of(update, await load_chat(update, context))
    args = context.args or []
    replied = message.reply_to_message
    if message.document:
        await _ingest_document(update, context, message.document)
    elif replied is not None and replied.document:
        await _ingest_document(update, context, replied.document)
    elif len(args) == 1 and _URL.match(args[0]):
        services = context.services
        settings = services.settings
        try:
            document = await fetch_document(args[0], max_bytes=settings.max_digest_bytes,
                                            timeout=settings.fetch_timeout)
        except DocumentError as error:
            await reply(update, ingest_text(IngestReport(source=args[0], error=str(error)), t))
            return
        await _ingest_text(update, services, document, t)
    else:
        await reply(update, t.gettext("Send a digest file with the caption /ingest, reply /ingest to a digest file, "
                                      "or give a link: /ingest https://…"))


@bot_admins_only
async def ingest_document_message(update: Update, context: DigestContext) -> None:
    """A digest file sent to the bot privately by an admin, or captioned /ingest in a group."""
    await _ingest_document(update, context, update.effective_message.document)


async def _ingest_document(update: Update, context: DigestContext, document: Document) -> None:
    """Download a document within the size cap and ingest it through the same code as the CLI."""
    services = context.services
    t = language_of(update, await load_chat(update, context))
    name = document.file_name or "document"
    limit = services.settings.max_digest_bytes
    if document.file_size and document.file_size > limit:
        error = too_large(name, limit, document.file_size)
        await reply(update, ingest_text(IngestReport(source=name, error=str(error)), t))
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    try:
        if len(data) > limit:  # the declared size can be missing or wrong
            raise too_large(name, limit, len(data))
        loaded = bytes_to_document(data, name)
    except DocumentError as error:
        await reply(update, ingest_text(IngestReport(source=name, error=str(error)), t))
        return
    await _ingest_text(update, services, loaded, t)


async def _ingest_text(update: Update, services: Services, document: LoadedDocument, t: Translator) -> None:
    """Store the digest off the event loop and report like the CLI does."""
    report = await ingest_digest(services, document.text, source=document.source, markup=document.markup)
    await reply(update, ingest_text(report, t))


@bot_admins_only
async def show_stats(update: Update, context: DigestContext) -> None:
    """/stats: subscribers, papers, deliveries today, favourites."""
    services = context.services
    zone = ZoneInfo(services.settings.default_timezone)
    midnight = datetime.combine(services.clock().astimezone(zone).date(), time(0), tzinfo=zone)

    def gather(session: Session) -> StoreStats:
        return StoreStats(subscribers=count_active_chats(session=session),
                          channels=count_active_chats(session=session, channels=True), papers=count_papers(session),
                          deliveries_today=count_deliveries_since(session=session, since=midnight),
                          chats_served_today=count_chats_served_since(session=session, since=midnight),
                          favourites=count_favourites(session=session))

    stats = await services.db(gather)
    await reply(update, stats_text(stats, language_of(update, await load_chat(update, context))))
