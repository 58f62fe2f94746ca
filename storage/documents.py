"""Digest documents → text: size caps, charset detection, HTML reduced to text.

Pure functions on bytes and local files; fetching a URL is bot.http's business, which hands the bytes here.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_DOCUMENT_SUFFIXES = frozenset({".txt", ".md", ".html", ".htm", ".csv", ""})
_CHARSET = re.compile(r"charset=[\"']?([\w\-:.]+)", re.IGNORECASE)
_HTML_START = re.compile(r"^\s*(?:<!doctype\s+html|<html|<head|<body|<meta|<div|<p[\s>])", re.IGNORECASE)
_BLOCK_TAGS = frozenset(
    ["p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section", "article",
     "header", "footer", "blockquote", "pre", "hr"]
)


def human_size(size: int) -> str:
    """Sizes in messages: '512 bytes', '2.0 KB', '50.0 MB'."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1_048_576:.1f} MB"


class DocumentError(ValueError):
    """A document that cannot be read as digest text; the message says why in plain words."""


def too_large(source: str, limit: int, size: int | None = None) -> DocumentError:
    """The refusal of a document over the size cap, naming its size when known."""
    if size is None:
        return DocumentError(f"{source} is larger than the {human_size(limit)} limit")
    return DocumentError(f"{source} is {human_size(size)}; the limit is {human_size(limit)}")


def is_url(source: str) -> bool:
    """A source the bot fetches rather than reads from disk."""
    return source.startswith(("http://", "https://"))


@dataclass(frozen=True, slots=True)
class Document:
    """Text of one digest and where it came from."""

    source: str
    text: str
    markup: str | None = None  # the page itself when `text` was reduced from HTML: the reader follows its links


class _TextExtractor(HTMLParser):
    """Keep the visible text of an HTML page, one block element per line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript", "template"):
            self._hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript", "template"):
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Reduce an HTML page to its text with paragraph breaks, as a digest parser expects."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in "".join(extractor.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def looks_like_html(text: str, content_type: str | None = None) -> bool:
    """Trust the server's content type, else sniff the start of the decoded text."""
    if content_type and "html" in content_type.lower():
        return True
    return _HTML_START.match(text[:512].lstrip("\ufeff")) is not None


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a BOM shows as NUL bytes on every other position."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > half * 0.3 and even_nuls < half * 0.05:
        encoding = "utf-16-le"
    elif even_nuls > half * 0.3 and odd_nuls < half * 0.05:
        encoding = "utf-16-be"
    else:
        return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def decode_bytes(data: bytes, declared_charset: str | None = None) -> str:
    """Decode digest bytes: BOM, declared charset, UTF-8, UTF-16, then GB18030 (GBK's superset)."""
    if not data.strip():
        raise DocumentError("the document is empty")
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if declared_charset:
        try:
            return data.decode(declared_charset)
        except (LookupError, UnicodeDecodeError):
            pass
    # Before UTF-8: ASCII text in UTF-16 is also valid UTF-8, full of NULs.
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    if b"\x00" not in data[:8192]:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192]:
        raise DocumentError("the document is binary data, not text")
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as error:
        raise DocumentError("the document is neither UTF-8, UTF-16 nor GBK text") from error
    controls = sum(1 for char in text[:8192] if ord(char) < 32 and char not in "\n\r\t\f")
    if controls > len(text[:8192]) * 0.01:
        raise DocumentError("the document is binary data, not text")
    return text


def bytes_to_text(data: bytes, content_type: str | None = None) -> str:
    """Whole pipeline from raw bytes: charset, then HTML reduced to text when it is a page."""
    return bytes_to_document(data, "", content_type).text


def bytes_to_document(data: bytes, source: str, content_type: str | None = None) -> Document:
    """Raw bytes → a document: charset decoded; a page is reduced to text and kept as markup beside it."""
    match = _CHARSET.search(content_type or "")
    text = decode_bytes(data, match.group(1) if match else None)
    markup = None
    if looks_like_html(text, content_type):
        markup, text = text, html_to_text(text)
    if not text.strip():
        raise DocumentError("the document holds no text")
    return Document(source=source, text=text, markup=markup)


def read_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read one local file, refusing oversized ones before reading them."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise DocumentError(f"cannot read {path}: {error.strerror or error}") from error
    if size > max_bytes:
        raise too_large(str(path), max_bytes, size)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DocumentError(f"cannot read {path}: {error.strerror or error}") from error
    return bytes_to_document(data, str(path))


def expand_sources(sources: list[str]) -> list[str]:
    """Folders stand for the digest files inside them, in name order; URLs and files stay as given."""
    expanded: list[str] = []
    for source in sources:
        path = Path(source)
        if not is_url(source) and path.is_dir():
            expanded.extend(str(child) for child in sorted(path.iterdir())
                            if child.is_file() and child.suffix.lower() in _DOCUMENT_SUFFIXES
                            and not child.name.startswith("."))
        else:
            expanded.append(source)
    return expanded
