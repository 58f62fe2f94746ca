"""Tables of the paper store: digests, papers, chats and what each chat has been sent or saved."""

from __future__ import annotations

import dataclasses
import enum
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from storage.vocabulary import Language

GENERAL_THREAD = 0  # thread_id of a chat itself: a private chat, a group, or a forum's General topic
CHANNEL_KIND = "channel"  # Chat.kind of a Telegram channel, as Telegram names the chat type


def thread_column(*, primary_key: bool) -> Column:  # type: ignore[type-arg]
    """A forum topic's message_thread_id, 0 for the chat itself; rows written before topics existed read as 0."""
    return Column(BigInteger, primary_key=primary_key, autoincrement=False, nullable=False, default=GENERAL_THREAD,
                  server_default=text("0"))


def utcnow() -> datetime:
    """Aware UTC now: SQLModel's UTCDateTime columns refuse naive datetimes."""
    return datetime.now(UTC)


class DeliveryKind(enum.StrEnum):
    """Why a paper was sent: the daily run, /today, or an admin's /post_now."""

    SCHEDULED = "scheduled"
    TODAY = "today"
    MANUAL = "manual"


class Digest(SQLModel, table=True):
    """One ingested digest document; its content hash makes re-ingesting a no-op."""

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=2000)
    digest_date: date | None = Field(default=None, index=True)
    content_hash: str = Field(max_length=64, unique=True)
    shape: str = Field(max_length=32)
    paper_count: int = 0
    ingested_at: datetime = Field(default_factory=utcnow)


class PaperContent(SQLModel):
    """A paper's content, as its digests and arXiv give it: what an export shows of it.

    With PaperRecord and Paper below, the one list of a paper's fields: the reader's ParsedPaper, ingestion's draft
    and columns and the export keys take theirs from here (DIGEST_FIELDS, STORED_FIELDS, storage/papers.py).
    """

    category: str | None = Field(default=None, max_length=2)
    category_inferred: bool = False  # the store guessed the category; a digest never says so
    title_en: str | None = None
    title_zh: str | None = None
    authors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The digests only named the first authors (et al., …, 等). No Python-side column default: inserts that
    # predate the column (older migrations' tests) leave it out.
    authors_truncated: bool = Field(default=False, sa_column=Column(Boolean, nullable=False,
                                                                    server_default=false()))
    affiliations: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    summary_zh: str | None = None
    abstract_en: str | None = None
    url: str | None = Field(default=None, max_length=2000)
    arxiv_id: str | None = Field(default=None, max_length=32, unique=True)
    code_url: str | None = Field(default=None, max_length=2000)
    highlight: bool = False
    minor: bool = False


class PaperRecord(PaperContent):
    """A paper as ingestion writes it: its content, the keys it is recognised by and its place in the pick order."""

    title_key: str | None = Field(default=None, max_length=500, index=True)
    abstract_key: str | None = Field(default=None, max_length=64, index=True)
    rank_date: date | None = Field(default=None)
    rank_digest_id: int | None = None


