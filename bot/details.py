"""A paper's full view (📄): every author, the whole summary and abstract, all links, in as many messages as needed.

Pure, like the card it expands. Long texts are split at sentences, never mid-word where a sentence end is near.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.cards import (
    HIGHLIGHT_MARK,
    affiliations_text,
    arxiv_link,
    authors_text,
    category_tag,
    code_link,
    is_arxiv_url,
    links_line,
    paper_titles,
    pdf_link,
    source_link,
    untitled_mark,
)
from bot.i18n import Translator
from bot.packing import MESSAGE_LIMIT, check_limit
from bot.text_fit import escape, split_paragraphs, split_to_fit, utf16_length, visible_length
from storage.models import Language, Paper

LABEL_ROOM = 64  # text pieces leave this much room so a section label stays with its first piece


@dataclass(frozen=True)
class _Atom:
    """A piece of a message that is never split: its HTML, visible length, and what precedes it in a message."""

    html: str
    length: int
    separator: str = ""  # dropped when the atom starts a message
    keep_with_next: bool = False  # a section label stays with its first paragraph


def _markup_atom(markup: str, separator: str = "", *, keep_with_next: bool = False) -> _Atom:
    """An atom of ready HTML."""
    return _Atom(markup, visible_length(markup), separator, keep_with_next)


def _text_atoms(text: str, *, separator: str, limit: int, tag: str | None = None) -> list[_Atom]:
    """Plain text as atoms that each fit a message, split at sentences where it must be, styled with tag."""
    atoms = []
    for index, piece in enumerate(split_to_fit(text, limit)):
        markup = f"<{tag}>{escape(piece)}</{tag}>" if tag else escape(piece)
        atoms.append(_Atom(markup, utf16_length(piece), separator if index == 0 else ""))
    return atoms


def _details_atoms(paper: Paper, *, t: Translator, limit: int) -> list[_Atom]:
    """Everything known about the paper, in reading order."""
    limit -= LABEL_ROOM
    lead = [part for part in (category_tag(paper, t), HIGHLIGHT_MARK if paper.highlight else "") if part]
    atoms = [_markup_atom(" ".join(lead) + " ")] if lead else []
    titles = paper_titles(paper, Language.BOTH)
    if not titles:
        atoms.append(_markup_atom(untitled_mark(t)))
    for index, title in enumerate(titles):
        atoms += _text_atoms(title, separator="\n" if index else "", limit=limit, tag="b" if index == 0 else None)
    if authors := authors_text(paper, t, shown=None, name_limit=None):
        atoms += _text_atoms(authors, separator="\n\n", limit=limit)
    if affiliations := affiliations_text(paper, limit=None):
        atoms += _text_atoms(affiliations, separator="\n" if authors else "\n\n", limit=limit, tag="i")
    sections = ((t.gettext("Chinese summary"), paper.summary_zh), (t.gettext("English abstract"), paper.abstract_en))
    for label, text in sections:
        paragraphs = split_paragraphs(text)
        if paragraphs:
            atoms.append(_markup_atom(f"<b>{escape(label)}</b>", "\n\n", keep_with_next=True))
        for index, paragraph in enumerate(paragraphs):
            atoms += _text_atoms(paragraph, separator="\n\n" if index else "\n", limit=limit)
    arxiv = arxiv_link(paper)
    source = None if arxiv and is_arxiv_url(paper.url) else source_link(paper)
    if links := links_line([arxiv, pdf_link(paper, t), source, code_link(paper, t)]):
        atoms.append(_markup_atom(links, "\n\n"))
    return atoms


def _pack(atoms: Sequence[_Atom], limit: int) -> list[str]:
    """Atoms packed greedily into messages of at most limit visible characters."""
    messages: list[str] = []
    current: list[str] = []
    length = 0
    for index, atom in enumerate(atoms):
        following = atoms[index + 1] if atom.keep_with_next and index + 1 < len(atoms) else None
        needed = len(atom.separator) + atom.length
        if following is not None:
            needed += len(following.separator) + following.length
        if current and length + needed > limit:
            messages.append("".join(current))
            current, length = [], 0
        separator = atom.separator if current else ""
        current.append(separator + atom.html)
        length += len(separator) + atom.length
    if current:
        messages.append("".join(current))
    return messages


def render_paper_details(paper: Paper, *, t: Translator, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The whole paper (full summary and abstract, every author, all links) in as many messages as it needs."""
    check_limit(limit)
    return _pack(_details_atoms(paper, t=t, limit=limit), limit)
