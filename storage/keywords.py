"""Keyword filters of a destination: stored words, the SQL that matches them, and the same test in Python.

An included keyword widens a destination's digest beyond its categories; an excluded one (``-word``) removes the
papers it matches. A keyword matches a paper when it occurs, ignoring case, in its English or Chinese title, its
Chinese summary or its English abstract: a plain substring test, so Chinese words match without word breaks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, delete, func, literal, or_
from sqlmodel import Session, col, select

from storage.deliveries import insert_ignoring_duplicates
from storage.models import ChatKeyword, Paper

MAX_KEYWORDS = 30  # per destination: each one is a LIKE over four text columns of every candidate paper
MAX_KEYWORD_CHARS = 64
_LIKE_ESCAPE = "\\"
_SPACES = re.compile(r"\s+")
MATCHED_TEXTS = ("title_en", "title_zh", "summary_zh", "abstract_en")


class KeywordLimitError(ValueError):
    """Adding these keywords would pass MAX_KEYWORDS; nothing was added."""

    def __init__(self, have: int, adding: int) -> None:
        super().__init__(f"{have} keywords stored and {adding} new ones would pass the limit of {MAX_KEYWORDS}")
        self.have, self.adding = have, adding


@dataclass(frozen=True, slots=True)
class KeywordSpec:
    """One keyword as a user gave it, normalised: lower case, single spaces; ``exclude`` for ``-word``."""

    keyword: str
    exclude: bool = False

    @property
    def label(self) -> str:
        """How the keyword is shown: '-gan' for an excluded one."""
        return f"-{self.keyword}" if self.exclude else self.keyword


@dataclass(frozen=True, slots=True)
class KeywordChange:
    """What /keywords add did: new keywords, keywords whose include/exclude switched, ones already there."""

    added: list[KeywordSpec]
    switched: list[KeywordSpec]
    unchanged: list[KeywordSpec]


def normalise_keyword(word: str) -> str:
    """How a keyword is stored and matched: lower case with single spaces (Python's lower, like SQL's lower())."""
    return _SPACES.sub(" ", word).strip().lower()


def destination_keywords(*, session: Session, chat_id: int, thread_id: int) -> list[KeywordSpec]:
    """A destination's keywords, included ones first, each group in the order they were added."""
    rows = session.connection().execute(_KEYWORDS_OF, {"chat": chat_id, "thread": thread_id})
    return [KeywordSpec(row.keyword, row.exclude) for row in rows]


# A destination's keywords in the order destination_keywords gives them (storage.destinations reads them too).
KEYWORD_ORDER = (ChatKeyword.exclude, ChatKeyword.created_at, ChatKeyword.keyword)
# Built once and run as Core: every delivery reads its destination's keywords, and building the statement and
# loading ORM rows cost more than the query (most destinations have none).
_KEYWORDS_OF = (
    select(ChatKeyword.keyword, ChatKeyword.exclude)
    .where(ChatKeyword.chat_id == bindparam("chat"), ChatKeyword.thread_id == bindparam("thread"))
    .order_by(*KEYWORD_ORDER)
)


def add_keywords(*, session: Session, chat_id: int, thread_id: int, keywords: Sequence[KeywordSpec],
                 now: datetime) -> KeywordChange:
    """Add keywords (a word given as ``-word`` switches to excluded, and back); all or nothing at the limit."""
    stored = {row.keyword: row for row in session.exec(
        select(ChatKeyword).where(ChatKeyword.chat_id == chat_id, ChatKeyword.thread_id == thread_id))}
    wanted: dict[str, KeywordSpec] = {}
    for spec in keywords:
        wanted.setdefault(spec.keyword, spec)  # the first mention of a word wins
    new = [spec for word, spec in wanted.items() if word not in stored]
    if len(stored) + len(new) > MAX_KEYWORDS:
        raise KeywordLimitError(len(stored), len(new))
    switched, unchanged = [], []
    for word, spec in wanted.items():
        row = stored.get(word)
        if row is None:
            continue
        if row.exclude == spec.exclude:
            unchanged.append(spec)
        else:
            row.exclude = spec.exclude
            switched.append(spec)
    insert_ignoring_duplicates(session=session, model=ChatKeyword, rows=[
        {"chat_id": chat_id, "thread_id": thread_id, "keyword": spec.keyword, "exclude": spec.exclude,
         "created_at": now} for spec in new])
    session.flush()
    return KeywordChange(added=new, switched=switched, unchanged=unchanged)


def remove_keywords(*, session: Session, chat_id: int, thread_id: int,
                    keywords: Sequence[str]) -> tuple[list[str], list[str]]:
    """Remove keywords (included or excluded alike): the ones removed and the ones that were not there."""
    removed, missing = [], []
    for word in dict.fromkeys(keywords):
        result = session.exec(delete(ChatKeyword).where(
            ChatKeyword.chat_id == chat_id, ChatKeyword.thread_id == thread_id, ChatKeyword.keyword == word))
        (removed if result.rowcount else missing).append(word)
    return removed, missing


def clear_keywords(*, session: Session, chat_id: int, thread_id: int) -> int:
    """Remove every keyword of a destination; how many there were."""
    return session.exec(delete(ChatKeyword).where(
        ChatKeyword.chat_id == chat_id, ChatKeyword.thread_id == thread_id)).rowcount


def copy_keywords(*, session: Session, chat_id: int, from_thread: int, to_thread: int, now: datetime) -> None:
    """A new forum topic starts with its group's keywords."""
    rows = session.exec(select(ChatKeyword).where(ChatKeyword.chat_id == chat_id,
                                                  ChatKeyword.thread_id == from_thread)).all()
    insert_ignoring_duplicates(session=session, model=ChatKeyword, rows=[
        {"chat_id": chat_id, "thread_id": to_thread, "keyword": row.keyword, "exclude": row.exclude,
         "created_at": now} for row in rows])


def sql_keyword_matches(keyword: ColumnElement[str]) -> ColumnElement[bool]:
    """SQL for "this stored keyword occurs in the paper": lower(text) LIKE '%keyword%' with wildcards escaped."""
    escaped = keyword
    for special in (_LIKE_ESCAPE, "%", "_"):
        escaped = func.replace(escaped, special, _LIKE_ESCAPE + special)
    pattern = literal("%") + escaped + literal("%")
    return or_(*(func.lower(col(getattr(Paper, name))).like(pattern, escape=_LIKE_ESCAPE) for name in MATCHED_TEXTS))


def paper_matches(paper: Paper, keyword: str) -> bool:
    """The Python twin of sql_keyword_matches, for a paper already loaded."""
    return any(keyword in (getattr(paper, name) or "").lower() for name in MATCHED_TEXTS)


def matched_keywords(paper: Paper, keywords: Sequence[KeywordSpec]) -> list[str]:
    """The included keywords this paper matches, in the destination's order: what its card shows after 🔑."""
    return [spec.keyword for spec in keywords if not spec.exclude and paper_matches(paper, spec.keyword)]
