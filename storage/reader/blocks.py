"""The unit every container is turned into: a block of text with its kind, its links and its emphasis."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Link:
    """A link as the reader saw it: the words it is written on and where it points."""

    label: str
    target: str


@dataclass(frozen=True, slots=True)
class Block:
    """One heading, paragraph, list item, quote, table row, HTML block or post, in document order.

    `text` is what a reader sees; `marked` is the same text with bold spans kept as `**…**`, so a cue that
    depends on emphasis (a bold title line, a highlight star) can still see it.
    """

    kind: str
    text: str
    marked: str = ""
    links: tuple[Link, ...] = ()
    level: int = 0
    line: int = 0

    @property
    def lines(self) -> list[str]:
        """The block's text cut at its line breaks, each stripped, empty lines dropped."""
        return [line.strip() for line in self.text.split("\n") if line.strip()]


KINDS = ("heading", "paragraph", "item", "quote", "row", "html", "code", "post")
