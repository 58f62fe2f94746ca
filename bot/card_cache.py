"""What one broadcast renders once and reuses: it sends the same few papers to thousands of chats.

A broadcast (a scheduler tick, /post_now to every chat) makes one ``CardCache`` and hands it to the renderers,
which stay pure: what they return depends on their arguments alone, the cache only spares working it out twice.
Nothing outlives the broadcast, so a paper enriched since is rendered afresh by the next one anyway.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.orm.attributes import instance_dict
from telegram import InlineKeyboardMarkup

from storage.models import Paper

CARDS_KEPT = 1024  # fitted cards and keyboards remembered: a broadcast's papers fit many times over
HEADERS_KEPT = 64  # digest headers: one per paper count, interface language and day

Value = TypeVar("Value")

_PAPER_FIELDS = tuple(Paper.model_fields)
_LOADED_FIELDS = operator.itemgetter(*_PAPER_FIELDS)


class Memo(Generic[Value]):
    """Values by key, at most ``kept`` of them: when full it starts afresh, cheaper than tracking which is oldest."""

    __slots__ = ("_kept", "_values")

    def __init__(self, kept: int) -> None:
        self._kept = kept
        self._values: dict[Hashable, Value] = {}

    def get(self, key: Hashable) -> Value | None:
        """The value kept for key, or None."""
        return self._values.get(key)

    def value(self, key: Hashable, make: Callable[[], Value]) -> Value:
        """The value kept for key, made (and kept) the first time it is asked for."""
        known = self._values.get(key)
        return self.keep(key, make()) if known is None else known

    def keep(self, key: Hashable, value: Value) -> Value:
        """Remember value for key, and return it."""
        if len(self._values) >= self._kept:
            self._values.clear()
        self._values[key] = value
        return value


class CardCache:
    """One broadcast's rendered pieces: fitted cards with their lengths, measured headers, ⭐ keyboards."""

    __slots__ = ("cards", "headers", "keyboards")

    def __init__(self) -> None:
        self.cards: Memo[tuple[str, int]] = Memo(CARDS_KEPT)
        self.headers: Memo[tuple[str, int]] = Memo(HEADERS_KEPT)
        self.keyboards: Memo[InlineKeyboardMarkup] = Memo(CARDS_KEPT)


def paper_content(paper: Paper) -> tuple[object, ...]:
    """Every stored field of the paper: a card rendered from equal content is the same card."""
    try:
        # A loaded paper's values, read in one go: through the ORM's attributes, one by one, this key cost more
        # than all the rest of a digest's rendering.
        values = _LOADED_FIELDS(instance_dict(paper))
    except KeyError:  # a field the ORM has not loaded (expired): reading the attribute loads it
        values = tuple(getattr(paper, name) for name in _PAPER_FIELDS)
    return tuple(tuple(value) if isinstance(value, list) else value for value in values)
