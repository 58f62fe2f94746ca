"""Paper → Telegram HTML card text and ⭐ keyboards; pure: no database, no network, no bot calls.

Every paper field is escaped before it meets markup, and every length is Telegram's: UTF-16 code units of the
text left after HTML entity parsing. A digest packs whole cards into as few messages as fit; a card is never
split, it is shortened (abstract first) until it fits.
"""

from __future__ import annotations

import functools
import html
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from sqlalchemy.orm.attributes import instance_dict
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Action, encode
from bot.i18n import Translator
from storage.keywords import KeywordSpec, matched_keywords
from storage.models import Language, Paper
from storage.parsing import ET_AL
from storage.taste import TasteSource
from storage.vocabulary import is_arxiv_id, web_link_problem

MESSAGE_LIMIT = 4096  # Telegram's limit for a message's visible text
MIN_LIMIT = 512  # below this even a minimal card plus the digest header may not fit
ABSTRACT_LIMIT = 280  # a card's English abstract: about a tweet, two sentences, enough to decide whether to read on
SUMMARY_LIMIT = 160  # a card's Chinese summary: a Chinese character says about what a word does, so fewer
TITLE_LIMIT = 300  # real titles are far shorter; this only stops a broken one from eating the message
STAND_IN_TITLE_LIMIT = 60  # opening words that stand in for a missing title
AUTHORS_SHOWN = 3  # a card names the first three authors, then "et al."
AUTHOR_NAME_LIMIT = 40
AFFILIATIONS_LIMIT = 120
LINK_TEXT_LIMIT = 40
LABEL_ROOM = 64  # details: text pieces leave this much room so a section label stays with its first piece
MAX_URL_LENGTH = 2048  # longer "URLs" are garbage, not links
BUTTONS_PER_ROW = 5
MAX_BUTTONS = 100  # Telegram refuses a keyboard with more buttons
MAX_CARDS_PER_MESSAGE = MAX_BUTTONS // 2  # each card has a ⭐ and a 📄 button
HIGHLIGHT_MARK = "🔥"  # not ⭐: that is the save button
KEYWORD_MARK = "🔑"  # the chat's included keywords a card matched
KEYWORDS_SHOWN = 3
REASON_TITLE_LIMIT = 48  # the favourite a card names as its reason: enough of the title to recognise it
ELLIPSIS = "…"
CARD_SEPARATOR = "\n\n"
FITTED_CARDS_KEPT = 1024  # rendered cards remembered: a broadcast sends the same few papers to thousands of chats
ARXIV_ABS_URL = "https://arxiv.org/abs/{arxiv_id}"
ARXIV_PDF_URL = "https://arxiv.org/pdf/{arxiv_id}"


@dataclass(frozen=True)
class _Budget:
    """How much of a paper a card may show; later budgets are tighter."""

    summary: int  # characters of the Chinese summary (0: none)
    abstract: int  # characters of the English abstract (0: none)
    title: int
    people: bool = True


# A card is rendered with the first budget whose result fits the room left for it.
_BUDGETS = (
    _Budget(summary=SUMMARY_LIMIT, abstract=ABSTRACT_LIMIT, title=TITLE_LIMIT),
    _Budget(summary=80, abstract=140, title=200),
    _Budget(summary=30, abstract=60, title=100),
    _Budget(summary=0, abstract=0, title=60, people=False),
)


@dataclass(frozen=True)
class DigestMessage:
    """One Telegram message of a digest: its HTML and the papers (with their card numbers) it carries."""

    text: str
    paper_ids: tuple[int, ...]
    numbers: tuple[int, ...]  # numbers shown on the cards (1..n across the whole digest)


# ---------------------------------------------------------------------------------------------------------------
# Telegram's length
# ---------------------------------------------------------------------------------------------------------------

# A tag as Telegram's parser reads it: quoted attribute values may hold '>'.
_TAG = re.compile(r"<(?:\"[^\"]*\"|'[^']*'|[^'\">])*>")
# A character reference as Telegram reads it: the ';' is optional, '&' that starts none stays literal.
_CHARACTER_REFERENCE = re.compile(r"&(?:#(x[0-9A-Fa-f]*|[0-9]*)|([A-Za-z]*));?")
_NAMED_REFERENCES = frozenset({"lt", "gt", "amp", "quot"})
_MAX_REFERENCE_SPAN = 10  # Telegram ignores numeric references of ten or more characters before the ';'


