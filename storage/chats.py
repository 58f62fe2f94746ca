"""Queries about chats: subscription settings, when each chat is due, and claiming due chats for delivery."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, exists, func, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, select

from storage.deliveries import insert_ignoring_duplicates
from storage.keywords import copy_keywords
from storage.models import CHANNEL_KIND, GENERAL_THREAD, Chat, ChatKeyword, Delivery, Favourite, PendingDigest
from storage.vocabulary import CATEGORIES, INTERFACE_LANGUAGES, LANGUAGES, Language, is_time_zone, time_of_day

_MIGRATED_KIND = "supergroup"
_SETTINGS = ("language", "ui_language", "categories", "digest_time", "timezone", "active", "next_due_at",
             "last_digest_on")
_TOPIC_COPIES = ("language", "ui_language", "categories", "digest_time", "timezone")  # what a new topic inherits
_MAX_TIMEZONE_CHARS = 64


def _checked_digest_time(digest_time: str) -> str:
    """The time as the store keeps it ("9:05" → "09:05"), or a ValueError a user can act on."""
    wall = time_of_day(digest_time)
    if wall is None:
        raise ValueError(f"{digest_time!r} is not a time of day: use HH:MM from 00:00 to 23:59, e.g. 09:00")
    return f"{wall:%H:%M}"


def _checked_timezone(timezone: str) -> str:
    """The zone name if the tz database knows it, else a ValueError a user can act on."""
    name = timezone.strip()
    if len(name) > _MAX_TIMEZONE_CHARS or not is_time_zone(name):
        raise ValueError(f"unknown time zone {timezone!r}: use a tz database name such as Asia/Shanghai "
                         "or Europe/London")
    return name


def next_delivery_after(*, after: datetime, digest_time: str, timezone: str) -> datetime:
    """First instant strictly after `after` when the chat's wall clock shows its digest time, in UTC."""
    if after.utcoffset() is None:
        raise ValueError("next_delivery_after needs an aware datetime")
    hour, minute = map(int, _checked_digest_time(digest_time).split(":"))
    zone = ZoneInfo(_checked_timezone(timezone))
    today = after.astimezone(zone).date()
    # Yesterday and the day after tomorrow cover clocks that fall back across midnight or skip a whole day.
    candidates = (_local_instant(today + timedelta(days=shift), time(hour, minute), zone) for shift in range(-1, 3))
    return min(candidate for candidate in candidates if candidate > after)


def _local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """When the clock in `zone` shows `wall` on `day`: the first occurrence, or the end of a DST gap."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0 picks the first of two occurrences
    if _wall_clock(first, zone) == naive:
        return first
    # The time was skipped: the jump happens between the readings with the old and the new offset.
    low, high = sorted((first, naive.replace(tzinfo=zone, fold=1).astimezone(UTC)))
    while high - low > timedelta(seconds=1):
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if _wall_clock(middle, zone) >= naive:
            high = middle
        else:
            low = middle
    return high


def _wall_clock(instant: datetime, zone: ZoneInfo) -> datetime:
    """What a clock in `zone` reads at `instant`."""
    return instant.astimezone(zone).replace(tzinfo=None)


def _next_due(*, now: datetime, digest_time: str, timezone: str, last_digest_on: date | None) -> datetime:
    """The next due time after now, skipping a local day that already had its digest: one digest a day."""
    due = next_delivery_after(after=now, digest_time=digest_time, timezone=timezone)
    if last_digest_on is not None and _local_date(due, timezone) <= last_digest_on:
        due = next_delivery_after(after=due, digest_time=digest_time, timezone=timezone)
    return due


def _local_date(instant: datetime, timezone: str) -> date:
    """The calendar date in `timezone` at `instant`."""
    return instant.astimezone(ZoneInfo(timezone)).date()


def get_chat(*, session: Session, chat_id: int, thread_id: int = GENERAL_THREAD) -> Chat | None:
    """The destination's row (the chat itself, or one forum topic), or None if it never subscribed."""
    return session.get(Chat, (chat_id, thread_id))


