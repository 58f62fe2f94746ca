"""Digest documents from files and URLs → text: size caps, charset detection, HTML reduced to text."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import httpx

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_TIMEOUT = 20.0
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
        raise DocumentError(f"{path} is {human_size(size)}; the limit is {human_size(max_bytes)}")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DocumentError(f"cannot read {path}: {error.strerror or error}") from error
    return bytes_to_document(data, str(path))


class TransientFetchError(DocumentError):
    """The server timed out, was unreachable or answered 5xx/429: trying again later may work."""


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """One answer to a (conditional) GET: the digest, or None when the server said 304 Not Modified."""

    document: Document | None
    etag: str | None = None
    last_modified: str | None = None


def fetch_page(url: str, *, etag: str | None = None, last_modified: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT,
               client: httpx.Client | None = None) -> FetchedPage:
    """GET a digest page, conditionally when validators are given: redirects followed, body cut off at the cap."""
    own_client = client is None
    http = client or httpx.Client(follow_redirects=True, timeout=timeout,
                                  headers={"User-Agent": "papers-digest/0.1"})
    headers = {name: value for name, value in (("If-None-Match", etag), ("If-Modified-Since", last_modified))
               if value}
    try:
        with http.stream("GET", url, headers=headers) as response:
            validators = response.headers.get("etag"), response.headers.get("last-modified")
            if response.status_code == 304 and headers:
                return FetchedPage(None, validators[0] or etag, validators[1] or last_modified)
            if response.status_code >= 500 or response.status_code == 429:
                raise TransientFetchError(f"{url} answered HTTP {response.status_code}")
            if response.status_code >= 300:
                raise DocumentError(f"{url} answered HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise DocumentError(f"{url} is {human_size(int(declared))}; the limit is {human_size(max_bytes)}")
            chunks: list[bytes] = []
            received = 0
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise DocumentError(f"{url} is larger than the {human_size(max_bytes)} limit")
                chunks.append(chunk)
            content_type = response.headers.get("content-type")
    except httpx.TimeoutException as error:
        raise TransientFetchError(f"{url} did not answer within {timeout:g} s") from error
    except httpx.HTTPError as error:
        raise TransientFetchError(f"cannot fetch {url}: {error}") from error
    finally:
        if own_client:
            http.close()
    return FetchedPage(bytes_to_document(b"".join(chunks), url, content_type), *validators)


def fetch_url(url: str, *, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT,
              client: httpx.Client | None = None) -> Document:
    """Download one digest page (unconditionally, so the answer always carries the digest)."""
    page = fetch_page(url, max_bytes=max_bytes, timeout=timeout, client=client)
    assert page.document is not None, "a 304 only answers a conditional request"
    return page.document


def expand_sources(sources: list[str]) -> list[str]:
    """Folders stand for the digest files inside them, in name order; URLs and files stay as given."""
    expanded: list[str] = []
    for source in sources:
        path = Path(source)
        if not source.startswith(("http://", "https://")) and path.is_dir():
            expanded.extend(str(child) for child in sorted(path.iterdir())
                            if child.is_file() and child.suffix.lower() in _DOCUMENT_SUFFIXES
                            and not child.name.startswith("."))
        else:
            expanded.append(source)
    return expanded


def load_document(source: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                  timeout: float = DEFAULT_TIMEOUT) -> Document:
    """A URL is fetched, anything else is read as a file."""
    if source.startswith(("http://", "https://")):
        return fetch_url(source, max_bytes=max_bytes, timeout=timeout)
    return read_file(Path(source), max_bytes=max_bytes)
