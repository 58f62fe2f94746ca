"""Documents → blocks: plain text, Markdown (markdown-it-py), HTML (selectolax), CSV (csv) and YAML front matter.

Markup is read by parsers, never by patterns; what a digest reader needs (headings, list items, quotes, table
rows, links with their targets, bold spans) is kept on each block.
"""

from __future__ import annotations

import csv
import io
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

import yaml
from markdown_it_pyrs import MarkdownIt
from markdown_it_pyrs import Node as MarkdownNode
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from storage.reader.blocks import Block, Link

_INVISIBLE = (("\u00a0", " "), ("\u3000", " "), ("\u200b", ""), ("\u200c", ""), ("\u200d", ""), ("\u2060", ""),
              ("\ufeff", ""))
# "# " and "##" (a heading needs its space); a weibo post may start with a '#话题#' hashtag, which is not Markdown.
_MARKDOWN_STARTS = ("# ", "##", "> ", "**", "<a ", "<div", "<article", "<section", "<p>", "- ", "* ", "|", "![", "```")
_HTML_STARTS = ("<!doctype", "<html", "<body", "<head", "<div", "<p", "<article", "<table", "<ul", "<ol", "<h")
_MARKUP_STARTS = tuple(start for start in _MARKDOWN_STARTS if not start.startswith("<"))
_PAGE_STARTS = ("<!doctype", "<html")
_HTML_BLOCKS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre", "tr", "dd", "dt",
                          "figcaption", "caption"))
_POST_COLUMNS = ("微博正文", "正文", "微博内容", "内容", "content", "weibo_content", "text", "text_raw", "post", "body")
_CELL_URL = re.compile(r"https?://\S+")
_MARKDOWN = MarkdownIt("commonmark").enable("table")
_INLINE = frozenset(("text", "softbreak", "hardbreak", "strong", "em", "link", "image", "code_inline", "html_inline"))
_NEWLINE = re.compile(rb"\n")
# A line's start after its indent, anchored on the newline before it (a literal first character is searched fast).
_MARKDOWN_LINE = re.compile("\n[^\\S\n]*(?:" + "|".join(map(re.escape, _MARKDOWN_STARTS)) + ")")
_LINK_TARGET = re.compile(r"\]\(")  # a regex finds these two faster than `in` does on Chinese text
_ANCHOR = re.compile("<a href")


@dataclass(frozen=True, slots=True)
class Container:
    """What the document was (text, markdown, html, csv) and its blocks in order."""

    kind: str
    blocks: tuple[Block, ...]
    front_matter: dict[str, Any] = field(default_factory=dict)
    text: str = ""


def normalise(text: str) -> str:
    """Fold newlines and the invisible differences between copies (BOM, NBSP, zero-width, ideographic space)."""
    if "\r" in text:  # a search for one character is cheap; replace() scans the text even when nothing is there
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for invisible, replacement in _INVISIBLE:
        if invisible in text:  # str.translate is slow on Chinese text: one replace per character present
            text = text.replace(invisible, replacement)
    return text


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What the document is, before it is cut into blocks: a sample family read from text needs no blocks."""

    kind: str
    text: str
    front: dict[str, Any] | None
    body: str


def sniff(text: str) -> Sniffed:
    """Tell the container from the text itself."""
    clean = normalise(text)
    front, body = split_front_matter(clean)
    head = body.lstrip()[:200].lower()
    if front is None and _looks_like_csv(body):
        kind = "csv"
    elif front is None and (head.startswith(_PAGE_STARTS) or (head.startswith(_HTML_STARTS)
                            and not _has_markdown_syntax(body))):
        kind = "html"  # a whole saved page is HTML however many of its lines start with <p> or <a
    elif front is not None or _has_markdown_lines(body):
        kind = "markdown"
    else:
        kind = "text"
    return Sniffed(kind, clean, front, body)


def cut_blocks(sniffed: Sniffed) -> Container:
    """Cut a sniffed document into the blocks of its kind."""
    kind, body = sniffed.kind, sniffed.body
    if kind == "csv":
        return Container(kind, csv_blocks(body), text=sniffed.text)
    if kind == "html":
        return Container(kind, html_blocks(body), text=sniffed.text)
    if kind == "markdown":
        return Container(kind, markdown_blocks(body), front_matter=sniffed.front or {}, text=sniffed.text)
    return Container(kind, text_blocks(body), text=sniffed.text)


def read_container(text: str) -> Container:
    """Tell the container from the text itself and cut it into blocks."""
    return cut_blocks(sniff(text))


def split_front_matter(text: str) -> tuple[dict[str, Any] | None, str]:
    """YAML front matter between two `---` lines at the very start; None when there is none or it is not YAML."""
    if not text.startswith("---\n"):
        return None, text
    end = text.find("\n---", 3)
    if end < 0:
        return None, text
    try:
        data = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return None, text
    if not isinstance(data, dict):
        return None, text
    rest = text[end + 4:]
    return data, rest[rest.find("\n") + 1:] if "\n" in rest else ""


def _has_markdown_lines(text: str) -> bool:
    """Markdown shows in the first characters of its lines: headings, quotes, bold lines, inline HTML, fences."""
    if _LINK_TARGET.search(text) is None and _ANCHOR.search(text) is None:
        # Without links only line starts count: one scan from newline to newline instead of a loop over lines.
        return next(islice(_MARKDOWN_LINE.finditer("\n" + text), 2, None), None) is not None
    return _three_lines_marked(text, _MARKDOWN_STARTS, ("](", "<a href"))


def _has_markdown_syntax(text: str) -> bool:
    """In a text that opens with an HTML tag only Markdown's own syntax counts: its <p>, <a> lines are HTML."""
    return _three_lines_marked(text, _MARKUP_STARTS, ("](",))