def _require_chat(session: Session, chat_id: int, thread_id: int) -> Chat:
    """The destination's row; a setting for a chat or topic that never subscribed is a caller's bug."""
    chat = session.get(Chat, (chat_id, thread_id))
    if chat is None:
        topic = f" topic {thread_id}" if thread_id != GENERAL_THREAD else ""
        raise LookupError(f"chat {chat_id}{topic} is not subscribed")
    return chat


def ensure_chat(*, session: Session, chat_id: int, kind: str, title: str | None, ui_language: str,
                digest_time: str, timezone: str, now: datetime,
                thread_id: int = GENERAL_THREAD) -> tuple[Chat, bool]:
    """Subscribe a chat (or forum topic) with default settings, or return it as it is (title refreshed).

    A topic starts as a copy of its group's settings and keywords when the group subscribed; True if created.
    """
    if ui_language not in INTERFACE_LANGUAGES:
        raise ValueError(f"unknown interface language {ui_language!r}: choose zh or en")
    digest_time, timezone = _checked_digest_time(digest_time), _checked_timezone(timezone)
    row = {"id": chat_id, "thread_id": thread_id, "kind": kind, "title": title, "language": Language.BOTH.value,
           "ui_language": ui_language, "categories": ",".join(CATEGORIES), "digest_time": digest_time,
           "timezone": timezone, "active": True, "created_at": now}
    group = get_chat(session=session, chat_id=chat_id) if thread_id != GENERAL_THREAD else None
    if group is not None:
        row |= {name: getattr(group, name) for name in _TOPIC_COPIES}
    row["next_due_at"] = next_delivery_after(after=now, digest_time=row["digest_time"], timezone=row["timezone"])
    # Insert-or-ignore: a /start and a "bot added to group" update may race to create the same chat.
    created = insert_ignoring_duplicates(session=session, model=Chat, rows=[row]) == 1
    if created and group is not None:
        copy_keywords(session=session, chat_id=chat_id, from_thread=GENERAL_THREAD, to_thread=thread_id, now=now)
    chat = session.get(Chat, (chat_id, thread_id), populate_existing=True)
    if not created and title is not None and chat.title != title:
        chat.title = title
        session.flush()
    return chat, created


def set_active(*, session: Session, chat_id: int, active: bool, now: datetime,
               thread_id: int = GENERAL_THREAD) -> Chat:
    """Pause or resume; resuming starts from the next due time, without catching up the paused days."""
    chat = _require_chat(session, chat_id, thread_id)
    if active and not chat.active:
        chat.next_due_at = _next_due(now=now, digest_time=chat.digest_time, timezone=chat.timezone,
                                     last_digest_on=chat.last_digest_on)
    chat.active = active
    session.flush()
    return chat


def _checked_category(category: str) -> str:
    """The category code in upper case, or a ValueError naming it."""
    code = category.strip().upper()
    if code not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}: choose from {', '.join(CATEGORIES)}")
    return code


def _stored_categories(codes: set[str]) -> str:
    """Codes as the store keeps them: in CATEGORIES order, at least one."""
    if not codes:
        raise ValueError("choose at least one category")
    return ",".join(code for code in CATEGORIES if code in codes)


def set_categories(*, session: Session, chat_id: int, categories: Sequence[str],
                   thread_id: int = GENERAL_THREAD) -> Chat:
    """Replace the chat's categories with a validated, non-empty set."""
    stored = _stored_categories({_checked_category(category) for category in categories})
    chat = _require_chat(session, chat_id, thread_id)
    chat.categories = stored
    session.flush()
    return chat


def toggle_category(*, session: Session, chat_id: int, category: str, thread_id: int = GENERAL_THREAD) -> Chat:
    """Add or remove one category; the last one cannot be removed."""
    code = _checked_category(category)
    chat = _require_chat(session, chat_id, thread_id)
    codes = set(chat_categories(chat)) ^ {code}
    if not codes:
        raise ValueError(f"{code} is the only category left: choose another one before removing it")
    chat.categories = _stored_categories(codes)
    session.flush()
    return chat


