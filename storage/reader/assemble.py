"""A document → the papers in it: pick the container, run the cues that fit it, keep each paper once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from storage.documents import html_to_text
from storage.parsing import DigestFormatError, ParsedPaper, has_cjk, title_key
from storage.reader.blocks import Block
from storage.reader.containers import cut_blocks, sniff
from storage.reader.entries import Draft, Found, Skipped
from storage.reader.families import (
    read_articles,
    read_bold_titles,
    read_labelled_fields,
    read_numbered_headings,
    read_numbered_links,
    read_posts,
    read_table_rows,
    read_tagged,
)
from storage.reader.fields import URL
from storage.reader.legacy import read_samples_family

LEGACY_CUE = "sample family"


@dataclass(frozen=True, slots=True)
class Entry:
    """One paper with the cue that started its entry and the line it starts on (0 when not known)."""

    cue: str
    line: int
    paper: ParsedPaper


@dataclass(frozen=True, slots=True)
class Reading:
    """How one document was read: its container, shape, papers with their cues, skipped blocks, problems."""

    container: str
    shape: str
    entries: tuple[Entry, ...]
    skipped: tuple[Skipped, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def papers(self) -> tuple[ParsedPaper, ...]:
        """The papers in document order."""
        return tuple(entry.paper for entry in self.entries)

    @property
    def not_papers(self) -> int:
        """How many items were skipped because they are not papers (metadata and placeholders not counted)."""
        return sum(1 for skipped in self.skipped if skipped.not_paper)


def read_document(text: str, *, markup: str | None = None, strict: bool = True) -> Reading:
    """Read any document (a page from its HTML `markup`, `text` being its reduction); raises DigestFormatError
    when no paper entry is recognisable in it, unless not `strict` (--explain shows what was skipped)."""
    sniffed = sniff(markup if markup is not None else text)
    if sniffed.kind in ("text", "html"):  # a sample family saved as a web page reads from its reduced text
        legacy = _legacy(text if markup is not None or sniffed.kind == "text" else html_to_text(text), sniffed.kind)
        if legacy is not None:
            return legacy
    container = cut_blocks(sniffed)  # only now: a sample family needs no blocks
    found = _run_cues(container.kind, container.blocks)
    if not found:
        legacy = _legacy(text, container.kind)
        if legacy is not None:
            return legacy
        if not strict:
            skipped = _run_cues(container.kind, container.blocks, keep_empty=True)
            return Reading(container.kind, "nothing", (), tuple(sorted(
                (skip for _name, result in skipped for skip in result.skipped), key=lambda s: s.line)))
        raise DigestFormatError(
            f"reader: no recognisable paper entry in this {container.kind} document (see `ingest --explain`)")
    if container.kind == "markdown":  # a sample family pasted into a Markdown page reads as the sample family
        legacy = _legacy(text, container.kind)
        if legacy is not None and len(legacy.entries) > sum(len(result.drafts) for _name, result in found):
            return legacy
    drafts = sorted((draft for _name, result in found for draft in result.drafts), key=lambda d: d.line)
    skipped = [skip for _name, result in found for skip in result.skipped]
    kept = _once_each(drafts, skipped)
    entries = tuple(Entry(draft.cue, draft.line, draft.freeze(position))
                    for position, draft in enumerate(kept, start=1))
    shape = "+".join(name for name, _result in found)
    return Reading(container.kind, shape, entries, tuple(sorted(skipped, key=lambda s: s.line)))


def _legacy(text: str, container: str) -> Reading | None:
    """The five sample families, read exactly as before; None when the text is none of them."""
    found = read_samples_family(text)
    if found is None:
        return None
    shape, papers, problems = found
    if any(_runs_on(paper.title_en or "") for paper in papers):
        return None  # a header line that runs on into Chinese fields lost its line breaks: the tagged cue reads it
    skipped: list[Skipped] = []
    if container != "text":  # in a page of another kind, a bare '[CL] words' line is prose, not an entry
        kept = [paper for paper in papers if paper.authors or paper.url or paper.summary_zh or paper.abstract_en]
        skipped = [Skipped(0, paper.title_en or "", "tagged line without authors, link or summary")
                   for paper in papers if paper not in kept]
        if not kept:
            return None
        papers = tuple(replace(paper, position=position) for position, paper in enumerate(kept, start=1))
    return Reading(container, shape, tuple(Entry(LEGACY_CUE, 0, paper) for paper in papers), tuple(skipped),
                   problems)


def _runs_on(title: str) -> bool:
    """An English title that runs on into Chinese ('Title A Author[Lab]中文标题…'); a Chinese title is a title."""
    return title[:1].isascii() and title[:1].isalpha() and has_cjk(title)


def _run_cues(kind: str, blocks: Sequence[Block], *, keep_empty: bool = False) -> list[tuple[str, Found]]:
    """Run the cue readers that fit this container; keep those that found entries (or all, to explain)."""
    cues: list[tuple[str, Callable[[Sequence[Block]], Found]]]
    links = [match.group(0) for block in blocks for match in URL.finditer(block.text)] if kind != "csv" else []
    links += [link.target for block in blocks for link in block.links]
    if kind == "csv":
        cues = [("posts", read_posts)]
    elif kind == "text":
        cues = [("posts", read_posts), ("tagged", lambda b: read_tagged(b, links)),
                ("labelled-fields", read_labelled_fields)]
    else:
        cues = [("articles", read_articles), ("numbered-headings", read_numbered_headings),
                ("tagged", lambda b: read_tagged(b, links)), ("bold-titles", read_bold_titles),
                ("numbered-links", read_numbered_links), ("table-rows", read_table_rows),
                ("labelled-fields", read_labelled_fields),
                ("posts", lambda b: read_posts([x for x in b if x.kind in ("paragraph", "item") and "《" in x.text]))]
    results = [(name, reader(blocks)) for name, reader in cues]
    return [(name, result) for name, result in results if result.drafts or keep_empty]


def _once_each(drafts: list[Draft], skipped: list[Skipped]) -> list[Draft]:
    """The same paper under several headings of one document is one paper: the first entry is kept."""
    seen: set[str] = set()
    kept: list[Draft] = []
    for draft in drafts:
        keys = {key for key in (draft.arxiv_id and f"arxiv:{draft.arxiv_id}",
                                (title_key(draft.title_en) or "") and f"title:{title_key(draft.title_en)}") if key}
        if keys & seen:
            skipped.append(Skipped(draft.line, draft.title_en or "", "the same paper again", not_paper=False))
            continue
        seen |= keys
        kept.append(draft)
    return kept