def _three_lines_marked(text: str, starts: tuple[str, ...], inside: tuple[str, ...]) -> bool:
    """At least three lines start with one of starts (after their indent) or hold one of inside."""
    hits = 0
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(starts) or any(mark in stripped for mark in inside):
            hits += 1
            if hits >= 3:
                return True
    return False


def _looks_like_csv(text: str) -> bool:
    """A CSV scrape: a header row of several comma-separated names and rows that parse to as many cells."""
    first = text.split("\n", 1)[0]
    if first.count(",") < 3 or len(first) > 500:
        return False
    try:
        rows = list(zip(range(3), (row for row in csv.reader(io.StringIO(text)) if row), strict=False))
    except csv.Error:
        return False
    widths = {len(row) for _i, row in rows}
    return len(rows) >= 2 and len(widths) == 1 and widths.pop() >= 4


def text_blocks(text: str) -> tuple[Block, ...]:
    """Plain text: each non-empty line is a block (a scraped post is one line)."""
    return tuple(Block("paragraph", stripped, stripped, line=number)
                 for number, line in enumerate(text.split("\n"), start=1) if (stripped := line.strip()))


def csv_blocks(text: str) -> tuple[Block, ...]:
    """CSV: one post block per row, from the column that holds the posts (by its name, else the longest)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
        rows = list(reader)
    except (csv.Error, StopIteration):
        return ()
    column = next((i for i, name in enumerate(header) if name.strip().lower() in _POST_COLUMNS), None)
    if column is None:
        # the longest column of words: a column of picture or video links may be longer than the posts
        totals = [sum(len(_CELL_URL.sub("", row[i])) for row in rows if i < len(row)) for i in range(len(header))]
        column = max(range(len(header)), key=totals.__getitem__) if totals else 0
    return tuple(Block("post", " ".join(row[column].split()), " ".join(row[column].split()), line=number)
                 for number, row in enumerate(rows, start=2) if column < len(row) and row[column].strip())


def html_blocks(html: str) -> tuple[Block, ...]:
    """HTML page or fragment: innermost block elements in order, each with its links; articles are marked."""
    tree = HTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        return ()
    for hidden in tree.css("script, style, noscript, template"):
        hidden.decompose()
    for line_break in tree.css("br"):
        line_break.replace_with("\n")
    blocks: list[Block] = []
    for node in root.traverse():
        tag = node.tag
        if tag == "article":
            blocks.append(Block("article", ""))
        elif tag in _HTML_BLOCKS and not _has_block_child(node):
            blocks.append(_html_block(node))
    if not blocks:
        text = root.text(separator="\n")
        blocks.extend(text_blocks(text))
    return tuple(block for block in blocks if block.text or block.kind == "article")


def _has_block_child(node: Node) -> bool:
    """A block element holding other block elements is read through its children."""
    descendants = node.traverse(include_text=False)
    next(descendants, None)  # the node itself comes first
    return any(child.tag in _HTML_BLOCKS for child in descendants)


def _enclosing_kind(node: Node) -> str:
    """A <p> inside a <blockquote> or an <li> is a quote or an item, as the same text in Markdown would be."""
    kind, parent = "paragraph", node.parent
    while parent is not None and parent.tag not in ("body", "article", "html"):
        if parent.tag == "blockquote":
            return "quote"
        if parent.tag == "li":
            kind = "item"
        parent = parent.parent
    return kind


def _html_block(node: Node) -> Block:
    """One HTML block element as a block of the matching kind."""
    tag = node.tag
    if tag == "tr":
        cells = [" ".join(cell.text(separator=" ").split()) for cell in node.css("td, th")]
        text = " | ".join(cells)
    else:
        text = "\n".join(" ".join(line.split()) for line in node.text(separator="").split("\n"))
    strong = [" ".join(bold.text().split()) for bold in node.css("b, strong")]
    marked = text
    for bold in strong:
        if bold:
            marked = marked.replace(bold, f"**{bold}**", 1)
    links = tuple(Link(" ".join(a.text().split()), a.attributes.get("href") or "") for a in node.css("a[href]"))
    kind = ("heading" if tag[0] == "h" and tag[1:].isdigit() else "item" if tag == "li"
            else "quote" if tag == "blockquote" else "row" if tag == "tr" else "code" if tag == "pre"
            else _enclosing_kind(node))
    level = int(tag[1]) if kind == "heading" else 0
    return Block(kind, text.strip(), marked.strip(), links, level)


def markdown_blocks(text: str) -> tuple[Block, ...]:
    """Markdown through markdown-it's syntax tree: headings, paragraphs, items, quotes, table rows, HTML, code."""
    data = text.encode("utf-8")
    breaks = [match.start() for match in _NEWLINE.finditer(data)]
    blocks: list[Block] = []
    _markdown_node(_MARKDOWN.tree(text), "paragraph", blocks, breaks)
    return tuple(blocks)


