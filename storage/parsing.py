"""Digest text → parsed papers, for every digest shape we ingest; pure: no database, no network."""

from __future__ import annotations

import dataclasses
import enum
import re
from dataclasses import dataclass, field

from storage.models import DIGEST_FIELDS, plain_copy
from storage.vocabulary import ARXIV_ID, ARXIV_VERSION, CATEGORIES, CODE_HOST, CODE_LABELS, PAPER_LABELS

_CJK = (
    "\u3000-\u303f"  # CJK punctuation: 。、「」
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # ideographs
    "\uff00-\uffef"  # full-width forms: ,:()
)
_CJK_CHAR = re.compile(f"[{_CJK}]")
# Up to the last Chinese character: greedy to the end, then back over the English tail (a lookahead from
# every Chinese character measured 7 µs a paragraph).
_UP_TO_LAST_CJK = re.compile(f".*[{_CJK}]", re.DOTALL)
_URL = re.compile(r"https?://[^\s<>\"'，。、）)]+")
_URL_LINE = re.compile(r"^(https?://\S+)$")
_ARXIV_ID = re.compile(rf"arxiv\.org/(?:abs|pdf|html)/({ARXIV_ID}){ARXIV_VERSION}")
_TRAILING_PUNCT = ".,;:)]}。,"
# "论文：https://…", "Code: https://…": a short label (one or two words), a colon and one link, alone on a line.
_LABELLED_URL_LINE = re.compile(r"^(?P<label>[^\s:：]{1,20}(?: [^\s:：]{1,20})?)\s*[:：]\s*(?P<url>https?://\S+)$")

# "1、[LG] Title", "*[CV] Title", "2.[CL]* Title*", "[AS] Title" — the highlight star may stand anywhere near.
# The title runs to the end of the line (a closing star is split off in _weibo_title): a lazy title retried
# the line's end at every character, the parser's costliest step.
_WEIBO_HEADER = re.compile(
    r"^(?P<lead>\*?)\s*(?:(?P<num>\d{1,3})\s*[、.．]\s*)?(?P<pre>\*?)\s*"
    r"\[(?P<tag>[A-Za-z]{2}(?:\.[A-Za-z]{2})?)\]\s*(?P<post>\*?)\s*(?P<title>[^\s*].*)$"
)
_BLOG_HEADER = re.compile(r"^(?P<num>\d{1,3})\s*[、.．]\s*(?P<title>[^\s\[](?:.*\S)?)\s*$")
_TRAILING_YEAR = re.compile(r"[;,]?\s*\d{4}\.?$")
_BLOG_BYLINE = re.compile(r"^By\s+(?P<authors>\S.*?)\.?\s*$", re.IGNORECASE)
_MINOR_SECTION = re.compile(r"^另外.{0,6}值得关注的论文\s*[::]?\s*$")
_AFFILIATION = re.compile(r"^\[(?P<body>[^\[\]]{2,})\]$")
_TRANSLATED_BY = re.compile(r"^translated by\s+\S+.*$", re.IGNORECASE)
_REFERENCE_HEADER = re.compile(r"^(?:引用|参考文献|参考资料|References?)\s*[::]?$", re.IGNORECASE)
_REFERENCE_ENTRY = re.compile(r"^\[(?P<num>\d{1,3})\]\s*[“\"](?P<title>.+?)[”\"]\s*(?:by\s+(?P<authors>.+?))?[.;]?\s*$")
_NOISE = re.compile(
    r"^(?:(?:[\w\-.]+?\.(?:png|jpe?g|gif|webp))+|LG\s*-\s*机器学习.*|转自.{1,20}|头图|内容中包含的图片若涉及版权问题.*"
    r"|作者\s*[::].*|\d+\s*声望\s*\d+\s*粉丝)$",
    re.IGNORECASE,
)
_HEADER_START = frozenset("0123456789*[")
# _NOISE needs an image name's last letter (png, jpg, gif, webp; only ASCII case-folds to these) or one of these
# first characters, or a digit (str.isdigit holds for every \d).
_NOISE_LAST = frozenset("gGfFpP")
_NOISE_FIRST = frozenset("lL转头内作")
_INVISIBLE = (("\u00a0", " "), ("\u3000", " "), ("\u200b", ""), ("\u200c", ""), ("\u200d", ""), ("\u2060", ""),
              ("\ufeff", ""))
