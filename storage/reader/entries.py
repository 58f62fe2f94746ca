"""An entry being read: the cue that started it, the fields taken so far, and the reasons blocks were skipped."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.parsing import ParsedPaper


@dataclass(slots=True)
class Draft:
    """One paper as its entry is read; frozen into a ParsedPaper at the end."""

    cue: str
    line: int = 0
    title_en: str | None = None
    title_zh: str | None = None
    authors: tuple[str, ...] = ()
    authors_truncated: bool = False
    affiliations: tuple[str, ...] = ()
    summary: list[str] = field(default_factory=list)
    abstract: list[str] = field(default_factory=list)
    url: str | None = None
    arxiv_id: str | None = None
    code_url: str | None = None
    category: str | None = None
    highlight: bool = False
    minor: bool = False

    def freeze(self, position: int) -> ParsedPaper:
        """The finished paper at its place in the document."""
        return ParsedPaper(
            position=position, title_en=self.title_en or None, title_zh=self.title_zh or None,
            authors=self.authors, authors_truncated=self.authors_truncated, affiliations=self.affiliations,
            summary_zh="\n".join(self.summary).strip() or None, abstract_en="\n\n".join(self.abstract).strip() or None,
            url=self.url, arxiv_id=self.arxiv_id, code_url=self.code_url, category=self.category,
            highlight=self.highlight, minor=self.minor)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A block the reader did not take as a paper, and why."""

    line: int
    excerpt: str
    reason: str
    not_paper: bool = True


@dataclass(slots=True)
class Found:
    """What one cue found in a document: its entries and what it skipped."""

    drafts: list[Draft] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def skip(self, line: int, text: str, reason: str, *, not_paper: bool = True) -> None:
        """Note a skipped block with a short excerpt."""
        excerpt = " ".join(text[:200].split())
        self.skipped.append(Skipped(line, excerpt[:60] + ("…" if len(excerpt) > 60 else ""), reason, not_paper))
