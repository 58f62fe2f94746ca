"""Paper → its card: Telegram HTML a chat judges the paper by at a glance, in its language; pure.

Every paper field is escaped before it meets markup. A card is never split: where room is short it is shortened
(abstract first) until it fits. The pieces here (tag, titles, authors, links) serve the paper's details too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.i18n import Translator
from bot.text_fit import UNSENDABLE, escape, one_line, shorten, visible_length
from storage.keywords import KeywordSpec, matched_keywords
from storage.models import Language, Paper
from storage.parsing import ET_AL
from storage.taste import TasteSource
from storage.vocabulary import ARXIV_ABS_URL, ARXIV_PDF_URL, is_arxiv_id, web_link_problem

ABSTRACT_LIMIT = 280  # a card's English abstract: about a tweet, two sentences, enough to decide whether to read on
SUMMARY_LIMIT = 160  # a card's Chinese summary: a Chinese character says about what a word does, so fewer
TITLE_LIMIT = 300  # real titles are far shorter; this only stops a broken one from eating the message
STAND_IN_TITLE_LIMIT = 60  # opening words that stand in for a missing title
AUTHORS_SHOWN = 3  # a card names the first three authors, then "et al."
AUTHOR_NAME_LIMIT = 40
AFFILIATIONS_LIMIT = 120
LINK_TEXT_LIMIT = 40
MAX_URL_LENGTH = 2048  # longer "URLs" are garbage, not links
HIGHLIGHT_MARK = "🔥"  # not ⭐: that is the save button
KEYWORD_MARK = "🔑"  # the chat's included keywords a card matched
KEYWORDS_SHOWN = 3
REASON_TITLE_LIMIT = 48  # the favourite a card names as its reason: enough of the title to recognise it


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


# ---------------------------------------------------------------------------------------------------------------
# Pieces of a card (a paper's details show them too)
# ---------------------------------------------------------------------------------------------------------------


def card_language(language: str) -> Language:
    """The card language, refusing anything else loudly rather than guessing."""
    try:
        return Language(language)
    except ValueError:
        raise ValueError(f"cards: unknown card language {language!r}") from None


def category_tag(paper: Paper, t: Translator) -> str:
    """'<b>[CV]</b>', or '<b>[CV?]</b> <i>(category inferred)</i>' for a guessed category."""
    category = one_line(paper.category)
    if not category:
        return ""
    if paper.category_inferred:
        hint = t.gettext("(category inferred)")  # gettext outside f-strings, where Babel's extractor sees it
        return f"<b>[{escape(category)}?]</b> <i>{escape(hint)}</i>"
    return f"<b>[{escape(category)}]</b>"


def paper_titles(paper: Paper, language: Language) -> list[str]:
    """The titles a card shows, first one in bold: English then Chinese for 'both', else one with a fallback."""
    english, chinese = one_line(paper.title_en), one_line(paper.title_zh)
    if language is Language.BOTH:
        return [title for title in (english, chinese) if title]
    preferred = (chinese or english) if language is Language.ZH else (english or chinese)
    return [preferred] if preferred else []


def _texts(paper: Paper, language: Language) -> list[tuple[Language, str]]:
    """Summary/abstract (with the side each is in) for the card's language(s), falling back to the other side."""
    chinese, english = (Language.ZH, one_line(paper.summary_zh)), (Language.EN, one_line(paper.abstract_en))
    if language is Language.BOTH:
        return [side for side in (chinese, english) if side[1]]
    first, second = (chinese, english) if language is Language.ZH else (english, chinese)
    preferred = first if first[1] else second
    return [preferred] if preferred[1] else []


def untitled_mark(t: Translator) -> str:
    """The italic mark of a paper its digest gave no title."""
    mark = t.gettext("(untitled)")
    return f"<i>{escape(mark)}</i>"


def _headline(paper: Paper, *, number: int, language: Language, t: Translator, title_limit: int) -> list[str]:
    """Line 1 (number, tag, highlight, title) and, for 'both', the Chinese title on line 2."""
    lead = [part for part in (f"{number}.", category_tag(paper, t)) if part]
    if paper.highlight:
        lead.append(HIGHLIGHT_MARK)
    titles = paper_titles(paper, language)
    if titles:
        first = f"<b>{escape(shorten(titles[0], title_limit))}</b>"
        rest = [escape(shorten(title, title_limit)) for title in titles[1:]]
    else:
        opening = next((text for _side, text in _texts(paper, language)), "")
        stand_in = f"<b>{escape(shorten(opening, STAND_IN_TITLE_LIMIT))}</b> " if opening else ""
        first, rest = f"{stand_in}{untitled_mark(t)}", []
    return [" ".join([*lead, first]), *rest]


def _author_names(paper: Paper) -> tuple[list[str], bool]:
    """The named authors, and whether the list was cut short (more names than shown, or a trailing "et al.")."""
    names = [name for author in paper.authors if (name := one_line(author))]
    cut_short = bool(names) and (names[-1] == ET_AL or paper.authors_truncated)
    return [name for name in names if name != ET_AL], cut_short