_AUTHOR_TOKEN = r"(?:[A-ZÀ-ÖØ-Þ][\w'’\-.]*|[a-z]{1,3}|van|von|der|den|del|della|de|da|di|du|la|le|dos|bin)"
_AUTHOR_NAME = re.compile(rf"{_AUTHOR_TOKEN}(?:\s+{_AUTHOR_TOKEN}){{0,5}}\Z")
_NAME_SEPARATOR = re.compile(r"\s*,\s*|\s+and\s+|\s*&\s*")
_ET_AL = re.compile(r"(?:,?\s*(?:and\s+)?et\s+al\.?|…|\.\.\.)\s*$")
_ET_AL_ENDINGS = ("al", "al.", "…", "...")  # how a line _ET_AL matches must end: a cheap test before the search
_PROJECT_PAGE = re.compile(r"\s*\|\s*(?:Project page|Code|Paper|Blog|Demo)\s*$", re.IGNORECASE)
_TWO_TITLES = re.compile(r"\s+and\s+(?=[A-Z][\w\-]*:\s)")
_NOT_WORD = re.compile(r"[\W_]+")
ET_AL = "et al."


class DigestShape(enum.StrEnum):
    """The digest families we know how to read."""

    WEIBO = "weibo"
    TRANSLATED = "translated"
    BLOG = "blog"


class DigestFormatError(ValueError):
    """The text holds no paper entry we can recognise."""


ParsedPaper = plain_copy(
    "ParsedPaper", DIGEST_FIELDS, leading=(("position", int, dataclasses.MISSING),), frozen=True,
    doc="""One paper as one digest presents it, at its place in the digest; missing fields are None or empty.

    A plain frozen slots class of the schema's DIGEST_FIELDS (storage/models.py), as the reader builds tens of
    thousands a second; authors_truncated: the digest cut the list short (et al., …, 等), the names are not all.""")


@dataclass(frozen=True, slots=True)
class ParsedDigest:
    """Everything read from one document, with the problems a reader should hear about."""

    shape: DigestShape
    papers: tuple[ParsedPaper, ...]
    problems: tuple[str, ...] = ()


@dataclass(slots=True)
class _Draft:
    """A paper being assembled line by line."""

    title_en: str | None = None
    title_zh: str | None = None
    authors: list[str] = field(default_factory=list)
    affiliations: list[str] = field(default_factory=list)
    zh: list[str] = field(default_factory=list)
    en: list[str] = field(default_factory=list)
    url: str | None = None
    code_url: str | None = None
    category: str | None = None
    highlight: bool = False
    minor: bool = False
    zh_title_first: bool = False
    closed: bool = False


def has_cjk(text: str) -> bool:
    """Chinese text carries Latin words and numbers, so one ideograph decides."""
    return not text.isascii() and _CJK_CHAR.search(text) is not None  # isascii is a flag: English costs nothing


def normalise_lines(text: str) -> list[str]:
    """Fold the invisible differences between copies of one digest (newlines, BOM, NBSP, zero-width); strip lines."""
    if "\r" in text:  # a search for one character is cheap; replace() scans the text even when nothing is there
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for invisible, replacement in _INVISIBLE:
        if invisible in text:  # str.translate would be simpler, but it is slow on Chinese text
            text = text.replace(invisible, replacement)
    return [line.strip() for line in text.split("\n")]


def split_zh_en(paragraph: str) -> tuple[str, str]:
    """Split a paragraph that holds Chinese then English at the last Chinese character."""
    match = None if paragraph.isascii() else _UP_TO_LAST_CJK.match(paragraph)
    if match is None:
        return "", paragraph.strip()
    cut = match.end()
    return paragraph[:cut].strip(), paragraph[cut:].strip()


def split_title_summary(chinese: str) -> tuple[str | None, str | None]:
    """The first sentence of a digest's Chinese paragraph is the Chinese title, the rest its summary."""
    head, sep, rest = chinese.partition("。")
    if not sep:
        return None, chinese.strip() or None
    return head.strip() or None, rest.strip() or None


