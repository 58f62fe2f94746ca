"""Reading a reference library a chat imports: BibTeX, RIS or a Zotero CSV export, into titles and abstracts.

Pure: text in, entries out. The format is settled first (from the content, the file name only breaking ties),
then each entry is read; an entry without a title is counted, not kept. arXiv ids are taken from the fields
exports put them in (eprint, URL, DOI 10.48550/arXiv.…, "arXiv:…" in a note), through the one arXiv-id pattern
of storage/vocabulary.py.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import bibtexparser
import rispy

from storage.documents import DocumentError, decode_bytes
from storage.parsing import arxiv_id_of
from storage.vocabulary import ARXIV_ID

MAX_LIBRARY_BYTES = 5 * 1024 * 1024  # a Zotero export of a few thousand papers with abstracts
MAX_LIBRARY_ENTRIES = 5000
TITLE_LIMIT = 1000

_BIBTEX_ENTRY = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.MULTILINE)
_RIS_TAG = re.compile(r"^TY  - ", re.MULTILINE)
_ARXIV_MENTION = re.compile(rf"arxiv[:.\s/]*(?:abs/)?\s*({ARXIV_ID})", re.IGNORECASE)
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+\s*|\\.")
_ZOTERO_COLUMNS = {"title", "author", "abstract note"}


class LibraryFormat(enum.StrEnum):
    """The exports /import reads."""

    BIBTEX = "BibTeX"
    RIS = "RIS"
    ZOTERO_CSV = "Zotero CSV"


class LibraryProblem(enum.StrEnum):
    """Why a document cannot be imported; nothing of it is kept."""

    UNKNOWN_FORMAT = "unknown_format"  # also: binary data, or text in no encoding we read
    EMPTY = "empty"  # a known format with no entries at all
    TOO_MANY = "too_many"  # more than MAX_LIBRARY_ENTRIES entries
    TOO_LARGE = "too_large"  # more than MAX_LIBRARY_BYTES


class LibraryFormatError(ValueError):
    """The document is not a library /import reads: which problem, with the number when it is about a count."""

    def __init__(self, problem: LibraryProblem, count: int = 0) -> None:
        super().__init__(f"library: {problem.value} ({count})")
        self.problem = problem
        self.count = count


@dataclass(frozen=True, slots=True)
class LibraryItem:
    """One paper of an imported library."""

    title: str
    abstract: str | None
    authors: tuple[str, ...]
    arxiv_id: str | None


@dataclass(frozen=True, slots=True)
class Library:
    """What a document held: its format, its papers, and how many entries had no title."""

    format: LibraryFormat
    items: tuple[LibraryItem, ...]
    untitled: int


def detect_format(text: str, file_name: str = "") -> LibraryFormat | None:
    """RIS, BibTeX or Zotero CSV by what the text looks like; None when it is none of them."""
    if _RIS_TAG.search(text):
        return LibraryFormat.RIS
    if _BIBTEX_ENTRY.search(text):
        return LibraryFormat.BIBTEX
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    header = {column.strip().strip('"').lower() for column in first_line.split(",")}
    if "title" in header and (header & _ZOTERO_COLUMNS != {"title"} or file_name.lower().endswith(".csv")):
        return LibraryFormat.ZOTERO_CSV
    return None


def read_library(data: bytes, file_name: str = "") -> Library:
    """A library file as sent: within MAX_LIBRARY_BYTES, not empty, text in a known encoding, then parsed."""
    if len(data) > MAX_LIBRARY_BYTES:
        raise LibraryFormatError(LibraryProblem.TOO_LARGE)
    if not data.strip():
        raise LibraryFormatError(LibraryProblem.EMPTY)
    try:
        text = decode_bytes(data)
    except DocumentError as error:  # binary data, or no encoding we read
        raise LibraryFormatError(LibraryProblem.UNKNOWN_FORMAT) from error
    return parse_library(text, file_name)


def parse_library(text: str, file_name: str = "") -> Library:
    """Every paper of a BibTeX, RIS or Zotero CSV export; LibraryFormatError when it is not one, empty or huge."""
    library_format = detect_format(text, file_name)
    if library_format is None:
        raise LibraryFormatError(LibraryProblem.UNKNOWN_FORMAT)
    records = list(_READERS[library_format](text))
    if not records:
        raise LibraryFormatError(LibraryProblem.EMPTY)
    if len(records) > MAX_LIBRARY_ENTRIES:
        raise LibraryFormatError(LibraryProblem.TOO_MANY, len(records))
    items = tuple(item for item in records if item is not None)
    return Library(library_format, items, len(records) - len(items))


def _clean(value: str | None) -> str | None:
    """Braces, LaTeX commands and runs of spaces removed; None when nothing is left."""
    if not value:
        return None
    text = " ".join(_LATEX_COMMAND.sub("", value).replace("{", "").replace("}", "").split())
    return text or None


def _person(name: str) -> str:
    """'Henderson, James' → 'James Henderson', as digests write names."""
    family, _comma, given = name.partition(",")
    return " ".join(f"{given.strip()} {family.strip()}".split()) if given.strip() else " ".join(name.split())


def _arxiv_id(values: Iterable[str | None]) -> str | None:
    """The first arXiv id among URLs and mentions such as 'arXiv:2106.04647' or 10.48550/arXiv.2106.04647."""
    for value in values:
        if not value:
            continue
        found = arxiv_id_of(value)
        mention = _ARXIV_MENTION.search(value)
        found = found or (arxiv_id_of(f"arxiv.org/abs/{mention.group(1)}") if mention else None)
        if found:
            return found
    return None


def _item(title: str | None, abstract: str | None, authors: Iterable[str],
          arxiv_sources: Iterable[str | None]) -> LibraryItem | None:
    """An item, or None for an entry without a title."""
    title = _clean(title)
    if title is None:
        return None
    people = tuple(person for name in authors if (person := _person(_clean(name) or "")))
    return LibraryItem(title[:TITLE_LIMIT], _clean(abstract), people, _arxiv_id(arxiv_sources))


def _bibtex(text: str) -> Iterable[LibraryItem | None]:
    """BibTeX entries (@article, @misc, @inproceedings…), @string and @comment blocks aside."""
    for entry in bibtexparser.parse_string(text).entries:
        fields = {key.lower(): str(field.value) for key, field in entry.fields_dict.items()}
        eprint = fields.get("eprint")
        yield _item(fields.get("title"), fields.get("abstract"), fields.get("author", "").split(" and "),
                    [fields.get("url"), f"arXiv:{eprint}" if eprint else None, fields.get("doi"),
                     fields.get("journal"), fields.get("note"), fields.get("howpublished")])


def _ris(text: str) -> Iterable[LibraryItem | None]:
    """RIS records, TY to ER."""
    for record in rispy.loads(text.lstrip("\ufeff")):
        title = record.get("title") or record.get("primary_title") or record.get("translated_title")
        authors = list(record.get("authors", [])) + list(record.get("first_authors", []))
        yield _item(title, record.get("abstract"), authors,
                    [*record.get("urls", []), record.get("doi"), record.get("notes_abstract"),
                     *record.get("notes", [])])


def _zotero_csv(text: str) -> Iterable[LibraryItem | None]:
    """Rows of Zotero's CSV export: Title, Author ('Family, Given; …'), Abstract Note, Url, DOI, Extra."""
    for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))):
        fields: Mapping[str, str] = {(key or "").strip().lower(): value or "" for key, value in row.items()
                                     if isinstance(value, str)}
        yield _item(fields.get("title"), fields.get("abstract note"), fields.get("author", "").split(";"),
                    [fields.get("url"), fields.get("doi"), fields.get("extra")])


_READERS = {LibraryFormat.BIBTEX: _bibtex, LibraryFormat.RIS: _ris, LibraryFormat.ZOTERO_CSV: _zotero_csv}