def _utf16_length(text: str) -> int:
    """Telegram counts UTF-16 code units: characters beyond the BMP count twice."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def _reference_length(match: re.Match[str]) -> int:
    """UTF-16 length of what one '&…' run shows: the decoded character, or itself when it decodes to nothing."""
    numeric, named = match.group(1), match.group(2)
    if named is not None:
        return 1 if named in _NAMED_REFERENCES else _utf16_length(match.group(0))
    hexadecimal = numeric.startswith("x")
    digits = numeric[1:] if hexadecimal else numeric
    code = int(digits, 16 if hexadecimal else 10) if digits else 0
    span = 2 + len(numeric)  # '&#' plus what follows, before any ';'
    if code == 0 or code >= 0x10FFFF or span >= _MAX_REFERENCE_SPAN:
        return _utf16_length(match.group(0))
    return 2 if code > 0xFFFF else 1


def visible_length(html_text: str) -> int:
    """Length as Telegram checks it against its limits: UTF-16 units of the text once tags and references go."""
    total = 0
    for chunk in _TAG.split(html_text):
        position = 0
        for match in _CHARACTER_REFERENCE.finditer(chunk):
            total += _utf16_length(chunk[position : match.start()]) + _reference_length(match)
            position = match.end()
        total += _utf16_length(chunk[position:])
    return total


# ---------------------------------------------------------------------------------------------------------------
# Plain-text helpers: cleaning, sentence cutting, splitting
# ---------------------------------------------------------------------------------------------------------------

# Control characters and lone surrogates: Telegram drops or refuses them, and they cannot be encoded as UTF-8.
_UNSENDABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_LOOKAHEAD = 8  # characters past a cut that decide whether a dot there ends a sentence
_CJK_SENTENCE_END = re.compile("[。!?!?]+[”’」』)\"']*")
_LATIN_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")
# Words whose dot does not end a sentence ("e.g.", "et al.", "Fig. 3").
_ABBREVIATIONS = frozenset({
    "e.g", "i.e", "al", "etc", "vs", "cf", "fig", "figs", "eq", "eqs", "no", "sec", "ref", "refs", "approx",
    "resp", "dr", "prof", "mr", "mrs", "ms", "st", "jr", "inc", "ltd", "co", "viz",
})


def _clean(text: str | None) -> str:
    """Field text Telegram can take: no control characters, no lone surrogates."""
    return _UNSENDABLE.sub(" ", text or "")


def _one_line(text: str | None) -> str:
    """A field as one line of single-spaced words, as a card shows it."""
    return " ".join(_clean(text).split())


def _word_before(text: str, end: int) -> str:
    """The run of ASCII letters and dots that ends at end ("e.g" before the last dot of "e.g.")."""
    begin = end
    while begin > 0 and text[begin - 1].isascii() and (text[begin - 1].isalpha() or text[begin - 1] == "."):
        begin -= 1
    return text[begin:end].lstrip(".")


def _is_initial(text: str, word: str, end: int) -> bool:
    """A lone capital after a space, like the "J" of "J. Ren" (but not the "x" of "1.5x")."""
    begin = end - len(word)
    return len(word) == 1 and word.isupper() and (begin == 0 or not text[begin - 1].isalnum())


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """A Latin '.', '!' or '?' ends a sentence unless it closes an abbreviation or lowercase text follows."""
    if match.group(0).startswith("."):
        word = _word_before(text, match.start())
        if word.lower() in _ABBREVIATIONS or _is_initial(text, word, match.start()):
            return False
    following = text[match.end() : match.end() + 2].lstrip()
    return not (following and following[0].islower())


def sentence_ends(text: str) -> list[int]:
    """Offsets just past each sentence end, Chinese (。!?) or English (. ! ? but not "e.g.", "1.5", "et al.")."""
    ends = {match.end() for match in _CJK_SENTENCE_END.finditer(text)}
    ends.update(match.end() for match in _LATIN_SENTENCE_END.finditer(text) if _ends_sentence(text, match))
    return sorted(ends)


def _with_ellipsis(kept: str) -> str:
    """Mark a cut: a space before '…' after Latin punctuation reads better than "training.…"."""
    kept = kept.rstrip()
    return f"{kept} {ELLIPSIS}" if kept and kept[-1] in ".!?" else f"{kept}{ELLIPSIS}"


def shorten(text: str, limit: int) -> str:
    """At most limit characters of text, cut after the last whole sentence that fits (else a word), marked '…'."""
    text = _one_line(text)
    if len(text) <= limit:
        return text
    room = max(limit - 2, 1)  # leave space for " …"
    ends = [end for end in sentence_ends(text[: room + _LOOKAHEAD]) if end <= room]
    if ends:
        return _with_ellipsis(text[: ends[-1]])
    space = text.rfind(" ", 0, room + 1)
    cut = space if space >= room // 2 else room
    return _with_ellipsis(text[:cut])


def _fitting_prefix(text: str, limit: int) -> int:
    """How many characters of text fit in limit UTF-16 units."""
    total = 0
    for index, char in enumerate(text):
        total += 2 if ord(char) > 0xFFFF else 1
        if total > limit:
            return index
    return len(text)


def _best_cut(text: str, fit: int) -> int:
    """Where to end a piece of at most fit characters: a sentence end in its second half, else a space, else fit."""
    ends = [end for end in sentence_ends(text[: fit + _LOOKAHEAD]) if fit // 2 <= end <= fit]
    if ends:
        cut = ends[-1]
        while cut < fit and text[cut].isspace():
            cut += 1
        return cut
    space = text.rfind(" ", 0, fit)
    return space + 1 if space > 0 else max(fit, 1)


def split_to_fit(text: str, limit: int) -> list[str]:
    """Pieces of text, each at most limit UTF-16 units, cut at sentences where possible; they join back to text."""
    pieces = []
    while _utf16_length(text) > limit:
        cut = _best_cut(text, _fitting_prefix(text, limit))
        pieces.append(text[:cut])
        text = text[cut:]
    if text:
        pieces.append(text)
    return pieces


def _paragraphs(text: str | None) -> list[str]:
    """Blank-line separated paragraphs, each on one line."""
    return [line for part in _PARAGRAPH_BREAK.split(_clean(text)) if (line := _one_line(part))]


# ---------------------------------------------------------------------------------------------------------------
# Pieces of a card
# ---------------------------------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Paper text as HTML text; quotes too, so the same helper is safe in attributes."""
    return html.escape(text, quote=True)