class Paper(PaperRecord, table=True):
    """One paper, merged across every digest that mentions it; the table adds what only the store keeps."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    # arXiv answered for this id (found or not): never asked again. Indexed (below) for picks past a seen mark.
    arxiv_checked_at: datetime | None = None
    arxiv_retry_at: datetime | None = None  # claimed by an enrichment run, or postponed after arXiv failed
    # Looked up by title (papers without an arXiv id): what arXiv answered, asked once (storage/resolution.py).
    arxiv_resolution: str | None = Field(default=None, max_length=16)  # a Resolution value; None: not asked yet
    arxiv_resolved_at: datetime | None = None
    arxiv_resolve_retry_at: datetime | None = None  # claimed by a resolution run, or backing off after a failure
    # No Python-side column default: inserts that predate the column (older migrations' tests) leave it out.
    arxiv_resolve_failures: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default=text("0")))


# What a digest can say of a paper (storage/parsing.py ParsedPaper): all its content but the store's own guess.
DIGEST_FIELDS = tuple(name for name in PaperContent.model_fields if name != "category_inferred")
STORED_FIELDS = tuple(PaperRecord.model_fields)  # what ingestion reads and writes of a paper, in this order


def plain_copy(name: str, names: Sequence[str], *, leading: Sequence[tuple[str, Any, Any]], frozen: bool,
               doc: str) -> type:
    """A slots dataclass of these schema fields, types and defaults taken from PaperRecord, after `leading` ones
    (name, type, default): for hot paths where a model instance costs too much. A frozen copy holds lists as
    tuples."""
    specs: list[tuple[str, Any, Any]] = [(field_name, kind, dataclasses.field(default=default))
                                         for field_name, kind, default in leading]
    for field_name in names:
        info = PaperRecord.model_fields[field_name]
        if info.default_factory is list:
            specs.append((field_name, tuple[str, ...], dataclasses.field(default=())) if frozen
                         else (field_name, info.annotation, dataclasses.field(default_factory=list)))
        else:
            specs.append((field_name, info.annotation, dataclasses.field(default=info.default)))
    made = dataclasses.make_dataclass(name, specs, frozen=frozen, slots=True)
    made.__doc__ = doc
    made.__module__ = sys._getframe(1).f_globals["__name__"]  # where it is defined, for its repr and pickling
    return made


# The pick order itself, with the category alongside: a chat's next papers are read off the index top down,
# probing deliveries as they go, with or without planner statistics (bench/picking.py measured 200 ms → 0.5 ms
# on SQLite without ANALYZE at 100,000 papers).
Index("ix_paper_pick", Paper.rank_date.desc(), Paper.rank_digest_id.desc(), Paper.highlight.desc(), Paper.minor,
      Paper.id, Paper.category)


# Papers still waiting for arXiv metadata, newest first, without reading the papers that have no arXiv id.
ARXIV_WAITING = "arxiv_id IS NOT NULL AND arxiv_checked_at IS NULL"
Index("ix_paper_arxiv_waiting", Paper.id, postgresql_where=text(ARXIV_WAITING), sqlite_where=text(ARXIV_WAITING))

# Papers still to be looked up on arXiv by title, newest first: new ids append to one leaf, answered ones leave.
TITLE_WAITING = "arxiv_id IS NULL AND title_en IS NOT NULL AND arxiv_resolved_at IS NULL"
Index("ix_paper_title_waiting", Paper.id, postgresql_where=text(TITLE_WAITING), sqlite_where=text(TITLE_WAITING))

# Papers arXiv answered for, by when: a pick past a seen mark reads those answered since the mark. Partial, as
# almost every paper is never checked, so storing a new paper does not write an entry (migration 0008).
ARXIV_CHECKED = "arxiv_checked_at IS NOT NULL"
Index("ix_paper_arxiv_checked_at", Paper.arxiv_checked_at, postgresql_where=text(ARXIV_CHECKED),
      sqlite_where=text(ARXIV_CHECKED))


class DigestPaper(SQLModel, table=True):
    """Where a paper stood in a digest, so a paper knows every digest it came from."""

    digest_id: int = Field(foreign_key="digest.id", primary_key=True)
    paper_id: int = Field(foreign_key="paper.id", primary_key=True, index=True)
    position: int
    minor: bool = False
    highlight: bool = False


class Chat(SQLModel, table=True):
    """A destination: a subscribed private chat, group or forum topic, with its settings and its next due time.

    ``thread_id`` is 0 for the chat itself (a forum's General topic included) and the topic's message_thread_id
    for a forum topic with settings of its own.
    """

    __table_args__ = (Index("ix_chat_due", "active", "next_due_at"),)

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    thread_id: int = Field(default=GENERAL_THREAD, sa_column=thread_column(primary_key=True))
    kind: str = Field(default="private", max_length=16)
    title: str | None = Field(default=None, max_length=256)
    language: str = Field(default=Language.BOTH.value, max_length=4)
    ui_language: str = Field(default="en", max_length=4)
    categories: str = Field(default="LG,CV,CL,AS,RO", max_length=32)
    digest_time: str = Field(default="09:00", max_length=5)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    active: bool = True
    next_due_at: datetime | None = None
    last_digest_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Delivery(SQLModel, table=True):
    """A paper sent to a destination: the record that keeps a paper from reaching the same chat or topic twice."""

    __table_args__ = (UniqueConstraint("chat_id", "thread_id", "paper_id", name="uq_delivery_destination_paper"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    thread_id: int = Field(default=GENERAL_THREAD, sa_column=thread_column(primary_key=False))
    paper_id: int = Field(foreign_key="paper.id", index=True)
    kind: str = Field(default=DeliveryKind.SCHEDULED.value, max_length=16)
    message_id: int | None = None
    sent_at: datetime = Field(default_factory=utcnow, index=True)


class Favourite(SQLModel, table=True):
    """A paper a chat starred."""

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    paper_id: int = Field(foreign_key="paper.id", primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class PendingDigest(SQLModel, table=True):
    """A scheduled digest owed to a chat: claimed with a lease, planned once, deleted when fully sent.

    It lives in the database so a crash or a second bot process never loses or repeats a digest.
    """

    __tablename__ = "pending_digest"
    __table_args__ = (Index("ix_pending_digest_lease", "lease_until", "due_at"),)

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    thread_id: int = Field(default=GENERAL_THREAD, sa_column=thread_column(primary_key=True))
    due_at: datetime
    paper_ids: list[int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    lease_owner: str | None = Field(default=None, max_length=80)
    lease_until: datetime | None = None
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class Process(SQLModel, table=True):
    """A running bot process and its heartbeat: a lease whose holder stopped beating is taken over early."""

    owner: str = Field(primary_key=True, max_length=80)  # the name it leases pending digests under
    started_at: datetime
    heartbeat_at: datetime


class SourceStatus(enum.StrEnum):
    """How a digest source's last check ended."""

    NEW = "new"  # not checked yet
    INGESTED = "ingested"  # a new digest went in
    UNCHANGED = "unchanged"  # 304 Not Modified, or the same digest again
    FAILED = "failed"


class Source(SQLModel, table=True):
    """A digest URL fetched on a schedule; its validators make each check a conditional request."""

    __table_args__ = (Index("ix_source_due", "next_check_at"),)

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000, unique=True)
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    next_check_at: datetime | None = None  # None: due now; moved forward by whoever claims the check
    last_checked_at: datetime | None = None
    last_status: str = Field(default=SourceStatus.NEW.value, max_length=16)
    last_error: str | None = Field(default=None, max_length=1000)
    failing_since: datetime | None = None
    failure_reported: bool = False  # admins were told it fails; they hear once more when it recovers
    added_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # None: DIGEST_SOURCES
    created_at: datetime = Field(default_factory=utcnow)


