"""Sending a chat its digest: pick unseen papers, render, send within Telegram's rules, record what went out.

The scheduled tick, /today and /post_now all call ``deliver_digest``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Message
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from telegram.ext import ExtBot

from bot.card_cache import CardCache
from bot.channels import lose_chat
from bot.http import retry_with_backoff
from bot.i18n import translator
from bot.keyboards import star_keyboard
from bot.metrics import FailureKind
from bot.packing import render_digest
from bot.services import Services
from storage.chats import mark_inactive, migrate_chat
from storage.deliveries import delivered_paper_ids, record_deliveries
from storage.destinations import DeliverySettings, delivery_destination
from storage.favourites import favourite_ids
from storage.keywords import KeywordSpec
from storage.models import GENERAL_THREAD, DeliveryKind, Paper, PendingDigest
from storage.papers import papers_by_ids, pick_for_destination
from storage.pending import LeaseLost, finish_pending_digest, plan_pending_digest, release_pending_digest
from storage.taste import TasteSource

log = logging.getLogger(__name__)
RETRIES = 3  # after the first attempt, for 5xx and network errors
BACKOFF_SECONDS = 0.5  # the first pause; doubled each time, times a jitter of 0.5–1.5


class DeliveryStatus(StrEnum):
    """How one chat's digest ended."""

    SENT = "sent"
    NOTHING_NEW = "nothing_new"
    UNREACHABLE = "unreachable"  # blocked, kicked, deactivated or gone: the chat was marked inactive
    FAILED = "failed"  # Telegram kept failing; nothing was recorded for the unsent part
    LEASE_LOST = "lease_lost"  # the pending digest's lease ran out and another worker may hold it: hands off
    TOPIC_CLOSED = "topic_closed"  # the forum topic is closed: this digest is skipped, the topic stays subscribed


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What happened to one chat's digest."""

    chat_id: int  # where the digest ended: the new id if the group became a supergroup on the way
    status: DeliveryStatus
    papers: int = 0
    messages: int = 0
    finished: bool = False  # the pending digest was already closed with the last message's record
    thread_id: int = GENERAL_THREAD  # the forum topic it went to; 0 for the chat itself


class ChatUnreachable(Exception):
    """Telegram says the bot can no longer write to this chat (or to this forum topic, which was deleted)."""


class TopicClosed(Exception):
    """The forum topic is closed: nothing can be posted there until it is reopened."""


def local_day(now: datetime, timezone: str) -> datetime:
    """The chat's local time, for the digest's header date."""
    return now.astimezone(ZoneInfo(timezone))


async def send_html(bot: ExtBot[None], chat_id: int, text: str, *, reply_markup: InlineKeyboardMarkup | None = None,
                    message_thread_id: int | None = None, paid: bool = False) -> Message:
    """Send one message, retrying 5xx and network errors with backoff and jitter, a bounded number of times.

    HTML without a link preview comes from the application's Defaults, which only an ExtBot applies. 429s are waited
    out by the rate limiter (bot.pacing) for that chat alone. BadRequest (malformed message, chat not found),
    Forbidden and ChatMigrated are not retried: the caller decides.
    """
    return await retry_with_backoff(
        lambda: bot.send_message(chat_id, text, reply_markup=reply_markup, message_thread_id=message_thread_id,
                                 allow_paid_broadcast=paid or None),
        retryable=is_transient, retries=RETRIES, backoff=BACKOFF_SECONDS, jitter=(0.5, 1.5), name=f"chat={chat_id}")


def is_transient(error: Exception) -> bool:
    """A timeout or a 5xx; BadRequest is a NetworkError too, but sending a malformed message again cannot help."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def is_topic_gone(error: BadRequest) -> bool:
    """Telegram's wording for a forum topic that was deleted."""
    return "message thread not found" in error.message.lower()


def is_topic_closed(error: BadRequest) -> bool:
    """Telegram's wording for a closed forum topic."""
    return "topic_closed" in error.message.lower()


def is_gone(error: BadRequest) -> bool:
    """Telegram's wording for a chat the bot can never reach again."""
    message = error.message.lower()
    return ("chat not found" in message or "user not found" in message or "group chat was deactivated" in message
            or "need administrator rights in the channel chat" in message)  # a channel took the right to post


