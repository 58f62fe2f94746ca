"""The buttons under a digest message: per card a ⭐ to save it and a 📄 for its details; pure."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Action, encode
from bot.card_cache import CardCache
from bot.packing import DigestMessage

BUTTONS_PER_ROW = 5


def star_keyboard(message: DigestMessage, *, saved: set[int], cache: CardCache | None = None) -> InlineKeyboardMarkup:
    """Per card a ⭐ (✅ once saved) and a 📄 for its full details, numbered like the cards: rows of up to five
    stars, each with its row of details below."""
    key = (message.paper_ids, message.numbers, frozenset(saved.intersection(message.paper_ids)))
    if cache is None:
        return _keyboard(*key)
    return cache.keyboards.value(key, lambda: _keyboard(*key))


def _keyboard(paper_ids: tuple[int, ...], numbers: tuple[int, ...], saved: frozenset[int]) -> InlineKeyboardMarkup:
    """One keyboard per distinct message: Telegram objects are immutable, so every chat of a broadcast can share it."""
    cards = list(zip(paper_ids, numbers, strict=True))
    rows = []
    for start in range(0, len(cards), BUTTONS_PER_ROW):
        chunk = cards[start : start + BUTTONS_PER_ROW]
        rows.append([InlineKeyboardButton(f"{'✅' if paper_id in saved else '⭐'} {number}",
                                          callback_data=encode(Action.FAVOURITE, paper_id))
                     for paper_id, number in chunk])
        rows.append([InlineKeyboardButton(f"📄 {number}", callback_data=encode(Action.PAPER_DETAILS, paper_id))
                     for paper_id, number in chunk])
    return InlineKeyboardMarkup(rows)