def clean_url(url: str) -> str:
    """Drop the sentence punctuation a link picks up at the end of prose."""
    return url.rstrip(_TRAILING_PUNCT)


def arxiv_id_of(url: str | None) -> str | None:
    """The arXiv id carried by a link, without its version suffix."""
    if not url:
        return None
    match = _ARXIV_ID.search(url)
    return match.group(1) if match else None


def parse_authors(line: str) -> tuple[str, ...] | None:
    """Read an author line ("J Ren, S Rajbhandari…", "Greg Yang, Edward J. Hu et al."), or None if it is not one."""
    if len(line) > 600 or line.count(" ") > 4 * line.count(",") + 8 or has_cjk(line) or _URL.search(line):
        return None  # prose: far more words than comma-separated names
    cut = _ET_AL.search(line) if line.rstrip().endswith(_ET_AL_ENDINGS) else None
    body = (line[: cut.start()] if cut else line).strip().rstrip(".")
    if not body:
        return None
    names: list[str] = []
    # Without '&' or 'and' only commas separate: str.split is exact here (each name is stripped below).
    for raw in _NAME_SEPARATOR.split(body) if "&" in body or "and" in body else body.split(","):
        name = raw.strip()
        if name[:4].lower() == "and ":
            name = name[4:].strip()
        if not name:
            continue
        # A capital first letter settles the capital test at once; other names look at each word's first letter.
        if _AUTHOR_NAME.match(name) is None or not (name[0].isupper() or any(t[0].isupper() for t in name.split())):
            return None
        names.append(name)
    if not names or (len(names) == 1 and " " not in names[0] and not cut):
        return None
    if cut:
        names.append(ET_AL)
    return tuple(names)


def split_title_and_authors(line: str) -> tuple[str, tuple[str, ...]] | None:
    """A minor entry's Chinese title may run straight into its author list: cut after the last ideograph."""
    chinese, rest = split_zh_en(line)
    if not chinese or not rest:
        return None
    authors = parse_authors(rest)
    return (chinese, authors) if authors else None


def _is_noise(line: str) -> bool:
    """Image names, reposting credits, overview lines and footers that are never part of a paper."""
    if line[-1:] not in _NOISE_LAST and line[:1] not in _NOISE_FIRST and not line[:1].isdigit():
        return False  # the ends no _NOISE alternative can have rule out most lines without a match
    return _NOISE.match(line) is not None


def _weibo_header(line: str) -> re.Match[str] | None:
    """Match an entry header; most lines are ruled out by their first character."""
    if not line or line[0] not in _HEADER_START or (line[0] == "[" and _AFFILIATION.match(line)):
        return None
    match = _WEIBO_HEADER.match(line)
    return None if match is None or _is_one_line_post(match.group("title")) else match


def _is_one_line_post(title: str) -> bool:
    """'[CV]《Title》A Author [Lab] (2020) link' is a whole weibo post on one line, not a header over field lines."""
    if title[:1] not in "《【":
        return False
    close = title.find("》")
    return close > 0 and title[close + 1:].strip(" *") != ""


def _weibo_title(rest: str) -> tuple[str, str]:
    """Split a header's rest of line into the title and the closing highlight star, if any."""
    if rest.endswith("*"):
        return rest[:-1].strip().strip("*").strip(), "*"
    return rest.strip().strip("*").strip(), ""


def _has_byline_next(lines: list[str], index: int) -> bool:
    """A blog entry's title is followed, noise aside, by its 'By …' line."""
    for after in range(index + 1, len(lines)):  # not a slice: that copied the rest of the list for every header
        line = lines[after]
        if line and not _is_noise(line):
            return _BLOG_BYLINE.match(line) is not None
    return False