def _card_language(language: str) -> Language:
    """The card language, refusing anything else loudly rather than guessing."""
    try:
        return Language(language)
    except ValueError:
        raise ValueError(f"cards: unknown card language {language!r}") from None


def _tag(paper: Paper, t: Translator) -> str:
    """'<b>[CV]</b>', or '<b>[CV?]</b> <i>(category inferred)</i>' for a guessed category."""
    category = _one_line(paper.category)
    if not category:
        return ""
    if paper.category_inferred:
        hint = t.gettext("(category inferred)")  # gettext outside f-strings, where Babel's extractor sees it
        return f"<b>[{_escape(category)}?]</b> <i>{_escape(hint)}</i>"
    return f"<b>[{_escape(category)}]</b>"


def _titles(paper: Paper, language: Language) -> list[str]:
    """The titles a card shows, first one in bold: English then Chinese for 'both', else one with a fallback."""
    english, chinese = _one_line(paper.title_en), _one_line(paper.title_zh)
    if language is Language.BOTH:
        return [title for title in (english, chinese) if title]
    preferred = (chinese or english) if language is Language.ZH else (english or chinese)
    return [preferred] if preferred else []


def _texts(paper: Paper, language: Language) -> list[tuple[Language, str]]:
    """Summary/abstract (with the side each is in) for the card's language(s), falling back to the other side."""
    chinese, english = (Language.ZH, _one_line(paper.summary_zh)), (Language.EN, _one_line(paper.abstract_en))
    if language is Language.BOTH:
        return [side for side in (chinese, english) if side[1]]
    first, second = (chinese, english) if language is Language.ZH else (english, chinese)
    preferred = first if first[1] else second
    return [preferred] if preferred[1] else []


