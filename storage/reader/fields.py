"""Fields of one entry: titles, authors (and whether the list was cut short), affiliations, links, arXiv ids.

Every pattern here is linear: character classes and fixed alternatives, no nested quantifiers.
"""

from __future__ import annotations

import re

from storage.parsing import clean_url, has_cjk
from storage.vocabulary import (
    AFFILIATION_LABELS,
    ARXIV_NEW_ID,
    ARXIV_VERSION,
    CODE_HOST,
    CODE_LABELS,
    KNOWN_LABELS,
    OTHER_LABELS,
    PAPER_LABELS,
)

URL = re.compile(r"https?://[^\s<>\"'，。、）)\]】]+")
# New-style ids only (YYMM.number), as the reader has always taken them.
ARXIV_ID = re.compile(rf"(?:arxiv\.org/(?:abs|pdf|html)/|arXiv[\s:：]*)({ARXIV_NEW_ID}){ARXIV_VERSION}", re.IGNORECASE)
_LABEL_WINDOW = 30  # characters before a link searched for its label
_NAME_TOKEN = r"(?:[A-ZÀ-ÖØ-Þ][\w'’\-.]*|[a-z]{1,3}\.?|van|von|der|den|del|della|de|da|di|du|la|le|dos|bin)"
_NAME = re.compile(rf"{_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{0,5}}\Z")
# Ideographs, kana and hangul: what makes a title Chinese (or Japanese, Korean), unlike full-width punctuation.
_IDEOGRAPH = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CUT_ENDINGS = ("et al.", "et al", "…", "...", "等", "等人")
# "…PipelinesO Khattab, " / "YetJ Huang, " / "Steam?K Boil, ": a title's last character (a lower-case letter, a
# digit or closing punctuation) glued to an initial, a space and a surname.
_GLUED_AUTHOR = re.compile(r"(?<=[a-z0-9?!)])(?=[A-Z]{1,2}(?:\.|\s[A-Z]\.?)?\s[A-Z][\w'’\-]+(?:,|…|\.\.\.|\[|$))")
# "…with RLHFJ Crumb, ": an acronym glued to a single initial, a space and a surname.
_ACRONYM_AUTHOR = re.compile(r"(?<=[A-Z])(?=[A-Z]\s[A-Z][a-z][\w'’\-]*(?:,|…|\.\.\.|\[|$))")
_SPACED_AUTHOR = re.compile(r"(?<=\s)(?=[A-Z]{1,2}(?:\.|\s[A-Z]\.?)?\s[A-Z][\w'’\-]+\s*(?:,|…|\.\.\.|\[))")


def collapse(text: str) -> str:
    """Whitespace collapsed to single spaces, bold markers dropped."""
    return " ".join(text.replace("**", "").split())


def arxiv_id_in(text: str | None) -> str | None:
    """The first arXiv id however written: in a link, as 'arXiv 2607.26300' or 'arXiv:2607.26300'."""
    if not text:
        return None
    match = ARXIV_ID.search(text)
    return match.group(1) if match else None


def labelled_links(text: str) -> list[tuple[str, str]]:
    """(label, url) for every link in the text; an unlabelled link has the label ''."""
    return [(label_before(text, match.start()), clean_url(match.group(0))) for match in URL.finditer(text)]


def label_before(text: str, start: int) -> str:
    """The label written right before a link ('Official Code：', 'GitHub:', '论文链接：'), lower-cased; '' if none."""
    window = text[max(0, start - _LABEL_WINDOW):start].rstrip()
    if not window.endswith((":", "：")):
        return ""
    words = window[:-1].split()
    if not words:
        return ""
    two = " ".join(words[-2:]).lower()
    if two in KNOWN_LABELS:
        return two
    last = words[-1].lower()
    return next((label for label in KNOWN_LABELS if not label.isascii() and last.endswith(label)), last)


def link_kind(label: str, url: str) -> str:
    """'paper', 'code', 'other' or '' (unlabelled) for a labelled link."""
    label = label.strip().lower()
    if label in CODE_LABELS:
        return "code"
    if label in PAPER_LABELS:
        return "paper"
    if label in OTHER_LABELS or label:
        return "other"
    return "code" if CODE_HOST.match(url) else ""


def is_latin_title(text: str) -> bool:
    """An English title: no ideographs (full-width punctuation typed by a Chinese editor is allowed), at least one
    letter, not a bare link."""
    stripped = text.strip()
    return bool(stripped) and (stripped.isascii() or _IDEOGRAPH.search(stripped) is None) \
        and any(c.isalpha() for c in stripped) and not stripped.lower().startswith(("http://", "https://"))


def parse_author_list(text: str) -> tuple[tuple[str, ...], bool] | None:
    """Names separated by commas, 'and' or '&'; a trailing et al./…/等 sets the cut-short flag, never a name."""
    body = text.replace("，", ",").strip().rstrip(",;")  # a full-width comma parts names typed in a Chinese IME
    truncated = False
    for ending in _CUT_ENDINGS:
        if body.endswith(ending):
            body, truncated = body[: -len(ending)].rstrip(" ,;"), True
            break
    if not body or len(body) > 1500 or has_cjk(body):
        return None
    parts = [part.strip() for part in re.split(r",|\band\b|&", body)]
    names = [part for part in parts if part]
    if not names or any(_NAME.match(name) is None or (not name[0].isupper() and not any(
            token[:1].isupper() for token in name.split())) for name in names):
        return None
    if len(names) == 1 and " " not in names[0]:
        return None
    return tuple(names), truncated


def split_title_authors(text: str) -> tuple[str, str]:
    """Cut a run-on 'Title of the PaperJ Huang, X Chen…' (or with a space) into title and author text."""
    match = _GLUED_AUTHOR.search(text)
    if match is None:  # an acronym glued to the first author comes before the spaced second author: the earlier cut
        found = [cut for cut in (_ACRONYM_AUTHOR.search(text), _SPACED_AUTHOR.search(text)) if cut is not None]
        match = min(found, key=lambda cut: cut.start(), default=None)
    if match is None:
        return text.strip(), ""
    return text[: match.start()].strip(), text[match.start():].strip()


def affiliations_of(text: str) -> tuple[str, ...]:
    """An affiliation field as its parts: '[A & B]' or '单位：A、B' (a list in one string stays one)."""
    body = text.strip().strip("[]【】").strip()
    for label in AFFILIATION_LABELS:
        if body.lower().startswith(label):
            body = body[len(label):].lstrip(" :：")
    return tuple(part.strip() for part in body.split(" & ") if part.strip())