async def deliver_digest(*, bot: ExtBot[None], services: Services, chat_id: int, kind: DeliveryKind,
                         pending: PendingDigest | None = None, thread_id: int = GENERAL_THREAD,
                         cache: CardCache | None = None) -> DeliveryOutcome:
    """Pick the destination's next unseen papers, send them as cards, and record each message's papers once sent.

    The destination is the chat, or one of its forum topics (``thread_id``, the pending digest's if given).
    A scheduled digest comes with its leased ``pending`` row: its papers are planned once, so a delivery resumed
    after a crash sends the rest of the same digest; the row is finished when everything went out, or released
    for the next tick when Telegram kept failing. A broadcast passes its ``cache`` of rendered cards.
    """
    thread_id = pending.thread_id if pending is not None else thread_id
    outcome = await _deliver(bot=bot, services=services, chat_id=chat_id, thread_id=thread_id, kind=kind,
                             pending=pending, cache=CardCache() if cache is None else cache)
    services.metrics.deliveries.labels(kind.value, outcome.status.value).inc()
    if outcome.messages:
        services.metrics.messages_sent.labels(kind.value).inc(outcome.messages)
    if pending is not None and not outcome.finished and outcome.status is not DeliveryStatus.LEASE_LOST:
        owner = services.owner
        if outcome.status is DeliveryStatus.FAILED:
            await services.db_grouped(lambda session: release_pending_digest(session=session, chat_id=outcome.chat_id,
                                                                     owner=owner, thread_id=thread_id))
        else:
            await services.db_grouped(lambda session: finish_pending_digest(session=session, chat_id=outcome.chat_id,
                                                                    owner=owner, thread_id=thread_id))
    return outcome


async def deliver_digests(*, bot: ExtBot[None], services: Services, destinations: list[tuple[int, int]],
                          kind: DeliveryKind) -> list[DeliveryOutcome]:
    """A digest to each (chat, thread), DELIVERY_CONCURRENCY at a time: one after the other, each chat's store
    work and each answer's round trip would add up, and the pacer, not the loop, should set the pace."""
    gate = asyncio.Semaphore(services.settings.delivery_concurrency)
    cache = CardCache()

    async def deliver(chat_id: int, thread_id: int) -> DeliveryOutcome:
        async with gate:
            return await deliver_digest(bot=bot, services=services, chat_id=chat_id, kind=kind, thread_id=thread_id,
                                        cache=cache)

    return list(await asyncio.gather(*(deliver(chat_id, thread_id) for chat_id, thread_id in destinations)))


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one delivery will send, read in one transaction."""

    chat: DeliverySettings | None
    papers: list[Paper]
    saved: set[int]
    lease_lost: bool = False
    keywords: list[KeywordSpec] = field(default_factory=list)
    reasons: dict[int, TasteSource] = field(default_factory=dict)  # the favourite each ranked-up paper is close to


def _plan(session: Session, *, chat_id: int, thread_id: int, pending: PendingDigest | None, limit: int, owner: str,
          now: datetime) -> _Plan:
    """The destination, and its papers: a pending digest's plan minus what already went out, else a fresh pick."""
    try:
        destination = delivery_destination(session=session, chat_id=chat_id, thread_id=thread_id, now=now,
                                           lease_owner=None if pending is None else owner)
    except LeaseLost:
        return _Plan(None, [], set(), lease_lost=True)
    if destination is None or (pending is not None and not destination.settings.active):
        return _Plan(None, [], set())
    chat, keywords = destination.settings, destination.keywords
    reasons: dict[int, TasteSource] = {}
    if destination.planned is not None:
        sent = delivered_paper_ids(session=session, chat_id=chat_id, thread_id=thread_id)
        papers = papers_by_ids(session=session, paper_ids=[i for i in destination.planned if i not in sent])
    else:
        pick = pick_for_destination(session=session, chat_id=chat_id, categories=chat.categories, limit=limit,
                                    thread_id=thread_id, keywords=bool(keywords), keeps=destination.keeps)
        papers, reasons = pick.papers, pick.reasons
        if pending is not None:
            plan_pending_digest(session=session, chat_id=chat_id, owner=owner, paper_ids=[p.id for p in papers],
                                thread_id=thread_id)
    saved = (favourite_ids(session=session, chat_id=chat_id, paper_ids=[p.id for p in papers])
             if papers and destination.favourites else set())
    return _Plan(chat, papers, saved, keywords=keywords, reasons=reasons)