def _untitled(t: Translator) -> str:
    """The italic mark of a paper its digest gave no title."""
    mark = t.gettext("(untitled)")
    return f"<i>{_escape(mark)}</i>"


def _headline(paper: Paper, *, number: int, language: Language, t: Translator, title_limit: int) -> list[str]:
    """Line 1 (number, tag, highlight, title) and, for 'both', the Chinese title on line 2."""
    lead = [part for part in (f"{number}.", _tag(paper, t)) if part]
    if paper.highlight:
        lead.append(HIGHLIGHT_MARK)
    titles = _titles(paper, language)
    if titles:
        first = f"<b>{_escape(shorten(titles[0], title_limit))}</b>"
        rest = [_escape(shorten(title, title_limit)) for title in titles[1:]]
    else:
        opening = next((text for _side, text in _texts(paper, language)), "")
        stand_in = f"<b>{_escape(shorten(opening, STAND_IN_TITLE_LIMIT))}</b> " if opening else ""
        first, rest = f"{stand_in}{_untitled(t)}", []
    return [" ".join([*lead, first]), *rest]


def _author_names(paper: Paper) -> tuple[list[str], bool]:
    """The named authors, and whether the list was cut short (more names than shown, or a trailing "et al.")."""
    names = [name for author in paper.authors if (name := _one_line(author))]
    cut_short = bool(names) and (names[-1] == ET_AL or paper.authors_truncated)
    return [name for name in names if name != ET_AL], cut_short


def _authors_text(paper: Paper, t: Translator, *, shown: int | None, name_limit: int | None) -> str:
    """'A, B, C et al.' ('A, B, C 等'): the first `shown` authors (all when None)."""
    names, cut_short = _author_names(paper)
    if shown is not None and len(names) > shown:
        names, cut_short = names[:shown], True
    if name_limit is not None:
        names = [shorten(name, name_limit) for name in names]
    joined = ", ".join(names)
    if cut_short:
        return t.gettext("{authors} et al.").format(authors=joined).strip() if joined else ""
    return joined


def _affiliations_text(paper: Paper, *, limit: int | None) -> str:
    """Affiliations joined with ' & ', whole ones only when limited ('A & B & …')."""
    names = [name for affiliation in paper.affiliations if (name := _one_line(affiliation))]
    if limit is None or not names:
        return " & ".join(names)
    kept: list[str] = []
    for name in names:
        if len(" & ".join([*kept, name])) > limit:
            break
        kept.append(name)
    if not kept:
        return shorten(names[0], limit) + (" & …" if len(names) > 1 else "")
    return " & ".join(kept) + (" & …" if len(kept) < len(names) else "")


def _people_line(paper: Paper, t: Translator) -> str:
    """'A, B, C et al. · <i>Lab & University</i>' for a card."""
    authors = _escape(_authors_text(paper, t, shown=AUTHORS_SHOWN, name_limit=AUTHOR_NAME_LIMIT))
    affiliations = _affiliations_text(paper, limit=AFFILIATIONS_LIMIT)
    parts = [authors] if authors else []
    if affiliations:
        parts.append(f"<i>{_escape(affiliations)}</i>")
    return " · ".join(parts)


def _safe_url(url: str | None) -> str | None:
    """An http(s) URL Telegram will turn into a link, or None."""
    url = (url or "").strip()
    if not url or _UNSENDABLE.search(url) or web_link_problem(url, max_length=MAX_URL_LENGTH):
        return None
    return url


def _link(url: str, text: str) -> str:
    """<a href="…">text</a> with both escaped."""
    return f'<a href="{_escape(url)}">{_escape(shorten(text, LINK_TEXT_LIMIT))}</a>'


def _arxiv_link(paper: Paper) -> str | None:
    """The arXiv abstract page, when the paper's arXiv id looks like one."""
    arxiv_id = (paper.arxiv_id or "").strip()
    if not is_arxiv_id(arxiv_id):
        return None
    return _link(ARXIV_ABS_URL.format(arxiv_id=arxiv_id), f"arXiv:{arxiv_id}")


