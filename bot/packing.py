"""A day's cards → Telegram messages: whole cards packed into as few messages as fit, the header on the first; pure.

A card is never split across messages; a card that would not fit even alone is shortened until it does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from telegram.constants import InlineKeyboardMarkupLimit, MessageLimit

from bot.card_cache import CardCache, paper_content
from bot.cards import card_language, fit_card
from bot.i18n import Translator
from bot.text_fit import escape, visible_length
from storage.keywords import KeywordSpec
from storage.models import Language, Paper
from storage.taste import TasteSource

MESSAGE_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # Telegram's limit for a message's visible text
MIN_LIMIT = 512  # below this even a minimal card plus the digest header may not fit
# Each card has a ⭐ and a 📄 button (bot.keyboards), and Telegram refuses a keyboard with more buttons.
MAX_CARDS_PER_MESSAGE = InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER // 2
CARD_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class DigestMessage:
    """One Telegram message of a digest: its HTML and the papers (with their card numbers) it carries."""

    text: str
    paper_ids: tuple[int, ...]
    numbers: tuple[int, ...]  # numbers shown on the cards (1..n across the whole digest)


def check_limit(limit: int) -> None:
    """Refuse limits too small to hold a minimal card, rather than produce an oversized message."""
    if limit < MIN_LIMIT:
        raise ValueError(f"cards: limit {limit} is below the minimum of {MIN_LIMIT}")


def digest_header(count: int, *, t: Translator, day: date) -> str:
    """'<b>Sunday, November 22, 2026 · 5 new papers</b>' in the chat's interface language."""
    papers = t.ngettext("{count} new paper", "{count} new papers", count).format(count=count)
    return f"<b>{escape(t.format_date(day))} · {escape(papers)}</b>"


def _measured_header(count: int, t: Translator, day: date, cache: CardCache) -> tuple[str, int]:
    """The header and its visible length: the same for every digest of a broadcast in one language and day."""
    def measured() -> tuple[str, int]:
        header = digest_header(count, t=t, day=day)
        return header, visible_length(header)

    return cache.headers.value((count, t, day), measured)


def _fitted_card(paper: Paper, *, number: int, language: Language, t: Translator, room: int,
                 keywords: Sequence[KeywordSpec], reason: TasteSource | None, cache: CardCache) -> tuple[str, int]:
    """The fullest version of a card that fits in room, remembered by everything it is made from."""
    key = (paper_content(paper), number, language, t, room, tuple(keywords), reason)
    return cache.cards.value(key, lambda: fit_card(paper, number=number, language=language, t=t, room=room,
                                                   keywords=keywords, reason=reason))


def render_digest(
    papers: Sequence[Paper], *, language: str, t: Translator, day: date, limit: int = MESSAGE_LIMIT,
    keywords: Sequence[KeywordSpec] = (), reasons: Mapping[int, TasteSource] | None = None,
    cache: CardCache | None = None,
) -> list[DigestMessage]:
    """A day's cards packed greedily into as few messages as fit, header on the first; [] for no papers.

    Cards of papers matching one of the chat's included ``keywords`` say which; cards its taste ranked up
    (``reasons``, by paper id) name the favourite they are closest to. A broadcast passes its ``cache``, so the
    cards it sends to thousands of chats are fitted once.
    """
    reasons = reasons or {}
    check_limit(limit)
    shown_language = card_language(language)
    if not papers:
        return []
    cache = CardCache() if cache is None else cache
    header, header_length = _measured_header(len(papers), t, day, cache)
    messages: list[DigestMessage] = []
    parts, length, ids, numbers = [header], header_length, [], []
    separator = len(CARD_SEPARATOR)
    for number, paper in enumerate(papers, start=1):
        if paper.id is None:
            raise ValueError(f"cards: paper {number} of the digest has no id, so it cannot get a ⭐ button")
        room = limit - header_length - separator if number == 1 else limit
        card, card_length = _fitted_card(paper, number=number, language=shown_language, t=t, room=room,
                                         keywords=keywords, reason=reasons.get(paper.id), cache=cache)
        if ids and (length + separator + card_length > limit or len(ids) >= MAX_CARDS_PER_MESSAGE):
            messages.append(DigestMessage(CARD_SEPARATOR.join(parts), tuple(ids), tuple(numbers)))
            parts, length, ids, numbers = [], -separator, [], []
        parts.append(card)
        length += separator + card_length
        ids.append(paper.id)
        numbers.append(number)
    messages.append(DigestMessage(CARD_SEPARATOR.join(parts), tuple(ids), tuple(numbers)))
    return messages


@dataclass(frozen=True)
class Atom:
    """A piece of a message that is never split: its HTML, visible length, and what precedes it in a message."""

    html: str
    length: int
    separator: str = ""  # dropped when the atom starts a message
    keep_with_next: bool = False  # a section label stays with its first paragraph


def markup_atom(markup: str, separator: str = "", *, keep_with_next: bool = False) -> Atom:
    """An atom of ready HTML."""
    return Atom(markup, visible_length(markup), separator, keep_with_next)


def pack_atoms(atoms: Sequence[Atom], limit: int) -> list[str]:
    """Atoms packed greedily into messages of at most limit visible characters."""
    messages: list[str] = []
    current: list[str] = []
    length = 0
    for index, atom in enumerate(atoms):
        following = atoms[index + 1] if atom.keep_with_next and index + 1 < len(atoms) else None
        needed = len(atom.separator) + atom.length
        if following is not None:
            needed += len(following.separator) + following.length
        if current and length + needed > limit:
            messages.append("".join(current))
            current, length = [], 0
        separator = atom.separator if current else ""
        current.append(separator + atom.html)
        length += len(separator) + atom.length
    if current:
        messages.append("".join(current))
    return messages
