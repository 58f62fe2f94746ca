"""A chat's favourites as files: Markdown to read, BibTeX to cite. Pure: papers in, text out."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date

from bot.i18n import Translator
from storage.models import Paper
from storage.parsing import ET_AL
from storage.vocabulary import ARXIV_ABS_URL, ARXIV_CLASS_OF_CATEGORY, arxiv_id_year, is_arxiv_id

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")
_BIBTEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%",
                   "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_BIBTEX_SPECIAL_RE = re.compile("|".join(re.escape(char) for char in _BIBTEX_SPECIAL))
_STOP_WORDS = frozenset({"a", "an", "the", "on", "of", "for", "in", "to", "and", "with", "towards", "via", "is"})


def _one_line(text: str | None) -> str:
    """A field on one line with single spaces."""
    return " ".join((text or "").split())


def _authors(paper: Paper) -> tuple[list[str], bool]:
    """Named authors, and whether the digest cut the list short ("et al.")."""
    names = [name for author in paper.authors if (name := _one_line(author)) and name != ET_AL]
    return names, bool(names) and (paper.authors[-1] == ET_AL or paper.authors_truncated)


def paper_year(paper: Paper) -> int | None:
    """The year the paper appeared: from its arXiv id when it has one, else the digest that brought it."""
    arxiv_id = (paper.arxiv_id or "").strip()
    if year := arxiv_id_year(arxiv_id):
        return year
    day: date | None = paper.rank_date or (paper.created_at.date() if paper.created_at else None)
    return day.year if day else None


def _arxiv_id(paper: Paper) -> str | None:
    """The paper's arXiv id when it looks like one (a version suffix dropped)."""
    arxiv_id = (paper.arxiv_id or "").strip()
    if is_arxiv_id(arxiv_id):
        return re.sub(r"v\d+$", "", arxiv_id)
    return None


# ---------------------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------------------


def _md(text: str | None) -> str:
    """Paper text that Markdown shows as written: its markup characters escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(text))


def _md_url(url: str) -> str:
    """A URL safe inside Markdown's (...) link target."""
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def _markdown_paper(paper: Paper, number: int, t: Translator) -> list[str]:
    """One paper as a section: titles, people, links, then the full summary and abstract."""
    title = paper.title_en or paper.title_zh or t.gettext("(untitled)")
    tag = f"[{paper.category}] " if paper.category else ""
    lines = [f"## {number}. {tag}{_md(title)}", ""]
    if paper.title_en and paper.title_zh:
        lines += [f"*{_md(paper.title_zh)}*", ""]
    # gettext outside f-strings, where Babel's extractor sees it
    labels = {"authors": t.gettext("Authors"), "affiliations": t.gettext("Affiliations"), "links": t.gettext("Links"),
              "code": t.gettext("Code")}
    names, cut_short = _authors(paper)
    if names:
        people = ", ".join(names)
        people = t.gettext("{authors} et al.").format(authors=people) if cut_short else people
        lines.append(f"- **{labels['authors']}:** {_md(people)}")
    if paper.affiliations:
        lines.append(f"- **{labels['affiliations']}:** {_md(' & '.join(paper.affiliations))}")
    links = []
    if arxiv_id := _arxiv_id(paper):
        links.append(f"[arXiv:{arxiv_id}]({ARXIV_ABS_URL.format(arxiv_id=arxiv_id)})")
    if paper.url and not (arxiv_id and "arxiv.org" in paper.url):
        links.append(f"<{_md_url(paper.url)}>")
    if paper.code_url:
        links.append(f"[{labels['code']}]({_md_url(paper.code_url)})")
    if links:
        lines.append(f"- **{labels['links']}:** " + " · ".join(links))
    lines.append(f"- **ID:** {paper.id}")
    for label, text in ((t.gettext("Chinese summary"), paper.summary_zh),
                        (t.gettext("English abstract"), paper.abstract_en)):
        if text and text.strip():
            lines += ["", f"**{label}**", "", _md(text)]
    return [*lines, ""]


