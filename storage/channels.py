"""Queries about channels: subscribing one from a private chat, who manages it, and losing it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, select

from storage.chats import ensure_chat, mark_inactive, set_active
from storage.deliveries import insert_ignoring_duplicates
from storage.models import CHANNEL_KIND, Channel, ChannelManager, Chat, ChatKeyword, PendingDigest


def add_channel(*, session: Session, chat_id: int, title: str | None, username: str | None, manager_id: int,
                ui_language: str, digest_time: str, timezone: str, now: datetime) -> tuple[Chat, bool]:
    """Subscribe a channel with a new chat's defaults (or resume it), with this administrator among its managers.

    Adding a channel again is how a lost one comes back: the caller has just checked with Telegram that the bot
    may post there. True if the channel was new.
    """
    chat, created = ensure_chat(session=session, chat_id=chat_id, kind=CHANNEL_KIND, title=title,
                                ui_language=ui_language, digest_time=digest_time, timezone=timezone, now=now)
    if not chat.active:
        chat = set_active(session=session, chat_id=chat_id, active=True, now=now)
    channel = session.get(Channel, chat_id)
    if channel is None:
        insert_ignoring_duplicates(session=session, model=Channel,
                                   rows=[{"id": chat_id, "username": username, "lost": False, "created_at": now}])
    else:
        channel.username, channel.lost = username, False
    insert_ignoring_duplicates(session=session, model=ChannelManager,
                               rows=[{"chat_id": chat_id, "user_id": manager_id, "created_at": now}])
    session.flush()
    return chat, created


def get_channel(*, session: Session, chat_id: int) -> Channel | None:
    """The channel's standing, or None if this chat is not a subscribed channel."""
    return session.get(Channel, chat_id)


def channels_managed_by(*, session: Session, user_id: int) -> list[tuple[Chat, Channel]]:
    """The channels this person added, by title, for their /channels list."""
    rows = session.exec(
        select(Chat, Channel)
        .join(Channel, Channel.id == Chat.id)
        .join(ChannelManager, ChannelManager.chat_id == Chat.id)
        .where(ChannelManager.user_id == user_id)
        .order_by(Chat.title, Chat.id)
    ).all()
    return [(chat, channel) for chat, channel in rows]


def channel_managers(*, session: Session, chat_id: int) -> list[int]:
    """Who is told about this channel in their private chat."""
    return list(session.exec(select(ChannelManager.user_id).where(ChannelManager.chat_id == chat_id)
                             .order_by(ChannelManager.user_id)).all())


def lose_channel(*, session: Session, chat_id: int) -> list[int]:
    """The bot may no longer post in this chat: stop serving it; for a channel lost just now, the managers to tell.

    The conditional update makes the news go out once, whichever of Telegram's update and a refused send comes
    first, and however many bot processes see it.
    """
    mark_inactive(session=session, chat_id=chat_id)
    result = session.exec(update(Channel).where(Channel.id == chat_id, Channel.lost.is_(False)).values(lost=True)
                          .execution_options(synchronize_session="evaluate"))
    return channel_managers(session=session, chat_id=chat_id) if result.rowcount == 1 else []


def remove_channel(*, session: Session, chat_id: int) -> bool:
    """Unsubscribe a channel: its settings, keywords, owed digest and managers go; what it was sent stays, so
    adding it again still sends only papers it has not had. False if it was not subscribed."""
    if session.get(Channel, chat_id) is None:
        return False
    for model, column in ((ChatKeyword, ChatKeyword.chat_id), (PendingDigest, PendingDigest.chat_id),
                          (ChannelManager, ChannelManager.chat_id), (Chat, Chat.id), (Channel, Channel.id)):
        session.exec(delete(model).where(column == chat_id).execution_options(synchronize_session=False))
    session.expire_all()
    return True
