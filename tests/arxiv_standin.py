"""A local stand-in for arXiv's query API, written from its user manual: `id_list` and `search_query` answers in
the current Atom format (namespaces declared once on the feed, https links, an affiliation per author where known,
`arxiv:primary_category`), an empty feed when nothing matches, HTTP 400 with an `Error` entry for a query it cannot
read, and on demand 5xx answers and stalls. A `ti:"…"` phrase matches titles holding its words in that order."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from tests.local_http import Request, Response

FEED_HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" \
xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/standin</id>
  <title>arXiv Query: {query}</title>
  <updated>2026-12-02T00:00:00Z</updated>
  <link href="https://arxiv.org/api/query?{query}" type="application/atom+xml"/>
  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
"""
ERROR_ENTRY = """  <entry>
    <id>https://arxiv.org/api/errors#{anchor}</id>
    <title>Error</title>
    <updated>2026-12-02T00:00:00Z</updated>
    <link href="https://arxiv.org/api/errors#{anchor}" rel="alternate" type="text/html"/>
    <summary>{message}</summary>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>
"""
_PHRASE = re.compile(r'^ti:"([^"]*)"$')
_WELL_FORMED_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7})(v\d+)?$")


@dataclass(frozen=True)
class Entry:
    """One paper arXiv knows."""

    arxiv_id: str
    title: str  # as arXiv writes it; long titles are folded over lines like arXiv's
    authors: tuple[tuple[str, str | None], ...]  # (name, affiliation)
    primary: str
    abstract: str = "An abstract as arXiv gives it."


_LATEX_STYLE = re.compile(r"\\(?:emph|textbf|textit|mathrm|mathcal)\b")


def _words(text: str) -> list[str]:
    """Lucene-like tokens: lower-case letters and digits, accents folded, LaTeX style commands not indexed."""
    text = _LATEX_STYLE.sub(" ", text)
    folded = "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
    return re.findall(r"[a-z0-9]+", folded.lower())


def _folded_title(title: str) -> str:
    """arXiv wraps a long title over lines, indenting the rest by two spaces."""
    if len(title) <= 60 or "\n" in title:
        return title
    cut = title.rfind(" ", 0, 60)
    return title[:cut] + "\n  " + title[cut + 1:]


def entry_xml(entry: Entry) -> str:
    """One <entry> in the current format."""
    people = "".join(
        f"    <author>\n      <name>{escape(name)}</name>\n"
        + (f"      <arxiv:affiliation>{escape(where)}</arxiv:affiliation>\n" if where else "")
        + "    </author>\n" for name, where in entry.authors)
    return (f"  <entry>\n    <id>http://arxiv.org/abs/{entry.arxiv_id}v1</id>\n"
            f"    <title>{escape(_folded_title(entry.title))}</title>\n"
            f"    <updated>2026-01-02T00:00:00Z</updated>\n"
            f"    <link href=\"https://arxiv.org/abs/{entry.arxiv_id}v1\" rel=\"alternate\" type=\"text/html\"/>\n"
            f"    <link href=\"https://arxiv.org/pdf/{entry.arxiv_id}v1\" rel=\"related\" type=\"application/pdf\" "
            f"title=\"pdf\"/>\n"
            f"    <summary>  {escape(entry.abstract)}\n</summary>\n"
            f"    <category term={quoteattr(entry.primary)} scheme=\"http://arxiv.org/schemas/atom\"/>\n"
            f"    <published>2026-01-02T00:00:00Z</published>\n"
            f"    <arxiv:primary_category term={quoteattr(entry.primary)}/>\n{people}  </entry>\n")


def feed_xml(query: str, entries: list[str], *, total: int | None = None) -> bytes:
    """A whole feed around some entries."""
    count = len(entries) if total is None else total
    head = FEED_HEAD.format(query=escape(query, {'"': "&quot;"}), per_page=len(entries), total=count)
    return (head + "".join(entries) + "</feed>\n").encode()


@dataclass
class ArxivStandIn:
    """Answers /api/query as arXiv does; `mode` makes every answer fail ("5xx", "stall")."""

    entries: list[Entry]
    mode: str = "ok"
    stall: float = 5.0

    def __call__(self, request: Request) -> Response:
        if self.mode == "5xx":
            return Response(503, b"<html><body>Service Unavailable</body></html>", {"Content-Type": "text/html"})
        if self.mode == "stall":
            return Response(200, b"", stall=self.stall)
        query = request.query.get("search_query", [""])[0]
        ids = [part for part in request.query.get("id_list", [""])[0].split(",") if part]
        if ids:
            return self._by_ids(ids)
        phrase = _PHRASE.match(query)
        if not phrase or not _words(phrase.group(1)):
            return self._error(400, "malformed_query", f"unable to parse query {query}")
        wanted = _words(phrase.group(1))
        hits = [entry for entry in self.entries if _holds(_words(entry.title), wanted)]
        limit = int(request.query.get("max_results", ["10"])[0])
        return self._ok(f"search_query={query}", [entry_xml(entry) for entry in hits[:limit]], total=len(hits))

    def _by_ids(self, ids: list[str]) -> Response:
        bad = [arxiv_id for arxiv_id in ids if not _WELL_FORMED_ID.match(arxiv_id)]
        if bad:
            return self._error(400, f"incorrect_id_format_for_{bad[0]}", f"incorrect id format for {bad[0]}")
        known = {entry.arxiv_id: entry for entry in self.entries}
        return self._ok(f"id_list={','.join(ids)}", [entry_xml(known[arxiv_id]) for arxiv_id in ids
                                                     if arxiv_id in known])

    @staticmethod
    def _ok(query: str, entries: list[str], *, total: int | None = None) -> Response:
        return Response(200, feed_xml(query, entries, total=total), {"Content-Type": "application/atom+xml"})

    @staticmethod
    def _error(status: int, anchor: str, message: str) -> Response:
        body = feed_xml("error", [ERROR_ENTRY.format(anchor=escape(anchor), message=escape(message))])
        return Response(status, body, {"Content-Type": "application/atom+xml"})


def _holds(words: list[str], phrase: list[str]) -> bool:
    """Whether the phrase's words occur in `words` side by side, in order."""
    size = len(phrase)
    return any(words[start:start + size] == phrase for start in range(len(words) - size + 1))