class ChatKeyword(SQLModel, table=True):
    """A keyword filter of one destination: an included word widens its digest, an excluded one removes papers."""

    __tablename__ = "chat_keyword"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    thread_id: int = Field(default=GENERAL_THREAD, sa_column=thread_column(primary_key=True))
    keyword: str = Field(primary_key=True, max_length=64)  # lower case, as matched
    exclude: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class SeenMark(SQLModel, table=True):
    """A run of the pick order a destination has been sent entirely, so its next pick skips that run.

    The claim: every paper of these categories ranked in a digest group from just above (below_date,
    below_digest_id) up to (top_date, top_digest_id) in the pick order, linked to no digest newer than
    through_digest_id and not answered for by arXiv since made_at, has been delivered to the destination. It
    stays true: deliveries only accumulate, and a paper's rank and category change only through a digest it is
    linked to or through arXiv enrichment (which may give it a category). Keyword filters widen what a destination
    is offered beyond its categories, so a destination with keywords neither uses nor moves its mark.
    """

    __tablename__ = "seen_mark"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    thread_id: int = Field(default=GENERAL_THREAD, sa_column=thread_column(primary_key=True))
    categories: str = Field(max_length=32)
    top_date: date
    top_digest_id: int
    below_date: date
    below_digest_id: int
    through_digest_id: int
    made_at: datetime


class SavedSearch(SQLModel, table=True):
    """A chat's recent /search query, so its page buttons carry a short id instead of the query."""

    __tablename__ = "saved_search"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    query: str = Field(max_length=256)
    created_at: datetime = Field(default_factory=utcnow)


class Channel(SQLModel, table=True):
    """A subscribed Telegram channel; its settings are its Chat row (kind "channel"), this row its standing."""

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    username: str | None = Field(default=None, max_length=64)
    # The bot was removed or lost its right to post: the channel is inactive and its managers were told, once.
    lost: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ChannelManager(SQLModel, table=True):
    """An administrator who added a channel from their private chat: it is in their /channels, news of it goes to
    them. Whether they may still change it is asked of Telegram each time they act."""

    __tablename__ = "channel_manager"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False, index=True))
    created_at: datetime = Field(default_factory=utcnow)


class PaperVector(SQLModel, table=True):
    """A paper's hashed word vector (storage/vectors.py), computed once when the paper is stored."""

    __tablename__ = "paper_vector"

    paper_id: int = Field(sa_column=Column(Integer, ForeignKey("paper.id", ondelete="CASCADE"), primary_key=True,
                                           autoincrement=False))
    features: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LibraryEntry(SQLModel, table=True):
    """A paper of a library a chat imported (/import): part of its taste, like a favourite."""

    __tablename__ = "library_entry"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    title: str = Field(max_length=1000)
    arxiv_id: str | None = Field(default=None, max_length=32)
    paper_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("paper.id", ondelete="SET NULL"),
                                                                nullable=True))  # the stored paper of its arXiv id
    features: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class TasteMode(enum.StrEnum):
    """Whether a destination's digest is ordered by its taste."""

    AUTO = "auto"  # on once the chat has TASTE_AUTO_MINIMUM favourites and imported papers
    ON = "on"
    OFF = "off"


class ChatTaste(SQLModel, table=True):
    """A destination's choice about ranking by taste (/taste on|off); no row means TasteMode.AUTO."""

    __tablename__ = "chat_taste"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    thread_id: int = Field(default=GENERAL_THREAD, sa_column=thread_column(primary_key=True))
    mode: str = Field(default=TasteMode.AUTO.value, max_length=8)
    updated_at: datetime = Field(default_factory=utcnow)