def _markdown_node(node: MarkdownNode, kind: str, blocks: list[Block], breaks: list[int]) -> None:
    """Append the blocks of one container node; inline runs directly inside it become one block of `kind`."""
    run: list[MarkdownNode] = []
    for child in node.children:
        name = child.name
        if name in _INLINE:
            run.append(child)
            continue
        _flush_inline(run, kind, blocks, breaks)
        run = []
        line = _line_of(child, breaks)
        if name == "heading":
            plain, marked, links = render_inline(child.children)
            blocks.append(Block("heading", plain.strip(), marked.strip(), links, child.meta.get("level", 1), line))
        elif name == "paragraph":
            _flush_inline(child.children, kind, blocks, breaks, line)
        elif name == "blockquote":
            _markdown_node(child, "quote", blocks, breaks)
        elif name == "list_item":
            _markdown_node(child, "quote" if kind == "quote" else "item", blocks, breaks)
        elif name == "trow":
            cells = [render_inline(cell.children) for cell in child.children]
            blocks.append(Block("row", " | ".join(c[0].strip() for c in cells), " | ".join(c[1].strip() for c in cells),
                                tuple(link for c in cells for link in c[2]), line=line))
        elif name == "html_block":
            blocks.extend(_markdown_html(child.meta.get("content", ""), line))
        elif name in ("fence", "code_block"):
            content = child.meta.get("content", "").strip()
            blocks.append(Block("code", content, content, line=line))
        else:
            _markdown_node(child, kind, blocks, breaks)  # lists, tables and their parts hold the blocks
    _flush_inline(run, kind, blocks, breaks)


def _flush_inline(run: list[MarkdownNode], kind: str, blocks: list[Block], breaks: list[int],
                  line: int | None = None) -> None:
    """A run of inline nodes as one block."""
    if not run:
        return
    plain, marked, links = render_inline(run)
    if plain.strip() or links:
        blocks.append(Block(kind, plain.strip(), marked.strip(), links,
                            line=line if line is not None else _line_of(run[0], breaks)))


def _line_of(node: MarkdownNode, breaks: list[int]) -> int:
    """The 1-based line a node starts on, from its byte offset."""
    span = node.srcmap
    return bisect_right(breaks, span[0] - 1) + 1 if span else 0


