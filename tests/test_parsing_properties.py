"""Property tests: the parser never crashes, and noise never becomes a paper."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.parsing import DigestFormatError, parse_digest
from tests.conftest import sample_text

SAMPLES = {prefix: sample_text(prefix) for prefix in ("000", "001", "002", "003", "004")}
NOISE_LINES = st.sampled_from([
    "image.png", "f01.png.jpgf02.png.jpg", "\u00a0", "", "转自爱可可爱生活", "头图", "image.pngimage.png",
    "内容中包含的图片若涉及版权问题,请及时与我们联系删除",
])
# Text made of everything a digest is made of except entry headers: prose, names, links, brackets.
PIECES = st.sampled_from([
    "Deep learning is great.", "深度学习很好。", "J Ren, S Rajbhandari", "[Google Research]", "https://arxiv.org/abs/2101.00001",
    "image.png", "LG - 机器学习 CV - 计算机视觉", "By", "引用", "[1] “Title” by A B et al.",
    "\n", "\n\n", "*", "、", "1、",
    "[", "]", "[LG]", "translated", "摘要:", " ",
])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=3000))
def test_parser_never_crashes_on_arbitrary_text(text: str) -> None:
    try:
        digest = parse_digest(text)
    except DigestFormatError:
        return
    assert all(paper.position == index for index, paper in enumerate(digest.papers, start=1))


@settings(max_examples=300)
@given(st.lists(PIECES, max_size=60).map("".join))
def test_digest_like_noise_without_entries_never_makes_a_paper(text: str) -> None:
    """Pieces may join into a header ('1、' + '[LG]' + …), so only texts without a title after a tag count."""
    try:
        digest = parse_digest(text)
    except DigestFormatError:
        return
    for paper in digest.papers:
        assert (paper.title_en and paper.title_en.strip()) or paper.summary_zh or paper.abstract_en


@settings(max_examples=60, deadline=None)
@given(prefix=st.sampled_from(sorted(SAMPLES)), data=st.data())
def test_noise_lines_between_entries_change_nothing(prefix: str, data: st.DataObject) -> None:
    lines = SAMPLES[prefix].split("\n")
    positions = data.draw(st.lists(st.integers(0, len(lines)), max_size=8))
    for position in sorted(positions, reverse=True):
        lines.insert(position, data.draw(NOISE_LINES))
    noisy = "\n".join(lines)
    original = parse_digest(SAMPLES[prefix]).papers
    parsed = parse_digest(noisy).papers
    assert len(parsed) == len(original)
    assert [p.title_en for p in parsed] == [p.title_en for p in original]
    assert [p.url for p in parsed] == [p.url for p in original]
