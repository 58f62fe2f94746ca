"""A paper's full view (📄): every author, the whole summary and abstract, all links, in as many messages as needed.

Pure, like the card it expands. Long texts are split at sentences, never mid-word where a sentence end is near.
"""

from __future__ import annotations

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
from bot.packing import MESSAGE_LIMIT, Atom, check_limit, markup_atom, pack_atoms
from bot.text_fit import escape, split_paragraphs, split_to_fit, utf16_length
from storage.models import Language, Paper

LABEL_ROOM = 64  # text pieces leave this much room so a section label stays with its first piece


def _text_atoms(text: str, *, separator: str, limit: int, tag: str | None = None) -> list[Atom]:
    """Plain text as atoms that each fit a message, split at sentences where it must be, styled with tag."""
    atoms = []
    for index, piece in enumerate(split_to_fit(text, limit)):
        markup = f"<{tag}>{escape(piece)}</{tag}>" if tag else escape(piece)
        atoms.append(Atom(markup, utf16_length(piece), separator if index == 0 else ""))
    return atoms


def _details_atoms(paper: Paper, *, t: Translator, limit: int) -> list[Atom]:
    """Everything known about the paper, in reading order."""
    limit -= LABEL_ROOM
    lead = [part for part in (category_tag(paper, t), HIGHLIGHT_MARK if paper.highlight else "") if part]
    atoms = [markup_atom(" ".join(lead) + " ")] if lead else []
    titles = paper_titles(paper, Language.BOTH)
    if not titles:
        atoms.append(markup_atom(untitled_mark(t)))
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
            atoms.append(markup_atom(f"<b>{escape(label)}</b>", "\n\n", keep_with_next=True))
        for index, paragraph in enumerate(paragraphs):
            atoms += _text_atoms(paragraph, separator="\n\n" if index else "\n", limit=limit)
    arxiv = arxiv_link(paper)
    source = None if arxiv and is_arxiv_url(paper.url) else source_link(paper)
    if links := links_line([arxiv, pdf_link(paper, t), source, code_link(paper, t)]):
        atoms.append(markup_atom(links, "\n\n"))
    return atoms


def render_paper_details(paper: Paper, *, t: Translator, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The whole paper (full summary and abstract, every author, all links) in as many messages as it needs."""
    check_limit(limit)
    return pack_atoms(_details_atoms(paper, t=t, limit=limit), limit)