def _pdf_link(paper: Paper, t: Translator) -> str | None:
    """arXiv's PDF of the paper, for the details (a card links to the abstract page only)."""
    arxiv_id = (paper.arxiv_id or "").strip()
    return _link(ARXIV_PDF_URL.format(arxiv_id=arxiv_id), t.gettext("PDF")) if is_arxiv_id(arxiv_id) else None


def _source_link(paper: Paper) -> str | None:
    """The paper's own link, labelled with its site's name."""
    url = _safe_url(paper.url)
    return _link(url, urlsplit(url).hostname or url) if url else None


def _is_arxiv(url: str | None) -> bool:
    """Whether a URL points at arXiv, so the arXiv link already covers it."""
    safe = _safe_url(url)
    host = (urlsplit(safe).hostname or "") if safe else ""
    return host == "arxiv.org" or host.endswith(".arxiv.org")


def _code_link(paper: Paper, t: Translator) -> str | None:
    """The code repository link."""
    url = _safe_url(paper.code_url)
    return _link(url, t.gettext("Code")) if url else None


def _links_line(links: Sequence[str | None]) -> str:
    """'🔗 arXiv:… · Code', or nothing when the paper has no usable link."""
    present = [link for link in links if link]
    return "🔗 " + " · ".join(present) if present else ""


def keyword_line(paper: Paper, keywords: Sequence[KeywordSpec]) -> str:
    """'🔑 diffusion · 扩散': which of the chat's included keywords this paper matched; '' for none."""
    matched = matched_keywords(paper, keywords)[:KEYWORDS_SHOWN]
    if not matched:
        return ""
    return f"{KEYWORD_MARK} " + " · ".join(_escape(shorten(word, LINK_TEXT_LIMIT)) for word in matched)


def reason_line(source: TasteSource, *, language: Language, t: Translator) -> str:
    """'≈ ⭐ Compacter: Efficient Low-Rank…': the favourite (or imported paper) that ranked this card up."""
    titles = (source.title_zh, source.title_en) if language is Language.ZH else (source.title_en, source.title_zh)
    title = _escape(shorten(_one_line(next((title for title in titles if title), "")), REASON_TITLE_LIMIT))
    if source.favourite:
        return t.gettext("≈ ⭐ {title}").format(title=title)
    return t.gettext("≈ 📚 {title}").format(title=title)


def _card(paper: Paper, *, number: int, language: Language, t: Translator, budget: _Budget,
          keywords: Sequence[KeywordSpec] = (), reason: TasteSource | None = None) -> str:
    """A card within one budget."""
    lines = _headline(paper, number=number, language=language, t=t, title_limit=budget.title)
    if reason is not None:
        lines.append(reason_line(reason, language=language, t=t))
    if matched := keyword_line(paper, keywords):
        lines.append(matched)
    if budget.people and (people := _people_line(paper, t)):
        lines.append(people)
    for side, text in _texts(paper, language):
        if limit := budget.summary if side is Language.ZH else budget.abstract:
            lines.append(_escape(shorten(text, limit)))
    paper_link = _arxiv_link(paper) or _source_link(paper)
    if links := _links_line([paper_link, _code_link(paper, t)]):
        lines.append(links)
    return "\n".join(lines)


def render_card(paper: Paper, *, number: int, language: str, t: Translator,
                keywords: Sequence[KeywordSpec] = ()) -> str:
    """A paper's card as Telegram HTML, so a chat can judge the paper at a glance in its language."""
    return _card(paper, number=number, language=_card_language(language), t=t, budget=_BUDGETS[0],
                 keywords=keywords)


_fitted_cards: dict[tuple[object, ...], tuple[str, int]] = {}


_PAPER_FIELDS = tuple(Paper.model_fields)
_LOADED_FIELDS = operator.itemgetter(*_PAPER_FIELDS)