def detect_shape(lines: list[str]) -> DigestShape | None:
    """Tell the family from its markers; None when nothing in the text looks like a digest."""
    weibo = translated = 0
    numbered: list[int] = []
    for index, line in enumerate(lines):  # one pass: the first character rules out most tests, no call for most lines
        first = line[:1]
        if first in _HEADER_START and _weibo_header(line):
            weibo += 1
        if first.isdigit():
            if _BLOG_HEADER.match(line):
                numbered.append(index)
        elif first in "tT" and line[:10].lower() == "translated" and _TRANSLATED_BY.match(line):
            translated += 1  # only 't' and 'T' lower to 't'
    # A blog count can only win when it could exceed the others; checking bylines is the costly part.
    blog = 0 if len(numbered) <= max(weibo, translated) else sum(1 for i in numbered if _has_byline_next(lines, i))
    best = max((weibo, DigestShape.WEIBO), (translated, DigestShape.TRANSLATED), (blog, DigestShape.BLOG))
    return best[1] if best[0] > 0 else None


def parse_digest(text: str) -> ParsedDigest:
    """Read any known digest shape; raises DigestFormatError when no entry is recognisable."""
    return parse_lines(normalise_lines(text))


def parse_lines(lines: list[str], *, cut_flag: bool = False, first_position: int = 1) -> ParsedDigest:
    """parse_digest for lines normalise_lines already gave, so a reader that split them does not fold them again;
    with `cut_flag` a trailing 'et al.' sets authors_truncated instead, and numbering starts at `first_position`
    (a reader of several digests would otherwise copy each paper again to change them)."""
    shape = detect_shape(lines)
    if shape is None:
        raise DigestFormatError("parser: no recognisable paper entry (expected '1、[LG] Title', "
                                "'translated by …' paragraphs or '1、Title' + 'By …' entries)")
    parser = {DigestShape.WEIBO: _parse_weibo, DigestShape.TRANSLATED: _parse_translated,
              DigestShape.BLOG: _parse_blog}[shape]
    drafts, problems = parser(lines)
    papers = _finish(drafts, cut_flag, first_position)
    if not papers:
        raise DigestFormatError(f"parser: {shape.value} digest without a complete paper entry")
    return ParsedDigest(shape=shape, papers=tuple(papers), problems=tuple(problems))


def _finish(drafts: list[_Draft], cut_flag: bool = False, first_position: int = 1) -> list[ParsedPaper]:
    """Freeze drafts into papers numbered by their place in the digest (see parse_lines for the options)."""
    papers: list[ParsedPaper] = []
    for draft in drafts:
        authors = tuple(draft.authors)
        truncated = cut_flag and bool(authors) and authors[-1] == ET_AL
        if truncated:
            authors = authors[:-1]
        title_zh, summary_zh = draft.title_zh, None
        chinese = "\n\n".join(draft.zh).strip()
        if chinese:
            if title_zh is None and draft.zh_title_first:
                title_zh, summary_zh = split_title_summary(chinese)
            else:
                summary_zh = chinese
        english = "\n\n".join(draft.en).strip() or None
        papers.append(
            ParsedPaper(
                position=len(papers) + first_position,
                title_en=draft.title_en,
                title_zh=title_zh,
                authors=authors,
                authors_truncated=truncated,
                affiliations=tuple(draft.affiliations),
                summary_zh=summary_zh,
                abstract_en=english,
                url=draft.url,
                arxiv_id=arxiv_id_of(draft.url),
                code_url=draft.code_url,
                category=draft.category,
                highlight=draft.highlight,
                minor=draft.minor,
            )
        )
    return papers


def _take_links(text: str, draft: _Draft) -> str:
    """Move links out of prose: a paper link ends the entry, a code link is kept as the code URL."""
    for match in list(_URL.finditer(text)):
        url = clean_url(match.group(0))
        if CODE_HOST.match(url):
            draft.code_url = draft.code_url or url
        elif match.end() >= len(text.rstrip()) - 1 and draft.url is None:
            draft.url = url
            text = text[: match.start()].rstrip()
    return text