def authors_text(paper: Paper, t: Translator, *, shown: int | None, name_limit: int | None) -> str:
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


def affiliations_text(paper: Paper, *, limit: int | None) -> str:
    """Affiliations joined with ' & ', whole ones only when limited ('A & B & …')."""
    names = [name for affiliation in paper.affiliations if (name := one_line(affiliation))]
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
    authors = escape(authors_text(paper, t, shown=AUTHORS_SHOWN, name_limit=AUTHOR_NAME_LIMIT))
    affiliations = affiliations_text(paper, limit=AFFILIATIONS_LIMIT)
    parts = [authors] if authors else []
    if affiliations:
        parts.append(f"<i>{escape(affiliations)}</i>")
    return " · ".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# Links
# ---------------------------------------------------------------------------------------------------------------

def _safe_url(url: str | None) -> str | None:
    """An http(s) URL Telegram will turn into a link, or None."""
    url = (url or "").strip()
    if not url or UNSENDABLE.search(url) or web_link_problem(url, max_length=MAX_URL_LENGTH):
        return None
    return url


def _link(url: str, text: str) -> str:
    """<a href="…">text</a> with both escaped."""
    return f'<a href="{escape(url)}">{escape(shorten(text, LINK_TEXT_LIMIT))}</a>'


def arxiv_link(paper: Paper) -> str | None:
    """The arXiv abstract page, when the paper's arXiv id looks like one."""
    arxiv_id = (paper.arxiv_id or "").strip()
    if not is_arxiv_id(arxiv_id):
        return None
    return _link(ARXIV_ABS_URL.format(arxiv_id=arxiv_id), f"arXiv:{arxiv_id}")


def pdf_link(paper: Paper, t: Translator) -> str | None:
    """arXiv's PDF of the paper, for the details (a card links to the abstract page only)."""
    arxiv_id = (paper.arxiv_id or "").strip()
    return _link(ARXIV_PDF_URL.format(arxiv_id=arxiv_id), t.gettext("PDF")) if is_arxiv_id(arxiv_id) else None


def source_link(paper: Paper) -> str | None:
    """The paper's own link, labelled with its site's name."""
    url = _safe_url(paper.url)
    return _link(url, urlsplit(url).hostname or url) if url else None


def is_arxiv_url(url: str | None) -> bool:
    """Whether a URL points at arXiv, so the arXiv link already covers it."""
    safe = _safe_url(url)
    host = (urlsplit(safe).hostname or "") if safe else ""
    return host == "arxiv.org" or host.endswith(".arxiv.org")


def code_link(paper: Paper, t: Translator) -> str | None:
    """The code repository link."""
    url = _safe_url(paper.code_url)
    return _link(url, t.gettext("Code")) if url else None


def links_line(links: Sequence[str | None]) -> str:
    """'🔗 arXiv:… · Code', or nothing when the paper has no usable link."""
    present = [link for link in links if link]
    return "🔗 " + " · ".join(present) if present else ""


# ---------------------------------------------------------------------------------------------------------------
# The card
# ---------------------------------------------------------------------------------------------------------------


def keyword_line(paper: Paper, keywords: Sequence[KeywordSpec]) -> str:
    """'🔑 diffusion · 扩散': which of the chat's included keywords this paper matched; '' for none."""
    matched = matched_keywords(paper, keywords)[:KEYWORDS_SHOWN]
    if not matched:
        return ""
    return f"{KEYWORD_MARK} " + " · ".join(escape(shorten(word, LINK_TEXT_LIMIT)) for word in matched)


def reason_line(source: TasteSource, *, language: Language, t: Translator) -> str:
    """'≈ ⭐ Compacter: Efficient Low-Rank…': the favourite (or imported paper) that ranked this card up."""
    titles = (source.title_zh, source.title_en) if language is Language.ZH else (source.title_en, source.title_zh)
    title = escape(shorten(one_line(next((title for title in titles if title), "")), REASON_TITLE_LIMIT))
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
            lines.append(escape(shorten(text, limit)))
    paper_link = arxiv_link(paper) or source_link(paper)
    if links := links_line([paper_link, code_link(paper, t)]):
        lines.append(links)
    return "\n".join(lines)


def render_card(paper: Paper, *, number: int, language: str, t: Translator,
                keywords: Sequence[KeywordSpec] = ()) -> str:
    """A paper's card as Telegram HTML, so a chat can judge the paper at a glance in its language."""
    return _card(paper, number=number, language=card_language(language), t=t, budget=_BUDGETS[0],
                 keywords=keywords)


def fit_card(paper: Paper, *, number: int, language: Language, t: Translator, room: int,
             keywords: Sequence[KeywordSpec], reason: TasteSource | None) -> tuple[str, int]:
    """The fullest version of a card that fits in room, with its visible length; never split, only shortened."""
    for budget in _BUDGETS:
        card = _card(paper, number=number, language=language, t=t, budget=budget, keywords=keywords, reason=reason)
        length = visible_length(card)
        if length <= room:
            break
    return card, length