def favourites_markdown(papers: Sequence[Paper], *, t: Translator, title: str) -> str:
    """The favourites as one Markdown document, newest star first."""
    header = t.ngettext("{count} saved paper", "{count} saved papers", len(papers)).format(count=len(papers))
    lines = [f"# {_md(title)}", "", header, ""]
    for number, paper in enumerate(papers, start=1):
        lines += _markdown_paper(paper, number, t)
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------------------------
# BibTeX
# ---------------------------------------------------------------------------------------------------------------


def bibtex_escape(text: str) -> str:
    """Text that LaTeX prints as written: its special characters escaped."""
    return _BIBTEX_SPECIAL_RE.sub(lambda match: _BIBTEX_SPECIAL[match.group(0)], _one_line(text))


def _ascii_word(text: str) -> str:
    """Letters and digits of text folded to ASCII ('Müller' → 'muller'); CJK and other scripts drop out."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _key_base(paper: Paper) -> str:
    """'wang2024diffusion': first author's family name, year, first meaningful title word."""
    names, _cut_short = _authors(paper)
    family = _ascii_word(names[0].split()[-1]) if names and names[0].split() else ""
    words = [_ascii_word(word) for word in re.split(r"[\s\-:]+", paper.title_en or "")]
    word = next((word for word in words if word and word not in _STOP_WORDS), "")
    year = paper_year(paper)
    base = f"{family or 'paper'}{year or ''}{word}"
    return base if (family or word) else f"paper{paper.id}"


def citation_keys(papers: Sequence[Paper]) -> list[str]:
    """One unique key per paper, in order: a second 'wang2024diffusion' becomes 'wang2024diffusionb', and so on."""
    used: set[str] = set()
    keys = []
    for paper in papers:
        base = _key_base(paper)
        key, suffix = base, 0
        while key in used:
            suffix += 1
            key = base + _suffix(suffix)
        used.add(key)
        keys.append(key)
    return keys


def _suffix(number: int) -> str:
    """b, c, …, z, ba, bb, …: letters after the first use of a key."""
    letters = ""
    while number:
        number, rest = divmod(number, 26)
        letters = "abcdefghijklmnopqrstuvwxyz"[rest] + letters
    return letters


def _field(name: str, value: str) -> str:
    """'  name = {value},' for a value already escaped."""
    return f"  {name} = {{{value}}},"


def bibtex_entry(paper: Paper, key: str) -> str:
    """@article with eprint fields for an arXiv paper, @misc with its link otherwise."""
    arxiv_id = _arxiv_id(paper)
    names, cut_short = _authors(paper)
    fields = []
    title = paper.title_en or paper.title_zh
    if title:
        fields.append(_field("title", "{" + bibtex_escape(title) + "}"))  # double braces keep its capitals
    if names:
        fields.append(_field("author", " and ".join(bibtex_escape(name) for name in names)
                             + (" and others" if cut_short else "")))
    if year := paper_year(paper):
        fields.append(_field("year", str(year)))
    if arxiv_id:
        fields.append(_field("journal", f"arXiv preprint arXiv:{arxiv_id}"))
        fields.append(_field("eprint", arxiv_id))
        fields.append(_field("archivePrefix", "arXiv"))
        if primary := ARXIV_CLASS_OF_CATEGORY.get(paper.category or ""):
            fields.append(_field("primaryClass", primary))
        fields.append(_field("url", ARXIV_ABS_URL.format(arxiv_id=arxiv_id)))
    elif paper.url:
        url = paper.url.strip().replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")
        fields.append(_field("howpublished", r"\url{" + url + "}"))
        fields.append(_field("url", url))
    if paper.title_en and paper.title_zh:
        fields.append(_field("note", bibtex_escape(paper.title_zh)))
    kind = "article" if arxiv_id else "misc"
    return "\n".join([f"@{kind}{{{key},", *fields, "}"])


def favourites_bibtex(papers: Sequence[Paper]) -> str:
    """Every favourite as a BibTeX entry with a unique key."""
    entries = [bibtex_entry(paper, key) for paper, key in zip(papers, citation_keys(papers), strict=True)]
    return "\n\n".join(entries) + "\n"