def _paper_content(paper: Paper) -> tuple[object, ...]:
    """Every stored field of the paper: a card rendered from equal content is the same card."""
    try:
        # A loaded paper's values, read in one go: through the ORM's attributes, one by one, this key cost more
        # than all the rest of a digest's rendering.
        values = _LOADED_FIELDS(instance_dict(paper))
    except KeyError:  # a field the ORM has not loaded (expired): reading the attribute loads it
        values = tuple(getattr(paper, name) for name in _PAPER_FIELDS)
    return tuple(tuple(value) if isinstance(value, list) else value for value in values)


def _fitted_card(paper: Paper, *, number: int, language: Language, t: Translator, room: int,
                 keywords: Sequence[KeywordSpec], reason: TasteSource | None) -> tuple[str, int]:
    """The fullest version of a card that fits in room, remembered by everything it is made from."""
    key = (_paper_content(paper), number, language, t, room, tuple(keywords), reason)
    if (known := _fitted_cards.get(key)) is not None:
        return known
    if len(_fitted_cards) >= FITTED_CARDS_KEPT:
        _fitted_cards.clear()
    _fitted_cards[key] = fitted = _fit_card(paper, number=number, language=language, t=t, room=room,
                                            keywords=keywords, reason=reason)
    return fitted


def _fit_card(paper: Paper, *, number: int, language: Language, t: Translator, room: int,
              keywords: Sequence[KeywordSpec], reason: TasteSource | None) -> tuple[str, int]:
    """The fullest version of a card that fits in room, with its visible length; never split, only shortened."""
    for budget in _BUDGETS:
        card = _card(paper, number=number, language=language, t=t, budget=budget, keywords=keywords, reason=reason)
        length = visible_length(card)
        if length <= room:
            break
    return card, length


# ---------------------------------------------------------------------------------------------------------------
# Digests and keyboards
# ---------------------------------------------------------------------------------------------------------------


def _check_limit(limit: int) -> None:
    """Refuse limits too small to hold a minimal card, rather than produce an oversized message."""
    if limit < MIN_LIMIT:
        raise ValueError(f"cards: limit {limit} is below the minimum of {MIN_LIMIT}")


def digest_header(count: int, *, t: Translator, day: date) -> str:
    """'<b>Sunday, November 22, 2026 · 5 new papers</b>' in the chat's interface language."""
    papers = t.ngettext("{count} new paper", "{count} new papers", count).format(count=count)
    return f"<b>{_escape(t.format_date(day))} · {_escape(papers)}</b>"


@functools.lru_cache(maxsize=64)
def _measured_header(count: int, t: Translator, day: date) -> tuple[str, int]:
    """The header and its visible length: the same for every digest of a broadcast in one language and day."""
    header = digest_header(count, t=t, day=day)
    return header, visible_length(header)


def render_digest(
    papers: Sequence[Paper], *, language: str, t: Translator, day: date, limit: int = MESSAGE_LIMIT,
    keywords: Sequence[KeywordSpec] = (), reasons: Mapping[int, TasteSource] | None = None,
) -> list[DigestMessage]:
    """A day's cards packed greedily into as few messages as fit, header on the first; [] for no papers.

    Cards of papers matching one of the chat's included ``keywords`` say which; cards its taste ranked up
    (``reasons``, by paper id) name the favourite they are closest to.
    """
    reasons = reasons or {}
    _check_limit(limit)
    card_language = _card_language(language)
    if not papers:
        return []
    header, header_length = _measured_header(len(papers), t, day)
    messages: list[DigestMessage] = []
    parts, length, ids, numbers = [header], header_length, [], []
    separator = len(CARD_SEPARATOR)
    for number, paper in enumerate(papers, start=1):
        if paper.id is None:
            raise ValueError(f"cards: paper {number} of the digest has no id, so it cannot get a ⭐ button")
        room = limit - header_length - separator if number == 1 else limit
        card, card_length = _fitted_card(paper, number=number, language=card_language, t=t, room=room,
                                         keywords=keywords, reason=reasons.get(paper.id))
        if ids and (length + separator + card_length > limit or len(ids) >= MAX_CARDS_PER_MESSAGE):
            messages.append(DigestMessage(CARD_SEPARATOR.join(parts), tuple(ids), tuple(numbers)))
            parts, length, ids, numbers = [], -separator, [], []
        parts.append(card)
        length += separator + card_length
        ids.append(paper.id)
        numbers.append(number)
    messages.append(DigestMessage(CARD_SEPARATOR.join(parts), tuple(ids), tuple(numbers)))
    return messages


