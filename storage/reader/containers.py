"""Documents → blocks: plain text, Markdown (markdown-it-py), HTML (selectolax), CSV (csv) and YAML front matter.

Markup is read by parsers, never by patterns; what a digest reader needs (headings, list items, quotes, table
rows, links with their targets, bold spans) is kept on each block.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from storage.reader.blocks import Block, Link

_INVISIBLE = str.maketrans({"\u00a0": " ", "\u3000": " ", "\u200b": None, "\u200c": None, "\u200d": None,
                            "\u2060": None, "\ufeff": None})
_MARKDOWN_STARTS = ("#", "> ", "**", "<a ", "<div", "<article", "<section", "<p>", "- ", "* ", "|", "![", "```")
_HTML_STARTS = ("<!doctype", "<html", "<body", "<head", "<div", "<p", "<article", "<table", "<ul", "<ol", "<h")
_HTML_BLOCKS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre", "tr", "dd", "dt",
                          "figcaption", "caption"))
_POST_COLUMNS = ("微博正文", "正文", "content", "text", "post", "body")
_MARKDOWN = MarkdownIt("commonmark").enable("table")


@dataclass(frozen=True, slots=True)
class Container:
    """What the document was (text, markdown, html, csv) and its blocks in order."""

    kind: str
    blocks: tuple[Block, ...]
    front_matter: dict[str, Any] = field(default_factory=dict)
    text: str = ""


def normalise(text: str) -> str:
    """Fold newlines and the invisible differences between copies (BOM, NBSP, zero-width, ideographic space)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)


def read_container(text: str) -> Container:
    """Tell the container from the text itself and cut it into blocks."""
    clean = normalise(text)
    front, body = split_front_matter(clean)
    head = body.lstrip()[:200].lower()
    if front is None and _looks_like_csv(body):
        return Container("csv", csv_blocks(body), text=clean)
    if front is None and head.startswith(_HTML_STARTS) and not _has_markdown_lines(body):
        return Container("html", html_blocks(body), text=clean)
    if front is not None or _has_markdown_lines(body):
        return Container("markdown", markdown_blocks(body), front_matter=front or {}, text=clean)
    return Container("text", text_blocks(body), text=clean)


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
    hits = 0
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(_MARKDOWN_STARTS) or "](" in stripped or "<a href" in stripped:
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
    return tuple(Block("paragraph", line.strip(), line.strip(), line=number)
                 for number, line in enumerate(text.split("\n"), start=1) if line.strip())


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
        totals = [sum(len(row[i]) for row in rows if i < len(row)) for i in range(len(header))]
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
            else "paragraph")
    level = int(tag[1]) if kind == "heading" else 0
    return Block(kind, text.strip(), marked.strip(), links, level)


def markdown_blocks(text: str) -> tuple[Block, ...]:
    """Markdown through markdown-it-py's tokens: headings, paragraphs, items, quotes, table rows, HTML, code."""
    blocks: list[Block] = []
    quote = item = 0
    heading = 0
    row: list[tuple[str, str, tuple[Link, ...]]] | None = None
    row_line = 0
    for token in _MARKDOWN.parse(text):
        kind = token.type
        line = token.map[0] + 1 if token.map else 0
        if kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind == "list_item_open":
            item += 1
        elif kind == "list_item_close":
            item -= 1
        elif kind == "heading_open":
            heading = int(token.tag[1])
        elif kind == "heading_close":
            heading = 0
        elif kind == "tr_open":
            row, row_line = [], line
        elif kind == "tr_close" and row is not None:
            blocks.append(Block("row", " | ".join(c[0] for c in row), " | ".join(c[1] for c in row),
                                tuple(link for c in row for link in c[2]), line=row_line))
            row = None
        elif kind == "inline":
            plain, marked, links = render_inline(token.children or [])
            if row is not None:
                row.append((plain, marked, links))
                continue
            block_kind = "heading" if heading else "quote" if quote else "item" if item else "paragraph"
            blocks.append(Block(block_kind, plain.strip(), marked.strip(), links, heading, line))
        elif kind == "html_block":
            blocks.extend(_markdown_html(token.content, line))
        elif kind in ("fence", "code_block"):
            blocks.append(Block("code", token.content.strip(), token.content.strip(), line=line))
    return tuple(blocks)


def _markdown_html(content: str, line: int) -> list[Block]:
    """An HTML block inside Markdown: an opening <article> marks an entry; other HTML is read as HTML."""
    if content.lstrip().lower().startswith("<article"):
        return [Block("article", "", line=line)]
    found = [Block("html", block.text, block.marked, block.links, line=line)
             for block in html_blocks(content) if block.kind != "article"]
    if not found:
        tree = HTMLParser(content)
        root = tree.body or tree.root
        text = " ".join(root.text(separator=" ").split()) if root is not None else ""
        if text:
            found.append(Block("html", text, text, line=line))
    return found


def render_inline(children: list[Token]) -> tuple[str, str, tuple[Link, ...]]:
    """Inline tokens → plain text, text with bold kept as **…**, and the links with their labels."""
    plain: list[str] = []
    marked: list[str] = []
    links: list[Link] = []
    open_link: tuple[str, int] | None = None
    for child in children:
        kind = child.type
        if kind in ("text", "code_inline"):
            plain.append(child.content)
            marked.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            plain.append("\n")
            marked.append("\n")
        elif kind in ("strong_open", "strong_close"):
            marked.append("**")
        elif kind in ("em_open", "em_close"):
            marked.append(child.markup)  # a highlight star may pair with another one lines away
        elif kind == "link_open":
            open_link = (str(child.attrs.get("href") or ""), len(plain))
        elif kind == "link_close" and open_link is not None:
            links.append(Link(" ".join("".join(plain[open_link[1]:]).split()), open_link[0]))
            open_link = None
        elif kind == "html_inline":
            lowered = child.content.lower()
            if lowered.startswith("<a "):
                anchor = HTMLParser(child.content).css_first("a")
                href = anchor.attributes.get("href") if anchor is not None else None
                open_link = (href or "", len(plain))
            elif lowered.startswith("</a") and open_link is not None:
                links.append(Link(" ".join("".join(plain[open_link[1]:]).split()), open_link[0]))
                open_link = None
            elif lowered.startswith("<br"):
                plain.append("\n")
                marked.append("\n")
    return "".join(plain), "".join(marked), tuple(links)
