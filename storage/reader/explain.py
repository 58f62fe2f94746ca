"""A reading as lines an admin reads: the container, each entry with its cue and fields, each skipped block."""

from __future__ import annotations

from storage.parsing import ParsedPaper
from storage.reader.assemble import Reading

_SHOWN = 70  # characters of a field shown per line
_FIELDS = ("title_en", "title_zh", "authors", "authors_truncated", "affiliations", "url", "arxiv_id", "code_url",
           "category", "highlight", "minor", "summary_zh", "abstract_en")


def _short(value: object) -> str:
    """A field value on one line, cut to a readable length."""
    text = ", ".join(value) if isinstance(value, tuple) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _fields(paper: ParsedPaper) -> list[str]:
    """The fields the entry gave, one per line; empty ones left out."""
    return [f"      {name}: {_short(value)}" for name in _FIELDS if (value := getattr(paper, name))]


def explain(reading: Reading, source: str) -> list[str]:
    """How the document was read, top to bottom."""
    if not reading.entries:
        lines = [f"{source}: {reading.container} document: no recognisable paper entry"]
    else:
        lines = [f"{source}: {reading.container} document, read as {reading.shape}: {len(reading.entries)} papers, "
                 f"{reading.not_papers} items skipped as not papers"]
    for entry in reading.entries:
        where = f"line {entry.line}" if entry.line else "entry"
        lines.append(f"  paper {entry.paper.position} ({where}, cue: {entry.cue})")
        lines.extend(_fields(entry.paper))
    for skipped in reading.skipped:
        lines.append(f"  skipped line {skipped.line}: {skipped.reason}: {skipped.excerpt}")
    lines.extend(f"  warning: {problem}" for problem in reading.problems)
    return lines