def star_keyboard(message: DigestMessage, *, saved: set[int]) -> InlineKeyboardMarkup:
    """Per card a ⭐ (✅ once saved) and a 📄 for its full details, numbered like the cards: rows of up to five
    stars, each with its row of details below."""
    return _keyboard(message.paper_ids, message.numbers, frozenset(saved.intersection(message.paper_ids)))


@functools.lru_cache(maxsize=FITTED_CARDS_KEPT)
def _keyboard(paper_ids: tuple[int, ...], numbers: tuple[int, ...], saved: frozenset[int]) -> InlineKeyboardMarkup:
    """One keyboard per distinct message: Telegram objects are immutable, so every chat can share it."""
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


# ---------------------------------------------------------------------------------------------------------------
# Full details of one paper
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Atom:
    """A piece of a message that is never split: its HTML, visible length, and what precedes it in a message."""

    html: str
    length: int
    separator: str = ""  # dropped when the atom starts a message
    keep_with_next: bool = False  # a section label stays with its first paragraph


def _markup_atom(markup: str, separator: str = "", *, keep_with_next: bool = False) -> _Atom:
    """An atom of ready HTML."""
    return _Atom(markup, visible_length(markup), separator, keep_with_next)


def _text_atoms(text: str, *, separator: str, limit: int, tag: str | None = None) -> list[_Atom]:
    """Plain text as atoms that each fit a message, split at sentences where it must be, styled with tag."""
    atoms = []
    for index, piece in enumerate(split_to_fit(text, limit)):
        markup = f"<{tag}>{_escape(piece)}</{tag}>" if tag else _escape(piece)
        atoms.append(_Atom(markup, _utf16_length(piece), separator if index == 0 else ""))
    return atoms


def _details_atoms(paper: Paper, *, t: Translator, limit: int) -> list[_Atom]:
    """Everything known about the paper, in reading order."""
    limit -= LABEL_ROOM
    lead = [part for part in (_tag(paper, t), HIGHLIGHT_MARK if paper.highlight else "") if part]
    atoms = [_markup_atom(" ".join(lead) + " ")] if lead else []
    titles = _titles(paper, Language.BOTH)
    if not titles:
        atoms.append(_markup_atom(_untitled(t)))
    for index, title in enumerate(titles):
        atoms += _text_atoms(title, separator="\n" if index else "", limit=limit, tag="b" if index == 0 else None)
    if authors := _authors_text(paper, t, shown=None, name_limit=None):
        atoms += _text_atoms(authors, separator="\n\n", limit=limit)
    if affiliations := _affiliations_text(paper, limit=None):
        atoms += _text_atoms(affiliations, separator="\n" if authors else "\n\n", limit=limit, tag="i")
    sections = ((t.gettext("Chinese summary"), paper.summary_zh), (t.gettext("English abstract"), paper.abstract_en))
    for label, text in sections:
        paragraphs = _paragraphs(text)
        if paragraphs:
            atoms.append(_markup_atom(f"<b>{_escape(label)}</b>", "\n\n", keep_with_next=True))
        for index, paragraph in enumerate(paragraphs):
            atoms += _text_atoms(paragraph, separator="\n\n" if index else "\n", limit=limit)
    arxiv = _arxiv_link(paper)
    source = None if arxiv and _is_arxiv(paper.url) else _source_link(paper)
    if links := _links_line([arxiv, _pdf_link(paper, t), source, _code_link(paper, t)]):
        atoms.append(_markup_atom(links, "\n\n"))
    return atoms


def _pack(atoms: Sequence[_Atom], limit: int) -> list[str]:
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


def render_paper_details(paper: Paper, *, t: Translator, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The whole paper (full summary and abstract, every author, all links) in as many messages as it needs."""
    _check_limit(limit)
    return _pack(_details_atoms(paper, t=t, limit=limit), limit)