async def _deliver(*, bot: ExtBot[None], services: Services, chat_id: int, thread_id: int, kind: DeliveryKind,
                   pending: PendingDigest | None, cache: CardCache) -> DeliveryOutcome:
    """Send the destination its papers message by message; the outcome names the chat id the digest ended in."""
    now = services.clock()
    limit, owner = services.settings.digest_size, services.owner
    plan = await services.db_grouped(lambda session: _plan(session, chat_id=chat_id, thread_id=thread_id,
                                                           pending=pending, limit=limit, owner=owner, now=now))
    if plan.lease_lost:
        log.warning("chat=%s thread=%s pending digest no longer leased by this process; left to its holder",
                    chat_id, thread_id)
        return DeliveryOutcome(chat_id, DeliveryStatus.LEASE_LOST, thread_id=thread_id)
    if plan.chat is None:
        return DeliveryOutcome(chat_id, DeliveryStatus.UNREACHABLE, thread_id=thread_id)
    if not plan.papers:
        return DeliveryOutcome(chat_id, DeliveryStatus.NOTHING_NEW, thread_id=thread_id)
    chat = plan.chat
    messages = render_digest(plan.papers, language=chat.language, t=translator(chat.ui_language),
                             day=local_day(now, chat.timezone).date(), keywords=plan.keywords, reasons=plan.reasons,
                             cache=cache)
    paid = services.settings.paid_broadcast and kind is not DeliveryKind.TODAY
    target, sent_papers, sent_messages, finished = chat.chat_id, 0, 0, False
    for number, message in enumerate(messages, start=1):
        ids = list(message.paper_ids)
        last_of_pending = pending is not None and number == len(messages)
        try:
            target, sent = await _send_to_chat(bot, services, target, message.text,
                                               star_keyboard(message, saved=plan.saved, cache=cache), paid,
                                               thread_id)
        except ChatUnreachable:
            return DeliveryOutcome(target, DeliveryStatus.UNREACHABLE, sent_papers, sent_messages, thread_id=thread_id)
        except TopicClosed:
            log.info("chat=%s thread=%s topic closed, digest skipped (the topic stays subscribed)", target, thread_id)
            services.metrics.failures.labels(FailureKind.TOPIC_CLOSED.value).inc()
            return DeliveryOutcome(target, DeliveryStatus.TOPIC_CLOSED, sent_papers, sent_messages,
                                   thread_id=thread_id)
        except BadRequest as error:
            log.error("chat=%s papers=%s rejected by Telegram: %s", target, ids, error.message)
            services.metrics.failures.labels(FailureKind.REJECTED.value).inc()
            continue
        except (RetryAfter, NetworkError) as error:
            log.warning("chat=%s papers=%s not sent after retries: %s", target, ids, error)
            failure = FailureKind.RATE_LIMITED if isinstance(error, RetryAfter) else FailureKind.NETWORK
            services.metrics.failures.labels(failure.value).inc()
            return DeliveryOutcome(target, DeliveryStatus.FAILED, sent_papers, sent_messages, thread_id=thread_id)
        # The window a crash can repeat: the message above is out, this record is not yet written.
        finished = await services.db_grouped(lambda session, target=target, ids=ids, sent=sent, last=last_of_pending: (
            _record(session, chat_id=target, thread_id=thread_id, paper_ids=ids, kind=kind,
                    message_id=sent.message_id, now=now, finish_owner=owner if last else None)))
        sent_papers += len(ids)
        sent_messages += 1
        log.info("chat=%s thread=%s papers=%s kind=%s sent", target, thread_id, ids, kind.value)
    status = DeliveryStatus.SENT if sent_messages else DeliveryStatus.FAILED
    return DeliveryOutcome(target, status, sent_papers, sent_messages, finished, thread_id=thread_id)


def _record(session: Session, *, chat_id: int, thread_id: int, paper_ids: list[int], kind: DeliveryKind,
            message_id: int, now: datetime, finish_owner: str | None) -> bool:
    """Record a sent message; with its digest's last message, close the pending digest in the same transaction."""
    record_deliveries(session=session, chat_id=chat_id, paper_ids=paper_ids, kind=kind.value,
                      message_id=message_id, now=now, thread_id=thread_id)
    return finish_owner is not None and finish_pending_digest(session=session, chat_id=chat_id, owner=finish_owner,
                                                              thread_id=thread_id)


async def _send_to_chat(bot: ExtBot[None], services: Services, target: int, text: str,
                        markup: InlineKeyboardMarkup, paid: bool, thread_id: int) -> tuple[int, Message]:
    """Send, following a group's migration to a supergroup and retiring chats and topics Telegram says are gone."""
    try:
        return target, await send_html(bot, target, text, reply_markup=markup, paid=paid,
                                       message_thread_id=thread_id or None)
    except ChatMigrated as error:
        new_id = error.new_chat_id
        await services.db(lambda session: migrate_chat(session=session, old_chat_id=target, new_chat_id=new_id))
        log.info("chat=%s migrated to %s", target, new_id)
        return await _send_to_chat(bot, services, new_id, text, markup, paid, thread_id)
    except Forbidden as error:
        await lose_chat(services, target, functools.partial(send_html, bot))
        log.info("chat=%s unreachable (%s), marked inactive", target, error.message)
        services.metrics.failures.labels(FailureKind.BLOCKED.value).inc()
        raise ChatUnreachable from error
    except BadRequest as error:
        if thread_id and is_topic_closed(error):
            raise TopicClosed from error
        if thread_id and is_topic_gone(error):
            # Only this topic stops: the group and its other topics keep their digests.
            await services.db(lambda session: mark_inactive(session=session, chat_id=target, thread_id=thread_id))
            log.info("chat=%s thread=%s topic deleted (%s), marked inactive", target, thread_id, error.message)
            services.metrics.failures.labels(FailureKind.TOPIC_GONE.value).inc()
            raise ChatUnreachable from error
        if not is_gone(error):
            raise
        await lose_chat(services, target, functools.partial(send_html, bot))
        log.info("chat=%s gone (%s), marked inactive", target, error.message)
        services.metrics.failures.labels(FailureKind.GONE.value).inc()
        raise ChatUnreachable from error
