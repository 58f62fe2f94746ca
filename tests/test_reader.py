"""storage.reader: containers become blocks; the five samples read exactly as the sample parser reads them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from storage.parsing import ET_AL, DigestFormatError, ParsedPaper, parse_digest
from storage.reader.assemble import read_document
from storage.reader.containers import read_container
from storage.reader.fields import affiliations_of
from tests.test_parsing import sample_text

SAMPLES = ("000", "001", "002", "003", "004")


def _with_cut_flag(paper: ParsedPaper) -> ParsedPaper:
    """What the reader makes of the sample parser's paper: 'et al.' is the cut-short flag, never an author."""
    if paper.authors and paper.authors[-1] == ET_AL:
        return replace(paper, authors=paper.authors[:-1], authors_truncated=True)
    return paper


@pytest.mark.parametrize("prefix", SAMPLES)
def test_samples_give_exactly_the_papers_they_gave(prefix: str) -> None:
    text = sample_text(prefix)
    reading = read_document(text)
    assert reading.papers == tuple(_with_cut_flag(paper) for paper in parse_digest(text).papers)
    assert reading.shape == parse_digest(text).shape.value


def test_markdown_keeps_headings_quotes_items_links_and_bold() -> None:
    text = ("---\ntitle: Notes\n---\n\n## Picks\n\n### 1、A Title\n\n> 中文标题\n>\n> - URL：https://arxiv.org/abs/2401.00001\n\n"
            "- 动机：某事\n\n**Bold Line Here**\nsee [the paper](https://example.org/p)\n")
    container = read_container(text)
    assert container.kind == "markdown"
    assert container.front_matter == {"title": "Notes"}
    kinds = [(block.kind, block.level, block.text) for block in container.blocks]
    assert kinds[:4] == [("heading", 2, "Picks"), ("heading", 3, "1、A Title"), ("quote", 0, "中文标题"),
                         ("quote", 0, "URL：https://arxiv.org/abs/2401.00001")]
    assert kinds[4] == ("item", 0, "动机：某事")
    last = container.blocks[-1]
    assert last.marked.startswith("**Bold Line Here**") and last.text.startswith("Bold Line Here")
    assert [(link.label, link.target) for link in last.links] == [("the paper", "https://example.org/p")]


def test_html_fragment_gives_blocks_with_link_targets() -> None:
    html = ('<div><h2>Weekly</h2><ul><li><a href="https://x.org/1">*《A Paper About Things》</a></li></ul>'
            '<table><tr><td>Title</td><td><a href="https://arxiv.org/abs/2301.00002">pdf</a></td></tr></table></div>')
    container = read_container(html)
    assert container.kind == "html"
    assert [(block.kind, block.text) for block in container.blocks] == [
        ("heading", "Weekly"), ("item", "*《A Paper About Things》"), ("row", "Title | pdf")]
    assert container.blocks[2].links[0].target == "https://arxiv.org/abs/2301.00002"


def test_csv_reads_the_column_that_holds_the_posts() -> None:
    text = "\ufeffid,微博正文,发布时间,点赞数\n1,《A Study of Things》A Author [Univ] (2020) http://t.cn/x,2020-01-01,3\n"
    container = read_container(text)
    assert container.kind == "csv"
    assert [block.text for block in container.blocks] == ["《A Study of Things》A Author [Univ] (2020) http://t.cn/x"]


def test_crlf_bom_and_nbsp_are_folded() -> None:
    container = read_container("\ufeffline one\u00a0here\r\nline two\r\n")
    assert [block.text for block in container.blocks] == ["line one here", "line two"]


def test_nothing_recognisable_is_one_clear_error() -> None:
    with pytest.raises(DigestFormatError, match="no recognisable paper entry"):
        read_document("# Hello\n\nJust some **notes** about my day.\n\n- a list\n- of things\n")


@pytest.mark.parametrize(("field", "parts"), [
    ("[Sheep Lab & Farm University]", ("Sheep Lab", "Farm University")),
    ("单位：织布研究所", ("织布研究所",)),
    ("作者单位：织布研究所 & 纽扣大学", ("织布研究所", "纽扣大学")),
    ("Affiliation: Tailor Lab", ("Tailor Lab",)),
    ("Affiliations: Tailor Lab & Yarn Lab", ("Tailor Lab", "Yarn Lab")),
])
def test_an_affiliation_field_loses_its_label_and_splits_at_ampersands(field: str, parts: tuple[str, ...]) -> None:
    assert affiliations_of(field) == parts
