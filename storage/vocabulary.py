"""The domain's words, each defined once: the fields, the card languages, the arXiv-id pattern and the checks
every layer shares (time of day, time zone, web link, typed quotes). Pure: no database, no network, no bot."""

from __future__ import annotations

import enum
import re
from datetime import time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Category(enum.StrEnum):
    """The five arXiv-style fields a digest tags its papers with, each with its names and its arXiv categories."""

    chinese: str
    english: str
    arxiv_classes: tuple[str, ...]  # arXiv primary categories that mean this field; the first is the one cited

    def __new__(cls, code: str, chinese: str, english: str, arxiv_classes: tuple[str, ...]) -> Category:
        member = str.__new__(cls, code)
        member._value_ = code
        member.chinese, member.english, member.arxiv_classes = chinese, english, arxiv_classes
        return member

    LG = ("LG", "机器学习", "Machine learning", ("cs.LG", "stat.ML"))
    CV = ("CV", "计算机视觉", "Computer vision", ("cs.CV", "eess.IV"))
    CL = ("CL", "计算与语言", "Computation & language", ("cs.CL",))
    AS = ("AS", "音频与语音", "Audio & speech", ("eess.AS", "cs.SD"))  # audio and speech are cited in eess
    RO = ("RO", "机器人", "Robotics", ("cs.RO",))

    @property
    def arxiv_class(self) -> str:
        """The arXiv category a citation of a paper in this field names (BibTeX primaryClass)."""
        return self.arxiv_classes[0]


CATEGORIES: tuple[str, ...] = tuple(category.value for category in Category)  # in the order chats list them

# Where code is published: an unlabelled link there is a paper's code.
CODE_HOST = re.compile(r"https?://(?:www\.)?(?:github\.com|gitlab\.com|anonymous\.4open\.science|huggingface\.co)/")
# The labels digests write before a link ('论文链接：https://…', 'Official Code:'), lower-cased, by what they link.
PAPER_LABELS = frozenset(("paper", "url", "pdf", "arxiv", "论文", "论文链接", "论文地址", "link", "paper link"))
CODE_LABELS = frozenset(("github", "code", "official code", "代码", "代码链接", "代码地址", "project code", "源码",
                         "源码链接", "源码地址", "source code"))
OTHER_LABELS = frozenset(("view", "home", "project page", "项目主页", "主页", "blog", "demo", "数据集链接", "video",
                          "视频"))
KNOWN_LABELS = PAPER_LABELS | CODE_LABELS | OTHER_LABELS
# The labels of an affiliation field ('单位：', '作者单位：'), longest first so none is cut off by a shorter one.
AFFILIATION_LABELS = ("affiliations", "affiliation", "institution", "作者单位", "单位", "机构")
ARXIV_CLASS_OF_CATEGORY: dict[str, str] = {category.value: category.arxiv_class for category in Category}
CATEGORY_OF_ARXIV_CLASS: dict[str, str] = {arxiv_class: category.value for category in Category
                                           for arxiv_class in category.arxiv_classes}


class Language(enum.StrEnum):
    """Which side of a bilingual card a chat reads."""

    ZH = "zh"
    EN = "en"
    BOTH = "both"


LANGUAGES: tuple[str, ...] = tuple(language.value for language in Language)
INTERFACE_LANGUAGES: tuple[str, ...] = (Language.ZH.value, Language.EN.value)  # the ones with a message catalog

# arXiv ids: new style '2401.01234' (YYMM.number) and old style 'hep-th/9901001' or 'math.AG/0601001'
# (archive, optional subject class, YYMM and a three-digit number), each with an optional version 'v2'.
ARXIV_NEW_ID = r"\d{4}\.\d{4,5}"
ARXIV_OLD_ID = r"[a-z\-]+(?:\.[A-Z]{2})?/\d{7}"
ARXIV_ID = f"(?:{ARXIV_NEW_ID}|{ARXIV_OLD_ID})"
ARXIV_VERSION = r"(?:v\d+)?"
ARXIV_ABS_URL = "https://arxiv.org/abs/{arxiv_id}"  # a paper's abstract page
ARXIV_PDF_URL = "https://arxiv.org/pdf/{arxiv_id}"
_WHOLE_ARXIV_ID = re.compile(ARXIV_ID + ARXIV_VERSION)
_FIRST_ARXIV_YEAR = 91  # arXiv began in 1991: two-digit years from 91 on are the 1900s


def is_arxiv_id(text: str) -> bool:
    """Whether the text is one arXiv id, old or new style, with or without a version."""
    return _WHOLE_ARXIV_ID.fullmatch(text) is not None


def arxiv_id_year(arxiv_id: str) -> int | None:
    """The year an arXiv id was issued, from its YYMM digits; None when it is not an id."""
    if not is_arxiv_id(arxiv_id):
        return None
    two_digits = int(arxiv_id.rpartition("/")[2][:2])
    return (1900 if two_digits >= _FIRST_ARXIV_YEAR else 2000) + two_digits


_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})")


def time_of_day(text: str) -> time | None:
    """'9:05' or '09:05' on a 24-hour clock (00:00–23:59) as a time; None when it is not one."""
    match = _TIME_OF_DAY.fullmatch(text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return time(int(match[1]), int(match[2]))


def is_time_zone(name: str) -> bool:
    """Whether the tz database has this zone; "America" is a folder of zones (OSError), "" a bad key."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")  # what str.isspace() calls a space, C0 controls and DEL


def web_link_problem(url: str, *, max_length: int) -> str | None:
    """Why this is not an http(s) URL with a host, of at most max_length characters; None when it is one."""
    if len(url) > max_length:
        return f"too long ({len(url)} characters; at most {max_length})"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "not a well-formed URL"
    if parts.scheme.lower() not in ("http", "https") or not host:
        return "not an http(s) URL with a host"
    if _SPACE_OR_CONTROL.search(url):
        return "contains spaces or control characters"
    return None


# Quotes that group words in typed arguments, opening → closing: phones and input methods turn a typed " into
# curly, low or corner quotes. A single quote is an apostrophe (Bayes' rule), not a quote.
TYPED_QUOTES: dict[str, str] = {'"': '"', "“": "”", "„": "“", "「": "」", "＂": "＂"}