def set_schedule(*, session: Session, chat_id: int, digest_time: str, timezone: str, now: datetime,
                 thread_id: int = GENERAL_THREAD) -> Chat:
    """Change when the digest arrives; the next due time follows at once."""
    digest_time, timezone = _checked_digest_time(digest_time), _checked_timezone(timezone)
    chat = _require_chat(session, chat_id, thread_id)
    chat.digest_time, chat.timezone = digest_time, timezone
    chat.next_due_at = _next_due(now=now, digest_time=chat.digest_time, timezone=chat.timezone,
                                 last_digest_on=chat.last_digest_on)
    session.flush()
    return chat


def set_language(*, session: Session, chat_id: int, language: str, thread_id: int = GENERAL_THREAD) -> Chat:
    """Choose the card language; picking one side also switches the interface to it."""
    choice = language.strip().lower()
    if choice not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: choose zh, en or both")
    chat = _require_chat(session, chat_id, thread_id)
    chat.language = choice
    if choice in INTERFACE_LANGUAGES:
        chat.ui_language = choice
    session.flush()
    return chat


def chat_categories(chat: Chat) -> list[str]:
    """The chat's category codes as a list."""
    return [code for code in chat.categories.split(",") if code]


def claim_due_chats(*, session: Session, now: datetime, limit: int = 100) -> list[Chat]:
    """Take the chats due by now, each once: a conditional update moves its due time, so no one else takes it."""
    due = session.exec(
        select(Chat).where(Chat.active, Chat.next_due_at <= now).order_by(Chat.next_due_at, Chat.id).limit(limit)
    ).all()
    # Chats due at the same moment on the same schedule move to the same next time: one UPDATE claims them all,
    # instead of one per chat (a broadcast claims thousands). It still claims a chat only if it is due as read.
    schedules: dict[tuple[datetime, str, str], list[Chat]] = defaultdict(list)
    for chat in due:
        schedules[(chat.next_due_at, chat.digest_time, chat.timezone)].append(chat)
    taken: set[tuple[int, int]] = set()
    for (due_seen, digest_time, timezone), chats in schedules.items():
        last_digest_on = _local_date(due_seen, timezone)
        next_due_at = _next_due(now=now, digest_time=digest_time, timezone=timezone, last_digest_on=last_digest_on)
        rows = session.execute(_CLAIM, {"destinations": [(chat.id, chat.thread_id) for chat in chats],
                                        "due_seen": due_seen, "next_due": next_due_at, "last_day": last_digest_on})
        taken.update((row.id, row.thread_id) for row in rows)
        for chat in chats:
            if (chat.id, chat.thread_id) in taken:
                # The row already holds these values: record them without marking the chat for another UPDATE.
                set_committed_value(chat, "next_due_at", next_due_at)
                set_committed_value(chat, "last_digest_on", last_digest_on)
    claimed = [chat for chat in due if (chat.id, chat.thread_id) in taken]
    # In the same transaction as the claim: the digest is owed until a worker has sent it (storage.pending).
    if claimed:
        session.connection().execute(_OWE_DIGEST[session.get_bind().dialect.name], [
            {"chat_id": chat.id, "thread_id": chat.thread_id, "due_at": now, "created_at": now} for chat in claimed])
    return claimed


# One prebuilt statement run for every claimed chat: compiling a fresh multi-row INSERT per claim cost more.
_OWE_DIGEST = {name: dialect_insert(PendingDigest).on_conflict_do_nothing()
               for name, dialect_insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))}
# Built once (a broadcast claims thousands of chats); bound names differ from the columns the UPDATE sets.
_CLAIM = (
    update(Chat)
    .where(tuple_(Chat.id, Chat.thread_id).in_(bindparam("destinations", expanding=True)), Chat.active,
           Chat.next_due_at == bindparam("due_seen"))
    .values(next_due_at=bindparam("next_due"), last_digest_on=bindparam("last_day"))
    .returning(Chat.id, Chat.thread_id)
    .execution_options(synchronize_session=False)
)


def active_destinations(*, session: Session, chat_id: int | None = None) -> list[tuple[int, int]]:
    """Every subscribed, unpaused (chat id, thread id), or those of one chat, for broadcasts."""
    query = select(Chat.id, Chat.thread_id).where(Chat.active)
    if chat_id is not None:
        query = query.where(Chat.id == chat_id)
    return [(row[0], row[1]) for row in session.exec(query.order_by(Chat.id, Chat.thread_id)).all()]


