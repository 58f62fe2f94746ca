"""Cue readers, one per family of digest: each finds where entries start and takes their fields; all pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from storage.parsing import has_cjk
from storage.reader.blocks import Block
from storage.reader.entries import Draft, Found
from storage.reader.fields import (
    URL,
    affiliations_of,
    arxiv_id_in,
    clean_url,
    collapse,
    is_latin_title,
    labelled_links,
    link_kind,
    parse_author_list,
    split_title_authors,
)
from storage.reader.notpapers import is_end_section, is_minor_heading, is_placeholder, is_scraper_metadata
from storage.vocabulary import AFFILIATION_LABELS, CATEGORIES, CODE_HOST, KNOWN_LABELS, PAPER_LABELS

# "1、", "1.", "1)", "１．", "No 1.", "No.1", "No 1" before an entry (after "No" the punctuation may be left out);
# full-width digits are folded before matching.
_NUMBER = re.compile(r"^(?:No\.?\s*\d{1,3}(?!\d)\s*[、.．)）:：]?|\d{1,3}\s*[、.．)）])\s*")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_NUMBER_SPAN = 12  # an entry number with its lead ('*No １２３．') is within the first characters
# "[LG]", "【LG】", "(LG)", "cs.LG" before a title, with a highlight star on either side.
_TAG = re.compile(r"^(\*?)\s*(?:[\[【(（]\s*(?:cs\.)?([A-Za-z]{2})\s*[\]】)）]|cs\.([A-Za-z]{2})\b)\s*(\*?)\s*")
# A field tag inside a run-on paragraph ("…优势：…2、[CV] Next Title"): where the next entry begins.
_INNER_TAG = re.compile(r"(?:\d{1,3}\s?[、.．]\s?)?\*?\[[A-Z]{2}\]\s?\*?\s?(?=[A-Z0-9])")
_QUOTES = frozenset("\"'“‘「『")  # a tag right after an opening quote is quoted in prose, not an entry's start
_LINKS_AHEAD = 8  # links a numbered line may carry before its title's link
_ANGLE_TITLE = re.compile(r"《([^《》]{3,400})》")
_SQUARE_TITLE = re.compile(r"^【([^【】]{1,120})】")
_RETWEETED = re.compile(r"^转发内容\s*[:：]\s*")  # a scraped retweet: the post it retweets follows this label
_LINK_LINE = re.compile(r"^(?:[A-Za-z]{2,12}\s?[:：]\s?)?https?://")  # 'http://t.cn/…', 'GitHub:http://…'
_HASHTAGS = re.compile(r"^(?:#[^#\s]{1,20}#\s*)+")  # '#论文推荐# ' topics before a weibo post's 《title》
# "(2020)", "（2020）", "(ICML 2020)": the year (with a venue before it) after a post's authors.
_YEAR = re.compile(r"^[(（](?:[A-Za-z][A-Za-z\-]{1,15}\s?)?((?:19|20)\d{2})[)）]")
_LABEL = re.compile(r"^[-*•]?\s*([^\s:：][^:：\n]{0,19}?)\s*[:：]\s*")
_SUMMARY_LABELS = ("要点", "动机", "方法", "优势", "一句话总结", "总结", "贡献", "摘要")
_RECOMMENDER = re.compile(r"^@\S+\s*推荐$")
_TOPIC_TAG = re.compile(r"^\\?#[^#\s][^#]*$")
_LINK_LABEL_LINE = re.compile(
    r"^(论文链接|论文地址|代码链接|代码地址|源码链接|源码地址|数据集链接|项目主页|paper|code|pdf)\s*[:：]?$",
    re.IGNORECASE)


def fold_number(text: str) -> str:
    """Full-width digits at the start (where an entry's number stands) read as ASCII digits."""
    head = text[:_NUMBER_SPAN]
    return head.translate(_FULLWIDTH_DIGITS) + text[_NUMBER_SPAN:] if not head.isascii() else text


def category_of(tag: str | None) -> str | None:
    """A field tag as the store's category, when it is one we keep."""
    upper = (tag or "").upper()
    return upper if upper in CATEGORIES else None


# ── posts: one paper per scraped post (weibo 2019–2020, as text lines or CSV cells) ──────────────────────────

def read_posts(blocks: Sequence[Block]) -> Found:
    """Each block is a post: 【中文标题】《English title》 authors [affiliations] (year) links."""
    found = Found()
    for block in join_post_lines(blocks):
        text = block.text
        if is_scraper_metadata(text):
            found.skip(block.line, text, "scraper metadata", not_paper=False)
            continue
        draft, reason = read_post(text)
        if draft is None:
            found.skip(block.line, text, reason)
            continue
        draft.line = block.line
        found.drafts.append(draft)
    return found


def join_post_lines(blocks: Sequence[Block]) -> list[Block]:
    """In a scrape, a post runs until the scraper's next metadata line: a post that kept its line breaks is one
    block again, unless a line starts a post of its own (《title》, 【中文标题】, a field tag). Without a
    scraper's lines (posts copied by hand) only a line of links continues the post before it."""
    scrape = any(is_scraper_metadata(block.text) for block in blocks)
    joined: list[Block] = []
    for block in blocks:
        previous = joined[-1] if joined else None
        if previous is None or is_scraper_metadata(block.text) or is_scraper_metadata(previous.text) \
                or _starts_post(block.text) or not (scrape or _LINK_LINE.match(block.text)):
            joined.append(block)
            continue
        text = f"{previous.text} {block.text}"
        joined[-1] = replace(previous, text=text, marked=f"{previous.marked} {block.marked}")
    return joined


def _starts_post(text: str) -> bool:
    """A line that begins a post of its own: a 《title》 or 【中文标题】 (after a star or field tag), a number."""
    body = text.lstrip("*").lstrip()
    tag = _TAG.match(body)
    body = body[tag.end():] if tag else body
    return body[:1] in "《【" or _NUMBER.match(fold_number(body)) is not None


def read_post(text: str) -> tuple[Draft | None, str]:
    """One post as a paper, or None and why it is not one."""
    body = fold_number(_HASHTAGS.sub("", _RETWEETED.sub("", text.strip())))
    number = _NUMBER.match(body)
    if number:
        body = body[number.end():]
    star = body.startswith("*")
    body = body.lstrip("*").strip()
    tag = _TAG.match(body)
    category = None
    if tag:
        category = category_of(tag.group(2) or tag.group(3))
        star = star or bool(tag.group(1) or tag.group(4))
        body = body[tag.end():]
    title_zh = None
    square = _SQUARE_TITLE.match(body)
    if square:
        title_zh, body = square.group(1).strip(), body[square.end():].strip()
    star = star or body.startswith("*")
    angle = _ANGLE_TITLE.match(body.lstrip("*").strip())
    if angle is None:
        return None, "no 《English title》 at the start"
    title = collapse(angle.group(1)).strip("*").strip()
    if not is_latin_title(title):
        return None, "the 《》 title is not an English title"
    rest = body.lstrip("*").strip()[angle.end():].strip()
    draft = Draft(cue="《title》 post", title_en=title, title_zh=title_zh, category=category, highlight=star)
    evidence = _post_fields(rest, draft) or bool(number and draft.url and _only_links(rest))
    if not evidence:
        return None, "no authors with an affiliation, a year or a paper link: not a paper post"
    return draft, ""


def _only_links(text: str) -> bool:
    """Nothing but links after a numbered 《title》 ('No 3. 《Title》 https://weibo.com/…'): a pick in a list."""
    return not URL.sub("", text).strip()


def _post_fields(rest: str, draft: Draft) -> bool:
    """Authors, [affiliations], (year) and labelled links of a post; True when it reads as a paper."""
    first_url = URL.search(rest)
    head = (rest[: first_url.start()] if first_url else rest).replace("［", "[").replace("］", "]")
    by_line = head[:3].lower() == "by "
    if by_line:
        head = head[3:]
    bracket = head.find("[")
    names = head[:bracket] if bracket >= 0 else head
    year_at = names.find("(")
    if year_at >= 0:
        names = names[:year_at]
    authors = parse_author_list(names)
    if authors:
        draft.authors, draft.authors_truncated = authors
    evidence = False
    if bracket >= 0:
        close = head.find("]", bracket)
        if close > bracket + 1:
            draft.affiliations = affiliations_of(head[bracket + 1:close])
            evidence = bool(authors)
            tail = head[close + 1:].strip()
            evidence = evidence or bool(_YEAR.match(tail))
    elif _YEAR.match(head[len(names):].strip()):
        evidence = bool(authors)
    unlabelled: list[str] = []
    for label, url in labelled_links(rest):
        kind = link_kind(label, url)
        if kind == "paper":
            draft.url = draft.url if draft.url and label in ("", "url") else url
            evidence = evidence or bool(authors) or "arxiv.org" in url
        elif kind == "code":
            draft.code_url = draft.code_url or url
        elif kind == "":
            unlabelled.append(url)
    if draft.url is None and unlabelled:
        draft.url = unlabelled[0]
    draft.arxiv_id = arxiv_id_in(rest)
    return evidence or bool(authors and draft.arxiv_id)


# ── numbered lines with a linked 《title》 (weekly picks in HTML: "No 4. <a href>*《Title》</a>") ─────────────

def read_numbered_links(blocks: Sequence[Block]) -> Found:
    """Lines 'No N. 《Title》' whose title is a link: the link is the entry's URL."""
    found = Found()
    for block in blocks:
        cursor = 0  # links come in line order: each line looks only a few links ahead of the last one taken
        for line in (line.strip() for line in block.marked.split("\n") if line.strip()):
            folded = fold_number(line.replace("**", ""))
            number = _NUMBER.match(folded)
            if not number and block.kind != "item":  # an ordered list's item is numbered by the list
                continue
            rest = folded[number.end():].strip() if number else folded
            angle = _ANGLE_TITLE.search(rest)
            if angle is None or not is_latin_title(angle.group(1)):
                if number or _is_one_link(rest, block):  # other list items are not picks
                    found.skip(block.line, line, "numbered line without an English 《title》 (cut off?)")
                continue
            title = collapse(angle.group(1))
            ahead = block.links[cursor:cursor + _LINKS_AHEAD]
            at = next((offset for offset, link in enumerate(ahead) if title in collapse(link.label)), None)
            if at is None:
                continue  # a plain numbered 《title》 line is a post: read_posts takes it
            link, cursor = ahead[at], cursor + at + 1
            star = "*" in rest[: angle.start()] or link.label.lstrip().startswith("*")
            found.drafts.append(Draft(cue="No N. <a>《title》</a>", line=block.line, title_en=title,
                                      url=link.target, arxiv_id=arxiv_id_in(link.target), highlight=star))
    return found


def _is_one_link(line: str, block: Block) -> bool:
    """A list item that is one link and nothing else: a pick in a list of picks, paper or not."""
    text = collapse(line)
    return any(collapse(link.label) == text for link in block.links)


# ── <article> blocks of an automated daily page ──────────────────────────────────────────────────────────────

def read_articles(blocks: Sequence[Block]) -> Found:
    """Each <article> (or, on a page without them, each heading that is one link): a linked heading is the title,
    an 'arXiv NNNN.NNNNN' chip the id, prose the summary."""
    found = Found()
    current: Draft | None = None
    cards = any(block.kind == "article" for block in blocks)
    for block in blocks:
        if block.kind == "article":
            current = Draft(cue="<article>", line=block.line)
            found.drafts.append(current)
            continue
        if not cards and _is_linked_title(block):  # the same page without <article> wrappers
            current = Draft(cue="linked heading", line=block.line)
            found.drafts.append(current)
        if current is None:
            continue
        if block.kind == "heading" and current.title_en is None:
            link = block.links[0] if block.links else None
            current.title_en = collapse(link.label if link else block.text)
            current.url = link.target if link else None
            current.arxiv_id = arxiv_id_in(link.target if link else None)
        elif block.kind == "heading" and block.level <= 3:
            current = None
        elif current.arxiv_id is None and (chip := arxiv_id_in(block.text) or _id_chip_link(block)):
            current.arxiv_id = chip
        elif block.kind in ("paragraph", "quote") and has_cjk(block.text):
            if is_placeholder(block.text):
                found.skip(block.line, block.text, "placeholder summary", not_paper=False)
            else:
                current.summary.append(collapse(block.text))
    kept = []
    for draft in found.drafts:
        if draft.title_en and is_latin_title(draft.title_en) and draft.arxiv_id:
            kept.append(draft)
        else:  # a blog index or a news page also has <article> cards with linked titles
            found.skip(draft.line, draft.title_en or "", "<article> without an English title and an arXiv id")
    found.drafts = kept
    return found


def _id_chip_link(block: Block) -> str | None:
    """An id chip written as a link ('<a href="…/abs/2608.00201">2608.00201</a>'): the id shown is the one linked."""
    return next((found for link in block.links if (found := arxiv_id_in(link.target)) and found in link.label), None)


def _is_linked_title(block: Block) -> bool:
    """A heading that is one link and nothing else ('### [Title](link)'): a card title without its card."""
    return block.kind == "heading" and len(block.links) == 1 and collapse(block.links[0].label) == collapse(block.text)


# ── numbered headings ("### 1、Title"): 爱可可AI前沿推介 re-posted as Markdown ─────────────────────────────────────

def read_numbered_headings(blocks: Sequence[Block]) -> Found:
    """'### 1、English title' starts an entry; quotes give the Chinese title and labelled fields; 更多 is minor."""
    found = Found()
    current: Draft | None = None
    level = 0
    minor = ended = False
    for block in blocks:
        if block.kind == "heading":
            number = _NUMBER.match(fold_number(block.text))
            title = block.text[number.end():].strip() if number else ""
            if number and is_latin_title(title) and not ended:
                current = Draft(cue="numbered heading", line=block.line, title_en=collapse(title), minor=minor)
                current.url = _title_link(current.title_en, block)
                current.arxiv_id = arxiv_id_in(current.url)
                level = block.level
                found.drafts.append(current)
                continue
            if current is not None and block.level > level:
                continue  # a sub-heading inside the entry (示例, 实验结果)
            current = None
            if is_minor_heading(block.text):
                minor = True
            elif is_end_section(block.text):
                ended = True
            continue
        if current is not None:
            _heading_entry_block(block, current)
    papers = []
    for draft in found.drafts:
        if draft.url or draft.arxiv_id or draft.code_url or draft.affiliations:
            papers.append(draft)
        else:  # "## 1. Introduction" of an article is a section, not a paper
            found.skip(draft.line, draft.title_en or "", "numbered heading without a paper link or affiliation")
    found.drafts = papers
    if any(draft.minor for draft in papers):
        for draft in papers:
            draft.highlight = not draft.minor  # the featured picks stand before the 更多 section
    return found


def _title_link(title: str, block: Block) -> str | None:
    """A heading whose title is itself a link ('### 1、[Title](https://arxiv.org/abs/…)'): that link."""
    return next((clean_url(link.target) for link in block.links
                 if collapse(link.label) == title and URL.match(link.target)), None)


def _field_link(value: str, block: Block) -> str | None:
    """A labelled field's link: a bare URL, or a Markdown link written as the value ('URL: [arxiv](…)')."""
    url = URL.match(value)
    if url:
        return url.group(0)
    return next((link.target for link in block.links
                 if link.label.strip() and value.startswith(link.label.strip()) and URL.match(link.target)), None)


def _heading_entry_links(block: Block, draft: Draft) -> bool:
    """A 'By …' byline or a line of Markdown links ('[论文](…)') under a numbered heading; True when it was one."""
    text = block.text
    if text[:3].lower() == "by " and not draft.authors:
        authors = parse_author_list(text[3:].rstrip("."))
        if authors:
            draft.authors, draft.authors_truncated = authors
            return True
    return _block_links(block, draft)


def _block_links(block: Block, draft: Draft) -> bool:
    """A short line of Markdown links ('[论文](…) | [代码](…)') as the entry's paper and code links; True if taken."""
    if not block.links or len(block.text) > 80:  # links inside prose are references, not the entry's own
        return False
    took = False
    for link in block.links:
        kind = link_kind(link.label, link.target) or ("paper" if arxiv_id_in(link.target) else "")
        took = _take_link(draft, kind, link.target) or took
    return took


def _take_link(draft: Draft, kind: str, url: str) -> bool:
    """The entry's paper or code link ('paper', 'code' as link_kind says), unless it has one; True if taken."""
    if kind == "paper" and draft.url is None:
        draft.url = clean_url(url)
        draft.arxiv_id = arxiv_id_in(draft.url)
        return True
    if kind == "code" and draft.code_url is None:
        draft.code_url = clean_url(url)
        return True
    return False


def _heading_entry_block(block: Block, draft: Draft) -> None:
    """One block under a numbered heading: title quote, labelled link or field, or summary."""
    text = block.text
    if _heading_entry_links(block, draft):
        return
    label = _LABEL.match(text)
    if label:
        name, value = label.group(1).strip().lower(), text[label.end():].strip()
        if name in AFFILIATION_LABELS:
            draft.affiliations = draft.affiliations or affiliations_of(value)
            return
        url = _field_link(value, block)
        if url:
            _take_link(draft, link_kind(name, url), url)
            return
        if name in _SUMMARY_LABELS and value:
            draft.summary.append(f"{name}：{collapse(value)}" if name != "要点" else collapse(value))
            return
    if block.kind == "quote" and draft.title_zh is None and not draft.summary:
        restated = text.find("\n《")  # '> 中文标题' and '> 《Title》' in one quote when the '>' line between is lost
        head = text[:restated] if restated > 0 else text
        if has_cjk(head) and "《" not in head and len(head) <= 120:
            draft.title_zh = collapse(head)
            return
    if block.kind == "quote" and text.startswith("《"):
        return
    if block.kind in ("item", "quote") and has_cjk(text) and draft.summary:
        draft.summary.append(collapse(text))


# ── tagged entries ("[CL] Title Authors[Affiliations]中文标题要点:…"), also with their line breaks lost ─────────

def read_tagged(blocks: Sequence[Block], document_links: Sequence[str] = ()) -> Found:
    """A block starting with a field tag and an English title begins an entry, glued fields are cut apart."""
    found = Found()
    blocks = split_at_tags(blocks)
    index = 0
    while index < len(blocks):
        block = blocks[index]
        tag = _tag_at_start(block) if block.kind in ("paragraph", "quote", "item") else None
        if tag is None or tag[1].lstrip("* ").startswith("《") or not is_latin_title(tag[1][:20] or "x"):
            index += 1  # a tag before a 《title》 starts a weibo post, which the posts cue reads
            continue
        tag, text = tag
        joined = 1
        while "[" not in text and "…" not in text and index + joined < len(blocks) and joined < 3 \
                and blocks[index + joined].kind == "paragraph":
            text = f"{text.rstrip()} {blocks[index + joined].text}"
            joined += 1
        draft = _tagged_fields(collapse(text).replace("\n", " "), block.line)
        if draft is None:
            found.skip(block.line, block.text, "tag without an English title and authors")
            index += 1
            continue
        draft.category = category_of(tag.group(2) or tag.group(3))
        draft.highlight = bool(tag.group(1) or tag.group(4))
        index += joined
        while index < len(blocks) and _tag_at_start(blocks[index]) is None:
            _tagged_body(blocks[index], draft)
            index += 1
        found.drafts.append(draft)
    if len(found.drafts) == 1 and found.drafts[0].url is None:  # a re-post of one entry: the page's arXiv link
        draft = found.drafts[0]
        arxiv = [url for url in document_links if "arxiv.org/abs/" in url or "arxiv.org/pdf/" in url]
        draft.url = next((url for url in arxiv if "arxiv.org/abs/" in url), arxiv[0] if arxiv else None)
        draft.arxiv_id = draft.arxiv_id or arxiv_id_in(draft.url)
    return found


def _tag_at_start(block: Block) -> tuple[re.Match[str], str] | None:
    """The field tag a block starts with (after an entry number, if any) and the text after it."""
    text = fold_number(block.text)
    number = _NUMBER.match(text)
    if number:
        text = text[number.end():]
    tag = _TAG.match(text)
    return (tag, text[tag.end():]) if tag else None


def split_at_tags(blocks: Sequence[Block]) -> list[Block]:
    """A paragraph whose line breaks were lost may hold several entries: cut it before each inner field tag."""
    result: list[Block] = []
    for block in blocks:
        cuts = [match.start() for match in _INNER_TAG.finditer(block.text)
                if match.start() > 0 and not block.text[match.start() - 1].isalnum()
                and block.text[match.start() - 1] not in _QUOTES] \
            if block.kind == "paragraph" and "[" in block.text else []
        if not cuts:
            result.append(block)
            continue
        for start, end in zip([0, *cuts], [*cuts, len(block.text)], strict=True):
            piece = block.text[start:end].strip()
            if piece:
                result.append(replace(block, text=piece, marked=piece))
    return result


def _tagged_fields(text: str, line: int) -> Draft | None:
    """Title, authors, [affiliations], Chinese title and the start of the summary from one run-on text."""
    title, rest = split_title_authors(text)
    if not rest or not is_latin_title(title):
        return None
    bracket = rest.find("[")
    names = rest[:bracket] if bracket >= 0 else _before_cjk(rest)
    authors = parse_author_list(names)
    if authors is None:
        return None
    draft = Draft(cue="[tag] title", line=line, title_en=title)
    draft.authors, draft.authors_truncated = authors
    tail = rest[len(names):].strip()  # without affiliations the Chinese title follows the last author directly
    if bracket >= 0:
        close = rest.find("]", bracket)
        draft.affiliations = affiliations_of(rest[bracket + 1:close if close > 0 else None])
        tail = rest[close + 1:].strip() if close > 0 else ""
    _take_entry_links(tail, draft)
    if tail:
        head, label_at = _before_summary_label(tail)
        draft.title_zh = head.strip() or None
        if label_at is not None:
            body = tail[label_at:]
            label = _LABEL.match(body)
            body = body[label.end():] if label and label.group(1) == "要点" else body
            if body.strip():
                draft.summary.append(body.strip())
    return draft


def _before_cjk(text: str) -> str:
    """The text up to its first ideograph: an author list that runs straight into a Chinese title."""
    return next((text[:at] for at, char in enumerate(text) if not char.isascii() and has_cjk(char)), text)


def _take_entry_links(text: str, draft: Draft) -> None:
    """Labelled links written inside a run-on entry ('论文链接：https://…'): its paper and code links."""
    for label, url in labelled_links(text):
        _take_link(draft, link_kind(label, url), url)


def _is_prose(text: str) -> bool:
    """A short English abstract: a dozen words or more ending a sentence, not a row of links or names."""
    return len(text.split()) >= 12 and text.rstrip().endswith((".", ")")) and URL.match(text) is None


def _is_links_line(text: str) -> bool:
    """'论文链接：https://… 代码：https://…': nothing but labels and links, no commentary."""
    if URL.search(text) is None:
        return False
    words = URL.sub(" ", text).replace("：", ":").replace("|", ":").split(":")
    return all(not word.strip() or word.strip().lower() in KNOWN_LABELS for word in words)


def _before_summary_label(text: str) -> tuple[str, int | None]:
    """Text before the first summary label ('要点:', '动机：'), and where that label starts (None: no label)."""
    cut = min((at for label in _SUMMARY_LABELS for colon in (":", "：")
               if (at := text.find(f"{label}{colon}")) >= 0), default=None)
    return (text if cut is None else text[:cut]).strip(), cut


def _tagged_body(block: Block, draft: Draft) -> None:
    """A block after a tagged entry's head: summary, English abstract or a link."""
    text = block.text
    if block.kind in ("code", "html", "heading") or _block_links(block, draft):
        return
    if has_cjk(text):
        _take_entry_links(text, draft)
        if _is_links_line(text):
            return
        head, label_at = _before_summary_label(text)
        if draft.title_zh is None and not draft.summary and label_at is not None and len(head) <= 120:
            draft.title_zh = head or None  # a Chinese title on its own, glued to '要点:'
            text = text[label_at:]
            label = _LABEL.match(text)
            text = text[label.end():] if label and label.group(1) == "要点" else text
        if text.strip():
            draft.summary.append(collapse(text))
        return
    if draft.abstract == [] and (len(text) >= 200 or _is_prose(text)):
        draft.abstract.append(collapse(text))
        for label, url in labelled_links(text):
            if link_kind(label, url) == "code":
                draft.code_url = draft.code_url or url


# ── bold title lines (PaperWeekly 本周值得读): "**English title**", recommender, topic, commentary, 论文链接 ───────

def read_bold_titles(blocks: Sequence[Block]) -> Found:
    """A line wholly in bold English starts an entry (also mid-paragraph); it needs a paper link to count."""
    found = Found()
    current: Draft | None = None
    pending_label = ""
    for block in blocks:
        if block.kind == "heading":
            current = _close_bold(found, current)
            continue
        if block.kind not in ("paragraph", "item", "quote"):
            continue
        for line in (line.strip() for line in block.marked.split("\n") if line.strip()):
            if _is_bold_title(line):
                _close_bold(found, current)
                current = Draft(cue="**bold title**", line=block.line, title_en=_unnumbered(collapse(line)))
                own = next((link.target for link in block.links if collapse(link.label) == collapse(line)
                            and arxiv_id_in(link.target)), None)  # '**[Title](arXiv link)**'
                current.url, current.arxiv_id = own, arxiv_id_in(own)
                found.drafts.append(current)
                pending_label = ""
            elif current is not None:
                pending_label = _bold_entry_line(line, current, pending_label)
    _close_bold(found, current)
    return found


def _close_bold(found: Found, draft: Draft | None) -> None:
    """An entry without a paper link is a mention, not a paper: drop it with the reason."""
    if draft is not None and draft.url is None and found.drafts and found.drafts[-1] is draft:
        found.drafts.pop()
        found.skip(draft.line, draft.title_en or "", "bold title without a paper link")


def _is_bold_title(line: str) -> bool:
    """'**Title of a paper**' alone on its line, English, several words."""
    if not (line.startswith("**") and line.endswith("**")) or line.count("**") != 2:
        return False
    inner = line[2:-2].strip()
    return is_latin_title(inner) and inner.count(" ") >= 2 and not inner.startswith(("@", "#", "\\#"))


def _unnumbered(title: str) -> str:
    """A bold title's own entry number ('1. Title', '02、Title') is not part of the title."""
    number = _NUMBER.match(fold_number(title))
    rest = title[number.end():].strip() if number else title
    return rest if is_latin_title(rest) and rest.count(" ") >= 2 else title


def _bold_entry_line(line: str, draft: Draft, pending: str) -> str:
    """One line of a bold-title entry; returns the link label waiting for its URL on the next line."""
    plain = collapse(line)
    inline = labelled_links(plain) if not URL.match(plain) and "http" in plain else []
    for label, link in inline:  # '论文链接：https://…' on one line
        _take_link(draft, link_kind(label, link) if label else "", link)
    if any(label for label, _link in inline):
        return ""
    url = URL.match(plain)
    if url:
        # an unlabelled link line is the paper's only when it is an arXiv link
        kind = link_kind(pending, url.group(0)) if pending else "paper" if arxiv_id_in(url.group(0)) else ""
        _take_link(draft, kind, url.group(0))
        return ""
    label = _LINK_LABEL_LINE.match(plain)
    if label:
        return label.group(1).lower()
    if _RECOMMENDER.match(plain) or _TOPIC_TAG.match(plain):
        return ""
    if has_cjk(plain) and draft.url is None:
        draft.summary.append(plain)
    return ""


# ── labelled fields (blog posts): "论文标题：Title", "论文作者：…", "作者单位：…", "论文链接：…" ───────────────

_TITLE_LABELS = frozenset(("论文标题", "论文题目", "论文名称", "标题", "题目", "title", "paper title", "paper"))
_AUTHOR_LABELS = frozenset(("论文作者", "作者", "author", "authors"))


def read_labelled_fields(blocks: Sequence[Block]) -> Found:
    """A '论文标题：English title' line starts an entry; the labelled lines after it fill its fields."""
    found = Found()
    current: Draft | None = None
    for block in blocks:
        if block.kind == "heading":
            current = None
            continue
        if block.kind not in ("paragraph", "item", "quote"):
            continue
        for line in block.lines:
            label = _LABEL.match(line)
            name = label.group(1).strip().lower() if label else ""
            value = line[label.end():].strip() if label else ""
            if name in _TITLE_LABELS and is_latin_title(value) and not URL.match(value):
                current = Draft(cue="论文标题：title", line=block.line, title_en=collapse(value))
                found.drafts.append(current)
            elif current is not None:
                _labelled_field(name, value, line, current)
    kept = [draft for draft in found.drafts if draft.url or draft.arxiv_id]
    for draft in found.drafts:
        if draft not in kept:  # a title quoted in a post without its paper link is a mention
            found.skip(draft.line, draft.title_en or "", "labelled title without a paper link")
    found.drafts = kept
    return found


def _labelled_field(name: str, value: str, line: str, draft: Draft) -> None:
    """One line under a labelled title: authors, affiliations, a paper or code link, or the commentary."""
    if name in _AUTHOR_LABELS and not draft.authors:
        authors = parse_author_list(value)
        if authors:
            draft.authors, draft.authors_truncated = authors
    elif name in AFFILIATION_LABELS and not draft.affiliations:
        draft.affiliations = affiliations_of(value)
    elif name and (link := URL.match(value)):
        _take_link(draft, link_kind(name, link.group(0)), link.group(0))
    elif has_cjk(line) and URL.search(line) is None:  # commentary, also under a label of its own (简介：…)
        draft.summary.append(collapse(line))


# ── table rows: | title | authors | link | ─────────────────────────────────────────────────────────────────────

def read_table_rows(blocks: Sequence[Block]) -> Found:
    """A table row with an English title cell and a paper link or arXiv id is one paper; other rows are skipped."""
    found = Found()
    for block in blocks:
        if block.kind != "row":
            continue
        cells = [cell.strip() for cell in block.text.split(" | ")]
        titles = [cell for cell in cells if is_latin_title(cell) and cell.count(" ") >= 2 and not URL.match(cell)]
        targets = [link.target for link in block.links if URL.match(link.target)]
        targets += [m.group(0) for m in URL.finditer(block.text)]
        arxiv_id = next((found_id for text in (*targets, block.text) if (found_id := arxiv_id_in(text))), None)
        title = max(titles, key=len) if titles else ""
        # A paper link: an arXiv one, one labelled as the paper, or the title itself linked somewhere absolute.
        paper_link = next((link.target for link in block.links if URL.match(link.target) and (
            arxiv_id_in(link.target) or link.label.strip().lower() in PAPER_LABELS or link.label == title)), None)
        if not title or not (paper_link or arxiv_id):
            found.skip(block.line, block.text, "table row without an English title and a paper link")
            continue
        draft = Draft(cue="table row", line=block.line, title_en=collapse(title).strip("*《》 "),
                      url=paper_link, arxiv_id=arxiv_id, highlight="*" in block.marked.split(title)[0][-3:])
        draft.code_url = next((target for target in targets if CODE_HOST.match(target)), None)
        for cell in cells:
            authors = parse_author_list(cell) if cell != title else None
            if authors:
                draft.authors, draft.authors_truncated = authors
                break
        found.drafts.append(draft)
    return found