def _weibo_body_line(line: str, draft: _Draft) -> None:
    """Place one line of a weibo-style entry into the right field."""
    url_line = _URL_LINE.match(line) if line[0] == "h" else None  # a link line starts with http
    if url_line:
        draft.url = draft.url or clean_url(url_line.group(1))
        draft.closed = True
        return
    affiliation = _AFFILIATION.match(line) if line[0] == "[" else None
    if affiliation and not draft.affiliations:
        draft.affiliations = [part.strip() for part in affiliation.group("body").split("&") if part.strip()]
        return
    if not draft.authors and not draft.zh and not draft.en:
        authors = parse_authors(line)
        if authors:
            draft.authors = list(authors)
            return
        if draft.title_zh is None and has_cjk(line):
            title_and_authors = split_title_and_authors(line)
            if title_and_authors:
                draft.title_zh, names = title_and_authors[0], title_and_authors[1]
                draft.authors = list(names)
                return
            if "。" not in line.rstrip("。") and len(line) <= 120:
                draft.title_zh = line.rstrip("。")
                return
    text = _take_links(line, draft)
    if has_cjk(text):
        chinese, english = split_zh_en(text)
        draft.zh.append(chinese)
        if english:
            draft.en.append(english)
    elif text:
        draft.en.append(text)
    if draft.url:
        draft.closed = True


def _parse_weibo(lines: list[str]) -> tuple[list[_Draft], list[str]]:
    """爱可可-style digests: numbered tagged entries, then a section of minor entries."""
    drafts: list[_Draft] = []
    problems: list[str] = []
    minor = False
    current: _Draft | None = None
    for line in lines:
        if not line:
            continue
        if line[0] == "另" and _MINOR_SECTION.match(line):
            minor, current = True, None
            continue
        header = _weibo_header(line) if line[0] in _HEADER_START else None  # no call for most lines
        if header:
            tag = header.group("tag").upper()
            title, closing_star = _weibo_title(header.group("title"))
            stars = "".join(header.group(g) for g in ("lead", "pre", "post")) + closing_star
            current = _Draft(
                title_en=title,
                category=tag if tag in CATEGORIES else None,
                highlight="*" in stars,
                minor=minor,
                zh_title_first=True,
            )
            drafts.append(current)
            continue
        if current is None or current.closed or _is_noise(line):
            continue
        _weibo_body_line(line, current)
    for number, draft in enumerate(drafts, start=1):
        missing = [name for name, value in (("authors", draft.authors), ("link", draft.url)) if not value]
        if missing:
            problems.append(f"entry {number} ({draft.title_en}): no {' or '.join(missing)}; truncated entry?")
    return drafts, problems


def _parse_translated(lines: list[str]) -> tuple[list[_Draft], list[str]]:
    """Machine-translated abstract lists: each paragraph before 'translated by …' is one paper."""
    drafts: list[_Draft] = []
    problems: list[str] = []
    pending: list[str] = []
    for line in lines:
        if _TRANSLATED_BY.match(line):
            if pending:
                draft = _Draft()
                pending = _translated_head(pending, draft)
                text = _take_links(" ".join(pending), draft)
                (draft.zh if has_cjk(text) else draft.en).append(text)
                drafts.append(draft)
            pending = []
        elif line and not _is_noise(line):
            pending.append(line)
    if pending:
        problems.append(f"text after the last 'translated by' line was left out ({len(pending)} lines)")
    return drafts, problems


def _translated_head(lines: list[str], draft: _Draft) -> list[str]:
    """Lines before a translated abstract that give its English title and its link; the abstract lines are left.
    A title counts only beside a link line: an English line alone may be the page's own heading."""
    at, title, url = 0, None, None
    while at < len(lines) - 1:  # the last line is the abstract itself
        line = lines[at]
        url_line = _URL_LINE.match(line) if line[0] == "h" else None
        if url_line and url is None:
            url = clean_url(url_line.group(1))
        elif title is None and url is None and not has_cjk(line) and len(line) <= 300 and not line.endswith("."):
            title = line
        else:
            break
        at += 1
    if url is None:
        return lines
    draft.title_en, draft.url = title, url
    return lines[at:]