def mark_inactive(*, session: Session, chat_id: int, thread_id: int | None = None) -> None:
    """Stop serving a chat that blocked the bot or vanished (all its topics), or one deleted forum topic."""
    where = [Chat.id == chat_id] + ([Chat.thread_id == thread_id] if thread_id is not None else [])
    session.exec(update(Chat).where(*where).values(active=False).execution_options(synchronize_session="evaluate"))


def migrate_chat(*, session: Session, old_chat_id: int, new_chat_id: int) -> Chat:
    """A group became a supergroup: its settings (topics included), keywords, favourites and history move."""
    old_rows = session.exec(select(Chat).where(Chat.id == old_chat_id).order_by(Chat.thread_id)).all()
    if not old_rows:
        new = get_chat(session=session, chat_id=new_chat_id)
        if new is None:
            raise LookupError(f"chat {old_chat_id} is not subscribed")
        return new  # migrated already
    for old in old_rows:
        new = session.get(Chat, (new_chat_id, old.thread_id))
        if new is None:
            # Renumber the row in one statement so its due time and claim are whatever is committed now:
            # copying fields read earlier could resurrect a due time a tick just moved.
            session.exec(update(Chat).where(Chat.id == old_chat_id, Chat.thread_id == old.thread_id)
                         .values(id=new_chat_id, kind=_MIGRATED_KIND).execution_options(synchronize_session=False))
            session.expunge(old)
        else:
            for name in _SETTINGS:
                setattr(new, name, getattr(old, name))
            session.delete(old)
    session.flush()
    for model, key in _MOVED_ROWS.items():
        _move_rows(session, model, key, old_chat_id, new_chat_id)
    _move_pending(session, old_chat_id, new_chat_id)
    session.flush()
    return get_chat(session=session, chat_id=new_chat_id) or session.get(Chat, (new_chat_id, old_rows[0].thread_id))


def _move_pending(session: Session, old_chat_id: int, new_chat_id: int) -> None:
    """A digest owed to the group is owed to the supergroup, unless one is owed there already.

    Its lease was for the old id, so it is freed: the next tick delivers it.
    """
    other = aliased(PendingDigest)
    owed = exists().where(other.chat_id == new_chat_id, other.thread_id == PendingDigest.thread_id)
    session.exec(update(PendingDigest).where(PendingDigest.chat_id == old_chat_id, ~owed)
                 .values(chat_id=new_chat_id, lease_owner=None, lease_until=None)
                 .execution_options(synchronize_session=False))
    session.exec(delete(PendingDigest).where(PendingDigest.chat_id == old_chat_id)
                 .execution_options(synchronize_session=False))


# The rows that follow a migrating group, each with the columns that, beside the chat id, make a row unique.
_MOVED_ROWS: dict[type[SQLModel], tuple[str, ...]] = {
    Delivery: ("thread_id", "paper_id"),
    Favourite: ("paper_id",),
    ChatKeyword: ("thread_id", "keyword"),
}


def _move_rows(session: Session, model: type[SQLModel], key: tuple[str, ...], old_chat_id: int,
               new_chat_id: int) -> None:
    """Give the new chat the old chat's rows of one table, skipping rows it already has, and drop the rest."""
    other = aliased(model)
    table = model.__table__  # type: ignore[attr-defined]
    already = exists().where(other.chat_id == new_chat_id,
                             *(getattr(other, name) == table.c[name] for name in key))
    session.exec(update(model).where(table.c.chat_id == old_chat_id, ~already).values(chat_id=new_chat_id)
                 .execution_options(synchronize_session=False))
    session.exec(delete(model).where(table.c.chat_id == old_chat_id).execution_options(synchronize_session=False))


def count_active_chats(*, session: Session, channels: bool = False) -> int:
    """How many chats (or, with channels=True, channels) are subscribed and unpaused."""
    kind = Chat.kind == CHANNEL_KIND if channels else Chat.kind != CHANNEL_KIND
    return session.exec(select(func.count()).select_from(Chat).where(Chat.active, kind)).one()
