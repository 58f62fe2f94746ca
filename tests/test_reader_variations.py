"""Issue item 4: every variation of a family reads the same as the original (samples and reader cases)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest

from storage.documents import decode_bytes
from storage.parsing import ParsedPaper
from storage.reader.assemble import read_document
from tests.conftest import sample_text
from tests.test_reader_cases import CASES, load_case

SAMPLES = {f"sample {prefix}": sample_text(prefix) for prefix in ("000", "001", "002", "003", "004")}
# The cases that hold papers (a case of noise has nothing to vary).
CASE_FILES = [path for path in sorted(CASES.iterdir()) if path.name != "README.md" and load_case(path)[0]["papers"]]
TEXT_CASES = {path.name: load_case(path)[1] for path in CASE_FILES if path.suffix == ".txt"}
MARKUP_CASES = {path.name: load_case(path)[1] for path in CASE_FILES if path.suffix in (".md", ".html", ".csv")}
_HEADER_NUMBER = re.compile(r"^(\*?)(\d{1,3})、", re.MULTILINE)
_TAG = re.compile(r"^(\*?\s*(?:\d{1,3}、)?\s*)\[([A-Z]{2})\]", re.MULTILINE)


def _fold(text: str | None) -> str | None:
    """Whitespace folded: blank-line variations may rejoin a summary's paragraphs."""
    return " ".join(text.split()) if text else text


def _key(paper: ParsedPaper) -> tuple:
    """Everything a reader keeps of a paper, summaries with whitespace folded."""
    return (paper.position, paper.title_en, paper.title_zh, paper.authors, paper.authors_truncated,
            paper.affiliations, paper.url, paper.arxiv_id, paper.code_url, paper.category, paper.highlight,
            paper.minor, _fold(paper.summary_zh), _fold(paper.abstract_en))


def _through_bytes(text: str, encoding: str) -> str:
    """Encode as an admin's editor would save it, then decode as the bot does."""
    return decode_bytes(text.encode(encoding))


VARIATIONS: dict[str, Callable[[str], str]] = {
    "CRLF and BOM": lambda text: _through_bytes(text.replace("\n", "\r\n"), "utf-8-sig"),
    "UTF-16": lambda text: _through_bytes(text, "utf-16"),
    "GBK": lambda text: _through_bytes(text, "gbk"),
    "full-width digits": lambda text: _HEADER_NUMBER.sub(
        lambda m: m.group(1) + m.group(2).translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "、", text),
    "'.' after the number": lambda text: _HEADER_NUMBER.sub(r"\1\2.", text),
    "'．' after the number": lambda text: _HEADER_NUMBER.sub(r"\1\2．", text),
    "【】 brackets": lambda text: _TAG.sub(r"\1【\2】", text),
    "() brackets": lambda text: _TAG.sub(r"\1(\2)", text),
    "extra blank lines": lambda text: text.replace("\n", "\n\n"),
    "non-breaking spaces": lambda text: text.replace(" ", "\u00a0"),
    "ideographic spaces at line ends": lambda text: text.replace("\n", "\u3000\n"),
}


def _gbk_safe(text: str) -> bool:
    """Only documents GBK can hold take the GBK variation."""
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def _pairs(documents: dict[str, str], names: list[str]) -> list[tuple[str, str]]:
    """(document, variation) pairs that apply: GBK only for documents GBK can hold."""
    return [(document, name) for document, text in sorted(documents.items()) for name in names
            if name != "GBK" or _gbk_safe(text)]


@pytest.mark.parametrize(("document", "name"), _pairs({**SAMPLES, **TEXT_CASES}, sorted(VARIATIONS)))
def test_text_family_variation_reads_the_same(document: str, name: str) -> None:
    text = {**SAMPLES, **TEXT_CASES}[document]
    original = [_key(paper) for paper in read_document(text).papers]
    assert [_key(paper) for paper in read_document(VARIATIONS[name](text)).papers] == original


@pytest.mark.parametrize(("document", "name"), _pairs(
    MARKUP_CASES, ["CRLF and BOM", "UTF-16", "GBK", "non-breaking spaces", "full-width digits"]))
def test_markup_family_variation_reads_the_same(document: str, name: str) -> None:
    text = MARKUP_CASES[document]
    original = [_key(paper) for paper in read_document(text).papers]
    assert [_key(paper) for paper in read_document(VARIATIONS[name](text)).papers] == original


def test_missing_blank_lines_read_the_same() -> None:
    for text in (SAMPLES["sample 000"], SAMPLES["sample 003"], TEXT_CASES["weibo_tagged_numbered.txt"]):
        squeezed = re.sub(r"\n\s*\n", "\n", text)
        assert [_key(p) for p in read_document(squeezed).papers] == [_key(p) for p in read_document(text).papers]


@pytest.mark.parametrize("star", ["*1、[LG] ", "1、*[LG] ", "1、[LG]* ", "1、[LG] {title}*"])
def test_a_highlight_star_in_any_position(star: str) -> None:
    text = TEXT_CASES["weibo_tagged_numbered.txt"]
    title = "Learning to Fold Paper Cranes"
    header = star.format(title=title) if "{title}" in star else star + title
    marked = text.replace(f"1、[LG] {title}", header)
    papers = read_document(marked).papers
    original = read_document(text).papers
    assert papers[0].highlight is True and papers[0].title_en == title
    assert [_key(p) for p in papers[1:]] == [_key(p) for p in original[1:]]


def test_fields_in_another_order() -> None:
    text = TEXT_CASES["weibo_tagged_numbered.txt"]
    swapped = text.replace("A Ming, B Hua…\n[Origami University]", "[Origami University]\nA Ming, B Hua…")
    assert swapped != text
    assert [_key(p) for p in read_document(swapped).papers] == [_key(p) for p in read_document(text).papers]


@pytest.mark.parametrize("first,second", [("sample 000", "sample 003"), ("sample 003", "sample 004"),
                                          ("sample 002", "sample 000")])
def test_several_digests_in_one_file_read_as_each_alone(first: str, second: str) -> None:
    one, two = read_document(SAMPLES[first]).papers, read_document(SAMPLES[second]).papers
    together = read_document(SAMPLES[first] + "\n\n" + SAMPLES[second]).papers
    expected = [replace(paper, position=position) for position, paper in enumerate((*one, *two), start=1)]
    assert [_key(p) for p in together] == [_key(p) for p in expected]


@pytest.mark.parametrize("document", sorted({**SAMPLES, **TEXT_CASES, **MARKUP_CASES}))
def test_a_document_cut_off_in_the_middle_keeps_the_entries_before_the_cut(document: str) -> None:
    text = {**SAMPLES, **TEXT_CASES, **MARKUP_CASES}[document]
    original = read_document(text).papers
    for fraction in (0.3, 0.6, 0.9):
        cut = text[: int(len(text) * fraction)]
        try:
            papers = read_document(cut).papers
        except ValueError:
            continue  # nothing recognisable left: one clear line, as for any bad input
        complete = [p.title_en for p in papers][:-1]
        assert complete == [p.title_en for p in original][: len(complete)]