def _markdown_html(content: str, line: int) -> list[Block]:
    """An HTML block inside Markdown: an opening <article> marks an entry; other HTML is read as HTML."""
    stripped = content.strip()
    if stripped.lower().startswith("<article"):  # with the card's content when it is written in the same block
        return [replace(block, line=line) for block in html_blocks(content)] if ">" in stripped[:-1] and \
            stripped.find("<", 1) >= 0 else [Block("article", "", line=line)]
    if stripped.count("<") == 1 and stripped.endswith(">"):
        return []  # one lone opening or closing tag holds no text
    found = [Block("html", block.text, block.marked, block.links, line=line)
             for block in html_blocks(content) if block.kind != "article"]
    if not found or (len(found) == 1 and not found[0].links and "<a " in content):
        # inline HTML (no block element) is read as its text, with its links: an id chip is often a link
        tree = HTMLParser(content)
        root = tree.body or tree.root
        text = " ".join(root.text(separator=" ").split()) if root is not None else ""
        links = tuple(Link(" ".join(a.text().split()), a.attributes.get("href") or "")
                      for a in root.css("a[href]")) if root is not None else ()
        found = [Block("html", text, text, links, line=line)] if text else []
    return found


def render_inline(children: list[MarkdownNode]) -> tuple[str, str, tuple[Link, ...]]:
    """Inline nodes → plain text, text with emphasis kept as **…** / *…*, and the links with their labels."""
    plain: list[str] = []
    marked: list[str] = []
    links: list[Link] = []
    open_anchor: list[tuple[str, int]] = []
    hrefs = iter(_anchor_targets(children))
    _render(children, plain, marked, links, open_anchor, hrefs)
    return "".join(plain), "".join(marked), tuple(links)


def _anchor_targets(children: list[MarkdownNode]) -> list[str]:
    """The href of every inline <a> tag of a block, in order, read by one HTML parse for the whole block."""
    tags: list[str] = []
    stack = list(reversed(children))
    while stack:
        node = stack.pop()
        if node.name == "html_inline" and node.meta.get("content", "")[:3].lower() == "<a ":
            tags.append(node.meta["content"] + "</a>")
        stack.extend(reversed(node.children))
    if not tags:
        return []
    anchors = HTMLParser("".join(tags)).css("a")
    if len(anchors) != len(tags):  # a tag the parser read otherwise: one parse per tag keeps them in step
        anchors = [HTMLParser(tag).css_first("a") for tag in tags]
    return [(anchor.attributes.get("href") or "") if anchor is not None else "" for anchor in anchors]


def _render(children: list[MarkdownNode], plain: list[str], marked: list[str], links: list[Link],
            open_anchor: list[tuple[str, int]], hrefs: Iterator[str]) -> None:
    """Depth-first rendering of inline nodes into the three outputs."""
    for child in children:
        name = child.name
        if name == "text":
            plain.append(child.meta.get("content", ""))
            marked.append(child.meta.get("content", ""))
        elif name in ("softbreak", "hardbreak"):
            plain.append("\n")
            marked.append("\n")
        elif name in ("strong", "em"):
            marker = "**" if name == "strong" else child.meta.get("marker", "*")
            marked.append(marker)
            _render(child.children, plain, marked, links, open_anchor, hrefs)
            marked.append(marker)
        elif name == "link":
            start = len(plain)
            _render(child.children, plain, marked, links, open_anchor, hrefs)
            links.append(Link(" ".join("".join(plain[start:]).split()), str(child.meta.get("url", ""))))
        elif name == "code_inline":
            _render(child.children, plain, marked, links, open_anchor, hrefs)
        elif name == "html_inline":
            _inline_html(child.meta.get("content", ""), plain, marked, links, open_anchor, hrefs)
        elif name != "image":
            _render(child.children, plain, marked, links, open_anchor, hrefs)


def _inline_html(content: str, plain: list[str], marked: list[str], links: list[Link],
                 open_anchor: list[tuple[str, int]], hrefs: Iterator[str]) -> None:
    """Inline HTML inside Markdown: an <a href> opens a link (targets read beforehand, in order), </a> closes it,
    <br> breaks the line."""
    lowered = content.lower()
    if lowered.startswith("<a "):
        open_anchor.append((next(hrefs, ""), len(plain)))
    elif lowered.startswith("</a") and open_anchor:
        href, start = open_anchor.pop()
        links.append(Link(" ".join("".join(plain[start:]).split()), href))
    elif lowered.startswith("<br"):
        plain.append("\n")
        marked.append("\n")
