"""Property tests of storage.reader: it never crashes on any container, and noise never becomes a paper."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.parsing import DigestFormatError
from storage.reader.assemble import Reading, read_document

MARKDOWN_PIECES = st.sampled_from([
    "# ", "## ", "### ", "#### ", "> ", "- ", "* ", "**", "*", "1、", "1. ", "No 1. ", "[LG] ", "【CV】", "《", "》",
    "[paper](https://arxiv.org/abs/2401.00001)", "<a href=\"http://x.org/1\">", "</a>", "<article>", "</article>",
    "| a | b |\n|---|---|\n| c | d |", "```\ncode\n```", "---\n", "title: x\n", "URL：", "单位：", "要点:", "论文链接",
    "Deep Learning for Kettles", "A Ming, B Hua", "[Kettle Lab]", "深度学习很好。", "…", "et al.", "\n", "\n\n", " ",
])
HTML_PIECES = st.sampled_from([
    "<p>", "</p>", "<div>", "</div>", "<h2>", "</h2>", "<li>", "</li>", "<ul>", "</ul>",
    "<table><tr><td>", "</td></tr>",
    "<a href=\"http://x.org\">", "</a>", "<br>", "<b>", "</b>", "<article>", "</article>", "《A Title Here》", "*",
    "No 1. ", "arXiv 2401.00001", "A Ming, B Hua", "深度学习", "<", ">", "&amp;", "<!-- c -->", "<script>x</script>",
])
# Noise: prose, names and punctuation in both languages, but none of the marks an entry starts with
# (digits, brackets, tags, 《》, stars, #, links).
NOISE = st.text(alphabet=st.sampled_from(list("abcdefghij KLMNOP,.;:!?-'\n") + list("深度学习很好论文方法，。：")),
                max_size=2000)


def _read(text: str) -> Reading | None:
    """The reading, or None when the reader said no entry is recognisable."""
    try:
        reading = read_document(text)
    except DigestFormatError:
        return None
    assert [paper.position for paper in reading.papers] == list(range(1, len(reading.papers) + 1))
    assert all(paper.title_en or paper.summary_zh or paper.abstract_en for paper in reading.papers)
    return reading


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=3000))
def test_never_crashes_on_arbitrary_text(text: str) -> None:
    _read(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(MARKDOWN_PIECES, max_size=80).map("".join))
def test_never_crashes_on_arbitrary_markdown(text: str) -> None:
    _read(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(HTML_PIECES, max_size=80).map(lambda pieces: "<html><body>" + "".join(pieces)))
def test_never_crashes_on_arbitrary_html(text: str) -> None:
    _read(text)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.text(max_size=60), min_size=4, max_size=4), min_size=1, max_size=20))
def test_never_crashes_on_arbitrary_csv(rows: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "微博正文", "发布时间", "点赞数"])
    writer.writerows(rows)
    _read(out.getvalue())


@settings(max_examples=200, deadline=None)
@given(NOISE)
def test_noise_never_makes_a_paper(text: str) -> None:
    assert _read(text) is None


@settings(max_examples=100, deadline=None)
@given(NOISE, st.sampled_from(["markdown", "html", "csv"]))
def test_noise_in_any_container_never_makes_a_paper(text: str, container: str) -> None:
    if container == "markdown":
        document = f"---\ntitle: notes\n---\n\n## {text[:30]}\n\n{text}"
    elif container == "html":
        document = f"<html><body><h2>{text[:30]}</h2><p>{text}</p></body></html>"
    else:
        out = io.StringIO()
        csv.writer(out).writerows([["id", "微博正文", "发布时间", "点赞数"], ["1", text, "无", "0"]])
        document = out.getvalue()
    assert _read(document) is None