def _byline_names(byline: str) -> tuple[list[str], list[str]]:
    """A blog byline's names and the affiliations written in brackets after them ('Greg Yang (Microsoft), …')."""
    names = parse_authors(byline)
    if names is not None or "(" not in byline.replace("（", "("):
        return list(names or [byline]), []
    plain, affiliations, depth, inner = [], [], 0, []
    for char in byline.replace("（", "(").replace("）", ")"):
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if not depth:
                affiliations.append("".join(inner).strip())
                inner = []
        elif depth:
            inner.append(char)
        else:
            plain.append(char)
    names = parse_authors(" ".join("".join(plain).split()).replace(" ,", ","))
    if names is None:
        return [byline], []
    return list(names), [part for part in dict.fromkeys(affiliations) if part]


def _without_year(authors: str) -> str:
    """Drop a reference's trailing year; only text ending in a digit (and a dot) can hold one."""
    return _TRAILING_YEAR.sub("", authors) if authors.rstrip(".")[-1:].isdigit() else authors


def _split_titles(title: str) -> list[str]:
    """'A: x and B: y' names two papers; 'Robustness and Generalization' does not."""
    return [part.strip() for part in _TWO_TITLES.split(title) if part.strip()]


def _parse_blog(lines: list[str]) -> tuple[list[_Draft], list[str]]:
    """Blog-style monthly picks: '1、Title', 'By …', commentary paragraphs, then references and footer."""
    drafts: list[_Draft] = []
    problems: list[str] = []
    references: dict[str, tuple[str, ...]] = {}
    group: list[_Draft] = []
    in_references = False
    for index, line in enumerate(lines):
        if not line:
            continue
        reference = _REFERENCE_ENTRY.match(line) if line[0] == "[" else None
        if reference or (len(line) < 20 and _REFERENCE_HEADER.match(line)):
            in_references, group = True, []
            if reference and reference.group("authors"):
                authors = parse_authors(_without_year(reference.group("authors")))
                references[_title_key(reference.group("title"))] = authors or ()
            continue
        header = _BLOG_HEADER.match(line) if line[0].isdigit() else None
        if header and _has_byline_next(lines, index):
            in_references = False
            title = _PROJECT_PAGE.sub("", header.group("title"))
            group = [_Draft(title_en=part) for part in _split_titles(title)]
            drafts.extend(group)
            continue
        if in_references or not group or _is_noise(line):
            continue
        byline = _BLOG_BYLINE.match(line) if line[0] in "bB" else None  # only b and B match 'b' ignoring case
        if byline and not group[0].authors:
            names, affiliations = _byline_names(byline.group("authors"))
            group[0].authors, group[0].affiliations = names, affiliations
            continue
        url_line = _URL_LINE.match(line) if line[0] == "h" else None  # a link line starts with http
        if url_line is None and "://" in line and _labelled_link_line(line, group):
            continue
        for draft in group:
            if url_line:
                url = clean_url(url_line.group(1))
                if CODE_HOST.match(url):
                    draft.code_url = draft.code_url or url
                else:
                    draft.url = draft.url or url
            else:
                draft.zh.append(line) if has_cjk(line) else draft.en.append(line)
    for draft in drafts:
        if not draft.authors:
            draft.authors = list(references.get(_title_key(draft.title_en or ""), ()))
        if not draft.zh and not draft.en:
            problems.append(f"entry ({draft.title_en}): no commentary; truncated entry?")
    return drafts, problems


def _labelled_link_line(line: str, group: list[_Draft]) -> bool:
    """A blog entry's 'label: link' line as its paper or code link; False (commentary) for other labels."""
    match = _LABELLED_URL_LINE.match(line)
    if match is None:
        return False
    label, url = match.group("label").lower(), clean_url(match.group("url"))
    code = label in CODE_LABELS or (label not in PAPER_LABELS and CODE_HOST.match(url) is not None)
    if not code and label not in PAPER_LABELS and _ARXIV_ID.search(url) is None:
        return False
    for draft in group:
        if code:
            draft.code_url = draft.code_url or url
        else:
            draft.url = draft.url or url
    return True


def _title_key(title: str) -> str:
    """Compare titles by their letters and digits only."""
    return title_key(title) or ""


def title_key(title: str | None) -> str | None:
    """Normalised English title used to recognise one paper in two digests."""
    if not title:
        return None
    key = _NOT_WORD.sub(" ", title.casefold()).strip()
    return key[:500] or None
